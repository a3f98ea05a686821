#!/bin/sh
# packaging/stage-conffiles.sh - the configuration files as "make install"
# installs them (packaging/install.mk): conf/devprov.load, conf/devprov.conf
# and the example site conf/sites/provisioning.conf with this
# installation's paths.
#
#   stage-conffiles.sh OUTDIR MODDIR EXAMPLESDIR APACHE_CONFDIR SITE_NAME
#
# writes OUTDIR/mods-available/devprov.{load,conf} and
# OUTDIR/sites-available/SITE_NAME.conf; run from the top of the tree.
set -eu
[ $# -eq 5 ] || { echo "usage: $0 OUTDIR MODDIR EXAMPLESDIR APACHE_CONFDIR SITE_NAME" >&2; exit 2; }
out=$1 moddir=$2 examples=$3 confdir=$4 site=$5
mkdir -p "$out/mods-available" "$out/sites-available"

load=$out/mods-available/devprov.load
sed -e "s|/usr/lib/apache2/modules/mod_devprov\.so|$moddir/mod_devprov.so|" \
    conf/devprov.load > "$load"
if grep -q '^# Depends:' "$load"; then
    echo "conf/devprov.load: a '# Depends:' line: either mod_ssl (ssl, ssl_expired) will do" >&2
    exit 1
fi
grep -qxF "LoadModule devprov_module $moddir/mod_devprov.so" "$load" ||
    { echo "conf/devprov.load: LoadModule line not as expected" >&2; exit 1; }

sed -e "s|/usr/share/doc/devprov/examples/|$examples/|g" \
    conf/devprov.conf > "$out/mods-available/devprov.conf"

s=$out/sites-available/$site.conf
sed -e "s|/etc/apache2/sites-available/$site\.conf|$confdir/sites-available/$site.conf|" \
    -e "s|/usr/share/doc/devprov/examples/|$examples/|g" \
    conf/sites/provisioning.conf > "$s"
grep -q "a2ensite $site " "$s" ||
    { echo "conf/sites/provisioning.conf: does not say 'a2ensite $site'" >&2; exit 1; }
