# fuzz/fuzz.mk - libFuzzer targets for devprov's parsers (included by the
# top Makefile).  See fuzz/RESULTS.md for what each target checks.
#
#   make fuzz          build with clang -fsanitize=fuzzer,address,undefined
#                      and run every target for FUZZ_SECONDS (default 60) on
#                      a scratch copy of its corpus (build/fuzz/work/); the
#                      committed corpus in fuzz/corpus/ is not changed.
#                      FUZZ_TARGETS=path make fuzz: only some targets;
#                      FUZZ_ARGS='-runs=1000000': extra libFuzzer options.
#   make fuzz-build    only build the libFuzzer binaries (build/fuzz/bin/)
#   make fuzz-replay   build with gcc -fsanitize=address,undefined (no
#                      libFuzzer) and run each committed corpus through its
#                      target once: a few seconds (about 7 s with the build), for CI.
#   make fuzz-coverage line/branch coverage of src/ by the corpora
#                      (FUZZ_COV_CORPUS, default fuzz/corpus).
#
# Debian 12 packages: clang (clang-14) and libclang-rt-14-dev (libFuzzer's
# runtime, libclang_rt.fuzzer*.a); the replay needs only gcc.  Core objects
# are compiled again, with the sanitizers, into build/fuzz/ from the top
# Makefile's CORE_SRC.

