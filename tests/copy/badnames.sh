#!/usr/bin/env bash
# Local names an SMB share cannot hold (run through with-server.sh samba):
# '\' (the server would take it for a separator and write another file),
# ':' * ? " < > | and control characters, bytes that are not UTF-8, a
# trailing dot or space (a Windows server drops them: another name), the
# device names Windows reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9, COM and
# LPT with a superscript 1-3; also with an extension, in any case, a
# directory too). Names that only look like them (console, com10, auxiliary,
# a dot inside) are copied. Uploading such a file alone is an
# error (exit 1) and writes nothing; in a tree (-r) each such file is an error
# of its own (exit 7, counted in "failed") and the rest is copied. The file of
# the name after the backslash is never touched.
#
#   badnames.sh PATH/TO/smbcopy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/common/common.sh
source "$here/../common/common.sh"
need_smbcopy "${1:-}"
copy_init badnames

mkdir -p "$share/dir"
printf 'keep me\n' >"$share/dir/slash.txt"
chown -R --reference="$share" "$share/dir"
before=$(ls -A "$share/dir")

# 1. One file named back\slash.txt into a directory holding slash.txt.
printf 'uploaded\n' >"$work/back\\slash.txt"
run_json "$work/back\\slash.txt" "$url/dir/"
if ((rc == 1)) && [[ "$(cat "$share/dir/slash.txt")" == "keep me" ]] &&
    [[ "$(ls -A "$share/dir")" == "$before" ]] && grep -q "holds '\\\\'" "$work/last.err"; then
    pass "single file with '\\': refused, nothing written: $(cat "$work/last.err")"
else
    fail "single file with '\\': exit $rc, dir: $(ls -A "$share/dir" | tr '\n' ' ')," \
        "slash.txt: $(cat "$share/dir/slash.txt") $(cat "$work/last.err")"
fi

# 2. A tree with one good file and one file per forbidden character.
tree=$work/tree
mkdir -p "$tree/sub"
printf 'good\n' >"$tree/good.txt"
printf 'good too\n' >"$tree/sub/fine.txt"
bad=('back\slash.txt' 'a:b' 'q?' 'star*' 'quote"' 'lt<' 'gt>' 'pipe|' $'ctl\001x' $'tab\tx'
    $'bad\xff' $'overlong\xc0\xaf' $'surrogate\xed\xa0\x80' 'dot.' 'space ' 'CON' 'con.txt'
    'Nul .tar.gz' 'aux.c' 'prn' 'COM1' 'lpt9.h' 'com0' $'COM\xc2\xb9' $'lpt\xc2\xb3.txt')
ok_names=('console' 'com10' 'auxiliary' 'a.b.c' 'nul_' '.hidden' 'lpt')
for n in "${bad[@]}"; do
    printf 'bad %s\n' "$n" >"$tree/$n"
done
printf 'bad in sub\n' >"$tree/sub/x\\slash.txt"
for n in "${ok_names[@]}"; do
    printf 'fine %s\n' "$n" >"$tree/sub/$n"
done
mkdir "$tree/AUX" "$tree/dir."
printf 'in a reserved directory\n' >"$tree/AUX/in.txt"
printf 'in a dot directory\n' >"$tree/dir./in.txt"
printf 'keep me too\n' >"$share/dir/slash.txt"
run_json -r "$tree" "$url/dir/"
failed=$(json_get "$work/last.json" failed)
want=$((${#bad[@]} + 3))
if ((rc == 7)) && [[ "$failed" == "$want" ]]; then
    pass "tree: exit 7 with $failed failed files"
else
    fail "tree: exit $rc, failed '$failed' (want $want): $(cat "$work/last.err")"
fi
if cmp -s "$tree/good.txt" "$share/dir/tree/good.txt" &&
    cmp -s "$tree/sub/fine.txt" "$share/dir/tree/sub/fine.txt"; then
    pass "tree: the good files are copied"
else
    fail "tree: good files missing: $(ls -AR "$share/dir/tree" | tr '\n' ' ')"
fi
for n in "${ok_names[@]}"; do
    cmp -s "$tree/sub/$n" "$share/dir/tree/sub/$n" || fail "tree: $n not copied"
done
got=$(find "$share/dir/tree" -type f | wc -l)
if ((got == 2 + ${#ok_names[@]})) && [[ "$(cat "$share/dir/slash.txt")" == "keep me too" ]] &&
    [[ ! -e "$share/dir/tree/slash.txt" && ! -e "$share/dir/tree/sub/slash.txt" ]]; then
    pass "tree: nothing written under another name"
else
    fail "tree: files on the share: $(find "$share/dir" -type f | tr '\n' ' ')"
fi
nlines=$(grep -c "not copied" "$work/last.err" || true)
if ((nlines == want)) && grep -q "holds ':'" "$work/last.err" &&
    grep -q "control character 0x01" "$work/last.err" &&
    grep -q "bad?: the name is not valid UTF-8 (byte 0xff)" "$work/last.err" &&
    grep -q "dot.: the name ends with a dot" "$work/last.err" &&
    grep -q "space : the name ends with a space" "$work/last.err" &&
    grep -q "Nul .tar.gz: NUL is a device name that Windows reserves" "$work/last.err" &&
    grep -q "lpt..txt: LPT³ is a device name" "$work/last.err" &&
    grep -q "AUX: AUX is a device name" "$work/last.err"; then
    pass "tree: one clear line per file"
else
    fail "tree: $nlines lines (want $want): $(cat "$work/last.err")"
fi
if [[ -z "$(leftovers "$share")" ]]; then
    pass "nothing left over"
else
    fail "left over: $(leftovers "$share")"
fi

finish
