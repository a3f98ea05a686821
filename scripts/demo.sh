#!/bin/bash
# scripts/demo.sh - run the devprov provisioning site on 127.0.0.1 and show,
# acting as a desk phone with curl, that a phone whose factory certificate
# has EXPIRED still gets its own configuration over HTTPS, and nothing else.
#
#   sh scripts/demo.sh          (make demo)       build PKI + config, start, show
#   sh scripts/demo.sh stop     (make demo-stop)  stop the demo server
#
# Needs build/mod_devprov.so and build/mod_ssl.so (make all).  Everything it
# writes is under build/: build/pki (certs/mkpki.py), build/demo (httpd.conf,
# allowlist, document roots, logs, pid file).  It runs Debian's apache2
# binary directly with its own config; the system apache2 service is not
# touched.
#
# Environment:
#   DEMO_HTTPS_PORT  HTTPS (Polycom) port, default 8443
#   DEMO_HTTP_PORT   HTTP bootstrap port, default 8080
#   DEMO_STOP=1      stop the server again after the demo
#   DEMO_DIR         where the demo server lives (default build/demo)
#   DEMO_MOD_SSL     mod_ssl.so to load (default build/mod_ssl.so; Debian's
#                    stock one works too: devprov's stock mode, doc/stock-mode.md)
#   BUILD            build directory (default build)
#
# Exit status is non-zero if any step does not behave as expected.

# "sh scripts/demo.sh" runs dash on Debian: re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then
    exec /bin/bash "$0" "$@"
fi
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DEMO=${DEMO_DIR:-$BUILD/demo}
PKI=$BUILD/pki
CONF=$DEMO/httpd.conf
PIDFILE=$DEMO/run/httpd.pid
HTTPS_PORT=${DEMO_HTTPS_PORT:-8443}
HTTP_PORT=${DEMO_HTTP_PORT:-8080}
APACHE=/usr/sbin/apache2
PYTHON=/usr/bin/python3
MODDIR=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)
MOD_SSL=${DEMO_MOD_SSL:-$BUILD/mod_ssl.so}
MOD_DEVPROV=$BUILD/mod_devprov.so

if [ -t 1 ]; then
    B=$(printf '\033[1m'); G=$(printf '\033[32m'); R=$(printf '\033[31m'); N=$(printf '\033[0m')
else
    B=; G=; R=; N=
fi

say() { printf '%s\n' "$*"; }
hdr() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

# The pid in the pid file, if it is a running apache2 started with our
# config (a stale pid file may name an unrelated process).
demo_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    case $pid in ''|*[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
    printf '%s\n' "$pid"
}

stop_demo() {
    local pid
    if ! pid=$(demo_pid); then
        rm -f "$PIDFILE"
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
        say "demo: apache2 (pid $pid) did not stop; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$PIDFILE"
    say "demo: stopped apache2 (pid $pid)"
}

if [ "${1:-}" = stop ]; then
    stop_demo || say "demo: no demo server running"
    exit 0
