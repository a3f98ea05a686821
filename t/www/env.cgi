#!/bin/sh
# Test CGI: the same as env.php without PHP, to prove plain CGI sees it too.
printf 'Content-Type: text/plain\r\n\r\n'
env | grep -E '^(DEVICE_|SSL_CLIENT_VERIFY)' | sort
