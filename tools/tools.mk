# tools/tools.mk - operator commands built from the module's core code,
# included by the top Makefile.
#
#   make tools        $(BUILD)/devprov-check (doc/devprov-check.1)
#
# The command links libdpcore.a: the same core as the module, the
# verdict after identification (src/dp_verdict.c) included.  LDFLAGS (the
# environment's or make's, e.g. dpkg-buildflags' -z relro -z now from
# debian/rules) go to the link.

TOOLS_SRC := $(wildcard tools/*.c)
TOOLS_HDR := $(wildcard tools/*.h)
TOOLS_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Werror -I.

.PHONY: tools tools-clean
tools: $(BUILD)/devprov-check

all: tools

$(BUILD)/devprov-check: $(TOOLS_SRC) $(TOOLS_HDR) $(BUILD)/libdpcore.a \
                        $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) $(TOOLS_SRC) $(BUILD)/libdpcore.a \
	    $(LDFLAGS) -lssl -lcrypto -o $@

# make test-asan runs t/ with DEVPROV_BUILD=$(SAN_DIR): t/test_cli.py runs
# the command from there, built with the sanitizers (tests/sanitize.mk,
# included before this file)
$(SAN_DIR)/devprov-check: $(TOOLS_SRC) $(TOOLS_HDR) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) -std=c11 -D_GNU_SOURCE $(SAN_OPT) $(SAN_FLAGS) $(WARN) -I. \
	    $(TOOLS_SRC) $(CORE_SRC) -lssl -lcrypto -o $@

asan: $(SAN_DIR)/devprov-check

tools-clean:
	rm -f $(BUILD)/devprov-check