fi
[ $# -eq 0 ] || die "usage: sh scripts/demo.sh [stop]"

# ------------------------------------------------------------- preconditions
[ -x "$APACHE" ] || die "$APACHE not found (apt-get install apache2)"
command -v curl >/dev/null || die "curl not found"
[ -x /usr/bin/php-cgi ] || die "/usr/bin/php-cgi not found (apt-get install php-cgi)"
[ -f "$MOD_DEVPROV" ] || die "$MOD_DEVPROV missing: run 'make module' first"
[ -f "$MOD_SSL" ] || die "$MOD_SSL missing: run 'make mod_ssl' first"
for m in mpm_event authz_core authz_host mime dir alias rewrite actions cgid \
         env setenvif socache_shmcb; do
    [ -f "$MODDIR/mod_$m.so" ] || die "$MODDIR/mod_$m.so missing"
done

# ------------------------------------------------------------------ the PKI
hdr "Test PKI ($PKI)"
"$PYTHON" "$ROOT/certs/mkpki.py" "$PKI"
for f in server/ca.pem server/server.pem server/server.key \
         server/server-ec.pem server/server-ec.key polycom/root.pem \
         polycom/issuing.pem polycom/issuing-expired.pem polycom/cafile.pem \
         devices/polycom-valid.pem devices/polycom-expired.pem \
         devices/polycom-unlisted.pem devices/rogue-polycom.pem; do
    [ -f "$PKI/$f" ] || die "certs/mkpki.py did not produce $PKI/$f"
done
say "server CA, Polycom root + issuing CAs, device certificates: ok"
say "polycom-expired: $(openssl x509 -in "$PKI/devices/polycom-expired.pem" -noout -subject -enddate | tr '\n' ' ')"

# ------------------------------------------------------------- the config
stop_demo >/dev/null 2>&1 || true      # an earlier demo instance, by its pid
mkdir -p "$DEMO/logs" "$DEMO/run"
rm -rf "$DEMO/www" "$DEMO/bootstrap"
cp -R "$ROOT/conf/www" "$DEMO/www"
cp -R "$ROOT/conf/bootstrap" "$DEMO/bootstrap"
# the bootstrap files point the phone to this demo's HTTPS server
sed -i "s|https://provisioning.example.com:8443/|https://127.0.0.1:$HTTPS_PORT/|g" \
    "$DEMO"/bootstrap/*.cfg
chmod -R a+rX "$DEMO/www" "$DEMO/bootstrap"
mkdir -p "$DEMO/uploads"
if [ "$(id -u)" -eq 0 ]; then chown www-data:www-data "$DEMO/uploads"; fi

cat > "$DEMO/allowlist" <<'EOF'
# devprov demo allowlist: MAC [label] [key=value ...]
0004f2000001  reception        ext=201  sip_server=pbx.example.com
0004f2000002  warehouse-desk   ext=202  sip_server=pbx.example.com
EOF

sed -e "s|@LISTEN_ADDR@|127.0.0.1|g" \
    -e "s|@HTTPS_PORT@|$HTTPS_PORT|g" \
    -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    -e "s|@SERVERROOT@|$DEMO|g" \
    -e "s|@PKI@|$PKI|g" \
    -e "s|@ALLOWLIST@|$DEMO/allowlist|g" \
    -e "s|@WWW@|$DEMO/www|g" \
    -e "s|@BOOTSTRAP@|$DEMO/bootstrap|g" \
    -e "s|@UPLOADS@|$DEMO/uploads|g" \
    -e "s|@REVOKED@|$ROOT/conf/revoked.example|g" \
    -e "s|@SQLDRIVER@|sqlite3|g" \
    -e "s|@SQLPARAMS@|$DEMO/phones.db|g" \
    "$ROOT/conf/sites/provisioning.conf.in" > "$DEMO/provisioning.conf"
if grep -n '@[A-Z_]*@' "$DEMO/provisioning.conf" >&2; then
    die "unsubstituted placeholders in $DEMO/provisioning.conf"
fi

user_group=""
if [ "$(id -u)" -eq 0 ]; then
    user_group="User www-data
Group www-data"
fi

cat > "$CONF" <<EOF
# devprov demo server - generated by scripts/demo.sh; do not edit.
ServerRoot "$DEMO"
ServerName localhost
PidFile "$PIDFILE"
DefaultRuntimeDir "$DEMO/run"
ErrorLog "$DEMO/logs/error_log"
LogLevel warn
$user_group

LoadModule mpm_event_module    $MODDIR/mod_mpm_event.so
LoadModule authz_core_module   $MODDIR/mod_authz_core.so
LoadModule authz_host_module   $MODDIR/mod_authz_host.so
LoadModule mime_module         $MODDIR/mod_mime.so
LoadModule dir_module          $MODDIR/mod_dir.so
LoadModule alias_module        $MODDIR/mod_alias.so
LoadModule rewrite_module      $MODDIR/mod_rewrite.so
LoadModule actions_module      $MODDIR/mod_actions.so
LoadModule cgid_module         $MODDIR/mod_cgid.so
LoadModule env_module          $MODDIR/mod_env.so
LoadModule setenvif_module     $MODDIR/mod_setenvif.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module          $MOD_SSL
LoadModule dav_module          $MODDIR/mod_dav.so
LoadModule dav_fs_module       $MODDIR/mod_dav_fs.so
LoadModule devprov_module      $MOD_DEVPROV

StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 32

TypesConfig /etc/mime.types
ScriptSock "$DEMO/run/cgid.sock"
SSLSessionCache "shmcb:$DEMO/run/ssl_scache(512000)"
Timeout 30

<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>

# "devprov" log format (defined in the site): %{DEVICE_MAC}e
# %{DEVICE_CERT_VALIDITY}e %{SSL_CLIENT_VERIFY}e ...
CustomLog "$DEMO/logs/access_log" devprov

# the example provisioning site (conf/sites/provisioning.conf.in)
Include "$DEMO/provisioning.conf"
EOF

hdr "Config test ($CONF)"
"$APACHE" -t -f "$CONF"

hdr "Starting apache2 on 127.0.0.1:$HTTPS_PORT (HTTPS) and 127.0.0.1:$HTTP_PORT (HTTP bootstrap)"
: > "$DEMO/logs/access_log"
: > "$DEMO/logs/error_log"
if ! "$APACHE" -f "$CONF" -k start; then
    tail -n 20 "$DEMO/logs/error_log" >&2
    die "apache2 did not start"
fi
up=0
for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$HTTP_PORT/000000000000.cfg"; then
        up=1
        break
    fi
    sleep 0.1
done
if [ $up -ne 1 ] || ! pid=$(demo_pid); then
    tail -n 20 "$DEMO/logs/error_log" >&2
    die "apache2 does not answer on 127.0.0.1:$HTTP_PORT"
fi
say "apache2 running, pid $pid"

# ------------------------------------------------------------- the phone
failures=0
body=$DEMO/run/body
CA=$PKI/server/ca.pem
D=$PKI/devices
# Print paths relative to the repository in the commands shown.
rel() { printf '%s' "${1#"$ROOT"/}"; }

# step <title> <expected status> <body regex or ""> <url> [<device>]
step() {
    local title=$1 want=$2 pat=$3 url=$4 dev=${5:-} code rc=0 shown
    local -a args=(-sS --max-time 10 -o "$body" -w '%{http_code}')
    shown="curl"
    case $url in
    https:*)
        args+=(--cacert "$CA")
        shown="$shown --cacert $(rel "$CA")"
        if [ -n "$dev" ]; then
            args+=(--cert "$D/$dev.pem" --key "$D/$dev.key")
            shown="$shown --cert $(rel "$D/$dev.pem") --key $(rel "$D/$dev.key")"
        fi
        ;;
    esac
    hdr "$title"
    say "\$ $shown $url"
    : > "$body"
    code=$(curl "${args[@]}" "$url" 2>"$body.err") || rc=$?
    if [ $rc -ne 0 ]; then
        say "curl failed (exit $rc): $(cat "$body.err")"
        code="curl-exit-$rc"
    fi
    sed 's/^/    /' "$body"
    [ -s "$body" ] && [ -n "$(tail -c1 "$body")" ] && echo
    if [ "$code" = "$want" ] && { [ -z "$pat" ] || grep -Eq -- "$pat" "$body"; }; then
        say "${G}OK${N}: HTTP $code, as expected"
    else
        say "${R}UNEXPECTED${N}: got $code, expected $want${pat:+ with body matching /$pat/}"
        failures=$((failures + 1))
    fi
}

mark=$(wc -l < "$DEMO/logs/access_log")
H=https://127.0.0.1:$HTTPS_PORT
P=http://127.0.0.1:$HTTP_PORT

step "1. Phone 0004f2000002 with an EXPIRED factory certificate fetches its own config" \
    200 'cert validity: expired' "$H/0004f2000002.cfg" polycom-expired
grep -q 'reg.1.displayName="warehouse-desk"' "$body" || {
    say "${R}UNEXPECTED${N}: the label from the allowlist is missing"
    failures=$((failures + 1)); }

step "2. The same phone asks for another phone's file (0004f2000001.cfg)" \
    403 '' "$H/0004f2000001.cfg" polycom-expired

step "3. Phone 0004f2000001 (valid certificate) fetches its own config" \
    200 'cert validity: valid' "$H/0004f2000001.cfg" polycom-valid

step "4. A certificate from a rogue CA claiming MAC 0004f2000001" \
    403 '' "$H/0004f2000001.cfg" rogue-polycom

step "5. A genuine Polycom certificate whose MAC is not in the allowlist" \
    403 '' "$H/0004f2999999.cfg" polycom-unlisted

step "6. No client certificate at all, asking for the master config" \
    403 '' "$H/000000000000.cfg"

step "7. Plain-HTTP bootstrap: the master config points the phone to HTTPS" \
    200 'CONFIG_FILES="bootstrap.cfg"' "$P/000000000000.cfg"

step "8. Plain-HTTP bootstrap refuses a per-phone file" \
    403 '' "$P/0004f2000002.cfg"

hdr "Access log ($(rel "$DEMO/logs/access_log"), format: ... mac= verified= validity= ssl_verify= listed= reason=)"
tail -n +"$((mark + 1))" "$DEMO/logs/access_log" | sed 's/^/    /'
hdr "devprov lines in the error log ($(rel "$DEMO/logs/error_log"))"
grep -F 'devprov' "$DEMO/logs/error_log" | grep -vF 'reusing' | sed 's/^/    /' || true
other=$(grep -vF 'devprov' "$DEMO/logs/error_log" | grep -E '\[(emerg|alert|crit|error)\]|\[[a-z_]+:(emerg|alert|crit|error)\]' || true)
if [ -n "$other" ]; then
    hdr "Other errors in the error log (step 8's AH01630 is the expected refusal)"
    printf '%s\n' "$other" | sed 's/^/    /'
fi

hdr "Summary"
say "Shown: a phone whose factory client certificate expired gets its own"
say "configuration over HTTPS (rendered by conf/www/render.php with"
say "DEVICE_CERT_VALIDITY=expired), but not another phone's file; rogue,"
say "unlisted and certificate-less clients get 403; the plain-HTTP bootstrap"
say "serves only the non-secret master config."
if [ "${DEMO_STOP:-0}" = 1 ]; then
    stop_demo || true
else
    say ""
    say "The demo server is still running (pid $pid):"
    say "  https://127.0.0.1:$HTTPS_PORT/  (phones)   http://127.0.0.1:$HTTP_PORT/  (bootstrap)"
    say "  config $(rel "$CONF"), logs $(rel "$DEMO/logs")/"
    say "Stop it with:  make demo-stop   (or: sh scripts/demo.sh stop)"
fi
if [ $failures -ne 0 ]; then
    die "$failures step(s) did not behave as expected"
fi
say "${G}All demo steps behaved as expected.${N}"
