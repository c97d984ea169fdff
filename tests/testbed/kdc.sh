#!/usr/bin/env bash
# Private MIT Kerberos KDC on loopback for the tests.
#
#   kdc.sh start DIR   creates DIR/{krb5.conf,kdc.conf,db,...}, the realm
#                      SMBW.TEST with the user smbwtest@SMBW.TEST and the
#                      services cifs/localhost, cifs/files.smbw.test,
#                      cifs/127.0.0.1 and cifs/127.0.0.2 (the DFS testbed), a
#                      keytab for those services, starts krb5kdc on a free
#                      port, kinits the user into DIR/ccache and writes
#                      DIR/env (source it) and DIR/samba-global (the lines a
#                      Kerberos-accepting smbd needs, "\n"-separated, ready for
#                      SAMBA_EXTRA_GLOBAL of samba.sh).
#   kdc.sh stop DIR    stops that KDC only.
#
# DIR/env exports KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME (FILE:DIR/ccache),
# SMBW_KRB5_REALM, SMBW_KRB5_USER, SMBW_KRB5_PASS, SMBW_KRB5_KEYTAB,
# SMBW_KRB5_SERVICE_HOST (the made-up FQDN), SMBW_KRB5_KDC_PORT.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/testbed/lib.sh
source "$here/lib.sh"

REALM=SMBW.TEST
FQDN=files.smbw.test
KRB_USER=$SMBW_TB_USER
KRB_PASS=$SMBW_TB_PASS

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

write_conf() {
    local dir=$1 port=$2
    cat >"$dir/krb5.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    forwardable = false
    ticket_lifetime = 2h
    default_ccache_name = FILE:$dir/ccache

[realms]
    $REALM = {
        kdc = 127.0.0.1:$port
        admin_server = 127.0.0.1:$port
    }

[domain_realm]
    localhost = $REALM
    .smbw.test = $REALM
    smbw.test = $REALM

[logging]
    default = FILE:$dir/log/krb5lib.log
EOF
    cat >"$dir/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$port
    kdc_tcp_listen = 127.0.0.1:$port

[realms]
    $REALM = {
        database_name = $dir/db/principal
        key_stash_file = $dir/db/stash
        acl_file = $dir/db/kadm5.acl
        max_life = 10h
        max_renewable_life = 1d
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }

[logging]
    kdc = FILE:$dir/log/kdc.log
EOF
}

