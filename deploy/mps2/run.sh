#!/usr/bin/env bash
# Builds a model exported by `hwnas export --format c` for a Cortex-M4 or Cortex-M7 with Debian's
# arm-none-eabi-gcc and newlib, runs it on QEMU's model of an ARM MPS2 board (mps2-an386: M4,
# mps2-an500: M7) with semihosting, and reports what the firmware costs:
#   - main.c's own check: every output equal to the int8 engine's (the exit status says so too)
#   - instructions per inference, counted by QEMU (-icount: SysTick advances 0.025 * 2^6 ticks per
#     instruction; startup.c reads it around each hn_model_run)
#   - flash (.text + .rodata + .data, and apart: code and tables) and static RAM (.data + .bss: the arena) of the model's own code and tables
#     (model.o and CMSIS-NN's objects, from the linker's map) and of the whole image, and the stack's measured high-water mark
# Usage: run.sh EXPORT_DIR cortex-m4|cortex-m7 [OUT_DIR]   (OUT_DIR: the ELF and map; default EXPORT_DIR/CPU)
# Environment: CFLAGS (default -O2), HN_CMSIS_NN (a CMSIS-NN source tree, for models exported with --cmsis-nn)
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: run.sh EXPORT_DIR cortex-m4|cortex-m7 [OUT_DIR]" >&2
  exit 2
fi
dir=$1 cpu=$2 out=${3:-$1/$2}
here=$(cd "$(dirname "$0")" && pwd)
case $cpu in
  cortex-m4) fpu=fpv4-sp-d16 board=mps2-an386 ;;
  cortex-m7) fpu=fpv5-d16 board=mps2-an500 ;;
  *) echo "run.sh: CPU '$cpu': expected cortex-m4 or cortex-m7" >&2; exit 2 ;;
esac
for tool in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
  command -v $tool >/dev/null || { echo "run.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 2; }
done
[ -f "$dir/model.c" ] && [ -f "$dir/main.c" ] || { echo "run.sh: $dir has no model.c and main.c (hwnas export --format c)" >&2; exit 2; }
mkdir -p "$out"
flags=(-std=c99 -mthumb -mcpu=$cpu -mfloat-abi=hard -mfpu=$fpu ${CFLAGS:--O2} -Wall -Wextra -ffunction-sections -fdata-sections)
srcs=()
if grep -q '#include "arm_nnfunctions.h"' "$dir/model.c"; then
  [ -n "${HN_CMSIS_NN:-}" ] || { echo "run.sh: $dir/model.c calls CMSIS-NN: set HN_CMSIS_NN to its source tree" >&2; exit 2; }
  flags+=(-I"$HN_CMSIS_NN/Include")
  # its int8 kernels and the support functions they share (-ffunction-sections: the linker keeps what the model calls)
  while IFS= read -r f; do srcs+=("$f"); done < <({ find "$HN_CMSIS_NN/Source" -name '*_s8*.c';
    find "$HN_CMSIS_NN/Source/NNSupportFunctions" -name '*.c' ! -name '*f16*' ! -name '*f32*'; } | sort -u)
fi
objs=()
for f in "$dir/model.c" "$dir/main.c" "$here/startup.c" "${srcs[@]}"; do
  o="$out/$(basename "${f%.c}").o"
  arm-none-eabi-gcc "${flags[@]}" -DHN_TIMER=hn_mps2_ticks -c "$f" -o "$o"
  objs+=("$o")
done
arm-none-eabi-gcc "${flags[@]}" --specs=rdimon.specs -nostartfiles -T "$here/mps2.ld" -Wl,--gc-sections \
  -Wl,-Map="$out/firmware.map" "${objs[@]}" -o "$out/firmware.elf"

status=0
log=$(timeout 300 qemu-system-arm -M $board -nographic -semihosting-config enable=on,target=native -icount shift=6 \
        -kernel "$out/firmware.elf") || status=$?
echo "$log" | grep -v '^timer: '
ticks=$(echo "$log" | sed -n 's/^timer: \([0-9]*\) ticks per inference/\1/p')
[ -n "$ticks" ] && echo "instructions per inference: $((ticks * 40 / 64))"

# the model's share: a section of an object counts as flash when it is code or constants, RAM when it is data or
# bss, both for .data (its initial values are stored in flash); the map lists each input section with
# its address, size and object, the section's name on the line before when it is long
awk -v model="$out/model.o" '
  function hex(s,    i, n) { n = 0; for (i = 3; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
  function add(sec, size, obj) {
    if (sec ~ /^\.(text|rodata|isr_vector|ARM\.ex)/) f = size; else f = 0
    if (sec ~ /^\.data/) f = size
    r = (sec ~ /^\.(data|bss)/ || sec == "COMMON") ? size : 0
    if (obj == model || obj ~ /\/arm_[^\/]*\.o$/) { # CMSIS-NN: its arm_*.c
      mf += f; mr += r
      if (sec ~ /^\.text/) code += size; else if (sec ~ /^\.(rodata|data)/) consts += size
    }
  }
  /^Linker script and memory map/ { on = 1; next }
  !on { next }
  /^ [.A-Z][^ ]*$/ { pending = $1; next }
  /^ [.A-Z][^ ]* +0x[0-9a-f]+ +0x[0-9a-f]+ / { add($1, hex($3), $4); pending = ""; next }
  pending != "" && /^ +0x[0-9a-f]+ +0x[0-9a-f]+ / { add(pending, hex($2), $3) }
  { pending = "" }
  END {
    printf "model (model.o and any CMSIS-NN objects): flash %d bytes, static RAM %d bytes\n", mf, mr
    printf "model flash: code %d bytes, tables %d bytes\n", code, consts
  }' "$out/firmware.map"
arm-none-eabi-size "$out/firmware.elf" | awk 'NR == 2 { printf "firmware image:  flash %d bytes, static RAM %d bytes (arm-none-eabi-size: text + data, data + bss)\n", $1 + $2, $2 + $3 }'
exit $status
