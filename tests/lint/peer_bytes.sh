#!/bin/sh
# Peer bytes are decoded in lib/wire (SMB2) and lib/auth (NTLMSSP, SPNEGO)
# only, through the cursor of lib/util/bytes.c; everywhere else in lib/ takes
# decoded structs. This fails when another layer reads protocol bytes by
# hand: raw little/big-endian loads and stores, the cursor itself, integers
# assembled from bytes, byte buffers cast to wider integers, scalars
# memcpy'd out of a buffer, byte pointers offset by a constant, or a
# constant index into a message buffer used in an expression.
#
# Exempt: lib/wire/ and lib/auth/ (the codecs), lib/util/bytes.[ch] (the
# cursor and writer), lib/util/unicode.c (the UTF-16LE text codec the
# decoders hand names to) and lib/crypto/ (algorithms over opaque bytes).
#
# usage: peer_bytes.sh SOURCE_ROOT [FILE...]   (files default to lib/**)
set -u
root=${1:?usage: peer_bytes.sh SOURCE_ROOT [FILE...]}
shift
cd "$root" || exit 2
if [ $# -eq 0 ]; then
    set -- $(find lib -name '*.[ch]' | sort)
fi

pats=$(mktemp) || exit 2
trap 'rm -f "$pats"' EXIT
cat > "$pats" <<'PATTERNS'
\<(get|put)_u(8|16|32|64)(be)?[[:space:]]*\(
\<((le|be)(16|32|64)toh|hto(le|be)(16|32|64)|ntoh[sl]|hton[sl]|bswap_(16|32|64)|__builtin_bswap(16|32|64))\>
\<cur_(make|skip|u8|u16|u32|u64|u16be|u32be|copy|sub|slice)[[:space:]]*\(
\<smbw_cur\>
\][[:space:]]*<<[[:space:]]*(8|16|24|32|40|48|56)\>
\([[:space:]]*(const[[:space:]]+)?u?int(16|32|64)_t[[:space:]]*\*[[:space:]]*\)
\<memcpy[[:space:]]*\([[:space:]]*&
\([[:space:]]*(const[[:space:]]+)?(u?int8_t|unsigned char|char)[[:space:]]*\*[[:space:]]*\)[[:space:]]*[A-Za-z_][A-Za-z0-9_>.-]*[[:space:]]*(\+|\[)
\)[[:space:]]*\[[[:space:]]*(0x[0-9a-fA-F]+|[0-9]+)[[:space:]]*\]
\<(msg|frame|rsp|resp|hdr|body|data|in|p|h|d|buf)(\.p|->p)?[[:space:]]*\+[[:space:]]*(0x[0-9a-fA-F]+|[0-9]+)\>
\<(msg|frame|rsp|resp|hdr|body|data|in|p|h|d|buf)(\.p|->p)?\[[[:space:]]*(0x[0-9a-fA-F]+|[0-9]+)[[:space:]]*\][[:space:]]*(==|!=|<|>|&|\||\^|\))
PATTERNS

status=0
checked=0
for f in "$@"; do
    case "$f" in
    lib/wire/* | lib/auth/* | lib/crypto/* | lib/util/bytes.[ch] | lib/util/unicode.c) continue ;;
    esac
    checked=$((checked + 1))
    # Drop // comments, one-line /* */ comments and the " * ..." lines of
    # block comments (line numbers stay), then match.
    if sed -e 's://.*$::' -e 's:/\*.*\*/::g' -e 's:^[[:space:]]*\*[[:space:]].*$::' \
        -e 's:^[[:space:]]*\*/*$::' "$f" | grep -nE -f "$pats" | sed "s|^|$f:|" | grep .; then
        status=1
    fi
done

if [ "$checked" -eq 0 ]; then
    echo "peer_bytes: no files checked" >&2
    exit 2
fi
if [ $status -ne 0 ]; then
    echo "peer_bytes: the lines above decode bytes outside lib/wire and lib/auth;" \
        "add (or use) a decoder in lib/wire and call it instead." >&2
    exit 1
fi
echo "peer_bytes: $checked files outside lib/wire, lib/auth, lib/crypto are clean"
