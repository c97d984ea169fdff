#!/bin/sh
# Every public header compiles on its own (and twice: include guards), as C11
# and as C++, with warnings as errors.
#
# usage: headers.sh INCLUDE_DIR CC CXX
set -u
inc=$1 cc=$2 cxx=$3
fail=0
n=0
for h in "$inc"/smbwire/*.h; do
    name=smbwire/$(basename "$h")
    n=$((n + 1))
    src="#include <$name>
#include <$name>
int smbw_header_check_$n;"
    if ! printf '%s\n' "$src" |
        "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I "$inc" -x c -; then
        echo "headers: $name does not compile on its own as C11" >&2
        fail=1
    fi
    if ! printf '%s\n' "$src" |
        "$cxx" -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I "$inc" -x c++ -; then
        echo "headers: $name does not compile on its own as C++11" >&2
        fail=1
    fi
done
if [ $n -eq 0 ]; then
    echo "headers: no headers in $inc/smbwire" >&2
    exit 1
fi
[ $fail -eq 0 ] && echo "headers: $n public headers compile alone as C11 and C++11"
exit $fail
