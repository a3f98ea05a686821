#!/bin/sh
# Build mod_ssl.so with mod_ssl_expired.patch, out of tree, from the Debian
# apache2 source package of exactly the installed apache2 version.
#
# Usage: scripts/build-mod-ssl.sh [--select-only] BUILDDIR
#
#   BUILDDIR/apache2-dl         the downloaded source package (one version)
#   BUILDDIR/apache2-src        its tree with the patch applied
#   BUILDDIR/mod_ssl.so         the patched module (LoadModule it by absolute path)
#   BUILDDIR/mod_ssl.so.source  the apache2 source it was built from and the
#                               apache2 installed then (key=value lines)
#
#   --select-only   only choose (and download) the source, print the choice
#                   as key=value lines and exit: no extraction, no build
#
# Which source (doc/mod-ssl-source.md): the version dpkg says apache2 is,
# from the cache or `apt-get source apache2=<installed version>` (needs a
# deb-src entry for the suite the installed apache2 came from:
# scripts/install-deps.sh adds bookworm and bookworm-security).  If apt does
# not serve it, the build stops and names both versions, unless
# DEVPROV_ALLOW_OLDER_SOURCE=1 allows the newest older source apt does
# serve: then it warns, and the version is recorded (mod_ssl.so.source, and
# a line the module logs at every start of apache2).
#
# Idempotent: the source package in BUILDDIR/apache2-dl is reused only if it
# is the version chosen; the patch is applied once per tree (a stamp file
# that names the version), and the module is rebuilt only when a file under
# modules/ssl is newer than BUILDDIR/mod_ssl.so or the record above would
# change (another source, another installed apache2).  When
# mod_ssl_expired.patch is newer than the stamp, a fresh tree is extracted
# and the patch re-applied.
#
# Environment:
#   DEVPROV_ALLOW_OLDER_SOURCE  1: build from an older apache2 source when
#                 apt does not serve the installed version's (default 0);
#                 make passes it on: make DEVPROV_ALLOW_OLDER_SOURCE=1
#   APXS          apxs to use (default /usr/bin/apxs)
#   APACHE2       apache2 binary for the final `-t` check (default /usr/sbin/apache2)
#   APACHE2_DSC   use this local apache2_*.dsc instead of `apt-get source`
#                 (its version is checked against the installed one all the same)
#   APXS_EXTRA    more apxs arguments, e.g. "-Wc,-fsanitize=address -l asan"
#                 (tests/sanitize.mk); a change does not force a rebuild
#
# The release tarball behind the Debian source ships the manual as generated
# HTML only, so sections of the patch for files missing from the tree
# (docs/manual/mod/mod_ssl.xml) are skipped there, with a notice.
set -eu

prog=build-mod-ssl
die() { echo "$prog: $*" >&2; exit 1; }

select_only=
if [ "${1:-}" = "--select-only" ]; then
    select_only=1
    shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--select-only] BUILDDIR" >&2; exit 2; }

TOP=$(cd "$(dirname "$0")/.." && pwd)
PATCH=$TOP/mod_ssl_expired.patch
APXS=${APXS:-/usr/bin/apxs}
APACHE2=${APACHE2:-/usr/sbin/apache2}

[ -f "$PATCH" ] || die "missing $PATCH"
[ -n "$select_only" ] || [ -x "$APXS" ] || die "missing $APXS (install apache2-dev)"

case ${DEVPROV_ALLOW_OLDER_SOURCE:-0} in
    1|yes|true) allow_older=1 ;;
    0|no|false|"") allow_older=0 ;;
    *) die "DEVPROV_ALLOW_OLDER_SOURCE must be 1 or 0, not '$DEVPROV_ALLOW_OLDER_SOURCE'" ;;
esac

mkdir -p "$1"
BUILDDIR=$(cd "$1" && pwd)
SRC=$BUILDDIR/apache2-src
STAMP=$SRC/.mod_ssl_expired.applied
DL=$BUILDDIR/apache2-dl
OBJ=$BUILDDIR/obj
SO=$BUILDDIR/mod_ssl.so
RECORD=$SO.source

tmp=
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# true if file $1 is newer than file $2 (test -nt is not POSIX)
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# -- which source -------------------------------------------------------

# The Version: field of the .dsc $1 (clear-signed: the field is a line)
dsc_version() { sed -n 's/^Version:[[:space:]]*//p' "$1" | head -n 1; }

# A Debian version, as dpkg-query and .dsc files spell it.  The module gets
# it as a C string through apxs's shell command line, so nothing else may
# be in it.
check_version() {
    case $1 in
        ""|*[!0-9A-Za-z.+~:-]*) die "unexpected apache2 version '$1' ($2)" ;;
    esac
}

