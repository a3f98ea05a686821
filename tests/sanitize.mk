# tests/sanitize.mk - the integration suite under sanitizers and valgrind
# (included by the top Makefile: include tests/sanitize.mk).
#
#   make test-asan      build mod_devprov.so (glue + core) and the patched
#                       mod_ssl.so with -fsanitize=address,undefined into
#                       build/asan/, run all of t/ against them with the
#                       ASan/UBSan runtimes preloaded into apache2
#                       (tests/sanitize/apache2-asan), LeakSanitizer on;
#                       fails if any process left a report in
#                       build/asan/reports/ (they are printed).
#   make test-valgrind  the normal build; all of t/ (less the two tests that
#                       need apache's parent process, VALGRIND_DESELECT)
#                       with every apache2 run as `valgrind --leak-check=full
#                       apache2 -X` (tests/sanitize/apache2-valgrind), and
#                       `apache2 -t` under valgrind too; fails on any
#                       valgrind error or definite leak with a frame in our
#                       code (tests/sanitize/check-valgrind.py).
#                       VALGRIND_TESTS=t/test_devprov.py: the quick one
#                       (about 1.5 min instead of 7).
#   make test-sanitize  both.
#
# gcc (12) only: apache2-asan preloads gcc's libasan/libubsan.
# SAN_PYTEST_ARGS / VALGRIND_PYTEST_ARGS: more pytest arguments (-k, -x).

BUILD       ?= build
PYTHON      ?= /usr/bin/python3
SAN_CC      ?= gcc
SAN_DIR     := $(BUILD)/asan
SAN_REPORTS := $(SAN_DIR)/reports
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
SAN_OPT     := -O1 -g
SAN_PYTEST_ARGS ?=

# the project's flags, with the optimisation level of a sanitizer build
SAN_CFLAGS_CORE := $(filter-out -O%,$(CFLAGS_CORE)) $(SAN_OPT) $(SAN_FLAGS)
SAN_CFLAGS_GLUE := $(filter-out -O%,$(CFLAGS_GLUE)) $(SAN_OPT) $(SAN_FLAGS)

SAN_CORE_OBJ := $(patsubst src/%.c,$(SAN_DIR)/core/%.o,$(CORE_SRC))
SAN_GLUE_OBJ := $(patsubst %.c,$(SAN_DIR)/glue/%.o,$(GLUE_SRC))

# mod_ssl: the same script as the normal build, in build/asan/ (its own
# copy of the patched source, extracted from the package downloaded by the
# normal build), with the sanitizer flags; its final `apache2 -t` needs the
# preloaded runtime too.
SAN_APXS := -Wc,-fsanitize=address,undefined -Wc,-fno-omit-frame-pointer \
            -Wc,-fno-sanitize-recover=undefined -Wc,-O1 -Wc,-g \
            -l asan -l ubsan
SAN_DSC = $(firstword $(wildcard $(BUILD)/apache2-dl/apache2_*.dsc))
SAN_ENV = DEVPROV_SAN_LOGDIR=$(abspath $(SAN_REPORTS)) DEVPROV_SAN_CC=$(SAN_CC)

.PHONY: asan test-asan test-valgrind test-sanitize
.SECONDARY: $(SAN_CORE_OBJ) $(SAN_GLUE_OBJ)

asan: $(SAN_DIR)/mod_devprov.so $(SAN_DIR)/mod_ssl.so $(SAN_DIR)/nodlclose.so

$(SAN_DIR)/core/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS_CORE) -c $< -o $@

$(SAN_DIR)/glue/%.o: %.c $(CORE_HDR) $(wildcard mod_devprov*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_CFLAGS_GLUE) -c $< -o $@

$(SAN_DIR)/mod_devprov.so: $(SAN_GLUE_OBJ) $(SAN_CORE_OBJ) src/exports.map
	$(SAN_CC) -shared $(SAN_FLAGS) -o $@ $(SAN_GLUE_OBJ) $(SAN_CORE_OBJ) \
	    -Wl,--version-script=src/exports.map -Wl,-z,relro,-z,now -lssl -lcrypto

$(SAN_DIR)/nodlclose.so: tests/sanitize/nodlclose.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $<

$(SAN_DIR)/mod_ssl.so: mod_ssl_expired.patch scripts/build-mod-ssl.sh \
                       $(BUILD)/mod_ssl.so | $(SAN_DIR)/nodlclose.so
	@rm -rf $(SAN_DIR)/reports-build
	DEVPROV_SAN_LOGDIR=$(abspath $(SAN_DIR)/reports-build) \
	    APXS_EXTRA='$(SAN_APXS)' APACHE2_DSC='$(SAN_DSC)' \
	    APACHE2=tests/sanitize/apache2-asan \
	    sh scripts/build-mod-ssl.sh $(SAN_DIR)
	@sh tests/sanitize/check-reports.sh $(SAN_DIR)/reports-build

test-asan: asan
	@rm -rf $(SAN_REPORTS)
	@echo "== t/ with ASan+UBSan+LSan ($(SAN_CC)); reports: $(SAN_REPORTS)"
	@start=$$(date +%s); rc=0; \
	$(SAN_ENV) DEVPROV_BUILD=$(abspath $(SAN_DIR)) \
	    DEVPROV_APACHE2=$(abspath tests/sanitize/apache2-asan) \
	    $(PYTHON) -m pytest -q -p no:cacheprovider t $(SAN_PYTEST_ARGS) || rc=$$?; \
	echo "== test-asan: pytest exit $$rc, $$(( $$(date +%s) - start )) s"; \
	sh tests/sanitize/check-reports.sh $(SAN_REPORTS) && exit $$rc; exit 1

# -- valgrind --------------------------------------------------------------
VALGRIND_DIR  := $(BUILD)/valgrind
# tests that need a parent process (-X has none): the live allowlist check
# runs in the parent's maintenance loop, a graceful restart is the parent's
VALGRIND_DESELECT := test_allowlist_live_reload or test_graceful_restart
VALGRIND_PYTEST_ARGS ?=
VALGRIND_TESTS ?= t

test-valgrind: all
	@rm -rf $(VALGRIND_DIR)
	@echo "== $(VALGRIND_TESTS) under valgrind (apache2 -X); logs: $(VALGRIND_DIR)"
	@start=$$(date +%s); rc=0; \
	DEVPROV_VG_LOGDIR=$(abspath $(VALGRIND_DIR)) \
	    DEVPROV_APACHE2=$(abspath tests/sanitize/apache2-valgrind) \
	    $(PYTHON) -m pytest -q -p no:cacheprovider $(VALGRIND_TESTS) \
	    -k 'not ($(VALGRIND_DESELECT))' $(VALGRIND_PYTEST_ARGS) || rc=$$?; \
	echo "== test-valgrind: pytest exit $$rc, $$(( $$(date +%s) - start )) s"; \
	$(PYTHON) tests/sanitize/check-valgrind.py $(VALGRIND_DIR) && exit $$rc; exit 1

test-sanitize: test-asan test-valgrind

.PHONY: sanitize-clean
sanitize-clean:
	rm -rf $(SAN_DIR) $(VALGRIND_DIR)
