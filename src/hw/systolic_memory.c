/* A bandwidth-limited systolic layer's DRAM traffic and stalls, replayed as SCALE-Sim v2's memory
 * system produces them (hn_systolic_memory, models.h); on ../shared/reference/scalesim's set C the
 * replay gives SCALE-Sim's total cycles, stall cycles and DRAM counts exactly (tests/test_hw.c).
 *
 * - Each read operand (ifmap, filter) has a double-buffered SRAM of S words: an active half of
 *   ceil(S/2) words and a prefetch half. Its DRAM side fetches the operand in a fixed prefetch order
 *   (the operand matrix folded for the array, read along anti-diagonals where the demand is skewed).
 *   For hits SCALE-Sim cuts that order into sets of ceil(S/100) words: the active window is the next
 *   A sets of it (circularly). A demanded word outside the window moves it on by the prefetch half's
 *   sets, a prefetch of ceil(S_prefetch / bw) lines of bw words (nulls counted) that finishes that many
 *   cycles plus one after the previous one did, until the word is in. A word that went by waits for
 *   the order to come round again, so a demand that revisits data (the next column fold) refetches
 *   everything in between: DRAM reads can exceed SRAM reads many times over.
 * - The array asks for one row of demands per cycle (the operand matrix per fold, padded with the
 *   fill and drain of the array and skewed one cycle per PE row or column). A row's offset grows by
 *   each prefetch's finish minus the row's time so far -- a prefetch that finished in the past
 *   shortens it, as in SCALE-Sim. The ofmap goes through a write buffer whose drain half goes out,
 *   ceil(S_drain / bw) lines of bw words, once the buffer is over half full; a row waits only when
 *   the buffer is full during a drain. Each row stalls by the largest of the three waits; the layer
 *   ends at the last row's cycle.
 *
 * Each demand costs a binary search among the sets holding its word, so a layer costs its demand
 * rows x (R + 2C) searches: microseconds to milliseconds, against SCALE-Sim's seconds. */
#include <stdlib.h>
#include <string.h>

#include "models.h"

/* One layer as a GEMM for SCALE-Sim: P output pixels x W window elements x F filters. */
typedef struct {
    hn_dataflow df;
    int64_t R, C;          /* array rows, columns */
    int64_t P, W, F;       /* pixels, window (fh * fw * channels), filters */
    int64_t ow, fw, ch, iw, stride;
    int64_t rf, cf, fold;  /* row folds, column folds, demand rows per fold */
} gemm;

/* Word addresses inside each operand (SCALE-Sim's offsets only tell the operands apart): the ifmap in
 * (row, column, channel) order, filters one after another, outputs pixel-major. */
static int64_t ifmap_addr(const gemm *g, int64_t p, int64_t w) {
    int64_t oy = p / g->ow, ox = p % g->ow, fy = w / (g->fw * g->ch), k = w % (g->fw * g->ch);
    return ((oy * g->stride + fy) * g->iw + ox * g->stride + k / g->ch) * g->ch + k % g->ch;
}
static int64_t filter_addr(const gemm *g, int64_t w, int64_t f) { return f * g->W + w; }
static int64_t ofmap_addr(const gemm *g, int64_t p, int64_t f) { return p * g->F + f; }

enum { IFMAP, FILTER };

/* The prefetch matrix of an operand: folds stacked (M x N), element (r, c), read diagonally or not */
static void prefetch_shape(const gemm *g, int op, int64_t *M, int64_t *N, bool *diagonal) {
    switch (g->df) {
    case HN_DATAFLOW_OS: /* ifmap: per row fold (W x R); filter: per column fold (W x C) */
        *M = op == IFMAP ? g->rf * g->W : g->cf * g->W, *N = op == IFMAP ? g->R : g->C, *diagonal = true;
        break;
    case HN_DATAFLOW_WS: /* ifmap: per row fold (P x R), diagonal; filter: per column fold (W x C) */
        *M = op == IFMAP ? g->rf * g->P : g->cf * g->W, *N = op == IFMAP ? g->R : g->C, *diagonal = op == IFMAP;
        break;
    default: /* IS: ifmap per column fold (W x C); filter per row fold (F x R), diagonal */
        *M = op == IFMAP ? g->cf * g->W : g->rf * g->F, *N = op == IFMAP ? g->C : g->R, *diagonal = op == FILTER;
        break;
    }
}

