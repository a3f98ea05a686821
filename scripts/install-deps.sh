#!/bin/sh
# Install everything devprov needs on Debian 12, and fetch the Debian apache2
# source that mod_ssl_expired.patch applies to.  Idempotent; run as root.
#
#   scripts/install-deps.sh [--bench]   --bench: also what make bench needs
set -eu

PKGS="build-essential apache2 apache2-dev libssl-dev libapr1-dev libaprutil1-dev
      libcmocka-dev pkg-config curl openssl php-cgi
      python3-pytest python3-cryptography dpkg-dev debhelper patch
      libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql sqlite3
      postgresql postgresql-client
      clang libclang-rt-14-dev"

# make bench (bench/compare.py) also compares with nginx, HAProxy and
# php-cgi, and draws its chart with matplotlib
if [ "${1:-}" = "--bench" ]; then
    PKGS="$PKGS apache2-utils nginx haproxy python3-matplotlib"
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages:$missing (run as root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi

# deb-src entry for apt-get source (own stanza: a .list line would conflict
# with the existing deb822 stanza for the same archive).
SRC=/etc/apt/sources.list.d/devprov-src.sources
if [ ! -f "$SRC" ] && [ "$(id -u)" -eq 0 ]; then
    cat > "$SRC" <<'EOS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
    apt-get update -qq
fi
