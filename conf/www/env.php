<?php
/*
 * env.php - test aid: what mod_devprov and mod_ssl told the application.
 *
 * Prints, as a JSON object, the environment variables whose names start
 * with DEVICE_ or SSL_CLIENT_VERIFY, plus HTTPS and REQUEST_URI.  Nothing
 * else (no certificates, keys or server paths).  Not for production.
 */
$out = [];
foreach (getenv() as $k => $v) {
    if (strncmp($k, 'DEVICE_', 7) === 0
        || strncmp($k, 'SSL_CLIENT_VERIFY', 17) === 0
        || $k === 'HTTPS' || $k === 'REQUEST_URI') {
        $out[$k] = $v;
    }
}
ksort($out);
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode((object)$out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES
                 | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
