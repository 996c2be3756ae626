/* The TFLite exporter: the int8 model as a TFLite flatbuffer, built with flatc's C++ builder for the
 * format's schema (src/export/tflite.fbs, generated at build time). TFLite's int8 kernels compute
 * what hwnas's do (s8_kernels.h follows their arithmetic), so a runtime that implements TFLite's
 * reference semantics (TFLite Micro, CMSIS-NN) reproduces the engine's codes; docs/deploy.md lists the
 * two places where the format cannot say what the engine does.
 *
 * Tensors are NHWC, [1, H, W, C]; a flat output is [1, K]. hwnas's (C, H, W) layout changes only the
 * weights' order: convolutions (O, KH, KW, I), depthwise (1, KH, KW, O). A linear layer is a 1x1
 * CONV_2D of its input reshaped to [1, 1, 1, N] (its columns permuted from (C, H, W) to (H, W, C)
 * order where it reads a flattened map), not a FULLY_CONNECTED: the engine quantizes its weights per
 * output channel, which FULLY_CONNECTED kernels of TFLite before 2.15, CMSIS-NN's arm_fully_connected_s8
 * and Arm NN do not take; the convolution is the same arithmetic everywhere. */
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tflite_generated.h"

extern "C" {
#include "../quant/qmodel_internal.h"
#include "hwnas/export.h"
}

namespace {

using flatbuffers::Offset;
using tflite::ActivationFunctionType;
using tflite::BuiltinOperator;
using tflite::BuiltinOptions;
using tflite::Padding;
using tflite::TensorType;

/* a tensor of the model being written: its index and shape (NHWC) */
struct value {
    int tensor = -1;
    std::vector<int> shape;
    hn_qparams q{};
};

struct writer {
    flatbuffers::FlatBufferBuilder fb;
    std::vector<Offset<tflite::Tensor>> tensors;
    std::vector<Offset<tflite::Buffer>> buffers;
    std::vector<Offset<tflite::Operator>> ops;
    std::vector<BuiltinOperator> codes;
    std::string error; /* the first construct the format cannot express */

    writer() { buffers.push_back(tflite::CreateBuffer(fb)); } /* buffer 0: empty, by convention */

    int buffer(const void *data, size_t bytes) {
        fb.ForceVectorAlignment(bytes, 1, 16);
        auto v = fb.CreateVector(static_cast<const uint8_t *>(data), bytes);
        buffers.push_back(tflite::CreateBuffer(fb, v));
        return (int)buffers.size() - 1;
    }

    /* a tensor; scales/zps empty: not quantized; several scales: per channel along qdim */
    int tensor(const std::string &name, const std::vector<int> &shape, TensorType type, int buf,
               const std::vector<float> &scales, const std::vector<int64_t> &zps, int qdim = 0) {
        Offset<tflite::QuantizationParameters> q = 0;
        if (!scales.empty())
            q = tflite::CreateQuantizationParameters(fb, fb.CreateVector(scales), fb.CreateVector(zps), qdim);
        tensors.push_back(tflite::CreateTensor(fb, fb.CreateVector(shape), type, (uint32_t)buf, fb.CreateString(name), q));
        return (int)tensors.size() - 1;
    }

    /* an activation tensor at the parameters q */
    value activation(const std::string &name, const std::vector<int> &shape, hn_qparams q) {
        value v;
        v.shape = shape, v.q = q;
        v.tensor = tensor(name, shape, TensorType::INT8, 0, {q.scale}, {q.zero_point});
        return v;
    }

    void op(BuiltinOperator code, const std::vector<int> &in, const std::vector<int> &out,
            BuiltinOptions type = BuiltinOptions::NONE, Offset<void> options = 0) {
        size_t k = 0;
        while (k < codes.size() && codes[k] != code) k++;
        if (k == codes.size()) codes.push_back(code);
        ops.push_back(tflite::CreateOperator(fb, (uint32_t)k, fb.CreateVector(in), fb.CreateVector(out), type, options));
    }