static int64_t prefetch_elem(const gemm *g, int op, int64_t r, int64_t c) {
    switch (g->df) {
    case HN_DATAFLOW_OS:
        if (op == IFMAP) {
            int64_t p = r / g->W * g->R + c;
            return p < g->P ? ifmap_addr(g, p, r % g->W) : -1;
        } else {
            int64_t f = r / g->W * g->C + c;
            return f < g->F ? filter_addr(g, r % g->W, f) : -1;
        }
    case HN_DATAFLOW_WS:
        if (op == IFMAP) {
            int64_t w = r / g->P * g->R + c;
            return w < g->W ? ifmap_addr(g, r % g->P, w) : -1;
        } else {
            int64_t f = r / g->W * g->C + c;
            return f < g->F ? filter_addr(g, r % g->W, f) : -1;
        }
    default:
        if (op == IFMAP) {
            int64_t p = r / g->W * g->C + c;
            return p < g->P ? ifmap_addr(g, p, r % g->W) : -1;
        } else {
            int64_t w = r / g->F * g->R + c;
            return w < g->W ? filter_addr(g, w, r % g->F) : -1;
        }
    }
}

/* Demand row t of a fold (fr, fc), column j (0 <= j < the operand's width): a word or -1 */
static int64_t ifmap_demand(const gemm *g, int64_t fr, int64_t fc, int64_t t, int64_t j) {
    int64_t u, p, w;
    switch (g->df) {
    case HN_DATAFLOW_OS: /* columns: pixels of the row fold; skewed by column */
        u = t - j, p = fr * g->R + j;
        return u >= 0 && u < g->W && p < g->P ? ifmap_addr(g, p, u) : -1;
    case HN_DATAFLOW_WS: /* columns: window elements of the row fold; R idle rows first; skewed */
        u = t - j - g->R, w = fr * g->R + j;
        return u >= 0 && u < g->P && w < g->W ? ifmap_addr(g, u, w) : -1;
    default: /* IS: the stationary tile, loaded bottom row first in the first R rows */
        if (t >= g->R) return -1;
        w = fr * g->R + (g->R - 1 - t), p = fc * g->C + j;
        return w < g->W && p < g->P ? ifmap_addr(g, p, w) : -1;
    }
}

static int64_t filter_demand(const gemm *g, int64_t fr, int64_t fc, int64_t t, int64_t j) {
    int64_t u, w, f;
    switch (g->df) {
    case HN_DATAFLOW_OS: /* columns: filters of the column fold; skewed */
        u = t - j, f = fc * g->C + j;
        return u >= 0 && u < g->W && f < g->F ? filter_addr(g, u, f) : -1;
    case HN_DATAFLOW_WS: /* the stationary tile, bottom row first */
        if (t >= g->R) return -1;
        w = fr * g->R + (g->R - 1 - t), f = fc * g->C + j;
        return w < g->W && f < g->F ? filter_addr(g, w, f) : -1;
    default: /* IS: columns: window elements of the row fold; R idle rows first; skewed */
        u = t - j - g->R, w = fr * g->R + j;
        return u >= 0 && u < g->F && w < g->W ? filter_addr(g, w, u) : -1;
    }
}

static int64_t ofmap_demand(const gemm *g, int64_t fr, int64_t fc, int64_t t, int64_t j) {
    int64_t u, p, f;
    switch (g->df) {
    case HN_DATAFLOW_OS: /* after the W - 1 cycles of the stream, the tile's rows bottom first, skewed */
        u = t - j - (g->W - 1), p = fr * g->R + (g->R - 1 - u), f = fc * g->C + j;
        return u >= 0 && u < g->R && p < g->P && f < g->F ? ofmap_addr(g, p, f) : -1;
    case HN_DATAFLOW_WS: /* after 2R - 1 cycles, one pixel per cycle, skewed by filter column */
        u = t - j - (2 * g->R - 1), f = fc * g->C + j;
        return u >= 0 && u < g->P && f < g->F ? ofmap_addr(g, u, f) : -1;
    default: /* IS: after 2R - 1 cycles, one filter per cycle, skewed by pixel column */
        u = t - j - (2 * g->R - 1), p = fc * g->C + j;
        return u >= 0 && u < g->F && p < g->P ? ofmap_addr(g, p, u) : -1;
    }
}

