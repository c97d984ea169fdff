#!/usr/bin/env python3
"""Line coverage of lib/ from a build configured with -Db_coverage=true.

    coverage.py BUILD_DIR FLOOR

Runs gcovr (Debian package gcovr) over the .gcda files the tests left in
BUILD_DIR, prints the per-file table for lib/ and one summary line, and exits
1 when the line coverage is below FLOOR (a percentage) or could not be
measured. Every compiled copy of a lib/ file counts (the library the tests
link and the copy tests/fuzz builds for the corpus replays): a line is covered
when any test executed it.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 3:
        print("usage: coverage.py BUILD_DIR FLOOR", file=sys.stderr)
        return 2
    build = os.path.abspath(sys.argv[1])
    try:
        floor = float(sys.argv[2])
    except ValueError:
        print("coverage: floor %r is not a number" % sys.argv[2], file=sys.stderr)
        return 2
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        summary = os.path.join(tmp, "summary.json")
        cmd = ["gcovr", "--root", root, "--filter", os.path.join(root, "lib") + "/",
               "--object-directory", build, "-j", "2", "--txt", "-",
               "--json-summary", summary, build]
        try:
            r = subprocess.run(cmd, check=False)
        except OSError as e:
            print("coverage: cannot run gcovr: %s" % e, file=sys.stderr)
            return 1
        if r.returncode != 0:
            print("coverage: gcovr exited with status %d" % r.returncode, file=sys.stderr)
            return 1
        try:
            with open(summary, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as e:
            print("coverage: no summary from gcovr: %s" % e, file=sys.stderr)
            return 1
    total = int(data.get("line_total", 0))
    covered = int(data.get("line_covered", 0))
    if total == 0:
        print("coverage: no line of lib/ was measured (no .gcda files?)", file=sys.stderr)
        return 1
    pct = 100.0 * covered / total
    verdict = "ok" if pct >= floor else "BELOW THE FLOOR"
    print("ci: line coverage of lib/: %.1f %% (%d of %d lines), floor %.1f %%: %s"
          % (pct, covered, total, floor, verdict))
    return 0 if pct >= floor else 1


if __name__ == "__main__":
    sys.exit(main())
