#!/bin/sh
# The installed libraries export exactly the documented API:
#  - libsmbwire.so's dynamic symbols are exactly the functions the public
#    headers declare (derived here by preprocessing each header, independently
#    of lib/exports.py, which the build uses);
#  - libsmbwire.a has no global symbol outside that list either, so nothing
#    unprefixed (buf_init, crypto_*, ...) or internal (smbw_gss_*,
#    smbw_status_to_error, smbw_wipe) can clash with a program's names.
#
# usage: symbols.sh NM SHARED_LIB STATIC_LIB INCLUDE_DIR CC [CC_ARGS...]
set -eu
nm=$1 so=$2 a=$3 inc=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for h in "$inc"/smbwire/*.h; do
    "$@" -E -P -I "$inc" "$h"
done | grep -oE '\<smbw_[A-Za-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u >"$tmp/api"
n_api=$(wc -l <"$tmp/api")
if [ "$n_api" -lt 10 ]; then
    echo "symbols: only $n_api API functions found in $inc/smbwire: the header scan is broken" >&2
    exit 1
fi

"$nm" -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/so"
"$nm" -g --defined-only "$a" | awk 'NF >= 3 && $2 ~ /^[A-Z]$/ { print $3 }' | sort -u >"$tmp/a"

fail=0
report() { # what file
    if [ -s "$2" ]; then
        echo "symbols: $1:"
        sed 's/^/  /' "$2"
        fail=1
    fi
}
comm -13 "$tmp/api" "$tmp/so" >"$tmp/so_extra"
comm -23 "$tmp/api" "$tmp/so" >"$tmp/so_missing"
comm -13 "$tmp/api" "$tmp/a" >"$tmp/a_extra"
comm -23 "$tmp/api" "$tmp/a" >"$tmp/a_missing"
grep -v '^smbw_' "$tmp/a" >"$tmp/a_unprefixed" || true
report "$(basename "$so") exports symbols the public headers do not declare" "$tmp/so_extra"
report "$(basename "$so") lacks API functions" "$tmp/so_missing"
report "$(basename "$a") has global symbols outside the API" "$tmp/a_extra"
report "$(basename "$a") has global symbols without the smbw_ prefix" "$tmp/a_unprefixed"
report "$(basename "$a") lacks API functions" "$tmp/a_missing"
if [ $fail -ne 0 ]; then
    exit 1
fi
echo "symbols: $(basename "$so") and $(basename "$a") export exactly the $n_api API functions"