/* A read operand's double buffer: the prefetch order cut into sets ("lines") of ceil(S/100) words,
 * and for each word the lines that hold it (ascending; CSR: lines[first[a] .. first[a + 1])). */
typedef struct {
    int64_t nlines, active, prefetch; /* lines in the order, in the active and the prefetch half */
    int64_t start;                    /* the active window's first line */
    int64_t *first, *lines;
    int64_t fill_words, prefetch_words; /* DRAM words of the first fill and of each prefetch */
    int64_t prefetch_cycles;
    int64_t last_done;                /* the cycle the latest prefetch finished */
    int64_t dram_words;
} read_buffer;

static void read_buffer_free(read_buffer *b) { hn_free(b->first), hn_free(b->lines); }

static hn_status read_buffer_init(read_buffer *b, const gemm *g, int op, int64_t words, int64_t sram_words,
                                  int64_t bw) {
    const int64_t per_line = (sram_words + 99) / 100; /* SCALE-Sim's lookup sets: a hundredth of the SRAM */
    memset(b, 0, sizeof *b);
    int64_t M, N;
    bool diagonal;
    prefetch_shape(g, op, &M, &N, &diagonal);
    /* the order: row-major, or anti-diagonal d from its bottom-left end */
    int64_t n = M * N, valid = 0, k = 0;
    int64_t *order = hn_alloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    b->first = hn_calloc(sizeof(int64_t) * ((size_t)words + 2));
    if (!order || !b->first) {
        hn_free(order), read_buffer_free(b);
        return hn_error(HN_ERR_NOMEM, "systolic memory: a prefetch order of %lld words", (long long)n);
    }
    if (diagonal)
        for (int64_t d = 0; d < M + N - 1; d++)
            for (int64_t r = d < M - 1 ? d : M - 1; r >= 0 && d - r < N; r--) order[k++] = prefetch_elem(g, op, r, d - r);
    else
        for (int64_t r = 0; r < M; r++)
            for (int64_t c = 0; c < N; c++) order[k++] = prefetch_elem(g, op, r, c);
    /* lines: per_line valid words each (SCALE-Sim counts repeats, and ends with a line that may be empty) */
    int64_t *last = hn_alloc(sizeof(int64_t) * (size_t)(words > 0 ? words : 1));
    if (!last) {
        hn_free(order), read_buffer_free(b);
        return hn_error(HN_ERR_NOMEM, "systolic memory: %lld words", (long long)words);
    }
    for (int64_t a = 0; a < words; a++) last[a] = -1;
    for (int64_t i = 0; i < n; i++) /* count each (word, line) pair once */
        if (order[i] >= 0) {
            int64_t line = valid++ / per_line;
            if (last[order[i]] != line) last[order[i]] = line, b->first[order[i] + 2]++;
        }
    for (int64_t a = 0; a < words; a++) b->first[a + 2] += b->first[a + 1];
    b->lines = hn_alloc(sizeof(int64_t) * (size_t)(b->first[words + 1] > 0 ? b->first[words + 1] : 1));
    if (!b->lines) {
        hn_free(order), hn_free(last), read_buffer_free(b);
        return hn_error(HN_ERR_NOMEM, "systolic memory: %lld buffer lines", (long long)b->first[words + 1]);
    }
    for (int64_t a = 0; a < words; a++) last[a] = -1;
    valid = 0;
    for (int64_t i = 0; i < n; i++)
        if (order[i] >= 0) {
            int64_t line = valid++ / per_line;
            if (last[order[i]] != line) last[order[i]] = line, b->lines[b->first[order[i] + 1]++] = line;
        }
    hn_free(order), hn_free(last);
    /* first[a] .. first[a + 1] now bound word a's lines */
    b->nlines = valid / per_line + 1;
    int64_t active_words = (sram_words + 1) / 2, prefetch_words = sram_words - active_words;
    int64_t max_active = (active_words + per_line - 1) / per_line, max_prefetch = (prefetch_words + per_line - 1) / per_line;
    b->active = b->nlines < max_active ? b->nlines : max_active;
    b->prefetch = b->nlines - b->active < max_prefetch ? b->nlines - b->active : max_prefetch;
    int64_t fetch_rows = (n + bw - 1) / bw; /* the DRAM side counts whole lines, nulls included */
    int64_t fill_rows = (active_words + bw - 1) / bw, prefetch_rows = (prefetch_words + bw - 1) / bw;
    b->fill_words = (fill_rows < fetch_rows ? fill_rows : fetch_rows) * bw;
    b->prefetch_cycles = prefetch_rows;
    b->prefetch_words = prefetch_rows * bw;
    return HN_OK;
}

