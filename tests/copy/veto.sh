#!/usr/bin/env bash
# A share that refuses names starting with a dot (run through with-server.sh
# samba with share1's "veto files = /.*/", as some sites set it to keep
# dot files off a share). smbcopy's temporary names (.NAME.smbcopy.part and
# the resume record .NAME.smbcopy.state) are such names: before, every copy
# to the share but the small files of a tree failed with "no such directory"
# (the directory was there). Now the first refusal (STATUS_OBJECT_NAME_NOT_FOUND
# with the directory there) is said once, and the temporary names of the
# rest of the run go without the dot:
#  - a large and a small upload, a tree upload and the same again over its
#    copies, a server-side copy: exit 0, identical, the warning once per run,
#    no temporary file or record left (with or without the dot);
#  - an upload held mid-copy (freeze_proxy.py) keeps NAME.smbcopy.part and
#    NAME.smbcopy.state; killed, then --resume: resumed at the recorded byte,
#    identical, nothing left;
#  - a file whose own name starts with a dot cannot be written there:
#    "the share refuses the name ... though its directory is there" (exit 5),
#    not "no such directory", nothing left.
#
#   veto.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init veto

warning="smbcopy: warning: the share refuses names that start with a dot: temporary files are named NAME.smbcopy.part instead of .NAME.smbcopy.part"

# all_leftovers DIR: smbcopy's temporary files and records, dotted or not.
all_leftovers() {
    find "$1" -name '*.smbcopy.part' -o -name '*.smbcopy.state'
}

# ok_run WHAT: the last run_json_v: exit 0, the warning once, nothing left on
# the share.
ok_run() {
    local what=$1 n
    n=$(grep -cxF "$warning" "$work/last.err" || true)
    if ((rc == 0 && n == 1)) && [[ -z "$(all_leftovers "$share")" ]]; then
        pass "$what: exit 0, said once, nothing left"
    else
        fail "$what: exit $rc, warning said $n times, left: $(all_leftovers "$share" | tr '\n' ' '): $(grep -v '\] ' "$work/last.err" | head -3)"
    fi
}

make_random "$work/big.bin" $((5 << 20))
echo "small" >"$work/small.txt"
mkdir -p "$work/tree/d/e"
make_random "$work/tree/d/big.bin" $((3 << 20))
for i in 1 2 3; do echo "file $i" >"$work/tree/d/e/f$i.txt"; done

run_json_v "$work/big.bin" "$url/big.bin"
ok_run "large upload"
same_file "large upload" "$work/big.bin" "$share/big.bin"
run_json_v "$work/small.txt" "$url/small.txt"
ok_run "small upload"
same_file "small upload" "$work/small.txt" "$share/small.txt"
run_json_v -r "$work/tree" "$url/"
ok_run "tree upload"
run_json_v -r "$work/tree" "$url/"
ok_run "tree upload over its copies"
if diff -r "$work/tree" "$share/tree" >/dev/null; then
    pass "tree upload: identical"
else
    fail "tree upload: $(diff -r "$work/tree" "$share/tree" 2>&1 | head -3)"
fi
run_json_v "$url/big.bin" "$url/ss.bin"
ok_run "server-side copy"
same_file "server-side copy" "$work/big.bin" "$share/ss.bin"

# Held mid-copy, killed, resumed: the record and partial file without the dot.
make_random "$work/res.bin" $((256 << 20))
held "$share/res.bin.smbcopy.state" "$work/res.bin" "$url/res.bin" --no-progress
stop_bg KILL
hold_release
if [[ -f "$share/res.bin.smbcopy.part" && -f "$share/res.bin.smbcopy.state" ]]; then
    pass "killed upload: res.bin.smbcopy.part and res.bin.smbcopy.state kept"
else
    fail "killed upload: $(ls -a "$share" | tr '\n' ' ')"
fi
done_at=$(record_done "$share/res.bin.smbcopy.state")
run_json_v --resume "$psrc" "$pdst"
hold_stop
if ((rc == 0)) && grep -q "^smbcopy: resuming .* at byte $done_at of" "$work/last.err"; then
    pass "--resume: resumed at byte $done_at"
else
    fail "--resume: exit $rc, record at ${done_at:-?}: $(grep -v '\] ' "$work/last.err" | head -3)"
fi
same_file "--resume" "$work/res.bin" "$share/res.bin"
if [[ -z "$(all_leftovers "$share")" ]]; then
    pass "--resume: nothing left"
else
    fail "--resume: left: $(all_leftovers "$share" | tr '\n' ' ')"
fi

# A name of the user's that starts with a dot: refused by the share.
echo secret >"$work/.hidden"
run_json_v "$work/.hidden" "$url/.hidden"
if ((rc == 5)) && grep -q "^smbcopy: copy to .*/\.hidden: the share refuses the name .* though its directory is there (STATUS_OBJECT_NAME_NOT_FOUND" "$work/last.err" &&
    ! grep -q "no such directory" "$work/last.err" && [[ -z "$(all_leftovers "$share")" ]]; then
    pass "a dot file: refused, said as the share refusing the name (exit 5), nothing left"
else
    fail "a dot file: exit $rc: $(grep -v '\] ' "$work/last.err" | head -3)"
fi

finish
