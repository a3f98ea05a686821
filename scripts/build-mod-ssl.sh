#!/bin/sh
# Build mod_ssl.so with mod_ssl_expired.patch, out of tree, from the Debian
# apache2 source package.
#
# Usage: scripts/build-mod-ssl.sh BUILDDIR
#
#   BUILDDIR/apache2-src   Debian apache2 source tree with the patch applied
#   BUILDDIR/mod_ssl.so    the patched module (LoadModule it by absolute path)
#
# Idempotent: the source is fetched once (`apt-get source apache2`, needs the
# deb-src entry that scripts/install-deps.sh adds), the patch is applied once
# (stamp file), and the module is rebuilt only when a file under
# modules/ssl is newer than BUILDDIR/mod_ssl.so.  When mod_ssl_expired.patch
# is newer than the stamp, a fresh tree is extracted and the patch re-applied.
#
# Environment:
#   APXS          apxs to use (default /usr/bin/apxs)
#   APACHE2       apache2 binary for the final `-t` check (default /usr/sbin/apache2)
#   APACHE2_DSC   use this local apache2_*.dsc instead of `apt-get source`
#   APXS_EXTRA    more apxs arguments, e.g. "-Wc,-fsanitize=address -l asan"
#                 (tests/sanitize.mk); a change does not force a rebuild
#
# The release tarball behind the Debian source ships the manual as generated
# HTML only, so sections of the patch for files missing from the tree
# (docs/manual/mod/mod_ssl.xml) are skipped there, with a notice.
set -eu

prog=build-mod-ssl
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 BUILDDIR" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
PATCH=$TOP/mod_ssl_expired.patch
APXS=${APXS:-/usr/bin/apxs}
APACHE2=${APACHE2:-/usr/sbin/apache2}

[ -f "$PATCH" ] || die "missing $PATCH"
[ -x "$APXS" ] || die "missing $APXS (install apache2-dev)"

mkdir -p "$1"
BUILDDIR=$(cd "$1" && pwd)
SRC=$BUILDDIR/apache2-src
STAMP=$SRC/.mod_ssl_expired.applied
DL=$BUILDDIR/apache2-dl
OBJ=$BUILDDIR/obj
SO=$BUILDDIR/mod_ssl.so

