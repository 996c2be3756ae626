#!/usr/bin/env bash
# make install's payload: installs the build into a temporary prefix, then builds and runs a program
# against the installed headers and library through pkg-config, and runs the installed CLI.
# Usage: test_install.sh BUILD_DIR [SANITIZED (1: the library was built with ASan + UBSan)]
set -u
B=$1
extra=""
[ "${2:-0}" = 1 ] && extra="-fsanitize=address,undefined"
T=$(mktemp -d /tmp/hwnas_install.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*" >&2; fi; }

check cmake --install "$B" --prefix "$T" >/dev/null
for f in bin/hwnas include/hwnas/hwnas.h include/hwnas/graph.h lib/pkgconfig/hwnas.pc share/hwnas/examples/nets/fmnist-cnn.yaml; do
  check test -f "$T/$f"
done
cat > "$T/use.c" <<C
#include <hwnas/hwnas.h>
#include <stdio.h>
int main(void) {
    hn_graph *g;
    if (hn_graph_load_yaml("$T/share/hwnas/examples/nets/fmnist-cnn.yaml", &g) != HN_OK) { puts(hn_last_error()); return 1; }
    printf("%lld\n", (long long)hn_graph_param_count(g));
    hn_graph_free(g);
    return 0;
}
C
flags=$(PKG_CONFIG_PATH="$T/lib/pkgconfig" pkg-config --cflags --libs --static hwnas)
check cc -std=c11 $extra "$T/use.c" $flags -o "$T/use"
check test "$("$T/use")" = 70330
check "$T/bin/hwnas" --version
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