    void fail(const std::string &what) {
        if (error.empty()) error = what;
    }
};

size_t numel(const std::vector<int> &s) {
    size_t n = 1;
    for (int d : s) n *= (size_t)d;
    return n;
}

/* TFLite's activation range (CalculateActivationRangeQuantized): zp + round(f / scale), half away */
int32_t tfl_code(float f, hn_qparams q) {
    long v = (long)q.zero_point + std::lround(f / q.scale);
    return (int32_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* the fused activation that clamps to [lo, hi] at q, or false where none does */
bool activation_of(int32_t lo, int32_t hi, hn_qparams q, ActivationFunctionType *act) {
    int32_t zero = q.zero_point > -128 ? q.zero_point : -128;
    *act = ActivationFunctionType::NONE;
    if (lo == -128 && hi == 127) *act = ActivationFunctionType::NONE;
    else if (lo == zero && hi == 127) *act = ActivationFunctionType::RELU;
    else if (lo == zero && hi == tfl_code(6, q)) *act = ActivationFunctionType::RELU6;
    else return false;
    return true;
}

/* How a window op's padding maps to TFLite's: VALID and SAME where their windows coincide with the
 * engine's (SAME pads (total) / 2 before and the rest after), else explicit padding before a VALID op
 * (before[], after[] for height and width). */
struct window {
    Padding padding = Padding::VALID;
    bool explicit_pad = false;
    int before[2] = {0, 0}, after[2] = {0, 0};
};

window window_of(int h, int w, int oh, int ow, int k, int s, int pad) {
    window r;
    int in[2] = {h, w}, out[2] = {oh, ow};
    bool valid = pad == 0, same = true;
    for (int d = 0; d < 2; d++) {
        valid = valid && out[d] == (in[d] - k) / s + 1;
        int total = (out[d] - 1) * s + k - in[d];
        same = same && out[d] == (in[d] + s - 1) / s && (total > 0 ? total : 0) / 2 == pad;
        r.before[d] = pad;
        int need = (out[d] - 1) * s + k - in[d] - pad; /* padding the last window reads */
        r.after[d] = need > 0 ? need : 0;
    }
    if (valid) return r;
    if (same) {
        r.padding = Padding::SAME;
        return r;
    }
    r.explicit_pad = true;
    return r;
}

struct exporter {
    writer w;
    const hn_qmodel *m;
    const s8_node *plan;
    int n = 0, output = 0;
    std::vector<value> vals; /* per plan step */

    std::string name(int i, const char *what) { return "v" + std::to_string(i) + (what[0] ? "." : "") + what; }

    value reshape(const value &x, const std::vector<int> &shape, const std::string &nm) {
        if (x.shape == shape) return x;
        value y = w.activation(nm, shape, x.q);
        int32_t dims[8];
        for (size_t k = 0; k < shape.size(); k++) dims[k] = shape[k];
        int st = w.tensor(nm + ".shape", {(int)shape.size()}, TensorType::INT32, w.buffer(dims, 4 * shape.size()), {}, {});
        auto opt = tflite::CreateReshapeOptions(w.fb, w.fb.CreateVector(shape));
        w.op(BuiltinOperator::RESHAPE, {x.tensor, st}, {y.tensor}, BuiltinOptions::ReshapeOptions, opt.Union());
        return y;
    }

    /* the value as [1, H, W, C] of the (C, H, W) shape s */
    value as4d(const value &x, hn_shape s, const std::string &nm) { return reshape(x, {1, s.h, s.w, s.c}, nm); }

    /* explicit padding of a NHWC value, as CONCATENATIONs along height and width: with constant rows
     * and columns of the zero point's code (real 0: convolutions, average pooling), or for max pooling
     * with SLICEs of its own edge rows and columns: each window that reads padding also holds the real
     * pixels copied there (PyTorch pads at most half a window), so padding never wins, as in the
     * engine. Not PAD: Arm NN 22 computes a PAD between a convolution and a depthwise convolution or a
     * pooling wrongly (up to 100+ steps off where TFLite's reference arithmetic is exact); PADV2 or
     * MIRROR_PAD would say max pooling's padding in one op, but Arm NN reads neither. */
    value pad(const value &x, const window &win, bool max_pool, const std::string &nm) {
        value y = x;
        for (int d = 0; d < 2; d++) y = edge_pad(y, d + 1, win.before[d], win.after[d], !max_pool, nm + (d ? ".w" : ".h"));
        return y;
    }

    /* x with `before` and `after` slices along axis joined to it: zero-point constants (zeros), or
     * copies of its own first and last slices */
    value edge_pad(const value &x, int axis, int before, int after, bool zeros, const std::string &nm) {
        if (!before && !after) return x;
        std::vector<int> parts, shape = x.shape;
        auto part = [&](int from, int count, const char *tag) {
            std::vector<int> ss = x.shape;
            ss[axis] = count;
            if (zeros) {
                value like = x;
                like.shape = ss;
                return this->zeros(like, nm + tag).tensor;
            }
            std::vector<int32_t> begin = {0, 0, 0, 0}, size(ss.begin(), ss.end());
            begin[axis] = from;
            value s = w.activation(nm + tag, ss, x.q);
            int bt = w.tensor(nm + tag + ".begin", {4}, TensorType::INT32, w.buffer(begin.data(), 16), {}, {});
            int st = w.tensor(nm + tag + ".size", {4}, TensorType::INT32, w.buffer(size.data(), 16), {}, {});
            w.op(BuiltinOperator::SLICE, {x.tensor, bt, st}, {s.tensor}, BuiltinOptions::SliceOptions, tflite::CreateSliceOptions(w.fb).Union());
            return s.tensor;
        };
        if (before) parts.push_back(part(0, before, ".before"));
        parts.push_back(x.tensor);
        if (after) parts.push_back(part(x.shape[axis] - after, after, ".after"));
        shape[axis] += before + after;
        value y = w.activation(nm, shape, x.q);
        w.op(BuiltinOperator::CONCATENATION, parts, {y.tensor}, BuiltinOptions::ConcatenationOptions,
             tflite::CreateConcatenationOptions(w.fb, axis, ActivationFunctionType::NONE).Union());
        return y;
    }

    int constant_i32(const std::string &nm, const std::vector<int32_t> &v, const std::vector<float> &scales) {
        std::vector<int64_t> zps(scales.size(), 0);
        return w.tensor(nm, {(int)v.size()}, TensorType::INT32, w.buffer(v.data(), 4 * v.size()), scales, zps, 0);
    }

    void conv(int i) {
        const s8_conv_params *c = &plan[i].conv;
        hn_shape shape, in_shape;
        hn_qparams q, in_q;
        const float *ws, *unused;
        hn_op op;
        hn_qmodel_node_info(m, i, &shape, &q, &ws, &op);
        hn_qmodel_node_info(m, plan[i].inputs[0], &in_shape, &in_q, &unused, NULL);
        int cg = c->cin / c->groups, og = c->cout / c->groups, per = cg * c->kernel * c->kernel;
        std::vector<int32_t> bias(c->cout);
        std::vector<float> bscale(c->cout);
        hn_q_conv_bias(c, bias.data());
        for (int o = 0; o < c->cout; o++) bscale[o] = in_q.scale * ws[o];
        std::vector<int8_t> wt((size_t)c->cout * per);
        hn_q_weights_nhwc(c, in_shape, op == HN_OP_LINEAR, wt.data());
        ActivationFunctionType act;
        if (!activation_of(c->act_min, c->act_max, q, &act)) w.fail(name(i, "") + ": its clamp is no TFLite activation");
        std::vector<float> wscale(ws, ws + c->cout);
        std::vector<int64_t> wzp(c->cout, 0);
        const value &x = vals[plan[i].inputs[0]];
        value in = op == HN_OP_LINEAR ? reshape(x, {1, 1, 1, c->cin}, name(i, "flat")) /* a 1x1 convolution of [1, 1, 1, N] */
                                      : as4d(x, in_shape, name(i, "map"));
        window win = window_of(c->h, c->w, c->oh, c->ow, c->kernel, c->stride, c->pad);
        if (win.explicit_pad) in = pad(in, win, false, name(i, "padded"));
        std::vector<int> out_shape = {1, c->oh, c->ow, c->cout};
        if (c->groups == c->cin && c->groups > 1) { /* depthwise, multiplier og: output channel g * og + j */
            int wt_t = w.tensor(name(i, "weights"), {1, c->kernel, c->kernel, c->cout}, TensorType::INT8,
                                w.buffer(wt.data(), wt.size()), wscale, wzp, 3);
            int b_t = constant_i32(name(i, "bias"), bias, bscale);
            value y = w.activation(name(i, ""), out_shape, q);
            auto opt = tflite::CreateDepthwiseConv2DOptions(w.fb, win.padding, c->stride, c->stride, og, act);
            w.op(BuiltinOperator::DEPTHWISE_CONV_2D, {in.tensor, wt_t, b_t}, {y.tensor}, BuiltinOptions::DepthwiseConv2DOptions,
                 opt.Union());
            vals[i] = y;
            return;
        }
        /* grouped: SPLIT along channels, one CONV_2D per group, CONCATENATION (all at the output's parameters) */
        std::vector<value> parts;
        if (c->groups > 1) {
            int32_t axis = 3;
            int at = w.tensor(name(i, "split.axis"), {}, TensorType::INT32, w.buffer(&axis, 4), {}, {});
            std::vector<int> outs;
            for (int g = 0; g < c->groups; g++) {
                parts.push_back(w.activation(name(i, ("group" + std::to_string(g)).c_str()), {1, in.shape[1], in.shape[2], cg}, in.q));
                outs.push_back(parts.back().tensor);
            }
            w.op(BuiltinOperator::SPLIT, {at, in.tensor}, outs, BuiltinOptions::SplitOptions,
                 tflite::CreateSplitOptions(w.fb, c->groups).Union());
        } else {
            parts.push_back(in);
        }
        std::vector<int> results;
        value y = w.activation(name(i, ""), out_shape, q);
        for (int g = 0; g < c->groups; g++) {
            std::string tag = c->groups > 1 ? "g" + std::to_string(g) + "." : "";
            int wt_t = w.tensor(name(i, (tag + "weights").c_str()), {og, c->kernel, c->kernel, cg}, TensorType::INT8,
                                w.buffer(wt.data() + (size_t)g * og * per, (size_t)og * per),
                                std::vector<float>(wscale.begin() + g * og, wscale.begin() + (g + 1) * og),
                                std::vector<int64_t>(og, 0), 0);
            int b_t = constant_i32(name(i, (tag + "bias").c_str()),
                                   std::vector<int32_t>(bias.begin() + g * og, bias.begin() + (g + 1) * og),
                                   std::vector<float>(bscale.begin() + g * og, bscale.begin() + (g + 1) * og));
            value r = c->groups > 1 ? w.activation(name(i, (tag + "out").c_str()), {1, c->oh, c->ow, og}, q) : y;
            auto opt = tflite::CreateConv2DOptions(w.fb, win.padding, c->stride, c->stride, act);
            w.op(BuiltinOperator::CONV_2D, {parts[g].tensor, wt_t, b_t}, {r.tensor}, BuiltinOptions::Conv2DOptions, opt.Union());
            results.push_back(r.tensor);
        }
        if (c->groups > 1)
            w.op(BuiltinOperator::CONCATENATION, results, {y.tensor}, BuiltinOptions::ConcatenationOptions,
                 tflite::CreateConcatenationOptions(w.fb, 3, ActivationFunctionType::NONE).Union());
        vals[i] = y;
    }

    void pool(int i, bool avg) {
        const s8_pool_params *p = &plan[i].pool;
        hn_shape in_shape;
        hn_qparams in_q;
        const float *unused;
        hn_qmodel_node_info(m, plan[i].inputs[0], &in_shape, &in_q, &unused, NULL);
        value in = as4d(vals[plan[i].inputs[0]], in_shape, name(i, "map"));
        window win = window_of(p->h, p->w, p->oh, p->ow, p->kernel, p->stride, p->pad);
        if (avg && win.padding == Padding::SAME && p->count_include_pad) win.explicit_pad = true; /* SAME counts real pixels only */
        if (avg && win.explicit_pad && !p->count_include_pad)
            w.fail(name(i, "") + ": average pooling of real pixels only, with padding TFLite's SAME does not place");
        if (win.explicit_pad) in = pad(in, win, !avg, name(i, "padded")), win.padding = Padding::VALID;
        value y = w.activation(name(i, ""), {1, p->oh, p->ow, p->c}, in.q);
        auto opt = tflite::CreatePool2DOptions(w.fb, win.padding, p->stride, p->stride, p->kernel, p->kernel);
        w.op(avg ? BuiltinOperator::AVERAGE_POOL_2D : BuiltinOperator::MAX_POOL_2D, {in.tensor}, {y.tensor},
             BuiltinOptions::Pool2DOptions, opt.Union());
        vals[i] = y;
    }

    /* the global mean: an AVERAGE_POOL_2D over the whole map (TFLite's MEAN rounds otherwise) */
    void mean(int i) {
        hn_shape in_shape;
        hn_qparams in_q;
        const float *unused;
        hn_qmodel_node_info(m, plan[i].inputs[0], &in_shape, &in_q, &unused, NULL);
        value in = as4d(vals[plan[i].inputs[0]], in_shape, name(i, "map"));
        value y = w.activation(name(i, ""), {1, 1, 1, in_shape.c}, in.q);
        auto opt = tflite::CreatePool2DOptions(w.fb, Padding::VALID, 1, 1, in_shape.w, in_shape.h);
        w.op(BuiltinOperator::AVERAGE_POOL_2D, {in.tensor}, {y.tensor}, BuiltinOptions::Pool2DOptions, opt.Union());
        vals[i] = y;
    }

    /* ADD takes two inputs: one input adds a constant zero tensor at its own scale (the engine's
     * arithmetic exactly), more are a chain of ADDs through values at the output's parameters (not
     * exact: each link rounds) */
    void add(int i) {
        const s8_node *p = &plan[i];
        hn_qparams q = vals[i].q;
        ActivationFunctionType act;
        if (!activation_of(p->lo, p->hi, q, &act)) w.fail(name(i, "") + ": its clamp is no TFLite activation");
        std::vector<value> in;
        for (int k = 0; k < p->ninputs; k++) in.push_back(vals[p->inputs[k]]);
        if (in.size() == 1) in.push_back(zeros(in[0], name(i, "zero")));
        value acc = in[0];
        for (size_t k = 1; k < in.size(); k++) {
            bool last = k + 1 == in.size();
            value y = last ? w.activation(name(i, ""), in[0].shape, q) : w.activation(name(i, ("sum" + std::to_string(k)).c_str()), in[0].shape, q);
            auto opt = tflite::CreateAddOptions(w.fb, last ? act : ActivationFunctionType::NONE);
            w.op(BuiltinOperator::ADD, {acc.tensor, in[k].tensor}, {y.tensor}, BuiltinOptions::AddOptions, opt.Union());
            acc = y;
        }
        vals[i] = acc;
    }

    value zeros(const value &like, const std::string &nm) {
        std::vector<int8_t> z(numel(like.shape), (int8_t)like.q.zero_point);
        value v = like;
        v.tensor = w.tensor(nm, like.shape, TensorType::INT8, w.buffer(z.data(), z.size()), {like.q.scale}, {like.q.zero_point});
        return v;
    }

    /* CONCATENATION wants its inputs at the output's parameters: the others are requantized first
     * (QUANTIZE int8 -> int8: the engine's rescale, same multiplier) */
    void concat(int i) {
        const s8_node *p = &plan[i];
        hn_qparams q = vals[i].q;
        std::vector<int> ins;
        std::vector<int> out_shape;
        for (int k = 0; k < p->ninputs; k++) {
            std::string tag = "in" + std::to_string(k);
            value x = vals[p->inputs[k]];
            if (x.q.scale != q.scale || x.q.zero_point != q.zero_point) {
                value r = w.activation(name(i, (tag + ".requantized").c_str()), x.shape, q);
                w.op(BuiltinOperator::QUANTIZE, {x.tensor}, {r.tensor}, BuiltinOptions::QuantizeOptions,
                     tflite::CreateQuantizeOptions(w.fb).Union());
                x = r;
            }
            if (out_shape.empty()) out_shape = x.shape;
            else out_shape.back() += x.shape.back();
            ins.push_back(x.tensor);
        }
        value y = w.activation(name(i, ""), out_shape, q);
        auto opt = tflite::CreateConcatenationOptions(w.fb, (int)out_shape.size() - 1, ActivationFunctionType::NONE);
        w.op(BuiltinOperator::CONCATENATION, ins, {y.tensor}, BuiltinOptions::ConcatenationOptions, opt.Union());
        vals[i] = y;
    }

    /* a lone ReLU or ReLU6: TFLite's op at the input's parameters (the same clamp) */
    void clamp(int i) {
        const s8_node *p = &plan[i];
        const value &x = vals[p->inputs[0]];
        ActivationFunctionType act;
        if (!activation_of(p->lo, p->hi, x.q, &act) || act == ActivationFunctionType::NONE) {
            w.fail(name(i, "") + ": a clamp that is neither ReLU nor ReLU6");
            vals[i] = x;
            return;
        }
        value y = w.activation(name(i, ""), x.shape, x.q);
        w.op(act == ActivationFunctionType::RELU ? BuiltinOperator::RELU : BuiltinOperator::RELU6, {x.tensor}, {y.tensor});
        vals[i] = y;
    }

    hn_status run(const char *path, const char *model_name, bool float_io) {
        size_t bytes;
        plan = hn_qmodel_plan(m, &n, &output, &bytes);
        vals.resize((size_t)n);
        int graph_in = -1, graph_out = -1;
        for (int i = 0; i < n; i++) {
            hn_shape s;
            hn_qparams q;
            const float *unused;
            hn_op op;
            hn_qmodel_node_info(m, i, &s, &q, &unused, &op);
            vals[i].q = q;
            switch (plan[i].kind) {
            case S8_INPUT:
                vals[i] = w.activation(float_io ? "input.int8" : "input", {1, s.h, s.w, s.c}, q);
                graph_in = vals[i].tensor;
                if (float_io) {
                    graph_in = w.tensor("input", {1, s.h, s.w, s.c}, TensorType::FLOAT32, 0, {}, {});
                    w.op(BuiltinOperator::QUANTIZE, {graph_in}, {vals[i].tensor}, BuiltinOptions::QuantizeOptions,
                         tflite::CreateQuantizeOptions(w.fb).Union());
                }
                break;
            case S8_CONV: conv(i); break;
            case S8_AVGPOOL: pool(i, true); break;
            case S8_MAXPOOL: pool(i, false); break;
            case S8_MEAN: mean(i); break;
            case S8_ADD: add(i); break;
            case S8_CONCAT: concat(i); break;
            case S8_CLAMP: clamp(i); break;
            case S8_ZERO: {
                value like = vals[plan[i].inputs[0]];
                like.q = q;
                vals[i] = zeros(like, name(i, "zero"));
                break;
            }
            default: /* layer norm (hwnas's integer one has no TFLite form), softmax, attention, LUT activations */
                w.fail(name(i, "") + ": op " + hn_op_name(op) + " has no TFLite export yet (export --format c takes it)");
            }
        }
        hn_shape os;
        hn_qparams oq;
        const float *unused;
        hn_qmodel_node_info(m, output, &os, &oq, &unused, NULL);
        value out = vals[output];
        if (os.h == 1 && os.w == 1 && !out.shape.empty()) out = reshape(out, {1, os.c}, float_io ? "output.int8" : "output");
        graph_out = out.tensor;
        if (float_io) {
            int f = w.tensor("output", out.shape, TensorType::FLOAT32, 0, {}, {});
            w.op(BuiltinOperator::DEQUANTIZE, {graph_out}, {f}, BuiltinOptions::DequantizeOptions,
                 tflite::CreateDequantizeOptions(w.fb).Union());
            graph_out = f;
        }
        if (!w.error.empty())
            return hn_error(HN_ERR_UNSUPPORTED, "TFLite export of %s: %s", model_name ? model_name : "the model", w.error.c_str());
        std::vector<Offset<tflite::OperatorCode>> codes;
        for (BuiltinOperator c : w.codes) /* codes below 127 also in the field readers before TF 2.4 read */
            codes.push_back(tflite::CreateOperatorCode(w.fb, (int8_t)((int)c < 127 ? (int)c : 127), 1, c));
        auto sub = tflite::CreateSubGraph(w.fb, w.fb.CreateVector(w.tensors), w.fb.CreateVector(std::vector<int>{graph_in}),
                                          w.fb.CreateVector(std::vector<int>{graph_out}), w.fb.CreateVector(w.ops),
                                          w.fb.CreateString("main"));
        std::string desc = std::string("hwnas int8 model of ") + (model_name ? model_name : "a network");
        auto model = tflite::CreateModel(w.fb, 3, w.fb.CreateVector(codes), w.fb.CreateVector(std::vector<decltype(sub)>{sub}),
                                         w.fb.CreateString(desc), w.fb.CreateVector(w.buffers));
        tflite::FinishModelBuffer(w.fb, model);
        FILE *f = std::fopen(path, "wb");
        if (!f) return hn_error(HN_ERR_IO, "cannot write '%s': %s", path, std::strerror(errno));
        size_t size = w.fb.GetSize();
        bool ok = std::fwrite(w.fb.GetBufferPointer(), 1, size, f) == size;
        ok = (std::fclose(f) == 0) && ok;
        return ok ? HN_OK : hn_error(HN_ERR_IO, "cannot write '%s'", path);
    }
};

} // namespace

extern "C" hn_status hn_export_tflite(const hn_qmodel *m, const char *path, const char *name, bool float_io) {
    try {
        exporter e;
        e.m = m;
        return e.run(path, name, float_io);
    } catch (const std::bad_alloc &) {
        return hn_error(HN_ERR_NOMEM, "TFLite export");
    }
}
