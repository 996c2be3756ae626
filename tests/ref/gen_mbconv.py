#!/usr/bin/python3
"""Writes tests/ref/mbconv-counts.csv: the MBConv space's networks built in PyTorch, counted there.

Run with Debian's interpreter (python3-torch): /usr/bin/python3 tests/ref/gen_mbconv.py
Independently of the C code, it parses each architecture string as docs/spaces.md describes it,
builds the network with torch.nn (MobileNetV2's InvertedResidual, its _make_divisible), runs a
forward pass of 2 images at the architecture's resolution, and writes per row:
  arch,channels,classes,params,macs,out
params counts every parameter; macs counts multiply-accumulates of convolutions (output elements x
in/groups x k x k) and linear layers (in x out), measured with forward hooks; out is the logits'
width. Rows: the smallest and the largest network, then 60 random architectures (seed 201) on 1 or 3
input channels and 10 or 100 classes.
"""
import csv, os, random, re, torch, torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = [(16, 2, 1), (24, 3, 2), (40, 3, 2), (80, 4, 2), (96, 3, 1)]
RES, WIDTHS = ["16", "20", "24", "28", "32"], ["0.5", "0.75", "1.0", "1.25"]
OPS = [f"k{k}e{e}" for k in (3, 5, 7) for e in (1, 3, 6)]


def make_divisible(v, d=8):  # MobileNetV2 (torchvision) rounding
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, k, e, stride):
        super().__init__()
        hidden = cin * e
        layers = [conv_bn(cin, hidden, 1)] if e != 1 else []
        layers += [conv_bn(hidden, hidden, k, stride, groups=hidden), conv_bn(hidden, cout, 1, act=False)]
        self.body, self.res = nn.Sequential(*layers), stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.res else self.body(x)


def conv_stages(stages, channels):
    """the stem and the first len(stages) stages of their strings ("w1.0:k3e1,skip"): (layers, channels)"""
    layers, c = [], None
    for (base, nblocks, stride), st in zip(STAGES, stages):
        w, ops = st[1:].split(":")
        ops = ops.split(",")
        assert len(ops) == nblocks
        o = make_divisible(base * float(w))
        if c is None:
            c = o
            layers.append(conv_bn(channels, c, 3))
        for i, op in enumerate(ops):
            if op == "skip":
                continue
            k, e = int(op[1]), int(op[3])
            layers.append(InvertedResidual(c, o, k, e, stride if i == 0 else 1))
            c = o
    return layers, c


def build(arch, channels, classes):
    m = re.fullmatch(r"r(\d+)((?:\|w[0-9.]+:[a-z0-9,]+){5})", arch)
    res, stages = int(m.group(1)), m.group(2)[1:].split("|")
    layers, c = conv_stages(stages, channels)
    layers += [conv_bn(c, 256, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, classes)]
    return nn.Sequential(*layers), res


def count(arch, channels, classes):
    net, res = build(arch, channels, classes)
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            macs[0] += out[0].numel() * mod.in_channels // mod.groups * k  # out[0]: one image
        else:
            macs[0] += mod.in_features * mod.out_features

    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            mod.register_forward_hook(hook)
    with torch.no_grad():
        out = net.eval()(torch.zeros(2, channels, res, res))
    return sum(p.numel() for p in net.parameters()), macs[0], out.shape[1]


def write_counts(name, rows, count):
    """tests/ref/NAME: a header, then per (arch, channels, classes) row its count(...) (params, macs, out)"""
    with open(os.path.join(HERE, name), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["arch", "channels", "classes", "params", "macs", "out"])
        for arch, ch, k in rows:
            out.writerow([arch, ch, k, *count(arch, ch, k)])


def arch_string(res, widths, ops):
    parts, j = [f"r{res}"], 0
    for (base, n, stride), w in zip(STAGES, widths):
        parts.append(f"w{w}:" + ",".join(ops[j:j + n]))
        j += n
    return "|".join(parts)


def main():
    rng = random.Random(201)
    firsts = {0, 2, 5, 8, 12}  # the first block of each stage
    rows = [(arch_string("16", ["0.5"] * 5, ["k3e1" if j in firsts else "skip" for j in range(15)]), 1, 10),
            (arch_string("32", ["1.25"] * 5, ["k7e6"] * 15), 3, 100)]
    for i in range(60):
        ops = [rng.choice(OPS if j in firsts else OPS + ["skip"]) for j in range(15)]
        rows.append((arch_string(rng.choice(RES), [rng.choice(WIDTHS) for _ in range(5)], ops),
                     rng.choice([1, 3]), rng.choice([10, 100])))
    write_counts("mbconv-counts.csv", rows, count)


if __name__ == "__main__":
    main()
