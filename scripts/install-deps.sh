#!/bin/sh
# Install everything devprov needs on Debian 12, and fetch the Debian apache2
# source that mod_ssl_expired.patch applies to.  Idempotent; run as root.
#
#   scripts/install-deps.sh [--bench]   --bench: also what make bench needs
set -eu

# the phone TLS stacks of t/test_interop.py (GnuTLS's gnutls-cli, mbedTLS,
# wolfSSL, Java's JSSE), which fails without them in CI, and fail2ban,
# whose filter and jail t/test_mixed_fleet.py runs; the last line:
# prometheus (with promtool), which scrapes the devprov-status handler in
# t/test_prometheus.py, and chromium, the headless browser of t/browser.py
PKGS="build-essential apache2 apache2-dev libssl-dev libapr1-dev libaprutil1-dev
      libcmocka-dev pkg-config curl openssl php-cgi
      python3-pytest python3-cryptography dpkg-dev debhelper patch
      libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql sqlite3
      postgresql postgresql-client
      clang libclang-rt-14-dev
      lintian mmdebstrap iproute2
      gnutls-bin libmbedtls-dev libwolfssl-dev default-jdk-headless
      fail2ban
      prometheus chromium"

# make bench (bench/compare.py) also compares with nginx, HAProxy and
# php-cgi, and draws its chart with matplotlib; bench-callgrind and
# bench-instr count instructions with valgrind
if [ "${1:-}" = "--bench" ]; then
    PKGS="$PKGS apache2-utils nginx haproxy python3-matplotlib valgrind"
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

# deb-src entries for apt-get source (own stanzas: a .list line would
# conflict with the existing deb822 stanza for the same archive), for every
# suite apt installs from, so that scripts/build-mod-ssl.sh finds the
# source of the installed apache2: a security update's is in the security
# suite only.  Derived from Debian's own deb822 file, so the same mirrors.
SRC=/etc/apt/sources.list.d/devprov-src.sources
DEB=/etc/apt/sources.list.d/debian.sources
src_stanzas() {
    # each stanza of type deb (and not already deb-src), as deb-src
    awk '
        function flush() {
            if (st != "" && types ~ /(^| )deb( |$)/ && types !~ /deb-src/)
                printf "%s%s", (n++ ? "\n" : ""), st
            st = ""; types = ""
        }
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        /^Types:/ { types = $0; sub(/^Types:[[:space:]]*/, "", types)
                    st = st "Types: deb-src\n"; next }
        { st = st $0 "\n" }
        END { flush() }
    ' "$DEB"
}
if [ "$(id -u)" -eq 0 ]; then
    want=$(mktemp)
    if [ -f "$DEB" ]; then
        src_stanzas >"$want"
    fi
    if [ ! -s "$want" ]; then
        cat >"$want" <<'EOS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
    fi
    if ! cmp -s "$want" "$SRC"; then
        install -m 0644 "$want" "$SRC"
        # a suite whose source index is not served must not stop the
        # install: build-mod-ssl.sh says which source it finds
        apt-get update -qq ||
            echo "install-deps: apt-get update reported errors (above); going on" >&2
    fi
    rm -f "$want"
fi