/* The first line of the active window (in window order) holding word a, or -1 */
static int64_t window_line(const read_buffer *b, int64_t a) {
    const int64_t *lo = b->lines + b->first[a], *hi = b->lines + b->first[a + 1];
    if (lo == hi) return -1;
    const int64_t *at = lo; /* the first line >= start */
    for (int64_t n = hi - lo; n > 0;) {
        int64_t half = n / 2;
        if (at[half] < b->start) at += half + 1, n -= half + 1;
        else n = half;
    }
    int64_t end = b->start + b->active;
    if (at < hi && *at < end) return *at;
    if (end > b->nlines && *lo < end - b->nlines) return *lo; /* the window wraps */
    return -1;
}

/* One demand row at cycle: returns the row's wait (SCALE-Sim's read stall, may be negative) */
static int64_t read_row(read_buffer *b, const int64_t *addr, int64_t n, int64_t cycle) {
    if (b->dram_words == 0) { /* the first demand fills the active half, finished just before it */
        b->dram_words = b->fill_words;
        b->last_done = cycle - 1;
    }
    int64_t offset = 1;
    for (int64_t i = 0; i < n; i++) {
        if (addr[i] < 0) continue;
        while (window_line(b, addr[i]) < 0) {
            if (b->prefetch == 0) return offset - 1; /* everything is in already: cannot happen */
            b->start = (b->start + b->prefetch) % b->nlines;
            b->dram_words += b->prefetch_words;
            b->last_done += b->prefetch_cycles + 1;
            int64_t wait = b->last_done - (cycle + offset);
            offset += wait;
        }
    }
    return offset - 1;
}

/* The ofmap's write buffer: words queue in lines of bw; the drain half goes out when more than half
 * of the buffer is taken. line_words[i]: words of queued line i (a drain closes a partial line). */
typedef struct {
    int64_t total, active, drain_lines, bw;
    int64_t free, in_line;       /* free words; words in the open line */
    int64_t *line_words, nlines, cap, drained;
    int64_t drain_end;
    int64_t dram_words;
} write_buffer;

static hn_status close_line(write_buffer *w) {
    if (w->nlines == w->cap) {
        int64_t cap = w->cap ? 2 * w->cap : 1024, *l = hn_alloc(sizeof(int64_t) * (size_t)cap);
        if (!l) return hn_error(HN_ERR_NOMEM, "systolic memory: %lld write lines", (long long)cap);
        if (w->nlines) memcpy(l, w->line_words, sizeof(int64_t) * (size_t)w->nlines);
        hn_free(w->line_words);
        w->line_words = l, w->cap = cap;
    }
    w->line_words[w->nlines++] = w->in_line;
    w->in_line = 0;
    return HN_OK;
}

/* Drains from cycle start; returns the cycle it ends. SCALE-Sim counts whole lines but the last one's
 * empty slots, and frees that many words. */
static int64_t drain(write_buffer *w, int64_t start) {
    int64_t end = w->drained + w->drain_lines < w->nlines ? w->drained + w->drain_lines : w->nlines;
    int64_t n = end - w->drained;
    if (n <= 0) return start;
    int64_t words = n * w->bw - (w->bw - w->line_words[end - 1]);
    w->dram_words += words, w->free += words, w->drained = end;
    return start + n - 1;
}

static hn_status write_row(write_buffer *w, const int64_t *addr, int64_t n, int64_t cycle, int64_t *wait) {
    int64_t now = cycle;
    hn_status st = HN_OK;
    for (int64_t i = 0; i < n && !st; i++) {
        if (addr[i] < 0) continue;
        w->free--;
        if (++w->in_line == w->bw) st = close_line(w);
        if (now < w->drain_end) {
            if (w->free <= 0) now = w->drain_end;
        } else if (w->free < w->active) {
            if (w->in_line && (st = close_line(w))) break;
            w->drain_end = drain(w, now);
        }
    }
    *wait = now - cycle;
    return st;
}

