#!/usr/bin/python3
"""A user's own trainer for hwnas studies: trains the network file hwnas wrote for a candidate in
PyTorch (on a GPU when there is one) and prints its metrics as one JSON object on the last line of
standard output, which is all a study's command provider reads (docs/studies.md). Progress goes to
standard error, which hwnas keeps the tail of when a trial fails.

    accuracy:
      command: /usr/bin/python3 {here}/../trainers/train_torch.py --net {net} --fidelity {fidelity} --seed {seed}
      timeout: 10min

Data: Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist, or --data DIR). A full evaluation
trains --epochs epochs over --train images (a fidelity f trains f of it, at least one batch) with SGD
(momentum 0.9, Nesterov, cosine learning rate) and measures top-1 accuracy (percent, as hwnas's own training) on the --validation images
that follow them in the training split.
"""
import argparse, gzip, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hwnas_net import Net  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)


def load(data_dir, n_train, n_val, shape):
    find = lambda stem: next(os.path.join(data_dir, stem + s) for s in (".gz", "") if os.path.exists(os.path.join(data_dir, stem + s)))
    x = read_idx(find("train-images-idx3-ubyte"))[: n_train + n_val].astype(np.float32) / 255
    y = read_idx(find("train-labels-idx1-ubyte"))[: n_train + n_val].astype(np.int64)
    x = torch.from_numpy((x - 0.2860) / 0.3530).unsqueeze(1)  # the normalisation hwnas uses
    if tuple(x.shape[2:]) != tuple(shape[1:]):  # a searched resolution: resize as hwnas does
        x = F.interpolate(x, size=tuple(shape[1:]), mode="bilinear", align_corners=False)
    y = torch.from_numpy(y)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", required=True, help="the network file hwnas wrote ({net})")
    ap.add_argument("--fidelity", type=float, default=1.0, help="share of a full evaluation ({fidelity})")
    ap.add_argument("--seed", type=int, default=0, help="({seed})")
    ap.add_argument("--epochs", type=float, default=1.0, help="epochs of a full evaluation")
    ap.add_argument("--train", type=int, default=50000, help="training images")
    ap.add_argument("--validation", type=int, default=10000, help="held-out images after them")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="directory of the IDX files")
    a = ap.parse_args()
    torch.manual_seed(a.seed % (1 << 63))
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    net = Net(a.net).to(dev)
    xt, yt, xv, yv = load(a.data, a.train, a.validation, net.input_shape)
    images = max(a.batch, int(round(a.fidelity * a.epochs * len(xt))))
    steps = math.ceil(images / a.batch)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    net.train()
    order = torch.randperm(len(xt))
    for step in range(steps):
        idx = order[(step * a.batch + torch.arange(a.batch)) % len(xt)]
        loss = F.cross_entropy(net(xt[idx].to(dev)), yt[idx].to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps} loss {loss.item():.4f}", file=sys.stderr)
    seconds = time.time() - t0
    net.eval()
    with torch.no_grad():
        correct = sum((net(xv[i:i + 500].to(dev)).argmax(1).cpu() == yv[i:i + 500]).sum().item() for i in range(0, len(xv), 500))
    print(json.dumps({"accuracy": 100.0 * correct / len(xv), "train_seconds": seconds, "loss": loss.item(), "device": dev != "cpu"}))


if __name__ == "__main__":
    main()
