#!/bin/sh
# The NTSTATUS constants of include/smbwire/ntstatus.h are generated from its
# one table, SMBW_NTSTATUS_TABLE: the block between BEGIN GENERATED and
# END GENERATED must be exactly "#define SMBW_<NAME> <value>" per row, in the
# table's order. With --write the block is rewritten from the table.
#
# usage: ntstatus.sh [--write] INCLUDE_DIR CC [CC_ARGS...]
set -eu
write=0
if [ "${1:-}" = --write ]; then
    write=1
    shift
fi
inc=$1
shift
h=$inc/smbwire/ntstatus.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The table, expanded by the compiler's own preprocessor (one row a line).
printf '#include <smbwire/ntstatus.h>\n#define ROW_(name, value) @ROW name value\nSMBW_NTSTATUS_TABLE(ROW_)\n' |
    "$@" -E -P -I "$inc" -x c - | tr '@' '\n' |
    awk '$1 == "ROW" { printf "#define SMBW_%s %s\n", $2, $3 }' >"$tmp/want"
n=$(wc -l <"$tmp/want")
if [ "$n" -lt 10 ]; then
    echo "ntstatus: only $n rows found in SMBW_NTSTATUS_TABLE: the table scan is broken" >&2
    exit 1
fi
sed -n '/BEGIN GENERATED/,/END GENERATED/p' "$h" | grep '^#define' >"$tmp/have" || true

if [ $write -eq 1 ]; then
    awk -v gen="$tmp/want" '
        /END GENERATED/ { while ((getline l < gen) > 0) print l; skip = 0 }
        !skip { print }
        /BEGIN GENERATED/ { skip = 1 }' "$h" >"$tmp/new"
    cat "$tmp/new" >"$h"
    echo "ntstatus: wrote $n constants into $h"
    exit 0
fi
if ! diff -u "$tmp/want" "$tmp/have" >"$tmp/diff"; then
    echo "ntstatus: the constants in $h differ from SMBW_NTSTATUS_TABLE (run tests/lint/ntstatus.sh --write):" >&2
    cat "$tmp/diff" >&2
    exit 1
fi
echo "ntstatus: $n constants match SMBW_NTSTATUS_TABLE"
