# tests/stock.mk - the integration suite in "stock mode" (included by the
# top Makefile: include tests/stock.mk).
#
#   make check-stock    build mod_devprov.so and run all of t/ with Debian's
#                       unmodified mod_ssl (STOCK_MOD_SSL) instead of the
#                       patched build/mod_ssl.so: devprov tolerates expired
#                       client certificates in the handshake itself
#                       (mod_devprov_ssl.c;
#                       doc/stock-mode.md).  Tests that need the patched mod_ssl
#                       are skipped with the reason (t/conftest.py,
#                       needs_patched_ssl); t/test_stock_mode.py runs with
#                       the stock mod_ssl in both modes.
#
# STOCK_PYTEST_ARGS: more pytest arguments (-k, -x).

BUILD         ?= build
PYTHON        ?= /usr/bin/python3
STOCK_MOD_SSL ?= /usr/lib/apache2/modules/mod_ssl.so
STOCK_PYTEST_ARGS ?=

.PHONY: check-stock

# the CLI's tests (t/test_cli.py) need tools/ built too
check-stock: $(BUILD)/mod_devprov.so tools
	@test -f $(STOCK_MOD_SSL) || { echo "no $(STOCK_MOD_SSL) (Debian package apache2)"; exit 1; }
	@echo "== t/ in stock mode: mod_ssl $(STOCK_MOD_SSL), mod_devprov $(BUILD)/mod_devprov.so"
	DEVPROV_BUILD=$(abspath $(BUILD)) DEVPROV_MOD_SSL=$(STOCK_MOD_SSL) \
	    $(PYTHON) -m pytest -q -p no:cacheprovider t $(STOCK_PYTEST_ARGS)