BUILD         ?= build
FUZZ_CC       ?= clang
FUZZ_REPLAY_CC ?= gcc
FUZZ_SECONDS  ?= 60
FUZZ_ARGS     ?=
FUZZ_TARGETS  ?= macrule allowlist path revoked enrol certs fields fleet
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_CORE_SRC := $(CORE_SRC)
FUZZ_HDR      := $(CORE_HDR) $(wildcard fuzz/*.h)

FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_COMMON   := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
                 -Wall -Wextra -Isrc -Ifuzz
FUZZ_CFLAGS   := $(FUZZ_COMMON) -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_LDFLAGS  := -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_RCFLAGS  := $(FUZZ_COMMON) $(FUZZ_SAN)
FUZZ_LIBS     := -lssl -lcrypto

FUZZ_OBJ      := $(patsubst src/%.c,$(FUZZ_DIR)/core/%.o,$(FUZZ_CORE_SRC))
FUZZ_ROBJ     := $(patsubst src/%.c,$(FUZZ_DIR)/replay-core/%.o,$(FUZZ_CORE_SRC))
FUZZ_BIN      := $(patsubst %,$(FUZZ_DIR)/bin/fuzz_%,$(FUZZ_TARGETS))
FUZZ_RBIN     := $(patsubst %,$(FUZZ_DIR)/replay/fuzz_%,$(FUZZ_TARGETS))

# per-target libFuzzer options, as used for fuzz/RESULTS.md
# (the allowlist seeds include a 12 KB list that grows the hash table: the
# replay runs it; fuzzing uses 4 KB inputs for speed - set
# FUZZ_OPTS_allowlist=-max_len=16384 to fuzz big lists too)
FUZZ_OPTS_allowlist ?= -max_len=4096
FUZZ_OPTS_macrule   ?= -max_len=4096
FUZZ_OPTS_certs     ?= -max_len=2048
FUZZ_OPTS_path      ?= -max_len=1024
FUZZ_OPTS_enrol     ?= -max_len=1024
FUZZ_OPTS_revoked   ?= -max_len=4096
FUZZ_OPTS_fields    ?= -max_len=4096
FUZZ_OPTS_fleet     ?= -max_len=8200

.PHONY: fuzz fuzz-build fuzz-replay fuzz-coverage fuzz-clean
# keep the sanitizer builds of the core objects (they are intermediates)
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_ROBJ)

$(FUZZ_DIR)/core/%.o: src/%.c $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/replay-core/%.o: src/%.c $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_REPLAY_CC) $(FUZZ_RCFLAGS) -c $< -o $@

$(FUZZ_DIR)/bin/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ) $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror $< $(FUZZ_OBJ) $(FUZZ_LDFLAGS) \
	    $(FUZZ_LIBS) -o $@

$(FUZZ_DIR)/replay/fuzz_%: fuzz/fuzz_%.c fuzz/replay_main.c $(FUZZ_ROBJ) \
                           $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_REPLAY_CC) $(FUZZ_RCFLAGS) -Werror $< fuzz/replay_main.c \
	    $(FUZZ_ROBJ) $(FUZZ_LIBS) -o $@

fuzz-build: $(FUZZ_BIN)

# Each target fuzzes a scratch copy of its corpus; crashes and invariant
# failures are written to build/fuzz/artifacts/ and fail the make.
fuzz: $(FUZZ_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    w=$(FUZZ_DIR)/work/$$t; rm -rf $$w; mkdir -p $$w \
	        $(FUZZ_DIR)/artifacts; \
	    cp fuzz/corpus/$$t/* $$w/; \
	    d=; [ -f fuzz/dict/$$t.dict ] && d=-dict=fuzz/dict/$$t.dict; \
	    case $$t in \
	        allowlist) o='$(FUZZ_OPTS_allowlist)';; \
	        macrule) o='$(FUZZ_OPTS_macrule)';; \
	        certs) o='$(FUZZ_OPTS_certs)';; \
	        path) o='$(FUZZ_OPTS_path)';; \
	        enrol) o='$(FUZZ_OPTS_enrol)';; \
	        revoked) o='$(FUZZ_OPTS_revoked)';; \
	        fields) o='$(FUZZ_OPTS_fields)';; \
        fleet) o='$(FUZZ_OPTS_fleet)';; \
	        *) o=;; \
	    esac; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS)s"; \
	    $(FUZZ_DIR)/bin/fuzz_$$t $$w $$d $$o \
	        -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_ARGS); \
	done

fuzz-replay: $(FUZZ_RBIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_DIR)/replay/fuzz_$$t fuzz/corpus/$$t; \
	done

# Source coverage of src/ by a set of corpora (default: the committed
# ones; FUZZ_COV_CORPUS=build/fuzz/work after `make fuzz`): clang source
# coverage through the replay driver.  Needs the Debian package llvm-14
# (llvm-cov-14, llvm-profdata-14), not in scripts/install-deps.sh.
FUZZ_LLVM_COV      ?= llvm-cov-14
FUZZ_LLVM_PROFDATA ?= llvm-profdata-14
FUZZ_COV_CORPUS    ?= fuzz/corpus
FUZZ_CBIN     := $(patsubst %,$(FUZZ_DIR)/cov/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_DIR)/cov/fuzz_%: fuzz/fuzz_%.c fuzz/replay_main.c $(FUZZ_CORE_SRC) \
                        $(FUZZ_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_COMMON) -fprofile-instr-generate -fcoverage-mapping \
	    $< fuzz/replay_main.c $(FUZZ_CORE_SRC) $(FUZZ_LIBS) -o $@

fuzz-coverage: $(FUZZ_CBIN)
	@set -e; rm -f $(FUZZ_DIR)/cov/*.profraw; for t in $(FUZZ_TARGETS); do \
	    LLVM_PROFILE_FILE=$(FUZZ_DIR)/cov/$$t.profraw \
	        $(FUZZ_DIR)/cov/fuzz_$$t $(FUZZ_COV_CORPUS)/$$t; \
	done
	$(FUZZ_LLVM_PROFDATA) merge -o $(FUZZ_DIR)/cov/all.profdata \
	    $(FUZZ_DIR)/cov/*.profraw
	$(FUZZ_LLVM_COV) report $(firstword $(FUZZ_CBIN)) \
	    $(patsubst %,-object %,$(wordlist 2,99,$(FUZZ_CBIN))) \
	    -instr-profile=$(FUZZ_DIR)/cov/all.profdata $(FUZZ_CORE_SRC)

fuzz-clean:
	rm -rf $(FUZZ_DIR)
