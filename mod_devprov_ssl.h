/* mod_devprov_ssl.h - "stock mode": expired phone certificates through
 * Debian's unmodified mod_ssl.
 *
 * Part of mod_devprov's Apache glue.  When the loaded mod_ssl is not the
 * patched one (it has no SSLVerifyClientAcceptExpired), devprov wraps the
 * verify callback mod_ssl installed in the SSL_CTX of each virtual host
 * with "DevprovEngine on" (mod_ssl's optional hook ssl_init_server), so
 * that a client chain whose only errors are time errors (expired or not
 * yet valid, at any depth) passes the handshake; every other error goes
 * to mod_ssl's own callback unchanged.  In the request it then reports
 * SSL_CLIENT_VERIFY=EXPIRED and SSL_CLIENT_VERIFY_WAIVED in the
 * environment, as the patched mod_ssl does.  With the patched mod_ssl it
 * installs nothing.
 */
#ifndef MOD_DEVPROV_SSL_H
#define MOD_DEVPROV_SSL_H

#include <openssl/ssl.h>

#include "httpd.h"
#include "http_config.h"

/* One virtual host's handshake tolerance (stock mode only). */
typedef struct devprov_ssl devprov_ssl_t;

/* Register the hooks of stock mode (from devprov's register_hooks). */
void devprov_ssl_register_hooks(apr_pool_t *p);

/* Is the loaded mod_ssl the patched one (it has the directive
 * SSLVerifyClientAcceptExpired)?  Valid once the configuration is read. */
int devprov_mod_ssl_patched(void);

#endif
