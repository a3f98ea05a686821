/* tests/deb/badmagic.c - a stand-in for a patched mod_ssl built for
 * another apache2 API: a module named ssl_module whose module magic
 * number major is not the server's, so that httpd refuses to load it
 * ("not compatible with this version of Apache").  t/test_deb_chroot.py
 * puts it in place of mod_ssl_expired.so to show what the package does
 * when Debian's apache2 changes underneath it.  Built with apxs; never
 * installed. */
#include "httpd.h"
#include "http_config.h"

module AP_MODULE_DECLARE_DATA ssl_module = {
    MODULE_MAGIC_NUMBER_MAJOR - 1,    /* another API */
    0, -1, __FILE__, NULL, NULL, MODULE_MAGIC_COOKIE, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, 0
};
