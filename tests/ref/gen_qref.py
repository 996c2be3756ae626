#!/usr/bin/python3
"""Writes tests/ref/qref.hntf, the reference for hwnas's int8 engine.

Run with Debian's interpreter: /usr/bin/python3 tests/ref/gen_qref.py (after gen_ref.py: it reads the
networks' weights and inputs from ref.hntf). For each network of tests/ref/{allops,cnn}.yaml it
  1. runs the float network (PyTorch, float64, batch norm in inference mode) on <net>.x and records
     every node's range:                                    <net>.q.lo, <net>.q.hi   (one per node)
  2. quantizes it as TFLite's post-training int8 scheme does, independently of the C code, in NumPy:
     batch norm folded in float32, per-channel symmetric int8 weights, int32 biases, per-tensor
     asymmetric int8 activations over the ranges of step 1, gemmlowp fixed-point requantization
     (QuantizeMultiplier, SaturatingRoundingDoublingHighMul, RoundingDivideByPOT), TFLite's ADD
     (inputs scaled by 2^20), average pooling of the codes rounded half away from zero;
  3. runs the integer arithmetic on the quantized input       <net>.q.x
     and writes every value the int8 model forms:              <net>.q.v.<node>   (N, C, H, W)
The C test (tests/test_quant.c) builds its int8 model from the same weights and ranges and demands
identical int8 values. Fusion is hwnas's deployment rule (hn_graph_fused, as TFLite's converter
fuses): a batch norm is folded into the convolution or linear layer it is the only reader of, a
ReLU/ReLU6 that is the only reader of a convolution, linear layer, batch norm or addition becomes its
clamp; identity and flatten are views; a lone batch norm is a 1x1 depthwise convolution; pooling and
unfused ReLUs keep their input's parameters; additions and concatenations requantize to their range's.
"""
import math, os, struct, yaml, numpy as np, torch, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
f32 = np.float32


def read_hntf(path):
    data, out = open(path, "rb").read(), {}
    magic, version, count = struct.unpack_from("<III", data, 0)
    assert magic == 0x46544E48 and version == 1
    off = 12
    for _ in range(count):
        (n,) = struct.unpack_from("<H", data, off); off += 2
        name = data[off:off + n].decode(); off += n
        (ndim,) = struct.unpack_from("<B", data, off); off += 1
        shape = struct.unpack_from(f"<{ndim}q", data, off); off += 8 * ndim
        size = int(np.prod(shape)) if ndim else 1
        out[name] = np.frombuffer(data, "<f4", size, off).reshape(shape).copy(); off += 4 * size
    return out


