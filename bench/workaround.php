<?php
/*
 * workaround.php - the field workaround devprov replaces, for the benchmark
 * (bench/compare.py, scenario c).  Written the way it is done in the field,
 * but correctly: a hand-patched mod_ssl lets the expired certificate
 * through (SSLVerifyClient optional_no_ca, SSLOptions +ExportCertData
 * +StdEnvVars), and this script verifies it itself on every request by
 * running "openssl verify -no_check_time" against the vendor's root, with
 * the chain the phone sent as untrusted certificates, then looks the MAC
 * up in the allowlist and hands over to the same renderer devprov's
 * scenario uses (render.php, through the DEVICE_* variables it reads).
 *
 * VENDOR_ROOT and ALLOWLIST come from the vhost (SetEnv).
 */

function refuse(string $why): void
{
    http_response_code(403);
    header('Content-Type: text/plain');
    echo "forbidden: $why\n";
    exit;
}

$leaf = getenv('SSL_CLIENT_CERT');
if ($leaf === false || $leaf === '') {
    refuse('no client certificate');
}
$chain = '';
for ($i = 0; ($c = getenv("SSL_CLIENT_CERT_CHAIN_$i")) !== false && $c !== ''; $i++) {
    $chain .= $c;
}

$dir = sys_get_temp_dir();
$leaf_file = tempnam($dir, 'leaf');
$chain_file = tempnam($dir, 'chain');
file_put_contents($leaf_file, $leaf);
file_put_contents($chain_file, $chain);
$cmd = 'openssl verify -no_check_time -purpose sslclient -CAfile '
     . escapeshellarg(getenv('VENDOR_ROOT'))
     . ($chain !== '' ? ' -untrusted ' . escapeshellarg($chain_file) : '')
     . ' ' . escapeshellarg($leaf_file) . ' 2>&1';
exec($cmd, $out, $rc);
unlink($leaf_file);
unlink($chain_file);
if ($rc !== 0) {
    refuse('certificate not verified: ' . implode(' ', $out));
}

$cn = (string)getenv('SSL_CLIENT_S_DN_CN');
if (!preg_match('/^[0-9A-Fa-f]{12}$/D', $cn)) {
    refuse('no MAC in certificate subject');
}
$mac = strtolower($cn);

/* the allowlist: "<mac> [label] [key=value ...]" lines */
$entry = null;
foreach (file(getenv('ALLOWLIST'), FILE_IGNORE_NEW_LINES) as $line) {
    if (strncasecmp($line, $mac, 12) === 0 && (strlen($line) === 12 || $line[12] === ' ')) {
        $entry = $line;
        break;
    }
}
if ($entry === null) {
    refuse('not in allowlist');
}

putenv('DEVICE_VERIFIED=1');
putenv("DEVICE_MAC=$mac");
putenv('DEVICE_ALLOWLISTED=1');
$x = openssl_x509_parse($leaf);
$validity = $x === false ? 'unknown'
          : ($x['validTo_time_t'] < time() ? 'expired'
          : ($x['validFrom_time_t'] > time() ? 'not-yet-valid' : 'valid'));
putenv("DEVICE_CERT_VALIDITY=$validity");
foreach (array_slice(explode(' ', $entry), 1) as $i => $field) {
    if (strpos($field, '=') !== false) {
        [$k, $v] = explode('=', $field, 2);
        putenv('DEVICE_ATTR_' . strtoupper($k) . "=$v");
    } elseif ($i === 0) {
        putenv("DEVICE_LABEL=$field");
    }
}
require getenv('RENDERER');