static hn_status write_finish(write_buffer *w, int64_t cycle) {
    hn_status st = w->in_line ? close_line(w) : HN_OK;
    while (!st && w->drained < w->nlines) cycle = drain(w, cycle) + 1;
    return st;
}

hn_status hn_systolic_memory(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_result *r) {
    const int64_t bw = a->bandwidth < 1.5 ? 1 : (int64_t)(a->bandwidth + 0.5); /* whole words per cycle */
    gemm g = {.df = a->dataflow, .R = a->rows, .C = a->cols, .fw = l->filter_w, .ch = l->channels, .iw = l->ifmap_w,
              .stride = l->stride, .F = l->filters};
    int64_t oh = (l->ifmap_h - l->filter_h) / l->stride + 1;
    g.ow = (l->ifmap_w - l->filter_w) / l->stride + 1, g.P = oh * g.ow, g.W = (int64_t)l->filter_h * l->filter_w * l->channels;
    int64_t rows_of = g.df == HN_DATAFLOW_OS ? g.P : g.W, cols_of = g.df == HN_DATAFLOW_IS ? g.P : g.F;
    g.rf = (rows_of + g.R - 1) / g.R, g.cf = (cols_of + g.C - 1) / g.C;
    g.fold = g.df == HN_DATAFLOW_OS ? g.W + g.R + g.C - 2 : (g.df == HN_DATAFLOW_WS ? g.P : g.F) + 2 * g.R + g.C - 2;
    /* demand widths: ifmap R (IS: C), filter C (IS: R), ofmap C */
    const int64_t iwidth = g.df == HN_DATAFLOW_IS ? g.C : g.R, fwidth = g.df == HN_DATAFLOW_IS ? g.R : g.C;
    const double words_per_kb = 1024.0 / (a->word_bytes > 0 ? a->word_bytes : 1);
    read_buffer in, fl;
    write_buffer out = {.total = (int64_t)(a->ofmap_sram_kb * words_per_kb), .bw = bw};
    out.active = (out.total + 1) / 2, out.drain_lines = (out.total - out.active + bw - 1) / bw, out.free = out.total;
    hn_status st = read_buffer_init(&in, &g, IFMAP, (int64_t)l->ifmap_h * l->ifmap_w * l->channels,
                                    (int64_t)(a->ifmap_sram_kb * words_per_kb), bw);
    if (st) return st;
    if ((st = read_buffer_init(&fl, &g, FILTER, g.W * g.F, (int64_t)(a->filter_sram_kb * words_per_kb), bw))) {
        read_buffer_free(&in);
        return st;
    }
    int64_t *row = hn_alloc(sizeof(int64_t) * (size_t)(g.R + g.C));
    if (!row) st = hn_error(HN_ERR_NOMEM, "systolic memory");
    int64_t stalls = 0, i = 0, end = 0;
    for (int64_t fc = 0; fc < g.cf && !st; fc++)
        for (int64_t fr = 0; fr < g.rf && !st; fr++)
            for (int64_t t = 0; t < g.fold && !st; t++, i++) {
                const int64_t cycle = i + stalls;
                int64_t worst, wait;
                for (int64_t j = 0; j < iwidth; j++) row[j] = ifmap_demand(&g, fr, fc, t, j);
                worst = read_row(&in, row, iwidth, cycle);
                for (int64_t j = 0; j < fwidth; j++) row[j] = filter_demand(&g, fr, fc, t, j);
                if ((wait = read_row(&fl, row, fwidth, cycle)) > worst) worst = wait;
                for (int64_t j = 0; j < g.C; j++) row[j] = ofmap_demand(&g, fr, fc, t, j);
                st = write_row(&out, row, g.C, cycle, &wait);
                if (wait > worst) worst = wait;
                end = cycle + wait;
                stalls += worst;
            }
    if (!st) st = write_finish(&out, end);
    if (!st) {
        r->dram_ifmap_reads = in.dram_words;
        r->dram_filter_reads = fl.dram_words;
        r->dram_ofmap_writes = out.dram_words;
        r->total_cycles = end;
        r->stall_cycles = stalls;
    }
    hn_free(row), hn_free(out.line_words), read_buffer_free(&in), read_buffer_free(&fl);
    return st;
}
