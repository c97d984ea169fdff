set -u
B=/work/wt-exp/build-rel/tools/smbcopy/smbcopy
S=$SMBW_TEST_SHARE_PATH
head -c $((1024*1024*1024)) /dev/urandom > $S/big; chown $SMBW_TEST_USER: $S/big
W=$(mktemp -d /dev/shm/cb.XXXX); cp $S/big $W/up.src
U="smb://$SMBW_TEST_HOST:$SMBW_TEST_PORT/$SMBW_TEST_SHARE"
export SMB_PASSWORD=$SMBW_TEST_PASS
cfgs=("--chunk-size=1M --depth=16" "--chunk-size=1M --depth=32" "--chunk-size=2M --depth=16" "--chunk-size=4M --depth=8" "--chunk-size=8M --depth=4" "--chunk-size=4M --depth=4")
for r in 1 2 3 4 5 6 7; do
  for i in "${!cfgs[@]}"; do
    a=${cfgs[$i]}
    sync; rm -f $W/dl; /usr/bin/time -f "%e %M" -o $W/t $B -q -U $SMBW_TEST_USER $a $U/big $W/dl; echo "dl [$a] $(cat $W/t)"
    sync; rm -f $S/up.sc; /usr/bin/time -f "%e %M" -o $W/t $B -q -U $SMBW_TEST_USER $a $W/up.src $U/up.sc; echo "up [$a] $(cat $W/t)"
  done
  rm -f $W/dl; /usr/bin/time -f "%e %M" -o $W/t smbclient //$SMBW_TEST_HOST/$SMBW_TEST_SHARE -p $SMBW_TEST_PORT -U $SMBW_TEST_USER%$SMBW_TEST_PASS --client-protection=sign -c "get big $W/dl" >/dev/null 2>&1; echo "dl [smbclient] $(cat $W/t)"
  rm -f $S/up.cl; /usr/bin/time -f "%e %M" -o $W/t smbclient //$SMBW_TEST_HOST/$SMBW_TEST_SHARE -p $SMBW_TEST_PORT -U $SMBW_TEST_USER%$SMBW_TEST_PASS --client-protection=sign -c "put $W/up.src up.cl" >/dev/null 2>&1; echo "up [smbclient] $(cat $W/t)"
done
cmp $S/big $W/dl; cmp $W/up.src $S/up.sc && echo same
rm -rf $W
