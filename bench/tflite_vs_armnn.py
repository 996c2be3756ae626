#!/usr/bin/python3
"""A TFLite export against an independent runtime on a whole test set: Arm NN (Debian's python3-pyarmnn,
TFLite parser, CpuRef backend) runs DIR/model.tflite (hwnas export --format tflite --samples N) on the
test vectors hwnas wrote beside it, and this prints both accuracies, how many outputs and top-1 classes
agree, the largest difference in output steps, and both runtimes' times.
Usage: bench/tflite_vs_armnn.py DIR [LIMIT]"""
import os, sys, time
import numpy as np
import pyarmnn as ann

d = sys.argv[1]
parser = ann.ITfLiteParser()
net = parser.CreateNetworkFromBinaryFile(os.path.join(d, "model.tflite"))
ib = parser.GetNetworkInputBindingInfo(0, parser.GetSubgraphInputTensorNames(0)[0])
ob = parser.GetNetworkOutputBindingInfo(0, parser.GetSubgraphOutputTensorNames(0)[0])
shape = tuple(ib[1].GetShape()[k] for k in range(ib[1].GetNumDimensions()))
k = ob[1].GetNumElements()
x = np.fromfile(os.path.join(d, "test_inputs.int8"), np.int8).reshape((-1,) + shape[1:])
want = np.fromfile(os.path.join(d, "test_outputs.int8"), np.int8).reshape(-1, k).astype(np.int64)
labels = np.fromfile(os.path.join(d, "test_labels.int32"), "<i4")
n = min(len(x), int(sys.argv[2])) if len(sys.argv) > 2 else len(x)
rt = ann.IRuntime(ann.CreationOptions())
opt, _ = ann.Optimize(net, [ann.BackendId("CpuRef")], rt.GetDeviceSpec(), ann.OptimizerOptions())
nid, _ = rt.LoadNetwork(opt)
got = np.zeros((n, k), np.int64)
t0 = time.time()
for i in range(n):
    out = ann.make_output_tensors([ob])
    rt.EnqueueWorkload(nid, ann.make_input_tensors([ib], [np.ascontiguousarray(x[i:i + 1])]), out)
    got[i] = ann.workload_tensors_to_ndarray(out)[0].reshape(-1)
    if (i + 1) % 1000 == 0:
        print(f"  {i + 1}/{n} images", file=sys.stderr)
secs = time.time() - t0
want, labels = want[:n], labels[:n]
diff = np.abs(got - want)
print(f"{n} test images of {d}/model.tflite")
print(f"accuracy: hwnas int8 engine {100 * (want.argmax(1) == labels).mean():.2f} %, "
      f"Arm NN CpuRef {100 * (got.argmax(1) == labels).mean():.2f} %")
print(f"outputs equal: {100 * (diff == 0).mean():.2f} %; top-1 equal on {int((got.argmax(1) == want.argmax(1)).sum())} of {n}; "
      f"largest difference {int(diff.max())} steps (mean {diff.mean():.3f})")
print(f"Arm NN CpuRef: {1000 * secs / n:.1f} ms per image")