start() {
    local dir=$1
    command -v krb5kdc >/dev/null || tb_die "krb5kdc not found: run tests/testbed/install-deps.sh"
    command -v kinit >/dev/null || tb_die "kinit not found: run tests/testbed/install-deps.sh"
    if [[ -f "$dir/run/krb5kdc.pid" ]]; then
        tb_die "$dir already has a running KDC (stop it first)"
    fi
    mkdir -p "$dir"/{db,log,run}
    dir=$(cd "$dir" && pwd)
    chmod 0755 "$dir"
    chmod 0700 "$dir/db"
    tb_ensure_user

    local port attempt pid i
    export KRB5_CONFIG=$dir/krb5.conf KRB5_KDC_PROFILE=$dir/kdc.conf
    export KRB5CCNAME=FILE:$dir/ccache
    for attempt in 1 2 3 4 5; do
        port=$(tb_free_port)
        write_conf "$dir" "$port"
        if ((attempt == 1)); then
            : >"$dir/db/kadm5.acl"
            local master
            master=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
            kdb5_util -r "$REALM" create -s -P "$master" >"$dir/log/kdb5_util.out" 2>&1 ||
                tb_die "kdb5_util create failed: $(cat "$dir/log/kdb5_util.out")"
            {
                kadmin.local -r "$REALM" -q "addprinc -pw $KRB_PASS $KRB_USER@$REALM"
                kadmin.local -r "$REALM" -q "addprinc -randkey +no_auth_data_required cifs/localhost@$REALM"
                kadmin.local -r "$REALM" -q "addprinc -randkey +no_auth_data_required cifs/$FQDN@$REALM"
                # The DFS testbed's two servers by address (samba-dfs.sh).
                kadmin.local -r "$REALM" -q "addprinc -randkey +no_auth_data_required cifs/127.0.0.1@$REALM"
                kadmin.local -r "$REALM" -q "addprinc -randkey +no_auth_data_required cifs/127.0.0.2@$REALM"
                kadmin.local -r "$REALM" -q "ktadd -k $dir/smb.keytab cifs/localhost@$REALM cifs/$FQDN@$REALM cifs/127.0.0.1@$REALM cifs/127.0.0.2@$REALM"
            } >"$dir/log/kadmin.out" 2>&1 || tb_die "kadmin.local failed: $(cat "$dir/log/kadmin.out")"
            [[ -s "$dir/smb.keytab" ]] || tb_die "no keytab written: $(cat "$dir/log/kadmin.out")"
            chmod 0600 "$dir/smb.keytab"
            printf '%s = %s@%s\n' "$KRB_USER" "$KRB_USER" "$REALM" >"$dir/username.map"
        fi
        setsid krb5kdc -n -r "$REALM" -P "$dir/run/krb5kdc.pid.kdc" \
            </dev/null >>"$dir/log/krb5kdc.out" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/run/krb5kdc.pid"
        for ((i = 0; i < 100; i++)); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if tb_port_accepts "$port" && tb_pid_listens_on "$pid" "$port"; then
                break 2
            fi
            sleep 0.1
        done
        tb_stop_pidfile "$dir/run/krb5kdc.pid" krb5kdc 5
        echo "kdc: krb5kdc did not listen on port $port (attempt $attempt)" >&2
        pid=
    done
    if [[ -z "$pid" ]]; then
        tail -n 20 "$dir/log/kdc.log" "$dir/log/krb5kdc.out" >&2 2>/dev/null || true
        tb_die "could not start krb5kdc in $dir"
    fi

    # kinit with the password on stdin (never on a command line), bounded.
    printf '%s\n' "$KRB_PASS" | timeout 20 kinit "$KRB_USER@$REALM" >"$dir/log/kinit.out" 2>&1 ||
        tb_die "kinit failed: $(cat "$dir/log/kinit.out")"
    klist >"$dir/log/klist.out" 2>&1 || tb_die "klist after kinit failed: $(cat "$dir/log/klist.out")"

    {
        echo "    realm = $REALM"
        echo "    kerberos method = dedicated keytab"
        echo "    dedicated keytab file = FILE:$dir/smb.keytab"
        echo "    username map = $dir/username.map"
    } >"$dir/samba-global"

    {
        printf 'export KRB5_CONFIG=%q\n' "$dir/krb5.conf"
        printf 'export KRB5_KDC_PROFILE=%q\n' "$dir/kdc.conf"
        printf 'export KRB5CCNAME=%q\n' "FILE:$dir/ccache"
        printf 'export SMBW_KRB5_REALM=%q\n' "$REALM"
        printf 'export SMBW_KRB5_USER=%q\n' "$KRB_USER"
        printf 'export SMBW_KRB5_PASS=%q\n' "$KRB_PASS"
        printf 'export SMBW_KRB5_KEYTAB=%q\n' "$dir/smb.keytab"
        printf 'export SMBW_KRB5_SERVICE_HOST=%q\n' "$FQDN"
        printf 'export SMBW_KRB5_KDC_PORT=%q\n' "$port"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    echo "kdc: krb5kdc pid $pid listening on 127.0.0.1:$port, realm $REALM ($dir)"
}

stop() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    dir=$(cd "$dir" && pwd)
    tb_stop_pidfile "$dir/run/krb5kdc.pid" krb5kdc 5
    rm -f "$dir/run/krb5kdc.pid.kdc"
}

(($# == 2)) || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
