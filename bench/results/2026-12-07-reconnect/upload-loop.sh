set -euo pipefail
root=/work/wt-lead
source "$root/tests/common/common.sh"
copy_init upx
smbcopy=$root/build-rel/tools/smbcopy/smbcopy
size=$((1024*1024*1024))
head -c "$size" /dev/urandom >"$work/big.bin"
pp=
stop_proxy() { [[ -z "$pp" ]] || { kill "$pp" 2>/dev/null || true; wait "$pp" 2>/dev/null || true; }; }
on_exit stop_proxy
for r in 1 2 3 4 5 6; do
  stop_proxy; rm -f "$work/p" "$work/log"
  "$py" "$common_dir/cut_proxy.py" --port-file "$work/p" --log "$work/log" --timeout 900 --up $((size*300/1024)) --cuts 3 "$SMBW_TEST_HOST" "$SMBW_TEST_PORT" &
  pp=$!
  for _ in $(seq 200); do [[ -s "$work/p" ]] && break; sleep 0.05; done
  purl=smb://$SMBW_TEST_USER@$SMBW_TEST_HOST:$(cat "$work/p")/$SMBW_TEST_SHARE
  rm -f "$share/out.bin"; sync
  s=$(date +%s.%N)
  "$smbcopy" -v --retry-wait=0.1 "$work/big.bin" "$purl/out.bin" 2>&1 | while IFS= read -r l; do echo "$(echo "$(date +%s.%N) - $s" | bc | cut -c1-6) $l"; done > /tmp/upx.$r.log || true
  echo "round $r: $(tail -1 /tmp/upx.$r.log | cut -c1-8)"
done
