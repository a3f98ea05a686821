#!/bin/sh
# packaging/conffile.sh - install or remove a configuration file without
# ever overwriting (or deleting) an administrator's changes to it; used by
# packaging/install.mk (make install / make uninstall).
#
#   conffile.sh install NEW DEST RECORD
#   conffile.sh remove  DEST RECORD
#
# RECORD is the copy of the version "make install" installed last time
# (under $(DATADIR)/devprov/dist/), so that a file the administrator has
# not touched can be told apart from one they edited, as dpkg does with
# its conffiles:
#
#   install:  DEST missing                -> install NEW
#             DEST is NEW already         -> nothing to do
#             DEST is what we installed   -> replace it with NEW
#             DEST differs from both      -> keep DEST, write NEW beside it
#                                            as DEST.devprov-new, say so
#   remove:   DEST is what we installed   -> remove it
#             DEST was changed            -> keep it, say so
#
# DEST.devprov-new and RECORD are ours and are always removed by "remove".
set -eu

say() { printf 'devprov: %s\n' "$*" >&2; }

same() { [ -f "$1" ] && [ -f "$2" ] && cmp -s "$1" "$2"; }

record() {          # record NEW RECORD
    mkdir -p "$(dirname "$2")"
    install -m 0644 "$1" "$2"
}

case ${1:-} in
install)
    [ $# -eq 4 ] || { echo "usage: $0 install NEW DEST RECORD" >&2; exit 2; }
    new=$2 dest=$3 rec=$4
    mkdir -p "$(dirname "$dest")"
    if [ ! -e "$dest" ] && [ ! -L "$dest" ]; then
        install -m 0644 "$new" "$dest"
        echo "installed $dest"
    elif same "$dest" "$new"; then
        echo "$dest is up to date"
    elif same "$dest" "$rec"; then
        install -m 0644 "$new" "$dest"
        echo "updated $dest"
    else
        install -m 0644 "$new" "$dest.devprov-new"
        say "kept $dest: it differs from the version make install put there"
        say "  (changed by you, or installed by something else); the new"
        say "  version is $dest.devprov-new - compare them with"
        say "  diff -u $dest $dest.devprov-new"
    fi
    record "$new" "$rec"
    # an older .devprov-new that is now installed is obsolete
    if same "$dest" "$new"; then rm -f "$dest.devprov-new"; fi
    ;;
remove)
    [ $# -eq 3 ] || { echo "usage: $0 remove DEST RECORD" >&2; exit 2; }
    dest=$2 rec=$3
    if [ -e "$dest" ] || [ -L "$dest" ]; then
        if same "$dest" "$rec"; then
            rm -f "$dest"
            echo "removed $dest"
        else
            say "kept $dest: you changed it (remove it yourself if you no"
            say "  longer need it)"
        fi
    fi
    rm -f "$dest.devprov-new" "$rec"
    ;;
*)
    echo "usage: $0 install NEW DEST RECORD | remove DEST RECORD" >&2
    exit 2
    ;;
esac
