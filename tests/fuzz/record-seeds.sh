#!/usr/bin/env bash
# Records the seed corpora from a private Samba (tests/testbed/samba.sh):
#
#   record-seeds.sh BUILD_DIR
#
# For each server variant, runs BUILD_DIR/tests/fuzz/record_client (the
# session script of session.c, linked against the fuzzing library) through
# record_proxy.py, which keeps the server's byte stream. The streams become
# corpus/client/samba-<variant> (replayed by fuzz_client and test_alloc);
# extract_seeds.py then cuts them into seeds for the decoder targets. Needs
# root (smbd). Rewrites the committed seeds: review the diff.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testbed=$here/../testbed
(($# == 1)) || {
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
}
client=$(cd "$1" && pwd)/tests/fuzz/record_client
[[ -x "$client" ]] || {
    echo "record-seeds: $client not built" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/smbw-record.XXXXXX")
chmod 0755 "$work" # smbd serves a share below it as the test user
tb=
proxy_pid=
cleanup() {
    if [[ -n "$proxy_pid" ]]; then
        kill "$proxy_pid" 2>/dev/null || true
    fi
    if [[ -n "$tb" ]]; then
        bash "$testbed/samba.sh" stop "$tb" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$here/corpus/client"
# variant name, then the samba.sh knobs
variants=(
    "SMB3_11|"
    "SMB3_02|SAMBA_MAX_PROTOCOL=SMB3_02"
    "SMB3_00|SAMBA_MAX_PROTOCOL=SMB3_00"
    "SMB2_10|SAMBA_MAX_PROTOCOL=SMB2_10"
    "SMB2_02|SAMBA_MAX_PROTOCOL=SMB2_02"
    "SMB3_11-signing|SAMBA_SIGNING=mandatory"
)
for v in "${variants[@]}"; do
    name=${v%%|*}
    knobs=${v#*|}
    tb=$work/tb-$name
    (
        if [[ -n "$knobs" ]]; then
            export "${knobs?}"
        fi
        bash "$testbed/samba.sh" start "$tb" >/dev/null
    )
    # shellcheck source=/dev/null
    source "$tb/env"
    rm -f "$work/port"
    python3 "$here/record_proxy.py" "$work/port" "$SMBW_TEST_PORT" "$work/$name.bin" &
    proxy_pid=$!
    for _ in $(seq 100); do
        [[ -s "$work/port" ]] && break
        sleep 0.1
    done
    [[ -s "$work/port" ]] || {
        echo "record-seeds: the proxy did not start" >&2
        exit 1
    }
    timeout 60 "$client" 127.0.0.1 "$(cat "$work/port")" "$SMBW_TEST_USER" "$SMBW_TEST_PASS" \
        "$SMBW_TEST_SHARE"
    timeout 70 tail --pid="$proxy_pid" -f /dev/null
    wait "$proxy_pid"
    proxy_pid=
    cp "$work/$name.bin" "$here/corpus/client/samba-$name"
    bash "$testbed/samba.sh" stop "$tb"
    tb=
done
python3 "$here/extract_seeds.py" "$here/corpus"
echo "record-seeds: done; corpora in $here/corpus"
