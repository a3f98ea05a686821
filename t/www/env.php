<?php
// Test page: the request environment devprov and mod_ssl export, as JSON.
$out = array();
foreach (getenv() as $k => $v) {
    if (strncmp($k, 'DEVICE_', 7) === 0 || strncmp($k, 'SSL_CLIENT_VERIFY', 17) === 0
        || strncmp($k, 'REDIRECT_DEVICE_', 16) === 0) {
        $out[$k] = $v;
    }
}
ksort($out);
header('Content-Type: application/json');
echo json_encode($out), "\n";