def load_net(tag):
    """The layers of a network file with hwnas's defaults: (op, name, input names, attributes, shape)."""
    spec = yaml.safe_load(open(os.path.join(HERE, tag + ".yaml")))
    nodes = [dict(op="input", name="input", ins=[], shape=tuple(spec["input"]))]
    for i, l in enumerate(spec["layers"]):
        op = l["op"]
        default = f"{op}_{i + 1}" if op[-1].isdigit() else f"{op}{i + 1}"
        ins = l.get("inputs", nodes[-1]["name"])
        ins = [ins] if isinstance(ins, str) else ins
        idx = [next(j for j, n in enumerate(nodes) if n["name"] == x) for x in ins]
        c, h, w = nodes[idx[0]]["shape"]
        k, p = l.get("kernel", 1), l.get("padding", 0)
        s = l.get("stride", k if "pool" in op else 1)
        d = dict(op=op, name=l.get("name", default), ins=idx, k=k, s=s, p=p, groups=l.get("groups", 1),
                 bias=l.get("bias", True), cip=l.get("count_include_pad", True), eps=l.get("eps", 1e-5), out=l.get("out"),
                 heads=l.get("heads", 1))
        if op == "conv2d": shape = (d["out"], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif op in ("avgpool", "maxpool"): shape = (c, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif op == "linear": shape = (d["out"], 1, 1)
        elif op == "global_avgpool": shape = (c, 1, 1)
        elif op == "flatten": shape = (c * h * w, 1, 1)
        elif op == "concat": shape = (sum(nodes[j]["shape"][0] for j in idx), h, w)
        elif op in ("attention", "linear_attention"): shape = (c // 3, h, w)
        else: shape = (c, h, w)
        d["shape"] = shape
        nodes.append(d)
    return nodes


def float_forward(nodes, W, tag, x):
    """every node's value in float64 (N, C, H, W)"""
    T = lambda name: torch.tensor(W[f"{tag}.w.{name}"], dtype=torch.float64)
    v = [torch.tensor(x, dtype=torch.float64)]
    for n in nodes[1:]:
        a = [v[j] for j in n["ins"]]
        op, nm = n["op"], n["name"]
        if op == "conv2d":
            y = F.conv2d(a[0], T(nm + ".weight"), T(nm + ".bias") if n["bias"] else None, n["s"], n["p"], 1, n["groups"])
        elif op == "linear":
            y = F.linear(a[0].flatten(1), T(nm + ".weight"), T(nm + ".bias") if n["bias"] else None)[:, :, None, None]
        elif op == "batchnorm":
            y = F.batch_norm(a[0], T(nm + ".running_mean"), T(nm + ".running_var"), T(nm + ".weight"), T(nm + ".bias"),
                             False, 0.0, n["eps"])
        elif op == "relu": y = F.relu(a[0])
        elif op == "relu6": y = F.relu6(a[0])
        elif op == "avgpool": y = F.avg_pool2d(a[0], n["k"], n["s"], n["p"], count_include_pad=n["cip"])
        elif op == "maxpool": y = F.max_pool2d(a[0], n["k"], n["s"], n["p"])
        elif op == "global_avgpool": y = a[0].mean((2, 3), keepdim=True)
        elif op == "flatten": y = a[0].flatten(1)[:, :, None, None]
        elif op == "add": y = sum(a[1:], a[0])
        elif op == "concat": y = torch.cat(a, 1)
        elif op == "identity": y = a[0]
        elif op == "zero": y = a[0] * 0
        elif op == "layernorm":
            y = F.layer_norm(a[0].permute(0, 2, 3, 1), (a[0].shape[1],), T(nm + ".weight"), T(nm + ".bias"),
                             float(f32(n["eps"]))).permute(0, 3, 1, 2)
        elif op == "gelu": y = F.gelu(a[0], approximate="tanh")
        elif op == "hardswish": y = F.hardswish(a[0])
        elif op == "softmax": y = torch.softmax(a[0], 1)
        elif op == "attention":
            N, C3, H, Wd = a[0].shape
            D, h = C3 // 3, n["heads"]
            q, k, val = (t.reshape(N, h, D // h, H * Wd) for t in a[0].split(D, 1))  # (N, heads, d, T)
            p = torch.softmax(q.transpose(2, 3) @ k / math.sqrt(D // h), -1)  # (N, heads, T, T)
            y = (val @ p.transpose(2, 3)).reshape(N, D, H, Wd)
        elif op == "linear_attention":
            N, C3, H, Wd = a[0].shape
            D, h = C3 // 3, n["heads"]
            q, k, val = (t.reshape(N, h, D // h, H * Wd) for t in a[0].split(D, 1))  # (N, heads, d, T)
            q, k = F.relu(q), F.relu(k)
            den = (k.sum(-1, keepdim=True) * q).sum(-2, keepdim=True) + 1e-6
            y = ((val @ k.transpose(2, 3) @ q) / den).reshape(N, D, H, Wd)
        else: raise ValueError(op)
        v.append(y)
    return v


# ---- quantization arithmetic (TFLite / gemmlowp), on Python ints and float32/float64 as the C code ----

def qparams(lo, hi, bits=8, symmetric=False):
    """(scale as float32, zero point, qmin, qmax)"""
    top = (1 << (bits - 1)) - 1
    qmin, qmax = (-top if symmetric else -top - 1), top
    lo, hi = min(f32(lo), f32(0)), max(f32(hi), f32(0))
    if symmetric:
        amax = max(-lo, hi)
        return (f32(amax / f32(top)) if amax > 0 else f32(1)), 0, qmin, qmax
    if f32(hi - lo) <= 0:
        return f32(1), 0, qmin, qmax
    scale = (float(hi) - float(lo)) / (qmax - qmin)
    zp = qmin - float(lo) / scale
    zp = qmin if zp <= qmin else qmax if zp >= qmax else int(round(zp))  # round: ties to even
    return f32(scale), zp, qmin, qmax


def quantize(x, q):
    scale, zp, qmin, qmax = q
    r = np.rint(np.asarray(x, dtype=f32) / scale).astype(np.int64)  # float32 division, ties to even
    return np.clip(r + zp, qmin, qmax)


def quantize_multiplier(real):
    if real <= 0: return 0, 0
    q, shift = math.frexp(real)
    fixed = int(math.floor(q * (1 << 31) + 0.5))  # llround: halves away from zero
    if fixed == 1 << 31: fixed //= 2; shift += 1
    if shift < -31: return 0, 0
    return fixed, shift


def mult_apply(x, m):
    """round(x * m) as gemmlowp: x an int64 array of int32 values"""
    mult, shift = m
    left, right = max(shift, 0), max(-shift, 0)
    ab = (np.asarray(x, dtype=np.int64) << left) * mult
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    t = ab + nudge
    high = np.where(t >= 0, t >> 31, -((-t) >> 31))  # division truncating toward zero
    mask = (1 << right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


# ---- gemmlowp's fixed point on Python ints, as TFLite's int8 softmax runs it ----

INT32_MAX, INT32_MIN = 2**31 - 1, -2**31


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul"""
    if a == b == INT32_MIN: return INT32_MAX
    t = a * b + ((1 << 30) if a * b >= 0 else 1 - (1 << 30))
    return t >> 31 if t >= 0 else -((-t) >> 31)


def rdpot(x, e):
    """RoundingDivideByPOT"""
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))


def sat_left(x, e):
    return max(INT32_MIN, min(INT32_MAX, x << e))


def exp_on_negative_values(a):
    """exp(a), a <= 0 in Q5.26, result Q0.31 (gemmlowp)"""
    quarter = 1 << 24
    a_mod = (a & (quarter - 1)) - quarter
    x = sat_left(a_mod, 5) + (1 << 28)  # the Taylor series about -1/8
    x2 = srdhm(x, x); x3 = srdhm(x2, x); x4 = srdhm(x2, x2)
    poly = rdpot(srdhm(rdpot(x4, 2) + x3, 715827883) + x2, 1)
    r = 1895147668 + srdhm(1895147668, x + poly)
    for k, m in enumerate([1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242]):
        if (a_mod - a) & (1 << (24 + k)): r = srdhm(r, m)
    return INT32_MAX if a == 0 else r


def one_over_one_plus_x(a):
    s = a + INT32_MAX
    half = (s + (1 if s >= 0 else -1)) // 2 if s >= 0 else -((-s + 1) // 2)
    x = 1515870810 + srdhm(half, -1010580540)
    for _ in range(3):
        x = x + sat_left(srdhm(x, (1 << 29) - srdhm(half, x)), 2)
    return sat_left(x, 1)


def softmax_prepare(input_scale):
    """PreprocessSoftmaxScaling (beta 1, 5 integer bits) and -CalculateInputRadius"""
    beta = quantize_multiplier(min(input_scale * float(1 << 26), 2147483647.0))
    radius = math.floor(31.0 * float(1 << 26) / math.ldexp(1.0, beta[1]))
    return beta, -int(min(radius, 2147483647.0))


def softmax_row(x, prep):
    """TFLite's reference int8 softmax of the ints x: codes of scale 1/256, zero point -128"""
    beta, diff_min = prep
    mx, total = max(x), 0
    rescale = lambda d: exp_on_negative_values(int(mult_apply(d, beta)))
    for v in x:
        if v - mx >= diff_min: total += rdpot(rescale(v - mx), 12)
    lead = 32 - total.bit_length()
    scale = one_over_one_plus_x((total << lead) - (1 << 31))
    return [max(-128, min(127, rdpot(srdhm(scale, rescale(v - mx)), 12 - lead + 23) - 128)) if v - mx >= diff_min
            else -128 for v in x]


def round_away(y):
    return math.floor(abs(y) + 0.5) * (1 if y >= 0 else -1)


def lut_of(op, qin, qout):
    """TFLite's PopulateLookupTable in float32: f(dequantized code) / s_out rounded half away"""
    inverse = f32(1) / qout[0]
    table = []
    for i in range(256):
        v = qin[0] * f32(i - 128 - qin[1])
        if op == "gelu":
            y = f32(0.5) * v * (f32(1) + np.tanh(f32(0.7978845608028654) * (v + f32(0.044715) * v * v * v)))
        else:
            r = v + f32(3)
            y = v * min(max(r, f32(0)), f32(6)) / f32(6)
        table.append(max(-128, min(127, round_away(float(f32(y * inverse))) + qout[1])))
    return np.array(table, np.int64)


def rounded_div(s, count):
    return np.where(s >= 0, (s + count // 2) // count, -((-s + count // 2) // count))


def consumers(nodes, i):
    return [j for j, n in enumerate(nodes) if i in n["ins"]]


def fused(nodes):
    """hn_graph_fused: what a deployment computes inside its producer (or views)"""
    out = []
    for i, n in enumerate(nodes):
        single = i > 0 and len(consumers(nodes, n["ins"][0])) == 1
        src = nodes[n["ins"][0]]["op"] if i else None
        if n["op"] in ("input", "flatten", "identity"): out.append(True)
        elif n["op"] == "batchnorm": out.append(single and src in ("conv2d", "linear"))
        elif n["op"] in ("relu", "relu6"): out.append(single and src in ("conv2d", "linear", "batchnorm", "add"))
        else: out.append(False)
    return out


def quant_forward(nodes, W, tag, lo, hi, xq):
    """the int8 model's values {node index: int array (N, C, H, W)} and the nodes whose values it forms"""
    N = xq.shape[0]
    val, qp, fz = {0: xq}, {0: qparams(lo[0], hi[0])}, fused(nodes)
    reader = lambda i: next((j for j in consumers(nodes, i) if fz[j] and nodes[j]["op"] in ("batchnorm", "relu", "relu6")), None)
    for i, n in enumerate(nodes):
        if i == 0: continue
        op, a = n["op"], n["ins"]
        if fz[i] and op in ("identity", "flatten"):  # views: the input's bytes
            val[i], qp[i] = val[a[0]].reshape(N, *n["shape"]), qp[a[0]]
            continue
        if fz[i]: continue
        if op in ("conv2d", "linear", "batchnorm"):
            weighted = op != "batchnorm"
            end, bn, nxt = i, (None if weighted else i), reader(i)
            if nxt is not None and nodes[nxt]["op"] == "batchnorm":
                bn = end = nxt; nxt = reader(bn)
            act = None
            if nxt is not None:
                end = nxt; act = nodes[end]["op"]
            cin, h, w = nodes[a[0]]["shape"]
            cout = n["shape"][0]
            k, s, p, groups = (n["k"], n["s"], n["p"], n["groups"]) if op == "conv2d" else (1, 1, 0, 1)
            if op == "linear": cin, h, w = cin * h * w, 1, 1
            if not weighted: groups = cin
            per = cin // groups * k * k
            if weighted:
                wf = W[f"{tag}.w.{n['name']}.weight"].reshape(cout, per).astype(f32).copy()
                bf = W[f"{tag}.w.{n['name']}.bias"].astype(f32).copy() if n["bias"] else np.zeros(cout, f32)
            else:
                wf, bf = np.ones((cout, 1), f32), np.zeros(cout, f32)
            if bn is not None:
                b = nodes[bn]["name"]
                gamma, beta = W[f"{tag}.w.{b}.weight"], W[f"{tag}.w.{b}.bias"]
                mean, var = W[f"{tag}.w.{b}.running_mean"], W[f"{tag}.w.{b}.running_var"]
                inv = gamma / np.sqrt(var + f32(nodes[bn]["eps"]))  # float32 throughout
                wf = wf * inv[:, None]
                bf = beta + (bf - mean) * inv
            qin, qout = qp[a[0]], qparams(lo[end], hi[end])
            x = val[a[0]].reshape(N, cin, h, w)
            xp = np.full((N, cin, h + 2 * p, w + 2 * p), qin[1], np.int64)
            xp[:, :, p:p + h, p:p + w] = x
            oh, ow = n["shape"][1], n["shape"][2]
            out = np.zeros((N, cout, oh, ow), np.int64)
            og, cg = cout // groups, cin // groups
            for c in range(cout):
                amax = np.max(np.abs(wf[c]))
                wq_params = qparams(-amax, amax, 8, True)
                wq = quantize(wf[c], wq_params)
                bias_scale = float(qin[0]) * float(wq_params[0])
                bq = int(np.rint(float(bf[c]) / bias_scale))
                g = c // og
                wk = wq.reshape(cg, k, k)
                acc = np.zeros((N, oh, ow), np.int64)
                for ky in range(k):
                    for kx in range(k):
                        patch = xp[:, g * cg:(g + 1) * cg, ky:ky + s * oh:s, kx:kx + s * ow:s]
                        acc += np.einsum("nchw,c->nhw", patch - qin[1], wk[:, ky, kx])
                m = quantize_multiplier(bias_scale / float(qout[0]))
                y = qout[1] + mult_apply(acc + bq, m)
                amin, amax_ = -128, 127
                if act: amin = int(quantize(0, qout))
                if act == "relu6": amax_ = int(quantize(6, qout))
                out[:, c] = np.clip(y, amin, amax_)
            val[end], qp[end] = out, qout
            continue
        x, q = val[a[0]], qp[a[0]] if a else None
        if op in ("relu", "relu6"):
            y = np.clip(x, quantize(0, q), quantize(6, q) if op == "relu6" else 127)
        elif op in ("avgpool", "maxpool"):
            k, s, p = n["k"], n["s"], n["p"]
            C, H, Wd = x.shape[1:]
            oh, ow = n["shape"][1], n["shape"][2]
            y = np.zeros((N, C, oh, ow), np.int64)
            for oy in range(oh):
                for ox in range(ow):
                    ys = [oy * s - p + ky for ky in range(k)]
                    xs = [ox * s - p + kx for kx in range(k)]
                    ys = [t for t in ys if 0 <= t < H]; xs = [t for t in xs if 0 <= t < Wd]
                    win = x[:, :, ys][:, :, :, xs]
                    if op == "maxpool":
                        y[:, :, oy, ox] = win.max((2, 3))
                    else:
                        real = len(ys) * len(xs)  # TFLite: the codes' sum, padding the code of 0
                        count, pad = (k * k, (k * k - real) * q[1]) if n["cip"] else (real, 0)
                        y[:, :, oy, ox] = np.clip(rounded_div(win.sum((2, 3)) + pad, count), -128, 127)
        elif op == "global_avgpool":
            hw = x.shape[2] * x.shape[3]
            y = np.clip(rounded_div(x.sum((2, 3)), hw), -128, 127)[:, :, None, None]
        elif op == "zero":
            y = np.full_like(x, q[1])
        elif op in ("gelu", "hardswish"):
            q2 = qparams(lo[i], hi[i])
            y, q = lut_of(op, q, q2)[x + 128], q2
        elif op == "softmax":
            prep, y = softmax_prepare(float(q[0])), np.zeros_like(x)
            for s_ in range(N):
                for yy in range(x.shape[2]):
                    for xx in range(x.shape[3]):
                        y[s_, :, yy, xx] = softmax_row([int(t) for t in x[s_, :, yy, xx]], prep)
            q = (f32(1 / 256), -128, -128, 127)
        elif op == "layernorm":  # hwnas's integer layer norm (TFLite has none): s8_kernels.h
            qo, C = qparams(lo[i], hi[i]), x.shape[1]
            gamma, beta = W[f"{tag}.w.{n['name']}.weight"], W[f"{tag}.w.{n['name']}.bias"]
            mult = []
            for g_ in gamma:
                m = quantize_multiplier(abs(float(g_)) / (float(qo[0]) * 65536.0))
                mult.append((-m[0], m[1]) if g_ < 0 else m)
            bias = [int(min(max(np.rint(float(b_) / float(qo[0])), -16777216.0), 16777216.0)) for b_ in beta]
            eps = int(min(np.rint(float(C) * C * float(f32(n["eps"])) / (float(q[0]) * float(q[0])) * 65536.0), 2.0**61))
            y = np.zeros_like(x)
            for s_ in range(N):
                for yy in range(x.shape[2]):
                    for xx in range(x.shape[3]):
                        t = [int(v) for v in x[s_, :, yy, xx]]
                        d = [C * v - sum(t) for v in t]
                        sd = math.isqrt(sum(e * e for e in d) * 65536 // C + eps)
                        for c_ in range(C):
                            a_ = d[c_] << 24
                            norm = 0 if sd == 0 else (a_ + sd // 2) // sd if a_ >= 0 else -((-a_ + sd // 2) // sd)
                            y[s_, c_, yy, xx] = max(-128, min(127, qo[1] + int(mult_apply(norm, mult[c_])) + bias[c_]))
            q = qo
        elif op == "attention":
            qo, h = qparams(lo[i], hi[i]), n["heads"]
            D, T = n["shape"][0], n["shape"][1] * n["shape"][2]
            d, s = D // h, float(q[0])
            prep = softmax_prepare(s * s / math.sqrt(d))
            om = quantize_multiplier(s / 256.0 / float(qo[0]))
            y = np.zeros((N, D, T), np.int64)
            for s_ in range(N):
                z = x[s_].reshape(3 * D, T) - q[1]
                for hh in range(h):
                    qh, kh, vh = (z[j * D + hh * d:j * D + (hh + 1) * d] for j in range(3))
                    scores = qh.T @ kh  # (T queries, T keys)
                    P = np.array([softmax_row([int(v) for v in row], prep) for row in scores], np.int64)
                    y[s_, hh * d:(hh + 1) * d] = np.clip(qo[1] + mult_apply(vh @ (P + 128).T, om), -128, 127)
            y, q = y.reshape(N, *n["shape"]), qo
        elif op == "linear_attention":  # hwnas's integer form (s8_kernels.h; TFLite has no such op)
            qo, h = qparams(lo[i], hi[i]), n["heads"]
            D, T = n["shape"][0], n["shape"][1] * n["shape"][2]
            d = D // h
            om = quantize_multiplier(float(q[0]) / 65536.0 / float(qo[0]))
            y = np.zeros((N, D, T), np.int64)
            for s_ in range(N):
                z = x[s_].reshape(3 * D, T) - q[1]
                for hh in range(h):
                    qh, kh, vh = (z[j * D + hh * d:j * D + (hh + 1) * d] for j in range(3))
                    qh, kh = np.maximum(qh, 0), np.maximum(kh, 0)
                    A, zs = vh @ kh.T, kh.sum(1)  # (d values, d keys), (d)
                    for t in range(T):
                        den = int(zs @ qh[:, t])
                        for a_ in range(d):
                            num = int(A[a_] @ qh[:, t]) * 65536
                            r = 0 if den == 0 else (num + den // 2) // den if num >= 0 else -((-num + den // 2) // den)
                            y[s_, hh * d + a_, t] = max(-128, min(127, qo[1] + int(mult_apply(r, om))))
            y, q = y.reshape(N, *n["shape"]), qo
        elif op == "add":  # with a fused activation as its clamp
            act = reader(i)
            end = act if act is not None else i
            q = qparams(lo[end], hi[end])
            twice_max = max(2.0 * float(qp[j][0]) for j in a)
            s = sum(mult_apply((val[j] - qp[j][1]) * (1 << 20), quantize_multiplier(float(qp[j][0]) / twice_max)) for j in a)
            amin = int(quantize(0, q)) if act is not None else -128
            amax = int(quantize(6, q)) if act is not None and nodes[act]["op"] == "relu6" else 127
            y = np.clip(q[1] + mult_apply(s, quantize_multiplier(twice_max / ((1 << 20) * float(q[0])))), amin, amax)
            val[end], qp[end] = y, q
            continue
        elif op == "concat":
            q, parts = qparams(lo[i], hi[i]), []
            for j in a:
                if qp[j][0] == q[0] and qp[j][1] == q[1]:
                    parts.append(val[j])
                else:
                    m = quantize_multiplier(float(qp[j][0]) / float(q[0]))
                    parts.append(np.clip(q[1] + mult_apply(val[j] - qp[j][1], m), -128, 127))
            y = np.concatenate(parts, 1)
        else:
            raise ValueError(op)
        val[i], qp[i] = y, q
    return val


W = read_hntf(os.path.join(HERE, "ref.hntf"))
out = []
# qops: weights, batch-norm statistics and inputs of its own, written with its values
torch.manual_seed(99)
for n in load_net("qops")[1:]:
    if n["op"] == "batchnorm":
        c = n["shape"][0]
        for k, v in (("weight", 1 + 0.3 * torch.randn(c)), ("bias", 0.2 * torch.randn(c)),
                     ("running_mean", 0.2 * torch.randn(c)), ("running_var", 0.5 + torch.rand(c))):
            W[f"qops.w.{n['name']}.{k}"] = v.numpy().astype(f32)
nodes = load_net("qops")
for n in nodes[1:]:
    if n["op"] in ("conv2d", "linear"):
        cin = nodes[n["ins"][0]]["shape"]
        shape = ((n["shape"][0], cin[0] // n["groups"], n["k"], n["k"]) if n["op"] == "conv2d"
                 else (n["shape"][0], cin[0] * cin[1] * cin[2]))
        W[f"qops.w.{n['name']}.weight"] = (0.3 * torch.randn(*shape)).numpy().astype(f32)
        if n["bias"]: W[f"qops.w.{n['name']}.bias"] = (0.1 * torch.randn(shape[0])).numpy().astype(f32)
W["qops.x"] = torch.randn(5, 2, 9, 9).numpy().astype(f32)
out += [(k, v) for k, v in W.items() if k.startswith("qops.")]
for tag in ("allops", "cnn", "qops", "attn", "linattn"):
    nodes = load_net(tag)
    x = W[f"{tag}.x"]
    v = float_forward(nodes, W, tag, x)
    lo = np.array([t.min().item() for t in v], f32)
    hi = np.array([t.max().item() for t in v], f32)
    xq = quantize(x, qparams(lo[0], hi[0])).astype(np.int64)
    vals = quant_forward(nodes, W, tag, lo, hi, xq)
    out += [(f"{tag}.q.lo", lo), (f"{tag}.q.hi", hi), (f"{tag}.q.x", xq)]
    for i in sorted(vals):
        if i: out.append((f"{tag}.q.v.{nodes[i]['name']}", vals[i].reshape(x.shape[0], *nodes[i]["shape"])))
    print(f"{tag}: {len(vals) - 1} int8 values, output {vals[max(vals)].reshape(x.shape[0], -1)[0].tolist()}")

with open(os.path.join(HERE, "qref.hntf"), "wb") as f:
    f.write(struct.pack("<III", 0x46544E48, 1, len(out)))
    for name, a in out:
        a = np.asarray(a)
        b = name.encode()
        f.write(struct.pack("<H", len(b)) + b + struct.pack("<B", a.ndim))
        f.write(struct.pack(f"<{a.ndim}q", *a.shape))
        f.write(a.astype("<f4").tobytes())
print(f"wrote {len(out)} tensors to {os.path.join(HERE, 'qref.hntf')}")
