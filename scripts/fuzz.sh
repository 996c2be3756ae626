#!/usr/bin/env bash
# Fuzzes every parser with libFuzzer (Debian's clang) under ASan+UBSan, each for FUZZ_SECONDS
# (default 30), starting from its committed seeds (tests/fuzz/corpus/NAME). A crash stops the run
# with the input that caused it; fix it and add the input to tests/fuzz/regress/NAME/, where the
# ordinary test suite runs it from then on.
# Usage: scripts/fuzz.sh [NAME...]   (default: every harness)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
build=${BUILD_FUZZ:-build-fuzz}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(study netfile device arch tensor supernet dataset scalesim table)
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DHWNAS_SANITIZE=ON -DHWNAS_FUZZ=ON > /dev/null
cmake --build "$build" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${names[@]}") > /dev/null
mkdir -p "$build/crashes"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1
for name in "${names[@]}"; do
  work=$(mktemp -d "/tmp/hwnas-fuzz-$name.XXXXXX")
  cp tests/fuzz/corpus/"$name"/* "$work"/
  [ -d tests/fuzz/regress/"$name" ] && cp tests/fuzz/regress/"$name"/* "$work"/
  echo "fuzz: $name for $seconds s" >&2
  if ! "$build/tests/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" "$work" > "$build/fuzz-$name.log" 2>&1; then
    tail -40 "$build/fuzz-$name.log" >&2
    echo "fuzz: $name crashed on $(ls -t "$build/crashes/$name-"* | head -1): fix it, then add that file to tests/fuzz/regress/$name/" >&2
    rm -rf "$work"
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/fuzz-$name.log" | tr '\n' ' ' >&2; echo >&2
  rm -rf "$work"
done
echo "fuzz: ${#names[@]} harnesses, $seconds s each, no crash" >&2
