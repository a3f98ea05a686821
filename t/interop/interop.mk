# t/interop/interop.mk - the phone TLS stacks of t/test_interop.py,
# included by the top Makefile.
#
#   make interop   $(BUILD)/interop/mbedtls_client (libmbedtls-dev),
#                  $(BUILD)/interop/wolfssl_client (libwolfssl-dev) and
#                  $(BUILD)/interop/JsseClient.class (a JDK); GnuTLS and
#                  OpenSSL are their own command-line clients (gnutls-cli,
#                  openssl s_client).  scripts/install-deps.sh installs all.

INTEROP_DIR    := $(BUILD)/interop
INTEROP_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Wshadow -Werror
INTEROP_HDR    := t/interop/http_response.h

.PHONY: interop interop-clean
interop: $(INTEROP_DIR)/mbedtls_client $(INTEROP_DIR)/wolfssl_client \
         $(INTEROP_DIR)/JsseClient.class

$(INTEROP_DIR)/mbedtls_client: t/interop/mbedtls_client.c $(INTEROP_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(INTEROP_CFLAGS) $< -o $@ -lmbedtls -lmbedx509 -lmbedcrypto

$(INTEROP_DIR)/wolfssl_client: t/interop/wolfssl_client.c $(INTEROP_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(INTEROP_CFLAGS) $< -o $@ -lwolfssl

$(INTEROP_DIR)/JsseClient.class: t/interop/JsseClient.java
	@mkdir -p $(dir $@)
	javac -Xlint:all -Werror -d $(INTEROP_DIR) $<

interop-clean:
	rm -rf $(INTEROP_DIR)
