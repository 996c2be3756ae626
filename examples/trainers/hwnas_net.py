"""A hwnas network file (docs/network-files.md) as a PyTorch module: the same layers, PyTorch's default
initialisation, the same output. hwnas's own reference generator (tests/ref/gen_ref.py) builds its
networks with it, and so can a user's trainer (train_torch.py beside it).

    from hwnas_net import Net
    net = Net("model.yaml")          # a file hwnas wrote: a study's model.yaml, or {net} of a command
    logits = net(torch.randn(8, *net.input_shape))
"""
import yaml, torch, torch.nn as nn, torch.nn.functional as F


class Net(nn.Module):
    """A DAG of layers as in a hwnas network file."""

    def __init__(self, path):
        super().__init__()
        spec = yaml.safe_load(open(path))
        self.input_shape = tuple(spec["input"])
        self.layers, self.names = [], ["input"]
        c = {"input": spec["input"][0]}
        shapes = {"input": tuple(spec["input"])}
        self.mods = nn.ModuleDict()
        self.heads = {}
        prev = "input"
        for i, l in enumerate(spec["layers"]):
            op, name = l["op"], l.get("name", f"{l['op']}{i + 1}")
            ins = l.get("inputs", prev)
            ins = [ins] if isinstance(ins, str) else ins
            cin, h, w = shapes[ins[0]]
            k, s, p = l.get("kernel", 1), l.get("stride", l.get("kernel", 1) if "pool" in op else 1), l.get("padding", 0)
            if op == "conv2d":
                m = nn.Conv2d(cin, l["out"], k, s, p, groups=l.get("groups", 1), bias=l.get("bias", True))
                shape = (l["out"], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
            elif op == "batchnorm":
                # float(): YAML 1.1 reads 1e-6 (no dot) as a string
                m = nn.BatchNorm2d(cin, eps=float(l.get("eps", 1e-5)), momentum=float(l.get("momentum", 0.1)))
                shape = (cin, h, w)
            elif op in ("avgpool", "maxpool"):
                m = (nn.AvgPool2d(k, s, p, count_include_pad=l.get("count_include_pad", True)) if op == "avgpool"
                     else nn.MaxPool2d(k, s, p))
                shape = (cin, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
            elif op == "linear":
                m, shape = nn.Linear(cin, l["out"], bias=l.get("bias", True)), (l["out"], 1, 1)
            elif op == "layernorm":  # over the channels of each token
                m, shape = nn.LayerNorm(cin, eps=float(l.get("eps", 1e-5))), (cin, h, w)
            elif op in ("attention", "linear_attention"):
                m, shape = None, (cin // 3, h, w)
                self.heads[name] = l.get("heads", 1)
            elif op == "global_avgpool":
                m, shape = None, (cin, 1, 1)
            elif op == "flatten":
                m, shape = None, (cin * h * w, 1, 1)
            elif op == "concat":
                m, shape = None, (sum(shapes[x][0] for x in ins), h, w)
            else:
                m, shape = None, (cin, h, w)
            if m is not None:
                self.mods[name] = m
            self.layers.append((op, name, ins))
            shapes[name] = shape
            prev = name
        self.flat = {n for n, s in shapes.items() if s[1:] == (1, 1)}

    def forward(self, x):
        v = {"input": x}
        self.relu_outs = []  # every ReLU's output, for the NASWOT proxy
        for op, name, ins in self.layers:
            a = [v[i] for i in ins]
            if name in self.mods:
                t = a[0]
                if op == "linear" and t.dim() == 4:
                    t = t.flatten(1)
                if op == "layernorm":
                    y = self.mods[name](t.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                else:
                    y = self.mods[name](t)
            elif op == "relu": y = F.relu(a[0]); self.relu_outs.append(y)
            elif op == "relu6": y = F.relu6(a[0]); self.relu_outs.append(y)
            elif op == "global_avgpool": y = a[0].mean((2, 3), keepdim=True)
            elif op == "flatten": y = a[0].flatten(1)
            elif op == "add": y = sum(a[1:], a[0])
            elif op == "concat": y = torch.cat(a, 1)
            elif op == "identity": y = a[0]
            elif op == "gelu": y = F.gelu(a[0], approximate="tanh")
            elif op == "hardswish": y = F.hardswish(a[0])
            elif op == "softmax": y = F.softmax(a[0], dim=1)
            elif op == "attention": y = attention(a[0], self.heads[name])
            elif op == "linear_attention": y = linear_attention(a[0], self.heads[name])
            elif op == "zero": y = a[0] * 0
            else: raise ValueError(op)
            v[name] = y
        return v[name].flatten(1)


def attention(x, heads):
    """Multi-head self-attention over the H*W tokens of x = (N, 3D, H, W): queries, keys and values
    stacked on channels; the output is (N, D, H, W)."""
    n, c, h, w = x.shape
    d = c // 3 // heads
    q, k, v = (t.reshape(n, heads, d, h * w).transpose(2, 3) for t in x.chunk(3, dim=1))  # (N, heads, T, d)
    o = F.scaled_dot_product_attention(q, k, v) if hasattr(F, "scaled_dot_product_attention") else \
        torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5, dim=-1) @ v
    return o.transpose(2, 3).reshape(n, c // 3, h, w)


def linear_attention(x, heads, eps=1e-6):
    """ReLU linear attention (EfficientViT, LowFormer) over the H*W tokens of x = (N, 3D, H, W): per
    head, O_t = (V relu(K)^T) relu(Q_t) / (sum_u relu(K_u) . relu(Q_t) + eps); output (N, D, H, W)."""
    n, c, h, w = x.shape
    d = c // 3 // heads
    q, k, v = (t.reshape(n, heads, d, h * w) for t in x.chunk(3, dim=1))  # (N, heads, d, T)
    q, k = F.relu(q), F.relu(k)
    a = v @ k.transpose(-1, -2)  # (N, heads, d, d)
    den = (k.sum(-1, keepdim=True) * q).sum(-2, keepdim=True) + eps  # (N, heads, 1, T)
    return ((a @ q) / den).reshape(n, c // 3, h, w)
