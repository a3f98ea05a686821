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
#   make interop  the phone TLS stacks of t/test_interop.py (t/interop/)
#   make soak     load and faults: 100 clients, 60 s steady + 60 s faults
#   make soak-fleet  the same with DevprovFleet on: 30 min steady + 2 min
#                 faults (bench/results/soak-fleet.md)
#   make test-asan / test-valgrind   the integration suite under
#                 ASan+UBSan / valgrind (tests/sanitize.mk)
#   make bench    benchmarks (bench/), results in bench/results/
#   make clean    remove what the build made, except the downloaded apache2
#                 source package (build/apache2-dl)
#   make distclean  remove all of build/

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

# The core is every src/*.c: the one list of its sources, used by the
# module, libdpcore.a (unit tests, tools, bench) and the sanitizer and fuzz
# builds.  A new core file needs no Makefile change.
CORE_SRC := $(sort $(wildcard src/*.c))
CORE_HDR := $(wildcard src/*.h)
CORE_OBJ := $(patsubst src/%.c,$(BUILD)/core/%.o,$(CORE_SRC))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

.PHONY: all module mod_ssl deps unit check-glue check test demo demo-stop soak soak-fleet clean \
        mod_ssl-clean demo-clean distclean

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
	$(CC) -shared -o $@ $(GLUE_OBJ) $(CORE_OBJ) $(LDFLAGS) \
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

unit: $(UNIT_BIN) check-glue
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# the glue's files call each other one way only, none over 900 lines
check-glue: $(GLUE_OBJ)
	$(PYTHON) tests/glue_layers.py $(BUILD)/glue .

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

# 30 minutes of the same load with DevprovFleet on (the per-phone record;
# the children's RSS must stay flat), then 2 minutes of the faults
soak-fleet: all
	$(PYTHON) tests/soak.py --fleet -d 1800 --fault-seconds 120 \
	    -o bench/results/soak-fleet.md

# Benchmarks (bench/), fuzzers (fuzz/), the sanitizer and stock-mode
# suites (tests/), the operator command (tools/) and installation
# (packaging/) keep their rules beside them.  `make test` needs all of
# them: a missing fragment is an error, not a silently shorter test run.
include bench/bench.mk
include fuzz/fuzz.mk
include tests/sanitize.mk
include tests/stock.mk
include tools/tools.mk
include packaging/install.mk
include t/interop/interop.mk

# make clean: everything the build made, each fragment's own outputs by its
# <fragment>-clean target.  It keeps only the Debian apache2 source package
# that scripts/build-mod-ssl.sh downloaded (build/apache2-dl): fetching it
# is the one step that needs the network and a deb-src entry; the patched
# tree is extracted from it again and mod_ssl.so rebuilt by the next
# `make all` (under a minute).  make distclean removes that too.
#
# The clean targets remove $(BUILD)/fuzz, $(BUILD)/bench, ...: with BUILD=.
# that would be the source tree's own fuzz/ and bench/, so they refuse a
# BUILD that is empty, the source tree or /.
ifneq ($(filter clean distclean %-clean,$(MAKECMDGOALS)),)
ifneq ($(or $(if $(strip $(BUILD)),,empty),$(filter $(abspath .) /,$(abspath $(BUILD)))),)
$(error BUILD='$(BUILD)' is empty, the source tree or /: not cleaning it)
endif
endif
clean: mod_ssl-clean demo-clean fuzz-clean sanitize-clean tools-clean \
       bench-clean deb-clean interop-clean
	rm -rf $(BUILD)/core $(BUILD)/glue $(BUILD)/unit $(BUILD)/libdpcore.a \
	    $(BUILD)/mod_devprov.so $(BUILD)/test-artifacts

# scripts/build-mod-ssl.sh: the patched tree, its objects, the apache2 -t
# check directory and any extraction an interrupted run left behind
mod_ssl-clean:
	rm -rf $(BUILD)/mod_ssl.so $(BUILD)/apache2-src $(BUILD)/obj \
	    $(BUILD)/check $(BUILD)/.extract.*

# the demo's PKI and server directory (scripts/demo.sh); a demo server still
# running from it is stopped first, or it would be left without its files
demo-clean:
	@if [ -f $(BUILD)/demo/run/httpd.pid ]; then sh scripts/demo.sh stop; fi
	rm -rf $(BUILD)/pki $(BUILD)/demo

distclean: clean
	rm -rf $(BUILD)
