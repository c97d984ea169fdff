#!/usr/bin/env bash
# Installs what smbwire's build and tests need (Debian 12). Idempotent: apt is
# only touched when a package is missing, and `apt-get update` runs at most once.
set -euo pipefail

PACKAGES=(
    build-essential gcc clang libclang-rt-14-dev meson ninja-build pkg-config python3
    check libssl-dev libkrb5-dev
    samba smbclient samba-vfs-modules libsmbclient-dev
    samba-testsuite # smbtorture, for tests/conformance/smbtorture-ioctl.sh (docs/conformance.md)
    python3-impacket
    krb5-kdc krb5-admin-server krb5-user
    btrfs-progs tshark valgrind xxd coreutils util-linux strace iproute2 gcovr debootstrap
    gnuplot-nox time # bench/run.sh: PNG plots of the benchmark sweeps; GNU time for bench/memory.sh
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if ((EUID != 0)); then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, never prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
    "${sudo_cmd[@]}" debconf-set-selections
# Kerberos packages ask for a default realm; the tests bring their own krb5.conf.
printf '%s\n' \
    "krb5-config krb5-config/default_realm string SMBWIRE.TEST" \
    "krb5-config krb5-config/kerberos_servers string" \
    "krb5-config krb5-config/admin_server string" \
    "krb5-config krb5-config/add_servers_realm string SMBWIRE.TEST" \
    "krb5-admin-server krb5-admin-server/newrealm note" |
    "${sudo_cmd[@]}" debconf-set-selections
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

# The packaged services are not used (the tests start private instances);
# stop any that the package scripts started, where an init system exists.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    for svc in smbd nmbd samba-ad-dc krb5-kdc krb5-admin-server; do
        "${sudo_cmd[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
fi
echo "install-deps: done"
