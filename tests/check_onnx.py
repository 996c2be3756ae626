#!/usr/bin/python3
"""Checks the ONNX files test_export wrote into DIR.

Every file: no initializer or value that nothing reads (runtimes warn about them).
Float graphs (<net>.onnx): onnx.checker (full check, with shape inference) accepts each, and OpenCV's
DNN module, running it on the saved inputs, gives hwnas's float outputs within 1e-4 (relative to the
largest output; float32 sums in another order) and the same top-1 predictions (where the top two are
not tied within that tolerance: the single-op graphs' outputs can tie). OpenCV 4.6 cannot
broadcast one computed value against another along the channels (layer norm's x - mean, linear
attention's division by its per-token sums), so graphs with ReduceMean or ReduceSum are run by the
reference evaluation below instead (in float64); every float graph is also run by it, so the
evaluation itself is checked against OpenCV on all the others.

QDQ graphs of the int8 models (<net>.int8.onnx): onnx.checker accepts each, and a reference evaluation
of the ONNX semantics (below, in NumPy/PyTorch float64: QuantizeLinear rounds half to even and
saturates) gives hwnas's int8 engine's dequantized outputs closely: the engine requantizes in fixed
point where the graph rescales in float, so a value may differ by a rounding, and such differences
compound through the layers -- average pooling's ties alone (the engine rounds half away from zero,
QuantizeLinear to even) differ a quarter of the time at a 2x2 window; outputs must agree within 3
steps, and a step on average. A wrong scale, zero point or weight layout is off by tens of steps.
(OpenCV 4.6 cannot import per-channel DequantizeLinear, so it does not run these.)
Usage: check_onnx.py DIR"""
import glob, os, sys
import numpy as np, onnx, cv2, torch, torch.nn.functional as F
from onnx import numpy_helper


def evaluate(model, x):
    """The graph's output on x, by the ONNX operator definitions at the graphs' opsets (the ops hwnas
    writes; float graphs are opset 10: Clip's bounds are attributes, Softmax flattens from its axis)."""
    v = {t.name: torch.tensor(numpy_helper.to_array(t).astype(np.float64)) for t in model.graph.initializer}
    v[model.graph.input[0].name] = torch.tensor(x, dtype=torch.float64)
    for n in model.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [v[k] for k in n.input]
        t = n.op_type
        if t == "QuantizeLinear":
            y = torch.clamp(torch.round(i[0] / i[1]) + i[2], -128, 127)  # torch.round: ties to even
        elif t == "DequantizeLinear":
            shape = [-1] + [1] * (i[0].dim() - 1) if i[1].dim() == 1 else []
            y = (i[0] - i[2].reshape(shape)) * i[1].reshape(shape)
        elif t == "Conv":
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a["strides"], a["pads"][:2], 1, a["group"])
        elif t == "Clip":
            lo, hi = (i[1].item(), i[2].item()) if len(i) == 3 else (a["min"], a["max"])
            y = torch.clamp(i[0], lo, hi)
        elif t == "BatchNormalization":
            sh = [1, -1, 1, 1]
            y = (i[0] - i[3].reshape(sh)) / torch.sqrt(i[4].reshape(sh) + a["epsilon"]) * i[1].reshape(sh) + i[2].reshape(sh)
        elif t == "Gemm": y = i[0] @ i[1].T + i[2]
        elif t == "Relu": y = torch.relu(i[0])
        elif t == "Identity": y = i[0]
        elif t == "Sub": y = i[0] - i[1]
        elif t == "Div": y = i[0] / i[1]
        elif t == "Sqrt": y = torch.sqrt(i[0])
        elif t == "Tanh": y = torch.tanh(i[0])
        elif t == "MatMul": y = i[0] @ i[1]
        elif t == "Transpose": y = i[0].permute(*a["perm"])
        elif t == "ReduceMean": y = i[0].mean(tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1)))
        elif t == "ReduceSum":  # axes: an attribute to opset 12, an input from 13
            axes = a["axes"] if "axes" in a else i[1].long().tolist()
            y = i[0].sum(tuple(axes), keepdim=bool(a.get("keepdims", 1)))
        elif t == "Softmax":  # opset 10: a 2-D softmax over the dimensions from axis on
            k = a.get("axis", 1)
            y = torch.softmax(i[0].reshape(*i[0].shape[:k], -1).flatten(0, k - 1), 1).reshape(i[0].shape)
        elif t == "Slice":  # opset 10: starts, ends, axes as inputs
            y = i[0]
            for st, en, ax in zip(i[1].long().tolist(), i[2].long().tolist(), i[3].long().tolist()):
                y = y.narrow(ax, st, min(en, y.shape[ax]) - st)
        elif t == "Pad": y = F.pad(i[0], [a["pads"][3], a["pads"][7], a["pads"][2], a["pads"][6]])
        elif t in ("Add", "Sum"): y = sum(i[1:], i[0])
        elif t == "Concat": y = torch.cat(i, a["axis"])
        elif t == "AveragePool":
            y = F.avg_pool2d(i[0], a["kernel_shape"], a["strides"], a["pads"][:2], count_include_pad=bool(a.get("count_include_pad", 0)))
        elif t == "MaxPool": y = F.max_pool2d(i[0], a["kernel_shape"], a["strides"], a["pads"][:2])
        elif t == "GlobalAveragePool": y = i[0].mean((2, 3), keepdim=True)
        elif t == "Mul": y = i[0] * i[1]
        elif t == "Reshape":  # 0 keeps that dimension, -1 is inferred
            y = i[0].reshape([i[0].shape[k] if int(v) == 0 else int(v) for k, v in enumerate(i[1].tolist())])
        elif t == "Flatten": y = i[0].flatten(1)
        else: raise ValueError(f"no reference for {t}")
        v[n.output[0]] = y
    return v[model.graph.output[0].name].numpy()


