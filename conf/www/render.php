<?php
/*
 * render.php - devprov's per-phone configuration renderer.
 *
 * Reached only through the provisioning site's rewrite of
 *   /<MAC>.cfg  and  /<MAC>-phone.cfg      (MAC = 12 hex digits)
 * and run by php-cgi.  mod_devprov has already verified the phone's client
 * certificate (even an expired one) and exported the verdict:
 *
 *   DEVICE_VERIFIED       1 / 0
 *   DEVICE_MAC            normal form (12 lower-case hex digits)
 *   DEVICE_ALLOWLISTED    1 / 0 (when an allowlist is configured)
 *   DEVICE_LABEL          label from the allowlist
 *   DEVICE_ATTR_<KEY>     attributes from the allowlist (e.g. DEVICE_ATTR_EXT)
 *   DEVICE_CERT_VALIDITY  valid / expired / not-yet-valid (certificates only)
 *   DEVICE_IDENTIFIED_BY  certificate / pin / password (DevprovUserIdentity)
 *
 * devprov sets them again, unprefixed, on the internal redirect to php-cgi,
 * so only the unprefixed names are read here: a REDIRECT_DEVICE_* copy is
 * never trusted.
 *
 * A phone gets only its own file: the MAC in the requested file name must
 * be the MAC in its certificate (or, for a phone identified by password,
 * the MAC its user name names).
 */

function fail(int $code, string $msg): void
{
    http_response_code($code);
    header('Content-Type: text/plain; charset=utf-8');
    header('Cache-Control: no-store');
    echo $msg, "\n";
    exit;
}

function env(string $name): string
{
    $v = getenv($name);
    return $v === false ? '' : $v;
}

function normal_mac(string $s): string
{
    return strtolower(str_replace([':', '-', '.'], '', $s));
}

function xml(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_XML1 | ENT_SUBSTITUTE, 'UTF-8');
}

$method = env('REQUEST_METHOD');
if ($method !== 'GET' && $method !== 'HEAD') {
    header('Allow: GET, HEAD');
    fail(405, 'method not allowed');
}

/* The file the phone asked for: the original request's path (REQUEST_URI is
 * the client's request line; REDIRECT_URL the URL before the last internal
 * redirect, used if a site routes here without a rewrite). */
$file_mac = null;
$kind = null;
foreach ([env('REQUEST_URI'), env('REDIRECT_URL')] as $uri) {
    $path = rawurldecode((string)parse_url($uri, PHP_URL_PATH));
    if (preg_match('#^/([0-9A-Fa-f]{12})(-phone)?\.cfg$#D', $path, $m)) {
        $file_mac = normal_mac($m[1]);
        $kind = isset($m[2]) && $m[2] !== '' ? 'phone' : 'device';
        break;
    }
}
if ($file_mac === null) {
    fail(404, 'not a per-phone configuration file');
}

if (env('DEVICE_VERIFIED') !== '1') {
    $why = env('DEVICE_REASON');
    fail(403, 'forbidden: not a verified phone' . ($why !== '' ? " ($why)" : ''));
}
$mac = normal_mac(env('DEVICE_MAC'));
if (!preg_match('/^[0-9a-f]{12}$/D', $mac)) {
    fail(403, 'forbidden: no device MAC');
}
if (!hash_equals($mac, $file_mac)) {
    fail(403, 'forbidden: this file belongs to another phone');
}
if (getenv('DEVICE_ALLOWLISTED') !== false && env('DEVICE_ALLOWLISTED') !== '1') {
    fail(403, 'forbidden: phone not in the allowlist');
}

$validity = env('DEVICE_CERT_VALIDITY');
if (!preg_match('/^[a-z]+(-[a-z]+)*$/D', $validity)) {
    $validity = 'unknown';
}
$by = env('DEVICE_IDENTIFIED_BY');
if (!in_array($by, ['certificate', 'pin', 'password'], true)) {
    $by = 'unknown';
}
$label = env('DEVICE_LABEL');
if ($label === '') {
    $label = $mac;
}

$params = [
    'device.set' => '1',
    'reg.1.displayName' => $label,
    'reg.1.label' => $label,
];
$ext = env('DEVICE_ATTR_EXT');
if ($ext !== '') {
    $params['reg.1.address'] = $ext;
    $params['reg.1.auth.userId'] = $ext;
}
$sip = env('DEVICE_ATTR_SIP_SERVER');
if ($sip !== '') {
    $params['reg.1.server.1.address'] = $sip;
}

header('Content-Type: text/xml; charset=utf-8');
header('Cache-Control: no-store');

$out = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' . "\n";
$out .= "<!-- devprov: $kind configuration for $mac; cert validity: $validity; identified by $by -->\n";
if ($validity === 'expired') {
    $out .= "<!-- the phone's factory certificate has expired; it was accepted by devprov -->\n";
}
$out .= "<PHONE_CONFIG>\n  <ALL";
foreach ($params as $k => $v) {
    $out .= "\n    " . $k . '="' . xml($v) . '"';
}
$out .= "\n  />\n</PHONE_CONFIG>\n";

if ($method === 'HEAD') {
    header('Content-Length: ' . strlen($out));
    exit;
}
echo $out;
