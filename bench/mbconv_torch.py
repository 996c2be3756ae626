#!/usr/bin/python3
"""Peer for bench/mbconv_vs_torch: trains one MBConv architecture of hwnas's space in PyTorch.

The network is tests/ref/gen_mbconv.py's independent builder (torchvision's InvertedResidual, the
same string form), so both tools train the same layers. Data, hyper-parameters and schedule follow
`hwnas train`: Fashion-MNIST resized once (bilinear, half-pixel centres) to the architecture's
resolution and normalised, SGD with Nesterov momentum 0.9, weight decay 5e-4, a cosine learning rate
from 0.1, batch B, one epoch over the first N training images; then the 10,000 test images.
Usage: mbconv_torch.py ARCH [N=12800] [THREADS=2] [BATCH=64]
Prints: train_img_per_s=... infer_img_per_s=... test_acc=...%
"""
import gzip, os, sys, time
import numpy as np, torch, torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from gen_mbconv import build  # noqa: E402

D = "/usr/share/datasets/fashion-mnist/"


def idx(path, off):
    with gzip.open(D + path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=off)


def images(path, res, n=None):
    x = torch.tensor(idx(path, 16).reshape(-1, 1, 28, 28)[:n], dtype=torch.float32) / 255.0
    if res != 28:
        x = F.interpolate(x, size=(res, res), mode="bilinear", align_corners=False)
    return (x - 0.2860) / 0.3530


arch = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 12800
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
bs = int(sys.argv[4]) if len(sys.argv) > 4 else 64
torch.set_num_threads(threads)
torch.manual_seed(0)
net, res = build(arch, 1, 10)
xtr, ytr = images("train-images-idx3-ubyte.gz", res, n), torch.tensor(idx("train-labels-idx1-ubyte.gz", 8)[:n], dtype=torch.long)
xte, yte = images("t10k-images-idx3-ubyte.gz", res), torch.tensor(idx("t10k-labels-idx1-ubyte.gz", 8), dtype=torch.long)
steps = (len(xtr) + bs - 1) // bs
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
t0 = time.perf_counter()
net.train()
perm = torch.randperm(len(xtr))
for i in range(0, len(xtr), bs):
    b = perm[i:i + bs]
    loss = F.cross_entropy(net(xtr[b]), ytr[b])
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
t_train = time.perf_counter() - t0
net.eval()
t0 = time.perf_counter()
with torch.no_grad():
    correct = sum((net(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item() for i in range(0, 10000, 500))
t_inf = time.perf_counter() - t0
print(f"train_img_per_s={len(xtr) / t_train:.0f} infer_img_per_s={10000 / t_inf:.0f} test_acc={correct / 100:.2f}%")
