#!/usr/bin/env bash
# Runs each fuzz harness (built without libFuzzer) on its seed corpus and its regression inputs: every
# input must give a result or a clear error, never a crash (under ASan+UBSan in the sanitizer build).
# Usage: run_inputs.sh BUILD_DIR FUZZ_DIR NAME...
set -u
bin=$1 dir=$2
shift 2
fail=0
for name in "$@"; do
  inputs=("$dir/corpus/$name"/* "$dir/regress/$name"/*)
  files=()
  for f in "${inputs[@]}"; do [ -f "$f" ] && files+=("$f"); done
  if out=$("$bin/fuzz_$name" "${files[@]}" 2>&1); then
    echo "fuzz_$name: $out"
  else
    fail=$((fail + 1)); echo "FAIL: fuzz_$name on its inputs:" >&2; echo "$out" | tail -20 >&2
  fi
done
[ "$fail" -eq 0 ]
