#!/usr/bin/python3
"""Writes tests/ref/hybrid-counts.csv: the hybrid space's networks built in PyTorch, counted there.

Run with Debian's interpreter (python3-torch): /usr/bin/python3 tests/ref/gen_hybrid.py
Independently of the C code, it parses each architecture string as docs/spaces.md describes it and
builds the network with torch.nn: the MBConv stages of gen_mbconv.py, the embedding convolution
(3x3, stride 2, batch norm, hard-swish), pre-norm transformer blocks over the H*W tokens (nn.Linear
projections, softmax(Q K^T / sqrt(d)) V per head, GELU tanh form), a final layer norm, the average of the
tokens and a linear classifier. A forward pass of 2 images at the architecture's resolution; per row:
  arch,channels,classes,params,macs,out
macs: convolutions and linear layers as gen_mbconv.py counts them (forward hooks), plus attention's
two T x T products, 2 x T^2 x D per image (measured on the tensors the hook sees), or linear
attention's 2 T d D + T D. Rows: the smallest and the largest network, then 60 random architectures
(seed 20; softmax or linear attention) on 1 or 3 channels, 10 or 100 classes.
"""
import random, re, torch, torch.nn as nn

from gen_mbconv import OPS, RES, STAGES, WIDTHS, conv_stages, write_counts

DIMS, HEADS, MLPS, DEPTHS = [32, 48, 64, 96], [1, 2, 4], [1, 2, 4], [1, 2, 3]


class Attention(nn.Module):
    """softmax attention, or (linear) ReLU linear attention: relu(Q) (relu(K)^T V) / (relu(Q) sum relu(K))"""
    def __init__(self, dim, heads, linear):
        super().__init__()
        self.qkv, self.proj, self.heads, self.linear, self.macs = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads, linear, 0

    def forward(self, x):  # x: (N, T, D)
        n, t, d = x.shape
        q, k, v = (y.reshape(n, t, self.heads, d // self.heads).transpose(1, 2) for y in self.qkv(x).chunk(3, -1))
        if self.linear:  # (N, heads, T, d); MACs: K^T V and Q (K^T V), T d^2 each per head, and Q . sum K
            q, k = torch.relu(q), torch.relu(k)
            self.macs = 2 * t * d * (d // self.heads) + t * d
            o = (q @ (k.transpose(-2, -1) @ v)) / (q @ k.sum(-2, keepdim=True).transpose(-2, -1) + 1e-6)
            return self.proj(o.transpose(1, 2).reshape(n, t, d))
        self.macs = 2 * t * t * d
        p = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, -1)
        return self.proj((p @ v).transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp, linear):
        super().__init__()
        self.n1, self.attn, self.n2 = nn.LayerNorm(dim), Attention(dim, heads, linear), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp * dim), nn.GELU("tanh"), nn.Linear(mlp * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        return x + self.mlp(self.n2(x))


class Hybrid(nn.Module):
    def __init__(self, conv, dim, blocks, classes):
        super().__init__()
        self.conv, self.blocks = conv, nn.Sequential(*blocks)
        self.norm, self.fc = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)  # (N, T, D)
        return self.fc(self.norm(self.blocks(x)).mean(1))


def build(arch, channels, classes):
    m = re.fullmatch(r"r(\d+)((?:\|w[0-9.]+:[a-z0-9,]+){2,3})\|([tr]):d(\d+),h(\d+),m(\d+),x(\d+)", arch)
    res, stages, linear = int(m.group(1)), m.group(2)[1:].split("|"), m.group(3) == "r"
    dim, heads, mlp, depth = (int(m.group(i)) for i in range(4, 8))
    layers, c = conv_stages(stages, channels)
    layers += [nn.Conv2d(c, dim, 3, 2, 1, bias=False), nn.BatchNorm2d(dim), nn.Hardswish()]
    return Hybrid(nn.Sequential(*layers), dim, [Block(dim, heads, mlp, linear) for _ in range(depth)], classes), res


def count(arch, channels, classes):
    net, res = build(arch, channels, classes)
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            macs[0] += out[0].numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        else:  # nn.Linear on (N, T, in) or (N, in): per image, tokens x in x out
            macs[0] += out[0].numel() * mod.in_features

    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            mod.register_forward_hook(hook)
    with torch.no_grad():
        out = net.eval()(torch.zeros(2, channels, res, res))
    macs[0] += sum(mod.macs for mod in net.modules() if isinstance(mod, Attention))
    return sum(p.numel() for p in net.parameters()), macs[0], out.shape[1]


def arch_string(res, split, widths, ops, dim, heads, mlp, depth, kind="t"):
    parts, j = [f"r{res}"], 0
    for (base, n, stride), w in list(zip(STAGES, widths))[:split]:
        parts.append(f"w{w}:" + ",".join(ops[j:j + n]))
        j += n
    return "|".join(parts) + f"|{kind}:d{dim},h{heads},m{mlp},x{depth}"


def main():
    rng = random.Random(20)
    firsts = {0, 2, 5}  # the first block of each conv stage
    rows = [(arch_string("16", 2, ["0.5"] * 3, ["k3e1" if j in firsts else "skip" for j in range(8)], 32, 1, 1, 1), 1, 10),
            (arch_string("32", 3, ["1.25"] * 3, ["k7e6"] * 8, 96, 4, 4, 3), 3, 100)]
    for i in range(60):
        ops = [rng.choice(OPS if j in firsts else OPS + ["skip"]) for j in range(8)]
        rows.append((arch_string(rng.choice(RES), rng.choice([2, 3]), [rng.choice(WIDTHS) for _ in range(3)], ops,
                                 rng.choice(DIMS), rng.choice(HEADS), rng.choice(MLPS), rng.choice(DEPTHS),
                                 rng.choice("tr")),
                     rng.choice([1, 3]), rng.choice([10, 100])))
    write_counts("hybrid-counts.csv", rows, count)


if __name__ == "__main__":
    main()
