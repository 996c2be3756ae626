#!/usr/bin/python3
"""Writes tests/ref/ref.hntf, the PyTorch reference data the C tests compare against.

Run with Debian's interpreter (python3-torch, python3-yaml): /usr/bin/python3 tests/ref/gen_ref.py
It builds each network of tests/ref/*.yaml in PyTorch from the same file (so the two cannot drift),
in float64 so that the reference is the exact answer to float32 rounding, and writes, per network:
  <net>.w.<param>            initial parameters and running statistics (PyTorch names: <layer>.weight ...)
  <net>.x, <net>.y           input batch (N, C, H, W) and labels
  <net>.<mode>.logits        output (N, K);  mode = train (batch statistics) or eval (running statistics)
  <net>.<mode>.loss          cross-entropy (label smoothing 0.1 for allops, 0 for cnn)
  <net>.<mode>.grad.<param>  gradient of every parameter
  <net>.<mode>.dx            gradient of the input
  <net>.train.state.<bn>     running statistics after the training-mode forward
  <net>.proxies              (cnn, allops) zero-cost proxies synflow, snip, grad_norm, jacob_cov, naswot at the
                             initial parameters, as zero-cost-nas and NASWOT define them
and for the 10-step SGD check on the CNN (momentum 0.9, Nesterov, weight decay 5e-4, cosine over 10):
  sgd.x, sgd.y, sgd.losses   10 batches of 8 and the loss before each step
The file format is hwnas's versioned tensor file (include/hwnas/tensor.h).
"""
import copy, os, struct, sys, yaml, numpy as np, torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "trainers"))
from hwnas_net import Net  # the network file as an nn.Module, shared with the example trainer
torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)


out = []


def put(name, t):
    out.append((name, t.detach().to(torch.float32).contiguous().numpy()))


def net_case(tag, n, classes, smoothing, with_proxies=True):
    net = Net(os.path.join(HERE, tag + ".yaml"))
    with torch.no_grad():  # non-trivial batch-norm parameters and statistics, so every term is tested
        for m in net.mods.values():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.add_(0.1 * torch.randn_like(m.weight))
                m.bias.add_(0.1 * torch.randn_like(m.bias))
                m.running_mean.add_(0.1 * torch.randn_like(m.running_mean))
                m.running_var.mul_(1 + 0.5 * torch.rand_like(m.running_var))
            if isinstance(m, nn.LayerNorm):  # some negative gains: the int8 layer norm's signed multipliers
                m.weight.copy_(1.5 * torch.randn_like(m.weight))
                m.bias.add_(0.3 * torch.randn_like(m.bias))
    for name, t in net.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            put(f"{tag}.w.{name.split('.', 1)[1]}", t)
    c, h, w = yaml.safe_load(open(os.path.join(HERE, tag + ".yaml")))["input"]
    x = torch.randn(n, c, h, w)
    y = torch.randint(0, classes, (n,))
    put(f"{tag}.x", x)
    put(f"{tag}.y", y.to(torch.float64))
    if with_proxies:  # NASWOT needs ReLUs
        put(f"{tag}.proxies", proxies(net, x, y))
    for mode in ("train", "eval"):
        net.train(mode == "train")
        xx = x.clone().requires_grad_(True)
        net.zero_grad()
        logits = net(xx)
        loss = F.cross_entropy(logits, y, label_smoothing=smoothing)
        loss.backward()
        put(f"{tag}.{mode}.logits", logits)
        put(f"{tag}.{mode}.loss", loss.reshape(1))
        put(f"{tag}.{mode}.dx", xx.grad)
        for name, p in net.named_parameters():
            put(f"{tag}.{mode}.grad.{name.split('.', 1)[1]}", p.grad)
        if mode == "train":
            for name, t in net.state_dict().items():
                if "running" in name:
                    put(f"{tag}.train.state.{name.split('.', 1)[1]}", t)


def proxies(net, x, y):
    """synflow, snip, grad_norm, jacob_cov, naswot of net at its current parameters (left unchanged)."""
    saved = copy.deepcopy(net.state_dict())
    weighted = [m for m in net.mods.values() if isinstance(m, (nn.Conv2d, nn.Linear))]
    net.train()
    net.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    grad_norm = sum(m.weight.grad.norm().item() for m in weighted)
    snip = sum((m.weight.grad * m.weight).abs().sum().item() for m in weighted)
    codes = torch.cat([(r > 0).flatten(1).to(torch.float64) for r in net.relu_outs], 1)
    k = codes @ codes.t() + (1 - codes) @ (1 - codes).t()
    naswot = torch.linalg.slogdet(k)[1].item()
    xx = x.clone().requires_grad_(True)
    net(xx).backward(torch.ones(x.shape[0], net(x).shape[1]))
    jac = xx.grad.reshape(x.shape[0], -1).numpy()
    ev = np.linalg.eigvalsh(np.corrcoef(jac))
    jacob_cov = -np.sum(np.log(ev + 1e-5) + 1.0 / (ev + 1e-5))
    net.load_state_dict(saved)
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.abs_()
    net.eval()
    net.zero_grad()
    net(torch.ones(1, *x.shape[1:])).sum().backward()
    synflow = sum((m.weight.grad * m.weight).abs().sum().item() for m in weighted)
    net.load_state_dict(saved)
    net.zero_grad()
    return torch.tensor([synflow, snip, grad_norm, jacob_cov, naswot])


net_case("cnn", 6, 10, 0.0)
net_case("allops", 5, 5, 0.1)
net_case("attn", 4, 10, 0.0, with_proxies=False)
net_case("linattn", 4, 10, 0.0, with_proxies=False)

# 10 SGD steps on the CNN, as the training loop does them (weights: cnn.w.*)
net = Net(os.path.join(HERE, "cnn.yaml"))
sd = {k[len("cnn.w."):]: torch.tensor(v, dtype=torch.float64) for k, v in out if k.startswith("cnn.w.")}
missing, unexpected = net.mods.load_state_dict(sd, strict=False)
assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10)
xs, ys = torch.randn(10, 8, 1, 28, 28), torch.randint(0, 10, (10, 8))
losses = []
net.train()
for i in range(10):
    loss = F.cross_entropy(net(xs[i]), ys[i])
    losses.append(loss.item())
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
put("sgd.x", xs.reshape(80, 1, 28, 28))
put("sgd.y", ys.reshape(80).to(torch.float64))
put("sgd.losses", torch.tensor(losses))

with open(os.path.join(HERE, "ref.hntf"), "wb") as f:
    f.write(struct.pack("<III", 0x46544E48, 1, len(out)))
    for name, a in out:
        b = name.encode()
        f.write(struct.pack("<H", len(b)) + b + struct.pack("<B", a.ndim))
        f.write(struct.pack(f"<{a.ndim}q", *a.shape))
        f.write(a.astype("<f4").tobytes())
print(f"wrote {len(out)} tensors to {os.path.join(HERE, 'ref.hntf')}")
