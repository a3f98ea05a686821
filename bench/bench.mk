# Benchmarks, included by the top Makefile (include bench/bench.mk).
#
#   make bench             all benchmarks
#   make bench-compare     devprov against stock mod_ssl, the openssl-verify
#                          workaround, nginx and HAProxy in front of Apache:
#                          new, resumed and kept-alive requests/s, p50/p99,
#                          server CPU per request, as ratios: medians of 5
#                          alternating rounds with their spread; a table and a
#                          chart (bench/compare.py, needs root, about 12
#                          min; installs nginx, haproxy, matplotlib)
#   make bench-allowlist   allowlist load/memory/lookup at 10k-1M entries
#                          (bench/allowlist_bench.c), then a real apache2
#                          serving phones while the allowlist is replaced
#                          (bench/reload_under_load.py, needs root)
#   make bench-callgrind   instructions devprov costs per new TLS connection
#                          (first and steady state: the identity cache) and
#                          per kept-alive request, counted by callgrind in
#                          one apache2 -X, patched and stock mode
#                          (bench/callgrind.py, needs root and valgrind,
#                          about 2 min)
#   make bench-instr       devprov's share of the server's instructions per
#                          new, resumed (session ID, ticket) and kept-alive
#                          TLS connection, against stock and patched
#                          mod_ssl without devprov, in patched and stock
#                          mode, with the targets (0.5%, 2%) met or not:
#                          callgrind, deterministic where requests/s are
#                          not (bench/instr.py, needs root and valgrind,
#                          about 4 min; twice as long with --repeat 2,
#                          which is how bench/results/instr.md is made)
#   make bench-tls-profile one new TLS connection in instructions: Apache +
#                          mod_ssl against nginx and against HAProxy in
#                          front of Apache, by object and function
#                          (bench/tls_profile.py, needs root, valgrind,
#                          nginx and haproxy, about 5 min)
#   make bench-fleet       the fleet record (DevprovFleet) at 10k-1M phones:
#                          memory, ns per update with 1 and 2 processes,
#                          ms per walk (bench/fleet_bench.c)
#   make bench-sql         handshakes per server core and database queries
#                          with and without the answer cache, against a
#                          real PostgreSQL (bench/sql_bench.py, needs root)
#
# Results: on stdout and in bench/results/*.md (and compare.png).

BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN)

.PHONY: bench bench-allowlist bench-sql bench-compare bench-callgrind \
        bench-instr bench-tls-profile bench-fleet bench-clean

bench: bench-compare bench-allowlist bench-sql bench-callgrind bench-instr \
       bench-tls-profile bench-fleet

$(BUILD)/bench/allowlist_bench: bench/allowlist_bench.c $(BUILD)/libdpcore.a \
                                $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -I. $< $(BUILD)/libdpcore.a -o $@

$(BUILD)/bench/fleet_bench: bench/fleet_bench.c $(BUILD)/libdpcore.a \
                            $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -I. $< $(BUILD)/libdpcore.a -o $@

bench-fleet: $(BUILD)/bench/fleet_bench
	$(BUILD)/bench/fleet_bench -o bench/results/fleet.md

bench-allowlist: $(BUILD)/bench/allowlist_bench $(BUILD)/mod_devprov.so \
                 $(BUILD)/mod_ssl.so
	$(BUILD)/bench/allowlist_bench -o bench/results/allowlist.md
	$(PYTHON) bench/reload_under_load.py --bench-bin \
	    $(BUILD)/bench/allowlist_bench -o bench/results/reload.md

bench-compare: $(BUILD)/mod_devprov.so $(BUILD)/mod_ssl.so
	sh scripts/install-deps.sh --bench
	$(PYTHON) bench/compare.py -o bench/results/compare.md \
	    --png bench/results/compare.png

bench-sql: $(BUILD)/mod_devprov.so $(BUILD)/mod_ssl.so
	$(PYTHON) bench/sql_bench.py -o bench/results/sql.md

bench-callgrind: $(BUILD)/mod_devprov.so $(BUILD)/mod_ssl.so
	$(PYTHON) bench/callgrind.py -o bench/results/callgrind.md
	$(PYTHON) bench/callgrind.py --stock \
	    -o bench/results/callgrind-stock.md
	$(PYTHON) bench/callgrind.py --fleet \
	    -o bench/results/callgrind-fleet.md
	$(PYTHON) bench/callgrind.py --fleet --stock \
	    -o bench/results/callgrind-fleet-stock.md

bench-instr: $(BUILD)/mod_devprov.so $(BUILD)/mod_ssl.so
	$(PYTHON) bench/instr.py --repeat 2 -o bench/results/instr.md

bench-tls-profile:
	sh scripts/install-deps.sh --bench
	$(PYTHON) bench/tls_profile.py -o bench/results/tls-profile.md

# the benchmark programs; bench/results/ is committed and stays
bench-clean:
	rm -rf $(BUILD)/bench