def unused_names(model):
    """initializers no node reads and node outputs neither read nor a graph output (runtimes warn)"""
    read = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    names = [t.name for t in model.graph.initializer] + [o for n in model.graph.node for o in n.output]
    return [k for k in names if k not in read]


d = sys.argv[1]
passed = failed = 0
for path in sorted(glob.glob(os.path.join(d, "*.onnx"))):
    qdq = path.endswith(".int8.onnx")
    tag = path[:-len(".int8.onnx")] if qdq else path[:-len(".onnx")]
    n, c, h, w, k, scale = open(tag + ".shape").read().split()
    n, c, h, w, k, scale = int(n), int(c), int(h), int(w), int(k), float(scale)
    x = np.fromfile(tag + ".x", np.float32).reshape(n, c, h, w)
    want = np.fromfile(tag + (".int8.y" if qdq else ".y"), np.float32).reshape(n, k)
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        unused = unused_names(model)
        if unused:
            raise ValueError(f"unused initializers or values: {', '.join(unused[:5])}")
        if qdq:
            got = evaluate(model, x).reshape(n, k)
            steps = np.abs(got - want) / scale  # differences in output steps
            ok = steps.max() <= 3 + 1e-6 and steps.mean() <= 1
            print(f"{os.path.basename(path)}: {len(model.graph.node)} nodes, output differences: max {steps.max():.2f},",
                  f"mean {steps.mean():.2f} steps", "" if ok else "FAIL")
        else:
            runs = {"reference": evaluate(model, x).reshape(n, k)}
            if not {"ReduceMean", "ReduceSum"} & {node.op_type for node in model.graph.node}:
                net = cv2.dnn.readNetFromONNX(path)
                net.setInput(x)
                runs["OpenCV"] = net.forward().reshape(n, k)
            ok, report = True, []
            top2 = np.sort(want, 1)[:, -2:] if k > 1 else np.zeros((n, 2))
            clear = top2[:, 1] - top2[:, 0] > 1e-4 * max(np.abs(want).max(), 1e-12)  # rows without a near-tie
            for who, got in runs.items():
                err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)
                ok = ok and err <= 1e-4 and (got.argmax(1) == want.argmax(1))[clear].all()
                report.append(f"{who} max relative error {err:.2e}")
            print(f"{os.path.basename(path)}: {len(model.graph.node)} nodes,", ", ".join(report), "" if ok else "FAIL")
    except Exception as e:  # a checker, OpenCV or evaluation error is a failure with its message
        ok = False
        print(f"{os.path.basename(path)}: FAIL: {e}")
    passed, failed = passed + ok, failed + (not ok)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
