#!/usr/bin/env bash
# End-to-end tests of the hwnas CLI: exit codes and messages for bad usage and bad input, and a short
# real training run whose JSON, saved weights and reloaded evaluation are checked.
# Usage: test_cli.sh PATH/TO/hwnas SOURCE_DIR
set -u
HWNAS=$1
SRC=$2
T=$(mktemp -d /tmp/hwnas_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

# expect CODE NEEDLE -- command...: the exit code is CODE and stdout+stderr contain NEEDLE
expect() {
  local code=$1 needle=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$code" ] && grep -qF -- "$needle" <<<"$out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $* -> exit $rc (want $code), output:" >&2
    echo "$out" | head -5 >&2
    echo "  (wanted it to contain: $needle)" >&2
  fi
}

NET=$SRC/examples/nets/fmnist-cnn.yaml
expect 0 "hwnas 0." -- "$HWNAS" --version
expect 0 "train" -- "$HWNAS" --help
expect 0 "--train-limit" -- "$HWNAS" train --help
expect 2 "Usage" -- "$HWNAS"
expect 2 "unknown command 'bogus'" -- "$HWNAS" bogus
expect 2 "give either --net FILE or --space NAME --arch STRING" -- "$HWNAS" train
expect 2 "unknown or incomplete option '--bogus'" -- "$HWNAS" train --net "$NET" --bogus
expect 2 "--epochs: expected an integer" -- "$HWNAS" train --net "$NET" --epochs abc
expect 2 "--lr: expected a number" -- "$HWNAS" train --net "$NET" --lr -1
expect 2 "$T/none.yaml: cannot open network file" -- "$HWNAS" train --net "$T/none.yaml"

printf 'input: [1, 28, 28]\nlayers:\n  - {op: relu}\n  - {op: conv9d, out: 3}\n' > "$T/bad.yaml"
expect 2 "$T/bad.yaml:4: unknown op 'conv9d'" -- "$HWNAS" train --net "$T/bad.yaml"
printf 'input: [1, 28, 28]\nlayers:\n  - {op: conv2d, kernel: 3}\n' > "$T/nofield.yaml"
expect 2 "missing the field 'out'" -- "$HWNAS" train --net "$T/nofield.yaml"
printf 'input: [1, 28, 28]\nlayers:\n  - {op: maxpool, name: p, kernel: 2}\n  - {op: concat, inputs: [p, input]}\n' > "$T/shape.yaml"
expect 2 "inputs must have the same height and width" -- "$HWNAS" train --net "$T/shape.yaml"
printf 'input: [1, 28, 28]\nlayers:\n  - {op: global_avgpool}\n  - {op: flatten}\n  - {op: linear, out: 7}\n' > "$T/classes.yaml"
expect 2 "the dataset has 10 classes" -- "$HWNAS" train --net "$T/classes.yaml" --train-limit 10

expect 2 "unknown dataset 'mnist'" -- "$HWNAS" train --net "$NET" --dataset mnist
expect 2 "$T/empty/train-images-idx3-ubyte.gz: cannot open" -- "$HWNAS" train --net "$NET" --dataset "idx:$T/empty"
mkdir -p "$T/idx"
# a truncated copy of the real training images, and a corrupt copy with a wrong magic number
FM=/usr/share/datasets/fashion-mnist
head -c 100000 "$FM/train-images-idx3-ubyte.gz" > "$T/idx/train-images-idx3-ubyte.gz"
cp "$FM/train-labels-idx1-ubyte.gz" "$FM/t10k-images-idx3-ubyte.gz" "$FM/t10k-labels-idx1-ubyte.gz" "$T/idx/"
expect 2 "train-images-idx3-ubyte.gz: truncated" -- "$HWNAS" train --net "$NET" --dataset "idx:$T/idx"
printf '\x00\x00\x08\x02\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00' > "$T/idx/train-images-idx3-ubyte"
rm "$T/idx/train-images-idx3-ubyte.gz"
expect 2 "wrong magic number 0x00000802" -- "$HWNAS" train --net "$NET" --dataset "idx:$T/idx"
mkdir -p "$T/c10"
for i in 1 2 3 4 5; do head -c 3073 /dev/zero > "$T/c10/data_batch_$i.bin"; done
{ printf '\x0b'; head -c 3072 /dev/zero; } > "$T/c10/test_batch.bin"
expect 2 "label 11 of record 0 is out of range" -- "$HWNAS" train --net "$NET" --dataset "cifar10:$T/c10"
echo "not weights" > "$T/w.txt"
expect 2 "wrong magic number" -- "$HWNAS" train --net "$NET" --load "$T/w.txt" --train-limit 10

# a real (short) run: JSON on stdout, weights saved, and the saved weights evaluate the same
out=$("$HWNAS" train --net "$NET" --train-limit 2000 --epochs 2 --batch 64 --threads 2 --seed 3 --json --save "$T/w.hntf" 2>"$T/err")
rc=$?
ok=1
[ $rc -eq 0 ] || ok=0
for key in '"params": 70330' '"macs": 5532544' '"epochs": 2' '"train_images_per_s":' '"test_accuracy":' \
           '"test_images_per_s":' '"final_train_loss":'; do
  grep -qF "$key" <<<"$out" || { ok=0; echo "missing $key in: $out" >&2; }
done
[ "$(grep -c . <<<"$out")" -eq 1 ] || { ok=0; echo "stdout is not one line: $out" >&2; }
acc=$(sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p' <<<"$out")
awk -v a="$acc" 'BEGIN { exit !(a > 40 && a <= 100) }' || { ok=0; echo "accuracy $acc after 2 epochs of 2000 images" >&2; }
out2=$("$HWNAS" train --net "$NET" --epochs 0 --load "$T/w.hntf" --json 2>/dev/null)
acc2=$(sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p' <<<"$out2")
[ "$acc" = "$acc2" ] || { ok=0; echo "reloaded weights give $acc2 %, trained $acc %" >&2; }
human=$("$HWNAS" train --net "$NET" --train-limit 200 --threads 1 2>&1)
grep -q "test accuracy" <<<"$human" && grep -q "70330 parameters" <<<"$human" || { ok=0; echo "human output: $human" >&2; }
if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: training run" >&2; fi

# search spaces and counting
A0='|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'
expect 0 "nb201                 15625 architectures" -- "$HWNAS" space list
expect 0 "mbconv+mixed          about 10^64 architectures" -- "$HWNAS" space list
expect 0 "mbconv+quant          about 10^125 architectures" -- "$HWNAS" space list
expect 0 "nb201+systolic        1822500000 architectures" -- "$HWNAS" space list
expect 0 "mbconv+quant+systolic about 10^130 architectures" -- "$HWNAS" space list
expect 0 "size        15625" -- "$HWNAS" space show nb201
expect 2 "unknown space 'nb999'" -- "$HWNAS" space show nb999
expect 0 "predictor  a metric predicted by an MLP ensemble" -- "$HWNAS" providers
expect 0 "command    the user's own trainer" -- "$HWNAS" providers
expect 2 "unexpected argument 'x'" -- "$HWNAS" providers x
expect 2 "--n: expected an integer" -- "$HWNAS" space sample nb201 --n x
s1=$("$HWNAS" space sample nb201 --n 5 --seed 7); s2=$("$HWNAS" space sample nb201 --n 5 --seed 7)
if [ "$(grep -c '^|.*|$' <<<"$s1")" -eq 5 ] && [ "$s1" = "$s2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: space sample: $s1" >&2; fi
# the reference table's first row (../shared/reference/nb201/nb201-cost-sample.csv): 129306 params, 15647360 MACs
expect 0 '"params": 129306, "macs": 15647360' -- "$HWNAS" cost --space nb201 --arch "$A0" --json
expect 0 "peak activation bytes" -- "$HWNAS" cost --space nb201 --arch "$A0" --layers
expect 2 "at position 8: expected '+'" -- "$HWNAS" cost --space nb201 --arch '|none~0||none~0|'
expect 2 "--input '3x32': expected CxHxW" -- "$HWNAS" cost --space nb201 --arch "$A0" --input 3x32
# a space's architecture trains on a tiny IDX dataset (80 training, 40 test images); on 1x28x28 the
# stem has 288 fewer weights than on 3x32x32: 129306 - 288
mkdir -p "$T/tiny"
idx_images() { printf '\x00\x00\x08\x03\x00\x00\x00'; printf "\\x$(printf %02x "$1")"; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $(($1 * 784)) /dev/urandom; }
idx_labels() { printf '\x00\x00\x08\x01\x00\x00\x00'; printf "\\x$(printf %02x "$1")"; for _ in $(seq $(($1 / 10))); do printf '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09'; done; }
idx_images 80 > "$T/tiny/train-images-idx3-ubyte"; idx_labels 80 > "$T/tiny/train-labels-idx1-ubyte"
idx_images 40 > "$T/tiny/t10k-images-idx3-ubyte"; idx_labels 40 > "$T/tiny/t10k-labels-idx1-ubyte"
expect 0 '"params": 129018' -- "$HWNAS" train --space nb201 --arch "$A0" --dataset "idx:$T/tiny" --batch 16 --json

# the MBConv space: the smallest network (first row of tests/ref/mbconv-counts.csv, counted in PyTorch)
M0='r16|w0.5:k3e1,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip,skip|w0.5:k3e1,skip,skip'
expect 0 '"params": 20242, "macs": 140032' -- "$HWNAS" cost --space mbconv --arch "$M0" --json
expect 2 "at position 9: expected an MBConv op: the first block of a stage changes the shape" -- \
  "$HWNAS" cost --space mbconv --arch 'r16|w0.5:skip,skip'
expect 0 "stage 5 block 3 project" -- "$HWNAS" space show mbconv
# an int8/int8 policy: every activation takes a quarter of its float32 bytes
f32=$("$HWNAS" cost --space mbconv --arch "$M0" --json | sed 's/.*"activation_bytes": \([0-9]*\).*/\1/')
i8=$("$HWNAS" cost --space mbconv+quant --arch "$M0#int8/int8" --json | sed 's/.*"activation_bytes": \([0-9]*\).*/\1/')
if [ -n "$f32" ] && [ "$i8" -eq $((f32 / 4)) ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: int8 activation bytes $i8, float32 $f32" >&2; fi
expect 0 '"weight_type": "int4", "activation_type": "int8"' -- "$HWNAS" cost --space mbconv+quant --arch "$M0#int4/int8" --json --layers
expect 2 "expected 1 or 48 WEIGHT/ACTIVATION pairs" -- "$HWNAS" cost --space mbconv+quant --arch "$M0#int8/int8,int8/int8"
M1='r16|w0.5:k3e3,k5e1|w0.5:k3e3,k3e3,skip|w0.5:k3e1,skip,skip|w0.5:k3e1,skip,skip,skip|w0.5:k3e1,skip,skip'
# trains at its own resolution: the 28x28 images are resized to 16x16
expect 0 "resizing the images from 28x28 to 16x16" -- "$HWNAS" train --space mbconv --arch "$M0" --dataset "idx:$T/tiny" --batch 16

# quantization and export on the tiny dataset: an MBConv network (depthwise, residual adds) trained for
# an epoch, evaluated in float32 and int8, exported as C that builds with -std=c99 -Wall -Werror and
# reproduces the engine's outputs on all 40 test images with either kernel set
expect 0 "" -- "$HWNAS" train --space mbconv --arch "$M1" --dataset "idx:$T/tiny" --batch 16 --save "$T/m1.hntf"
expect 0 '"int8_accuracy": ' -- "$HWNAS" eval --space mbconv --arch "$M1" --dataset "idx:$T/tiny" --weights "$T/m1.hntf" --quantized --json
expect 0 "int8 " -- "$HWNAS" eval --space mbconv --arch "$M1" --dataset "idx:$T/tiny" --weights "$T/m1.hntf" --quantized --range mse --kernels c
expect 2 "int8 kernels 'sse': expected c, avx2 or avx512vnni" -- "$HWNAS" eval --net "$NET" --weights x --kernels sse
expect 2 "--weights FILE is required" -- "$HWNAS" eval --space mbconv --arch "$M1" --dataset "idx:$T/tiny"
expect 2 "--range 'max': expected minmax, percentile or mse" -- "$HWNAS" eval --net "$NET" --weights x --range max
for k in c avx2 avx512vnni; do
  if [ "$k" = avx512vnni ] && ! grep -q avx512_vnni /proc/cpuinfo; then continue; fi
  if [ "$k" = avx2 ] && ! grep -qw avx2 /proc/cpuinfo; then continue; fi
  expect 0 "wrote $T/exp-$k/model.c" -- "$HWNAS" export --format c --space mbconv --arch "$M1" --dataset "idx:$T/tiny" \
    --weights "$T/m1.hntf" --out "$T/exp-$k" --samples 40 --calibration 80 --kernels "$k"
  expect 0 "" -- cc -std=c99 -Wall -Wextra -pedantic -Werror -O1 "$T/exp-$k/model.c" "$T/exp-$k/main.c" -o "$T/exp-$k/model"
  expect 0 "40 of 40 outputs equal the int8 engine's" -- "$T/exp-$k/model"
done
grep -q malloc "$T/exp-c/model.c" && { fail=$((fail + 1)); echo "FAIL: the exported model calls malloc" >&2; }
# the same C on a Cortex-M4 and a Cortex-M7 (arm-none-eabi-gcc, newlib, QEMU's MPS2 boards: setup.sh installs them)
for cpu in cortex-m4 cortex-m7; do
  expect 0 "40 of 40 outputs equal the int8 engine's" -- "$SRC/deploy/mps2/run.sh" "$T/exp-c" $cpu
  expect 0 "instructions per inference: " -- "$SRC/deploy/mps2/run.sh" "$T/exp-c" $cpu
done
expect 2 "CPU 'cortex-m0': expected cortex-m4 or cortex-m7" -- "$SRC/deploy/mps2/run.sh" "$T/exp-c" cortex-m0
# with CMSIS-NN's kernels (../shared/peers/cmsis-nn, where CI has it): the MBConv network, and an NB201
# network whose cells add three inputs, average-pool and hold a zero op
CMSIS="$SRC/../shared/peers/cmsis-nn"
if [ -d "$CMSIS/Source" ]; then
  A5='|avg_pool_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|none~2|'
  expect 0 "" -- "$HWNAS" train --space nb201 --arch "$A5" --dataset "idx:$T/tiny" --batch 16 --save "$T/a5.hntf"
  expect 0 "wrote $T/exp-cmsis/model.c" -- "$HWNAS" export --format c --cmsis-nn --space mbconv --arch "$M1" \
    --dataset "idx:$T/tiny" --weights "$T/m1.hntf" --out "$T/exp-cmsis" --samples 40 --calibration 80
  expect 0 "wrote $T/exp-cmsis-nb/model.c" -- "$HWNAS" export --format c --cmsis-nn --space nb201 --arch "$A5" \
    --dataset "idx:$T/tiny" --weights "$T/a5.hntf" --out "$T/exp-cmsis-nb" --samples 20 --calibration 80
  for cpu in cortex-m4 cortex-m7; do
    HN_CMSIS_NN="$CMSIS" expect 0 "40 of 40 outputs equal the int8 engine's" -- "$SRC/deploy/mps2/run.sh" "$T/exp-cmsis" $cpu
  done
  HN_CMSIS_NN="$CMSIS" expect 0 "20 of 20 outputs equal the int8 engine's" -- "$SRC/deploy/mps2/run.sh" "$T/exp-cmsis-nb" cortex-m7
  expect 2 "calls CMSIS-NN: set HN_CMSIS_NN" -- "$SRC/deploy/mps2/run.sh" "$T/exp-cmsis" cortex-m4
else
  echo "note: no $CMSIS: the CMSIS-NN export is not run on Cortex-M" >&2
fi
# a firmware whose outputs differ from the engine's fails: one expected score changed
sed -i '/^static const int8_t expected/{n;s/{\([-0-9]*\),/{\1+1,/}' "$T/exp-c/main.c"
expect 1 "39 of 40 outputs equal the int8 engine's" -- "$SRC/deploy/mps2/run.sh" "$T/exp-c" cortex-m4
expect 0 "wrote $T/exp-onnx/model.onnx" -- "$HWNAS" export --format onnx --space mbconv --arch "$M1" --dataset "idx:$T/tiny" \
  --weights "$T/m1.hntf" --out "$T/exp-onnx"
expect 0 "wrote $T/deep/onnx/model.onnx" -- "$HWNAS" export --format onnx --space mbconv --arch "$M1" --dataset "idx:$T/tiny" \
  --weights "$T/m1.hntf" --out "$T/deep/onnx"
expect 0 "wrote $T/exp-tflite/model.tflite" -- "$HWNAS" export --format tflite --space mbconv --arch "$M1" --dataset "idx:$T/tiny" \
  --weights "$T/m1.hntf" --out "$T/exp-tflite" --io float
# int8 edges and test vectors, run by Arm NN: the same classes as the engine on every image
expect 0 "40 test images with the engine's outputs" -- "$HWNAS" export --format tflite --space mbconv --arch "$M1" \
  --dataset "idx:$T/tiny" --weights "$T/m1.hntf" --out "$T/exp-tflite8" --samples 40 --calibration 80
expect 0 "top-1 equal on 40 of 40" -- /usr/bin/python3 "$SRC/bench/tflite_vs_armnn.py" "$T/exp-tflite8"
expect 2 "--format 'tfl': expected c, tflite or onnx" -- "$HWNAS" export --format tfl --net "$NET" --weights x --out "$T/x"
expect 2 "--io 'int4': expected int8 or float" -- "$HWNAS" export --format tflite --net "$NET" --weights x --out "$T/x" --io int4
expect 2 "unknown device 'cortex-m99'" -- "$HWNAS" export --format c --net "$NET" --weights x --out "$T/x" --device cortex-m99

# quantization-aware training recovers what 2-bit weights lose after training: the reference CNN trained
# on 3,000 Fashion-MNIST images, then its int2-weight accuracy post-training and after one epoch of QAT
expect 0 "" -- "$HWNAS" train --net "$NET" --epochs 1 --train-limit 3000 --save "$T/cnn.hntf" --threads 2
ptq=$("$HWNAS" eval --net "$NET" --weights "$T/cnn.hntf" --fake-quant --numtypes int2/int8 --calibration 500 --json 2>/dev/null |
      sed -n 's/.*"fake_quant_accuracy": \([0-9.]*\).*/\1/p')
qat=$("$HWNAS" train --net "$NET" --load "$T/cnn.hntf" --numtypes int2/int8 --qat --epochs 1 --train-limit 3000 --lr 0.01 --json 2>/dev/null |
      sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p')
if [ -n "$ptq" ] && [ -n "$qat" ] && awk -v p="$ptq" -v q="$qat" 'BEGIN { exit !(q > p + 10) }'; then pass=$((pass + 1))
else fail=$((fail + 1)); echo "FAIL: int2 weights: post-training $ptq %, after QAT $qat %" >&2; fi
expect 2 "--qat: every type is fp32" -- "$HWNAS" train --net "$NET" --qat --train-limit 100
expect 2 "--numtypes 'int9/int8': expected WEIGHT/ACTIVATION" -- "$HWNAS" train --net "$NET" --numtypes int9/int8

# zero-cost proxies on the tiny dataset
expect 0 '"synflow": ' -- "$HWNAS" proxy --space mbconv --arch "$M0" --dataset "idx:$T/tiny" --batch 16 --json
expect 0 "naswot     " -- "$HWNAS" proxy --space nb201 --arch "$A0" --dataset "idx:$T/tiny" --batch 8
expect 2 "--batch: expected an integer in [2, 512]" -- "$HWNAS" proxy --space nb201 --arch "$A0" --batch 1
expect 2 "give either --net FILE or --space NAME --arch STRING" -- "$HWNAS" proxy

# hardware models
expect 0 "cortex-m7        mcu" -- "$HWNAS" hw list
expect 0 "MACs/cycle" -- "$HWNAS" hw show cortex-m7
expect 2 "unknown device 'm99'" -- "$HWNAS" hw show m99
expect 0 '"fits": true' -- "$HWNAS" hw cost --device cortex-m7 --space mbconv+quant --arch "$M0#int8/int8" --json
expect 0 "fits             yes" -- "$HWNAS" hw cost --device cortex-m4 --space mbconv+quant --arch "$M0#int8/int8"
expect 0 '"layers": [' -- "$HWNAS" hw cost --device systolic-32x32 --space nb201 --arch "$A0" --json --layers
expect 0 "latency_s" -- "$HWNAS" hw cost --device edge-gpu --net "$NET"
# co-search: the genotype's array replaces the profile's (area, stalls), bad arrays are named
expect 0 "area_mm2         0.882565" -- "$HWNAS" hw cost --device systolic-32x32 --space nb201+systolic --arch "$A0@16x64,ws,64/32/16KB,bw64"
expect 0 "area_mm2         1.2065" -- "$HWNAS" hw cost --device systolic-32x32 --space nb201 --arch "$A0"
expect 2 "expected a dataflow: os, ws or is" -- "$HWNAS" hw cost --device systolic-32x32 --space nb201+systolic --arch "$A0@16x64,xs,64/32/16KB,bw64"
expect 0 "PEs         int8 MACs" -- "$HWNAS" hw show systolic-32x32
expect 0 "latency_s" -- "$HWNAS" hw cost --device host --space mbconv --arch "$M0"
expect 2 "cost needs either --space NAME --arch STRING or --net FILE" -- "$HWNAS" hw cost --device host
# SCALE-Sim's own files: set A's topology on its 32x32 output-stationary array (stem3x3: 2847 cycles)
SS=$SRC/../shared/reference/scalesim
printf '[general]\nrun_name = os32\n[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: os\nBandwidth: 10\n[run_presets]\nInterfaceBandwidth: CALC\n' > "$T/os32.cfg"
expect 0 '"layer": "stem3x3", "total_cycles": 2847, "stall_cycles": 0, "mapping_efficiency": 50.0' -- "$HWNAS" hw systolic --config "$T/os32.cfg" --topology "$SS/set-a-topology.csv" --json
expect 0 "stem3x3              2847" -- "$HWNAS" hw systolic --config "$T/os32.cfg" --topology "$SS/set-a-topology.csv"
# bandwidth-limited (set C's ws8_bw2): the replayed buffers give SCALE-Sim's stalls and DRAM words
printf '[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 4\nFilterSramSzkB: 4\nOfmapSramSzkB: 4\nDataflow: ws\nBandwidth: 2\n[run_presets]\nInterfaceBandwidth: USER\n' > "$T/ws8.cfg"
expect 0 "stem3x3             56518        48151    12.23    84.38    82.05       55296         432       65536      110592         432       65537" -- "$HWNAS" hw systolic --config "$T/ws8.cfg" --topology "$SS/set-a-topology.csv"
sed 's/Bandwidth: 2/Bandwidth: 2.5/' "$T/ws8.cfg" > "$T/frac.cfg"
expect 2 "frac.cfg:8: Bandwidth: bad value '2.5' (a whole number of words per cycle, at least 1)" -- "$HWNAS" hw systolic --config "$T/frac.cfg" --topology "$SS/set-a-topology.csv"
sed 's/IfmapSramSzkB: 4/IfmapSramSzkB: 0.001/' "$T/ws8.cfg" > "$T/tiny.cfg"
expect 2 "layer stem3x3: systolic: the ifmap SRAM holds 1 word(s)" -- "$HWNAS" hw systolic --config "$T/tiny.cfg" --topology "$SS/set-a-topology.csv"
printf 'ArrayHeight: 32\nArrayWidth: 32\nDataflow: diagonal\n' > "$T/bad.cfg"
expect 2 "bad.cfg:3: Dataflow: bad value 'diagonal' (os, ws or is)" -- "$HWNAS" hw systolic --config "$T/bad.cfg" --topology "$SS/set-a-topology.csv"
expect 0 "lookup table" -- "$HWNAS" hw validate --device host --space mbconv --n 4

# search strategies on the NB201 table
TAB=$SRC/../shared/reference/nb201/nb201-cifar10-12epoch.csv
expect 0 '"strategy": "rea"' -- "$HWNAS" bench --space nb201 --table "$TAB" --optimize cifar10-val --report cifar10-test --strategy rea --trials 50 --seeds 3 --json
expect 0 "local " -- "$HWNAS" bench --space nb201 --table "$TAB" --optimize cifar10-val --report cifar10-test --trials 30 --seeds 2
expect 2 "no column 'val' (metrics: arch_index, cifar10-val, cifar10-test)" -- "$HWNAS" bench --space nb201 --table "$TAB" --optimize val --report cifar10-test
expect 0 '"strategy": "hyperband"' -- "$HWNAS" bench --space nb201 --table "$TAB" --optimize cifar10-val --report cifar10-test --strategy hyperband --trials 40 --seeds 2 --json
# studies: NAS-Bench-201 on its table (a second), inspected, resumed when finished, bad files
expect 0 "Pareto front: " -- "$HWNAS" search "$SRC/examples/studies/nb201-table.yaml" --out "$T/study"
expect 0 "chosen: trial" -- "$HWNAS" search "$SRC/examples/studies/systolic-cosearch.yaml" --out "$T/cosearch"
# every co-searched front member meets the area budget, and its array is in its genotype
cofront=$("$HWNAS" study export "$T/cosearch" --front --format csv 2>&1)
if awk -F'"' 'NR > 1 { n++; if ($2 !~ /@[0-9]+x[0-9]+,(os|ws|is),/) bad++; split($3, f, ","); if (f[7] > 1.0) bad++ } END { exit !(n > 0 && !bad) }' <<<"$cofront"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: the co-search front breaks its area budget or lost its arrays:" >&2; head -5 <<<"$cofront" >&2
fi
for f in study.db trials.csv pareto.csv pareto.json pareto.svg report.html model.yaml; do
  if [ -s "$T/study/$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: study output $f missing" >&2; fi
done
expect 0 "301" -- sh -c "wc -l < '$T/study/trials.csv'"
# the SVG is well-formed XML with one point per trial that has an accuracy (every done trial here)
points=$(grep -c 'class="trial"' "$T/study/pareto.svg")
done_trials=$(grep -c ',done,' "$T/study/trials.csv")
if [ "$points" -eq "$done_trials" ] && [ "$points" -gt 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $points points for $done_trials trials" >&2; fi
expect 0 "" -- xmllint --noout "$T/study/pareto.svg"
# the report loads in headless Chromium without console errors and shows the front
if command -v chromium > /dev/null; then
  timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --user-data-dir="$T/chromium" \
    --dump-dom "file://$T/study/report.html" > "$T/dom.html" 2> "$T/chromium.log"
  if grep -q 'class="front"' "$T/dom.html" && grep -q 'Pareto front' "$T/dom.html" && ! grep -q ':CONSOLE' "$T/chromium.log"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL: report.html in chromium:" >&2; grep CONSOLE "$T/chromium.log" >&2
  fi
else
  fail=$((fail + 1)); echo "FAIL: chromium is missing (scripts/setup.sh installs it)" >&2
fi
expect 0 "chosen       trial" -- "$HWNAS" study show "$T/study"
expect 0 '"chosen_trial": ' -- "$HWNAS" study show "$T/study" --json
expect 0 '"state": "done"' -- "$HWNAS" study export "$T/study" --format json
expect 0 "nb201-table        300/300" -- "$HWNAS" study list "$T"
expect 0 "Pareto front: " -- "$HWNAS" search --resume "$T/study"
expect 2 "a study already lives here" -- "$HWNAS" search "$SRC/examples/studies/nb201-table.yaml" --out "$T/study"
# --out makes missing parent directories, and names a file in the way
expect 0 "Pareto front: " -- "$HWNAS" search "$SRC/examples/studies/nb201-table.yaml" --out "$T/deep/er/study"
touch "$T/plainfile"
expect 2 "the study directory: cannot create '$T/plainfile': Not a directory" -- \
  "$HWNAS" search "$SRC/examples/studies/nb201-table.yaml" --out "$T/plainfile/study"
# a worker that finds nothing left while another live worker holds a trial says so (it once exited 0 silently)
cp -r "$T/study" "$T/held"
sleep 60 & holder=$!
/usr/bin/python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(\"DELETE FROM meta WHERE key = 'final'\");
db.execute(\"INSERT INTO trials(genotype, fidelity, state, worker) SELECT genotype, 1, 'running', ? FROM trials LIMIT 1\", (sys.argv[2],)); db.commit()" \
  "$T/held/study.db" "$holder:00000000"
expect 0 "1 trial is still running in other live workers" -- "$HWNAS" search --resume "$T/held"
kill $holder
expect 2 "no study store here" -- "$HWNAS" search --resume "$T"
# specializing from a supernet: the file must exist, be a supernet, and the study must train for accuracy
expect 2 "--supernet $T/none.hnsn: cannot open" -- "$HWNAS" search --supernet "$T/none.hnsn"
expect 2 "give no study file, --out or --supernet" -- "$HWNAS" search --resume "$T/study" --supernet "$NET"
expect 2 "nb201-table.yaml: --supernet replaces the accuracy a study trains for, but this study's accuracy comes from a table" \
  -- "$HWNAS" search "$SRC/examples/studies/nb201-table.yaml" --supernet "$NET" --out "$T/snt"
expect 2 "not a supernet file (no HNSN magic)" -- "$HWNAS" search --supernet "$NET" --out "$T/snbad"
expect 2 "a tabular study has no dataset" -- "$HWNAS" train --from-study "$T/study" --trial 1
# Ctrl-C during a trial's training: exit 130, the trial goes back to the queue, and the resumed study
# finishes its budget (2 NB201 cells trained on 3,000 Fashion-MNIST images, about 2 s each)
printf 'name: ctrlc\nspace: {name: nb201, width: 4, cells: 1}\ndataset: fashion-mnist\nvalidation: 500\nobjectives:\n  accuracy: max\nbudget:\n  trials: 2\nfidelity:\n  epochs: 1\n  train_fraction: 0.05\nfinal:\n  epochs: 0\nthreads: 1\n' > "$T/ctrlc.yaml"
"$HWNAS" search "$T/ctrlc.yaml" --out "$T/ctrlc" > "$T/ctrlc.log" 2>&1 &
pid=$!
# interrupt only once trial 1 is running (the dataset loads first; on a cold cache that takes a while)
for _ in $(seq 300); do
  [ -s "$T/ctrlc/study.db" ] && "$HWNAS" study show "$T/ctrlc" 2>/dev/null | grep -q "1 running" && break; sleep 0.1
done
sleep 0.5
kill -INT "$pid"; wait "$pid"; rc=$?
if [ "$rc" -eq 130 ] && grep -q "stopped during trial 1, which is back in the queue" "$T/ctrlc.log"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: Ctrl-C during a trial -> exit $rc:" >&2; cat "$T/ctrlc.log" >&2
fi
expect 0 "0 running, 1 queued" -- "$HWNAS" study show "$T/ctrlc"
expect 0 "Pareto front: " -- "$HWNAS" search --resume "$T/ctrlc"
done_trials=$(grep -c ',done,' "$T/ctrlc/trials.csv")
if [ "$done_trials" -eq 2 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $done_trials of 2 trials done after the resume" >&2; fi
# The user's own trainer: examples/trainers/train_torch.py (PyTorch, which setup.sh installs) trains
# 3 small NB201 cells on 300 images; a trainer that fails marks its trial failed and the study goes on.
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  cat > "$T/ext.yaml" <<EOF
name: ext
space: {name: nb201, width: 4, cells: 1}
dataset: fashion-mnist
device: cortex-m7
accuracy:
  command: /usr/bin/python3 $SRC/examples/trainers/train_torch.py --net {net} --fidelity {fidelity} --seed {seed} --train 300 --validation 100 --batch 32
  timeout: 2min
objectives: {accuracy: max, latency_s: min}
strategy: random
budget: {trials: 3}
final: {epochs: 0}
EOF
  expect 0 "Pareto front: " -- "$HWNAS" search "$T/ext.yaml" --out "$T/ext"
  expect 0 "3 done, 0 pruned, 0 failed" -- "$HWNAS" study show "$T/ext"
  expect 0 "expensive command: /usr/bin/python3" -- "$HWNAS" study show "$T/ext"
  expect 0 '"train_seconds": ' -- "$HWNAS" study export "$T/ext" --format json
  sed 's|--batch 32|--batch 32 --data /nonexistent|' "$T/ext.yaml" > "$T/extbad.yaml"
  expect 0 "0 done, 0 pruned, 3 failed" -- sh -c "'$HWNAS' search '$T/extbad.yaml' --out '$T/extbad'; '$HWNAS' study show '$T/extbad'"
  expect 0 "exited with status 1: " -- "$HWNAS" study export "$T/extbad" --format json
else
  fail=$((fail + 1)); echo "FAIL: python3-torch is missing (scripts/setup.sh installs it)" >&2
fi
# kill -9 while the store is being created (issue 19): the directory then holds no store or a whole
# one -- a re-run starts it, or --resume finishes it; never "not an hwnas study store"
printf 'name: k9\nspace: nb201\ntable: %s\naccuracy: cifar10-val\nobjectives:\n  accuracy: max\nbudget:\n  trials: 20\n' "$TAB" > "$T/k9.yaml"
k9bad=0
for i in 0 1 2 3 4 5 6 7 8 9 10 12 15 20 30; do
  "$HWNAS" search "$T/k9.yaml" --out "$T/k9-$i" > /dev/null 2>&1 &
  sleep "0.0$(printf %02d "$i")"; kill -9 $! 2>/dev/null; wait $! 2>/dev/null
  if ! "$HWNAS" search "$T/k9.yaml" --out "$T/k9-$i" > "$T/k9.log" 2>&1; then
    grep -q "a study already lives here" "$T/k9.log" && "$HWNAS" search --resume "$T/k9-$i" > "$T/k9.log" 2>&1 || { k9bad=$((k9bad + 1)); cat "$T/k9.log" >&2; }
  fi
done
if [ "$k9bad" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $k9bad of 15 stores killed during creation were left unusable" >&2; fi
printf 'space: nb201\nobjectives:\n  accuracy: max\nbudgte: 3\n' > "$T/typo.yaml"
expect 2 "typo.yaml:4: unknown key 'budgte'" -- "$HWNAS" search "$T/typo.yaml"
# a key given twice (issue 19): an error naming both lines, not the last one silently
printf 'space: nb201\nobjectives:\n  accuracy: max\n  accuracy: max\n  macs: min\n' > "$T/dupkey.yaml"
expect 2 "dupkey.yaml:4: key 'accuracy' given twice in one mapping (first at line 3)" -- "$HWNAS" search "$T/dupkey.yaml"
printf 'input: [1, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 3, kernel: 5}\n' > "$T/dupnet.yaml"
expect 2 "key 'kernel' given twice" -- "$HWNAS" hw cost --device cortex-m7 --net "$T/dupnet.yaml"
# hostile YAML (issue 19): 200k levels of nesting (took 79 s), a 1 MB string, bytes that are not UTF-8
/usr/bin/python3 -c "import sys; n = 200000; open(sys.argv[1], 'w').write('space: ' + '[' * n + ']' * n + '\n')" "$T/deep.yaml"
expect 2 "deep.yaml:1: YAML nested deeper than 64 levels" -- timeout 10 "$HWNAS" search "$T/deep.yaml"
printf 'input: [1, 8, 8]\nlayers:\n' > "$T/deepnet.yaml"
for i in $(seq 70); do printf '%*s- a:\n' $((2 * i)) '' >> "$T/deepnet.yaml"; done
expect 2 "deepnet.yaml:34: YAML nested deeper than 64 levels" -- "$HWNAS" hw cost --device cortex-m7 --net "$T/deepnet.yaml"
/usr/bin/python3 -c "import sys; open(sys.argv[1], 'w').write('space: ' + 'x' * (1 << 20) + '\n')" "$T/long.yaml"
expect 2 "long.yaml:1: field 'space': longer than the 63-byte limit" -- "$HWNAS" search "$T/long.yaml"
printf 'space: \377\376 nb201\n' > "$T/latin.yaml"
expect 2 "latin.yaml:1: YAML syntax error: invalid leading UTF-8 octet" -- "$HWNAS" search "$T/latin.yaml"
# an alias bomb (10^9 entries if expanded): anchors are read as references, never expanded
/usr/bin/python3 -c "
import sys
l = ['input: [1, 8, 8]', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
l += ['a%d: &a%d [%s]' % (i, i, ', '.join(['*a%d' % (i - 1)] * 10)) for i in range(1, 10)]
open(sys.argv[1], 'w').write('\n'.join(l + ['layers: *a9']) + '\n')" "$T/bomb.yaml"
expect 2 "bomb.yaml:2: unknown top-level field 'a0'" -- timeout 10 "$HWNAS" hw cost --device cortex-m7 --net "$T/bomb.yaml"
# a directory given as the study file; a name that would put the study outside the current directory
expect 2 "$T: a directory, not a study file (to continue a study directory: 'hwnas search --resume $T')" -- "$HWNAS" search "$T"
printf 'name: ../../x\nspace: nb201\nobjectives:\n  accuracy: max\n' > "$T/escape.yaml"
expect 2 "escape.yaml:1: field 'name': '../../x' names the study's directory" -- "$HWNAS" search "$T/escape.yaml"
# a store without its cache table is corrupt, said at once (every trial failed and it exited 0 before)
cp -r "$T/study" "$T/nocache"
/usr/bin/python3 -c "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('DROP TABLE cache'); db.commit()" "$T/nocache/study.db"
expect 2 "nocache/study.db: corrupt study store: its table cache is missing" -- "$HWNAS" search --resume "$T/nocache"
# the host measures no energy: a study asking for it is refused, hw cost prints none (it was 0 J)
printf 'space: nb201\ntable: %s\naccuracy: cifar10-val\ndevice: host\nobjectives:\n  accuracy: max\n  energy_j: min\n' \
  "$SRC/../shared/reference/nb201/nb201-cifar10-12epoch.csv" > "$T/hostenergy.yaml"
expect 2 "hostenergy.yaml:7: objective 'energy_j': unknown metric" -- "$HWNAS" search "$T/hostenergy.yaml" --out "$T/hostenergy.d"
expect 0 '"energy_j": null' -- "$HWNAS" hw cost --device host --net "$SRC/examples/nets/fmnist-cnn.yaml" --json
# a convolution-attention hybrid (issue 20) trains on the float engine, runs in int8 and exports to C
# that equals the engine (host, Cortex-M7) and to ONNX, float and QDQ (checked by onnx.checker;
# tests/check_onnx.py compares their outputs); TFLite and CMSIS-NN refuse its new ops by name
HYB="$SRC/examples/nets/fmnist-hybrid.yaml"
out=$("$HWNAS" train --net "$HYB" --train-limit 2000 --epochs 1 --batch 64 --json --save "$T/hyb.hntf" 2>/dev/null)
if /usr/bin/python3 -c "import json, sys; r = json.loads(sys.argv[1]); sys.exit(not (r['test_accuracy'] > 20 and r['final_train_loss'] < 2.3))" "$out" 2> /dev/null; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: the hybrid network's training: $out" >&2
fi
expect 0 "int8 " -- "$HWNAS" eval --net "$HYB" --weights "$T/hyb.hntf" --quantized --calibration 200
expect 0 "wrote $T/hyb-c/model.c" -- "$HWNAS" export --format c --net "$HYB" --weights "$T/hyb.hntf" --out "$T/hyb-c" \
  --samples 20 --calibration 200
expect 0 "" -- cc -std=c99 -Wall -Wextra -pedantic -Werror -O1 "$T/hyb-c/model.c" "$T/hyb-c/main.c" -o "$T/hyb-c/model"
expect 0 "20 of 20 outputs equal the int8 engine's" -- "$T/hyb-c/model"
expect 0 "20 of 20 outputs equal the int8 engine's" -- "$SRC/deploy/mps2/run.sh" "$T/hyb-c" cortex-m7
expect 0 "wrote $T/hyb-onnx/model.int8.onnx (int8 QDQ, opset 13)" -- \
  "$HWNAS" export --format onnx --net "$HYB" --weights "$T/hyb.hntf" --out "$T/hyb-onnx" --calibration 200
for f in model.onnx model.int8.onnx; do
  expect 0 "" -- /usr/bin/python3 -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" \
    "$T/hyb-onnx/$f"
done
expect 1 "op hardswish has no TFLite export yet" -- \
  "$HWNAS" export --format tflite --net "$HYB" --weights "$T/hyb.hntf" --out "$T/hyb-tflite" --calibration 200
expect 1 "(op hardswish) has no CMSIS-NN form in hwnas yet" -- \
  "$HWNAS" export --format c --cmsis-nn --net "$HYB" --weights "$T/hyb.hntf" --out "$T/hyb-cmsis" --calibration 200
# the hybrid space's networks, softmax (t) and ReLU linear (r) attention: train, int8, C (the tiny
# dataset: 28x28 images at the searched 16x16)
for H in 't:d32,h2,m2,x1' 'r:d32,h2,m2,x2'; do
  A="r16|w0.5:k3e3,skip|w0.5:k5e3,skip,skip|$H" k=${H%%:*}
  expect 0 "" -- "$HWNAS" train --space hybrid --arch "$A" --dataset "idx:$T/tiny" --batch 16 --save "$T/h$k.hntf"
  expect 0 "wrote $T/h$k-c/model.c" -- "$HWNAS" export --format c --space hybrid --arch "$A" --dataset "idx:$T/tiny" \
    --weights "$T/h$k.hntf" --out "$T/h$k-c" --samples 40 --calibration 80
  expect 0 "" -- cc -std=c99 -Wall -Wextra -pedantic -Werror -O1 "$T/h$k-c/model.c" "$T/h$k-c/main.c" -o "$T/h$k-c/model"
  expect 0 "40 of 40 outputs equal the int8 engine's" -- "$T/h$k-c/model"
done
expect 0 "attention" -- "$HWNAS" hw cost --device cortex-m7 --net "$HYB" --layers
# an unwritable --save fails before training, not after it
expect 2 "--save $T/no/such/dir/w.hntf: cannot write there: No such file or directory" -- \
  "$HWNAS" train --net "$NET" --epochs 1 --save "$T/no/such/dir/w.hntf"
# shapes past int (UBSan found the overflow): the input, and a layer's output
printf 'input: [3, 30000, 30000]\nlayers:\n  - {op: relu}\n' > "$T/huge.yaml"
expect 2 "huge.yaml:1: field 'input': input shape 3x30000x30000: 2700000000 elements, more than the 2147483647" \
  -- "$HWNAS" hw cost --device cortex-m7 --net "$T/huge.yaml"
printf 'input: [3, 3000, 30000]\nlayers:\n  - {op: conv2d, out: 4000, kernel: 3, padding: 1}\n' > "$T/huge.yaml"
expect 2 "huge.yaml:3: node 1 (conv2d): output 4000x3000x30000: 360000000000 elements" \
  -- "$HWNAS" hw cost --device cortex-m7 --net "$T/huge.yaml"
# units against metrics (issue 19): a byte bound on a latency, a time on a count, a count on accuracy
for c in "latency_s <= 1MB|a unit of bytes on latency_s; give a time" "params <= 1ms|a unit of time on params; give a count" \
         "accuracy >= 90k|a unit of count on accuracy; it takes a plain number"; do
  printf 'space: nb201\nobjectives:\n  accuracy: max\nconstraints:\n  - %s\n' "${c%%|*}" > "$T/unit.yaml"
  expect 2 "unit.yaml:5: constraint '${c%%|*}': ${c#*|}" -- "$HWNAS" search "$T/unit.yaml"
done
expect 2 "--format 'xml': expected csv or json" -- "$HWNAS" study export "$T/study" --format xml
expect 2 "unknown strategy 'tpe'" -- "$HWNAS" bench --space nb201 --table "$TAB" --optimize cifar10-val --report cifar10-test --strategy tpe

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
