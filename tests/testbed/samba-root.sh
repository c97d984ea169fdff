#!/usr/bin/env bash
# A second Samba version beside the system's: a minimal Debian root with
# samba from bookworm-backports (4.22 at the time of writing), built once with
# debootstrap and cached on this machine. Nothing of the machine's packages or
# configuration is touched; smbd runs chrooted into it (samba.sh does that
# when SMBW_SAMBA=backports).
#
#   samba-root.sh ensure   builds the root unless a complete one is cached;
#                          prints its path
#   samba-root.sh path     prints the path (whether or not it exists)
#   samba-root.sh version  prints the root's Samba version
#
# SMBW_SAMBA_ROOT overrides the place (default /var/cache/smbwire/samba-backports).
# The Debian mirror is the first deb.debian.org-style URI of the host's apt
# sources (the only network CI has), or SMBW_DEBIAN_MIRROR.
set -euo pipefail

root=${SMBW_SAMBA_ROOT:-/var/cache/smbwire/samba-backports}
stamp=$root/.smbwire-complete

die() {
    echo "samba-root: $*" >&2
    exit 1
}

mirror() {
    if [[ -n "${SMBW_DEBIAN_MIRROR:-}" ]]; then
        echo "$SMBW_DEBIAN_MIRROR"
        return
    fi
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
        2>/dev/null | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?' |
        grep -v -- '-security' | head -n 1 || true)
    echo "${m:-http://deb.debian.org/debian}"
}

build() {
    ((EUID == 0)) || die "must run as root (debootstrap, chroot)"
    command -v debootstrap >/dev/null || die "debootstrap not found: run tests/testbed/install-deps.sh"
    local tmp=$root.new m
    m=$(mirror)
    rm -rf "$tmp"
    mkdir -p "$(dirname "$root")"
    echo "samba-root: debootstrap bookworm from $m into $tmp" >&2
    debootstrap --variant=minbase bookworm "$tmp" "$m" >"$tmp.log" 2>&1 ||
        die "debootstrap failed (log: $tmp.log): $(tail -n 5 "$tmp.log")"
    cat >"$tmp/etc/apt/sources.list.d/backports.sources" <<EOF
Types: deb
URIs: $m
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # The package scripts must not start services inside the root.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 0755 "$tmp/usr/sbin/policy-rc.d"
    local in_root=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
        chroot "$tmp")
    {
        "${in_root[@]}" apt-get update &&
            "${in_root[@]}" apt-get install -y --no-install-recommends -t bookworm-backports \
                samba smbclient
    } >>"$tmp.log" 2>&1 || die "installing samba in the root failed (log: $tmp.log): $(tail -n 5 "$tmp.log")"
    "${in_root[@]}" smbd --version >/dev/null 2>&1 || die "smbd does not run in the root"
    "${in_root[@]}" apt-get clean >/dev/null 2>&1 || true
    rm -rf "$root"
    mv "$tmp" "$root"
    mv "$tmp.log" "$root.log"
    touch "$stamp"
}

case "${1:-}" in
ensure)
    if [[ ! -f "$stamp" ]]; then
        build
    fi
    echo "$root"
    ;;
path)
    echo "$root"
    ;;
version)
    [[ -f "$stamp" ]] || die "no root at $root (run: $0 ensure)"
    chroot "$root" smbd --version
    ;;
*)
    echo "usage: $0 ensure|path|version" >&2
    exit 2
    ;;
esac
