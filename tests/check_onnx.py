#!/usr/bin/python3
"""Checks the ONNX files test_export wrote into DIR: each passes onnx.checker (full check, with shape
inference), and OpenCV's DNN module, running it on the saved inputs, gives hwnas's float outputs within
1e-4 (relative to the largest output; float32 sums in another order) and the same top-1 predictions.
Usage: check_onnx.py DIR"""
import glob, os, sys
import numpy as np, onnx, cv2

d = sys.argv[1]
passed = failed = 0
for path in sorted(glob.glob(os.path.join(d, "*.onnx"))):
    tag = path[:-5]
    n, c, h, w, k = (int(v) for v in open(tag + ".shape").read().split())
    x = np.fromfile(tag + ".x", np.float32).reshape(n, c, h, w)
    want = np.fromfile(tag + ".y", np.float32).reshape(n, k)
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(x)
        got = net.forward().reshape(n, k)
        err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)
        ok = err <= 1e-4 and (got.argmax(1) == want.argmax(1)).all()
        print(f"{os.path.basename(path)}: {len(model.graph.node)} nodes, max relative error {err:.2e}", "" if ok else "FAIL")
    except Exception as e:  # a checker or OpenCV error is a failure with its message
        ok = False
        print(f"{os.path.basename(path)}: FAIL: {e}")
    passed, failed = passed + ok, failed + (not ok)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
