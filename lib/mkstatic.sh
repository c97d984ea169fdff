#!/bin/sh
# Builds the installed static library as ONE prelinked object: every object
# of the internal library is linked with `ld -r`, then objcopy makes every
# symbol local except the exported API (the list lib/exports.py derives from
# the public headers). So a program linking libsmbwire.a sees the same names
# as one linking libsmbwire.so, and internal names (buf_init, crypto_*, ...)
# cannot clash with its own.
#
# usage: mkstatic.sh OUTPUT.a INTERNAL.a KEEP_LIST CC OBJCOPY AR
set -eu
out=$1 internal=$2 keep=$3 cc=$4 objcopy=$5 ar=$6
obj=$out.prelinked.o
rm -f "$out" "$obj"
"$cc" -r -nostdlib -o "$obj" -Wl,--whole-archive "$internal" -Wl,--no-whole-archive
"$objcopy" --keep-global-symbols="$keep" "$obj"
"$ar" rcs "$out" "$obj"
rm -f "$obj"
