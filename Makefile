# devprov - build, test and demo.
#
#   make          build build/mod_devprov.so and the patched build/mod_ssl.so
#                 (from the installed apache2's source; make DEVPROV_ALLOW_OLDER_SOURCE=1
#                 allows an older one: doc/mod-ssl-source.md)
#   make demo     (root, fresh Debian 12) install deps, build, run the demo
#   make test     (root, fresh Debian 12) install deps, build, run all tests
#   make unit     C unit tests only (cmocka)
#   make check    integration tests only (pytest, needs a build)
#   make check-stock  the same with Debian's unmodified mod_ssl (stock mode)
#   make install / uninstall / deb   see packaging/install.mk
#   make tools    build/devprov-check, the operator command (tools/)
#   make soak     load and faults: 100 clients, 60 s steady + 60 s faults
#   make test-asan / test-valgrind   the integration suite under
#                 ASan+UBSan / valgrind (tests/sanitize.mk)
#   make bench    benchmarks (bench/), results in bench/results/

APXS     ?= apxs
PYTHON   ?= /usr/bin/python3
CC       ?= cc
BUILD    ?= build

AP_INC   := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
AP_CPP   := $(shell $(APXS) -q EXTRA_CPPFLAGS 2>/dev/null)
APR_INC  := $(shell apr-1-config --includes 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wconversion -Wno-sign-conversion -Werror
OPT      ?= -O2 -g
CFLAGS_CORE := -std=c11 -D_GNU_SOURCE -fPIC $(OPT) $(WARN)
# httpd's headers are not -Wconversion/-Wstrict-prototypes clean
CFLAGS_GLUE := -std=c11 -fPIC $(OPT) -Wall -Wextra -Wshadow -Werror \
               -Wno-unused-parameter -I$(AP_INC) $(AP_CPP) $(APR_INC) -I.

CORE_SRC := src/dp_hex.c src/dp_file.c src/dp_mac.c src/dp_macrule.c src/dp_certs.c src/dp_trust.c \
            src/dp_allowlist.c src/dp_keyset.c src/dp_revoked.c \
            src/dp_identify.c src/dp_path.c src/dp_enrol.c src/dp_lcache.c \
            src/dp_idcache.c src/dp_stats.c src/dp_verdict.c src/dp_check.c
CORE_HDR := $(wildcard src/*.h)
CORE_OBJ := $(patsubst src/%.c,$(BUILD)/core/%.o,$(CORE_SRC))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

.PHONY: all module mod_ssl deps unit check test demo demo-stop soak clean

all: module mod_ssl

module: $(BUILD)/mod_devprov.so

$(BUILD)/core/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) -c $< -o $@

# every mod_devprov*.c is part of the module's Apache glue
GLUE_SRC := $(sort $(wildcard mod_devprov*.c))
GLUE_OBJ := $(patsubst %.c,$(BUILD)/glue/%.o,$(GLUE_SRC))

$(BUILD)/glue/%.o: %.c $(CORE_HDR) $(wildcard mod_devprov*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GLUE) -c $< -o $@

# Only the module structure is exported from the shared object.
$(BUILD)/mod_devprov.so: $(GLUE_OBJ) $(CORE_OBJ) src/exports.map
	$(CC) -shared -o $@ $(GLUE_OBJ) $(CORE_OBJ) \
	    -Wl,--version-script=src/exports.map -Wl,-z,relro,-z,now -lssl -lcrypto

mod_ssl: $(BUILD)/mod_ssl.so

# built from the installed apache2's source (doc/mod-ssl-source.md), so
# again when dpkg upgrades apache2; DEVPROV_ALLOW_OLDER_SOURCE=1 (make
# passes it on) allows an older source when apt does not serve that one
$(BUILD)/mod_ssl.so: mod_ssl_expired.patch scripts/build-mod-ssl.sh \
                     $(wildcard /var/lib/dpkg/info/apache2.list)
	sh scripts/build-mod-ssl.sh $(BUILD)

$(BUILD)/libdpcore.a: $(CORE_OBJ)
	ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libdpcore.a $(CORE_HDR) \
                 $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -I. $< \
	    $(BUILD)/libdpcore.a -lcmocka -lssl -lcrypto -o $@

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

check: all
	$(PYTHON) -m pytest -q t

deps:
	sh scripts/install-deps.sh

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) check
	$(MAKE) check-stock
	$(MAKE) test-asan

demo: deps
	$(MAKE) all
	sh scripts/demo.sh

demo-stop:
	sh scripts/demo.sh stop

# 100 clients for 60 s, then the same with faults (root; about 3 minutes)
soak: all
	$(PYTHON) tests/soak.py -o bench/results/soak.md

# Benchmarks (bench/) and fuzzers (fuzz/) keep their rules beside them.
-include bench/bench.mk
-include fuzz/fuzz.mk
-include tests/sanitize.mk
-include tests/stock.mk
-include tools/tools.mk
-include packaging/install.mk

clean:
	rm -rf $(BUILD)/core $(BUILD)/glue $(BUILD)/unit $(BUILD)/*.o $(BUILD)/*.so \
	    $(BUILD)/*.a $(BUILD)/pki
