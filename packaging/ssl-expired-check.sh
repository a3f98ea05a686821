#!/bin/sh
# ssl-expired-check - does the patched mod_ssl load into the installed
# apache2?  Installed by libapache2-mod-ssl-expired as
# /usr/libexec/libapache2-mod-ssl-expired/check; its postinst runs it at
# installation and whenever dpkg changes Debian's apache2 underneath it
# (debian/libapache2-mod-ssl-expired.triggers).
#
#   check [MODULE]     (default /usr/lib/apache2/modules/mod_ssl_expired.so)
#
# Loads MODULE into the installed apache2 with a throw-away configuration
# (apache2 -t: the server's own checks, the module magic number among
# them) and uses the directive only the patched module has.  Prints what
# it found; exit status 0: it loads and is the patched mod_ssl; 1: it does
# not (apache2's own message printed); 2: usage or setup error.
#
# Also compares the versions in the build record (INFO, below: the apache2
# source it was built from, the apache2 installed at build time) with the
# installed apache2-bin and says when they differ: it still loads (same
# module magic), but the mod_ssl changes of the newer apache2, security
# fixes among them, are missing until it is rebuilt.
set -u

MODULE=${1:-/usr/lib/apache2/modules/mod_ssl_expired.so}
APACHE2=${DEVPROV_APACHE2:-/usr/sbin/apache2}
MODDIR=${DEVPROV_MODDIR:-/usr/lib/apache2/modules}
INFO=${DEVPROV_SSL_EXPIRED_INFO:-/usr/share/libapache2-mod-ssl-expired/build-info}
prog=libapache2-mod-ssl-expired

case $MODULE in /*) ;; *) MODULE=$(pwd)/$MODULE ;; esac
[ -f "$MODULE" ] || { echo "$prog: $MODULE: missing" >&2; exit 2; }
[ -x "$APACHE2" ] || { echo "$prog: $APACHE2: missing" >&2; exit 2; }

field() { sed -n "s/^$1=//p" "$INFO" 2>/dev/null | head -n 1; }
src=$(field source)
built_for=$(field installed)
now=$(dpkg-query -W -f='${Version}' apache2-bin 2>/dev/null || true)

dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
# an MPM is needed for -t; whichever is there, the others are not loaded
mpm=
for m in event worker prefork; do
    if [ -f "$MODDIR/mod_mpm_$m.so" ]; then mpm=$m; break; fi
done
[ -n "$mpm" ] || { echo "$prog: no MPM module in $MODDIR" >&2; exit 2; }
cat > "$dir/check.conf" <<CONF
ServerRoot $dir
ServerName localhost
DefaultRuntimeDir $dir
PidFile $dir/pid
ErrorLog $dir/error.log
LoadModule mpm_${mpm}_module $MODDIR/mod_mpm_$mpm.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODULE
SSLVerifyClientAcceptExpired off
CONF
if ! "$APACHE2" -t -f "$dir/check.conf" > "$dir/out" 2>&1; then
    echo "$prog: $MODULE does not load into the installed apache2" \
         "${now:-(version unknown)}, or is not the patched mod_ssl:" >&2
    sed 's/^/  /' "$dir/out" >&2
    echo "$prog: it was built from apache2 source ${src:-?} for apache2" \
         "${built_for:-?}; rebuild it from the source of the installed" \
         "apache2 (devprov's source tree: make deb)" >&2
    exit 1
fi
echo "$prog: $MODULE loads into apache2 ${now:-?} (built from apache2" \
     "source ${src:-?} for apache2 ${built_for:-?})"
if [ -n "$now" ] && [ -n "$src" ] && [ "$now" != "$src" ]; then
    echo "$prog: WARNING: the installed apache2 is $now, the patched" \
         "mod_ssl is built from the apache2 $src source: mod_ssl's changes" \
         "since then, security fixes among them, are missing until it is" \
         "rebuilt from the $now source (make deb)" >&2
fi
exit 0