tmp=
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# true if file $1 is newer than file $2 (test -nt is not POSIX)
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# Print the sections of the patch (git-style, one "diff --git" header per
# file) whose target exists in tree $1 or that create a new file.
filter_patch() {
    awk -v src="$1" -v prog="$prog" '
        function flush_hdr() { if (hdr != "") { if (keep) printf "%s", hdr; hdr = "" } }
        /^diff --git / { flush_hdr(); inhdr = 1; keep = 1; hdr = $0 "\n"; next }
        inhdr && /^--- / {
            path = $2; sub(/^a\//, "", path)
            keep = ($2 == "/dev/null") || system("test -e \"" src "/" path "\"") == 0
            if (!keep)
                printf "%s: skipping %s (not in this source tree)\n", prog, path > "/dev/stderr"
            inhdr = 0; hdr = hdr $0 "\n"; flush_hdr(); next
        }
        inhdr { hdr = hdr $0 "\n"; next }
        { if (keep) print }
        END { flush_hdr() }
    ' "$PATCH"
}

fetch_and_patch() {
    tmp=$(mktemp -d "$BUILDDIR/.extract.XXXXXX")
    chmod 755 "$tmp"    # apt downloads as user _apt
    if [ -n "${APACHE2_DSC:-}" ]; then
        [ -f "$APACHE2_DSC" ] || die "APACHE2_DSC: no such file: $APACHE2_DSC"
        dsc=$(cd "$(dirname "$APACHE2_DSC")" && pwd)/$(basename "$APACHE2_DSC")
    else
        dsc=$(find "$DL" -maxdepth 1 -name 'apache2_*.dsc' 2>/dev/null | sort | tail -n 1)
        if [ -z "$dsc" ]; then
            echo "$prog: apt-get source apache2 (download only)"
            mkdir -m 755 "$tmp/dl"
            (cd "$tmp/dl" && apt-get source -qq --download-only apache2) \
                || die "apt-get source apache2 failed (deb-src entry? see scripts/install-deps.sh)"
            rm -rf "$DL"
            mv "$tmp/dl" "$DL"
            dsc=$(find "$DL" -maxdepth 1 -name 'apache2_*.dsc' | sort | tail -n 1)
        fi
    fi
    echo "$prog: extracting $(basename "$dsc")"
    (cd "$tmp" && dpkg-source --no-check -x "$dsc" >/dev/null) \
        || die "dpkg-source -x $dsc failed"
    tree=$(find "$tmp" -maxdepth 1 -type d -name 'apache2-2.4.*' | head -n 1)
    if [ -z "$tree" ] || [ ! -d "$tree/modules/ssl" ]; then
        die "no apache2-2.4.* tree in $dsc"
    fi

    echo "$prog: applying $(basename "$PATCH")"
    filter_patch "$tree" | (cd "$tree" && patch -p1 --batch --forward --quiet) \
        || die "$(basename "$PATCH") does not apply to $(basename "$tree")"
    touch "$tree/.mod_ssl_expired.applied"

    rm -rf "$SRC"
    mv "$tree" "$SRC"
    rm -rf "$tmp"; tmp=
}

# 1. patched source tree
if [ ! -f "$STAMP" ] || newer "$PATCH" "$STAMP"; then
    fetch_and_patch
fi

# 2. mod_ssl.so, rebuilt when anything in modules/ssl (or the tree) is newer
SSLDIR=$SRC/modules/ssl
if [ ! -f "$SO" ] || newer "$STAMP" "$SO" \
   || [ -n "$(find "$SSLDIR" -newer "$SO" -print | head -n 1)" ]; then
    echo "$prog: building $SO"
    rm -rf "$OBJ"
    mkdir -p "$OBJ"
    srcs=
    for f in "$SSLDIR"/mod_ssl.c "$SSLDIR"/ssl_engine_*.c \
             "$SSLDIR"/ssl_scache.c "$SSLDIR"/ssl_util*.c; do
        ln -s "$f" "$OBJ/"
        srcs="$srcs $(basename "$f")"
    done
    # shellcheck disable=SC2086
    (cd "$OBJ" && "$APXS" -c -o mod_ssl.la \
        -I"$SRC/include" -I"$SRC/modules/md" \
        -I"$SRC/modules/generators" -I"$SSLDIR" ${APXS_EXTRA:-} \
        $srcs -lssl -lcrypto >build.log 2>&1) \
        || { cat "$OBJ/build.log" >&2; die "apxs build failed"; }
    cp "$OBJ/.libs/mod_ssl.so" "$SO.tmp"
    mv -f "$SO.tmp" "$SO"
else
    echo "$prog: $SO is up to date"
fi

# 3. the module loads into the installed apache2
CHK=$BUILDDIR/check
mkdir -p "$CHK"
MODS=/usr/lib/apache2/modules
cat >"$CHK/httpd.conf" <<EOF
ServerRoot "$CHK"
DefaultRuntimeDir "$CHK"
PidFile "$CHK/httpd.pid"
ErrorLog "$CHK/error_log"
ServerName localhost
Listen 127.0.0.1:1
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule socache_shmcb_module $MODS/mod_socache_shmcb.so
LoadModule ssl_module $SO
SSLVerifyClientAcceptExpired off
EOF
out=$("$APACHE2" -t -f "$CHK/httpd.conf" 2>&1) \
    || { echo "$out" >&2; die "apache2 -t failed with $SO"; }
case $out in
    *"Syntax OK"*) echo "$prog: $SO: Syntax OK" ;;
    *) echo "$out" >&2; die "apache2 -t did not say Syntax OK" ;;
esac