# Versions on stdin, one a line: unique, newest first, in dpkg's ordering
# (sort -V gets '~' wrong)
sort_versions() {
    out=
    while read -r v; do
        case $v in
            ""|*[!0-9A-Za-z.+~:-]*) continue ;;    # as check_version
        esac
        rest=$out; out=; placed=
        for w in $rest; do
            [ "$w" = "$v" ] && placed=1
            if [ -z "$placed" ] && dpkg --compare-versions "$v" gt "$w"; then
                out="$out $v"; placed=1
            fi
            out="$out $w"
        done
        [ -n "$placed" ] || out="$out $v"
    done
    for w in $out; do echo "$w"; done
}

# The .dsc of version $1 in the download cache, if that is what it holds
cached_dsc() {
    for d in "$DL"/apache2_*.dsc; do
        if [ -f "$d" ] && [ "$(dsc_version "$d")" = "$1" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# The versions the download cache holds
cached_versions() {
    for d in "$DL"/apache2_*.dsc; do
        [ ! -f "$d" ] || dsc_version "$d"
    done
}

# Download source version $1 into the cache (replacing what it held) and
# print its .dsc; false, with apt's own message on stderr, if apt does not
# serve it
fetch_version() {
    dl=$(mktemp -d "$BUILDDIR/.dl.XXXXXX")
    chmod 755 "$dl"    # apt downloads as user _apt
    echo "$prog: apt-get source apache2=$1 (download only)" >&2
    if ! (cd "$dl" && apt-get source -qq --download-only "apache2=$1") >&2; then
        rm -rf "$dl"
        return 1
    fi
    rm -rf "$DL"
    mv "$dl" "$DL"
    cached_dsc "$1" || die "apt-get source apache2=$1 left no apache2 .dsc of that version"
}

# Source $1 ($2 says what it is) is not the installed version: stop,
# unless the older source is explicitly allowed; then say so loudly
older_or_refuse() {
    if ! dpkg --compare-versions "$1" lt "$installed"; then
        die "$2 is $1, newer than the installed apache2 $installed: upgrade apache2, or build from the installed version's source"
    fi
    if [ "$allow_older" != 1 ]; then
        cat >&2 <<EOF
$prog: STOP: the installed apache2 is $installed, but
$prog: $2 is $1.
$prog: A mod_ssl built from $1 lacks every mod_ssl change made since,
$prog: security fixes included, while the server around it is $installed.
$prog: Either
$prog:   - make apt serve the source of $installed: a deb-src entry for the
$prog:     suite it came from (bookworm-security for a security update;
$prog:     scripts/install-deps.sh adds it), apt-get update, build again; or
$prog:   - knowingly build from $1:
$prog:       make DEVPROV_ALLOW_OLDER_SOURCE=1
$prog:     (or DEVPROV_ALLOW_OLDER_SOURCE=1 in the environment).
$prog: See doc/mod-ssl-source.md.
EOF
        exit 1
    fi
    cat >&2 <<EOF
$prog: ********************************************************************
$prog: WARNING: building mod_ssl from the OLDER apache2 source $1
$prog: WARNING: for the installed apache2 $installed, as allowed by
$prog: WARNING: DEVPROV_ALLOW_OLDER_SOURCE=1.  mod_ssl changes made after
$prog: WARNING: $1, security fixes included, are NOT in this module.
$prog: WARNING: Recorded in $RECORD,
$prog: WARNING: and the module warns at every start of apache2.
$prog: ********************************************************************
EOF
}

# Sets installed, src_version and src_dsc: the source to build from
select_source() {
    installed=$(dpkg-query -W -f='${Version}' apache2 2>/dev/null) || installed=
    [ -n "$installed" ] || die "apache2 is not installed (dpkg-query -W apache2): scripts/install-deps.sh installs it"
    check_version "$installed" "dpkg-query -W apache2"

    if [ -n "${APACHE2_DSC:-}" ]; then
        # a .dsc named by the caller (tests/sanitize.mk: the one the normal
        # build downloaded)
        [ -f "$APACHE2_DSC" ] || die "APACHE2_DSC: no such file: $APACHE2_DSC"
        src_dsc=$(cd "$(dirname "$APACHE2_DSC")" && pwd)/$(basename "$APACHE2_DSC")
        src_version=$(dsc_version "$src_dsc")
        check_version "$src_version" "$src_dsc"
        [ "$src_version" = "$installed" ] ||
            older_or_refuse "$src_version" "the apache2 source APACHE2_DSC=$APACHE2_DSC"
        return 0
    fi

    # 1. exactly the installed version: in the cache, or served by apt
    src_version=$installed
    if src_dsc=$(cached_dsc "$installed"); then
        return 0
    fi
    if src_dsc=$(fetch_version "$installed"); then
        return 0
    fi
    echo "$prog: apt does not serve the source of the installed apache2 $installed" >&2

    # 2. the newest older version that apt serves (or the cache holds);
    # it is downloaded even when the build then stops, so that the message
    # names a version apt really serves, not one an index merely lists
    versions=$({ apt-cache showsrc apache2 2>/dev/null |
                 sed -n 's/^Version:[[:space:]]*//p'; cached_versions; } |
               sort_versions)
    src_version=
    for v in $versions; do
        dpkg --compare-versions "$v" lt "$installed" || continue
        if src_dsc=$(cached_dsc "$v") || src_dsc=$(fetch_version "$v"); then
            src_version=$v
            break
        fi
    done
    if [ -z "$src_version" ]; then
        newest=$(echo "$versions" | head -n 1)
        if [ -n "$newest" ] && dpkg --compare-versions "$newest" gt "$installed"; then
            die "apt serves no apache2 source for the installed apache2 $installed, nor an older one; it lists $newest: upgrade apache2 to that, then build again"
        fi
        die "apt serves no apache2 source for the installed apache2 $installed, nor an older one (a deb-src entry: scripts/install-deps.sh; doc/mod-ssl-source.md)"
    fi
    older_or_refuse "$src_version" "the newest apache2 source apt serves here"
}

select_source
# what the module and its record say (key=value; t/conftest.py reads it)
record="source=$src_version
installed=$installed
older_source=$( [ "$src_version" = "$installed" ] && echo no || echo yes)
dsc=$(basename "$src_dsc")"
echo "$prog: apache2 source $src_version ($(basename "$src_dsc")), installed apache2 $installed"

if [ -n "$select_only" ]; then
    echo "$record"
    echo "dsc_path=$src_dsc"
    exit 0
fi

# -- patched tree ---------------------------------------------------------

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

extract_and_patch() {
    tmp=$(mktemp -d "$BUILDDIR/.extract.XXXXXX")
    echo "$prog: extracting $(basename "$src_dsc")"
    (cd "$tmp" && dpkg-source --no-check -x "$src_dsc" >/dev/null) \
        || die "dpkg-source -x $src_dsc failed"
    tree=$(find "$tmp" -maxdepth 1 -type d -name 'apache2-2.4.*' | head -n 1)
    if [ -z "$tree" ] || [ ! -d "$tree/modules/ssl" ]; then
        die "no apache2-2.4.* tree in $src_dsc"
    fi

    echo "$prog: applying $(basename "$PATCH")"
    filter_patch "$tree" | (cd "$tree" && patch -p1 --batch --forward --quiet) \
        || die "$(basename "$PATCH") does not apply to $(basename "$tree")"
    # the stamp names the source version: a tree of another one is not reused
    echo "$src_version" >"$tree/.mod_ssl_expired.applied"

    rm -rf "$SRC"
    mv "$tree" "$SRC"
    rm -rf "$tmp"; tmp=
}

# 1. patched source tree of the chosen version
if [ ! -f "$STAMP" ] || newer "$PATCH" "$STAMP" \
   || [ "$(cat "$STAMP")" != "$src_version" ]; then
    extract_and_patch
fi

# 2. mod_ssl.so, rebuilt when anything in modules/ssl (or the tree) is
# newer, or when it was built from another source or for another apache2
SSLDIR=$SRC/modules/ssl
if [ ! -f "$SO" ] || newer "$STAMP" "$SO" \
   || [ "$(cat "$RECORD" 2>/dev/null)" != "$record" ] \
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
    # The versions become C strings for the patch's startup log line
    # (ssl_engine_init.c).  apxs hands -D to a shell, hence the inner
    # quotes; check_version allowed no other quote or space in them.
    # shellcheck disable=SC2086
    (cd "$OBJ" && "$APXS" -c -o mod_ssl.la \
        -D "DEVPROV_MOD_SSL_SOURCE='\"$src_version\"'" \
        -D "DEVPROV_MOD_SSL_INSTALLED='\"$installed\"'" \
        -I"$SRC/include" -I"$SRC/modules/md" \
        -I"$SRC/modules/generators" -I"$SSLDIR" ${APXS_EXTRA:-} \
        $srcs -lssl -lcrypto >build.log 2>&1) \
        || { cat "$OBJ/build.log" >&2; die "apxs build failed"; }
    # the record first: a module without one is rebuilt next time
    rm -f "$RECORD"
    cp "$OBJ/.libs/mod_ssl.so" "$SO.tmp"
    mv -f "$SO.tmp" "$SO"
    echo "$record" >"$RECORD.tmp"
    mv -f "$RECORD.tmp" "$RECORD"
else
    echo "$prog: $SO is up to date"
fi
echo "$prog: $SO built from apache2 source $src_version (installed apache2 $installed; $RECORD)"

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
