#!/bin/sh
# check-reports.sh DIR - fail (and print them) if sanitizer reports exist
# in DIR (ASan/LSan: asan.<pid>, UBSan: ubsan.<pid>; tests/sanitize/apache2-asan)
dir=$1
[ -d "$dir" ] || exit 0
n=0
for f in "$dir"/asan.* "$dir"/ubsan.*; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    echo "===== $f"
    cat "$f"
done
if [ "$n" -gt 0 ]; then
    echo "sanitizers: $n report file(s) in $dir" >&2
    exit 1
fi
echo "sanitizers: no reports in $dir"
