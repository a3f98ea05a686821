# Benchmarks, included by the top Makefile (-include bench/bench.mk).
#
#   make bench             all benchmarks
#   make bench-allowlist   allowlist load/memory/lookup at 10k-1M entries
#                          (bench/allowlist_bench.c), then a real apache2
#                          serving phones while the allowlist is replaced
#                          (bench/reload_under_load.py, needs root)
#   make bench-sql         handshakes per server core and database queries
#                          with and without the answer cache, against a
#                          real PostgreSQL (bench/sql_bench.py, needs root)
#
# Results: on stdout and in bench/results/*.md.

BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN)

.PHONY: bench bench-allowlist bench-sql

bench: bench-allowlist bench-sql

$(BUILD)/bench/allowlist_bench: bench/allowlist_bench.c $(BUILD)/libdpcore.a \
                                $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -I. $< $(BUILD)/libdpcore.a -o $@

bench-allowlist: $(BUILD)/bench/allowlist_bench $(BUILD)/mod_devprov.so \
                 $(BUILD)/mod_ssl.so
	$(BUILD)/bench/allowlist_bench -o bench/results/allowlist.md
	$(PYTHON) bench/reload_under_load.py --bench-bin \
	    $(BUILD)/bench/allowlist_bench -o bench/results/reload.md

bench-sql: $(BUILD)/mod_devprov.so $(BUILD)/mod_ssl.so
	$(PYTHON) bench/sql_bench.py -o bench/results/sql.md
