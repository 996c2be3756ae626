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
 * Cost: tables of a line per prefetch-matrix element (and the ifmap words' lines), then a search per
 * run of quiet rows and a replay of each row around a prefetch or a drain: a few milliseconds for a
 * large layer on small SRAMs, against SCALE-Sim's seconds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

/* One layer as a GEMM for SCALE-Sim: P output pixels x W window taps x F filters. */
typedef struct {
    hn_dataflow df;
    int64_t R, C;          /* array rows, columns */
    int64_t P, W, F;       /* pixels, window taps (fh * fw * channels), filters */
    int64_t rf, cf, fold;  /* row folds, column folds, demand rows per fold */
    int64_t oh, ow, fw, ch, stride, ih, iw;
} gemm;

static void gemm_init(gemm *g, const hn_systolic *a, const hn_systolic_layer *l) {
    memset(g, 0, sizeof *g);
    g->df = a->dataflow, g->R = a->rows, g->C = a->cols, g->F = l->filters;
    hw_systolic_ofmap(l, &g->oh, &g->ow);
    g->fw = l->filter_w, g->ch = l->channels, g->stride = l->stride, g->ih = l->ifmap_h, g->iw = l->ifmap_w;
    g->P = g->oh * g->ow, g->W = (int64_t)l->filter_h * l->filter_w * l->channels;
    int64_t rows_of = g->df == HN_DATAFLOW_OS ? g->P : g->W, cols_of = g->df == HN_DATAFLOW_IS ? g->P : g->F;
    g->rf = (rows_of + g->R - 1) / g->R, g->cf = (cols_of + g->C - 1) / g->C;
    g->fold = g->df == HN_DATAFLOW_OS ? g->W + g->R + g->C - 2 : (g->df == HN_DATAFLOW_WS ? g->P : g->F) + 2 * g->R + g->C - 2;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

enum { IFMAP, FILTER };

/* An operand's prefetch matrix: its folds stacked as blocks of `rows` rows (M x N in all); within
 * block k, row i and column c hold the operand element of "outer" variable v = k * N + c (valid while
 * v < limit) and inner variable i:
 *   OS: ifmap v = pixel, i = tap; filter v = filter, i = tap   (anti-diagonal order)
 *   WS: ifmap v = tap, i = pixel (anti-diagonal);  filter v = filter, i = tap (row-major)
 *   IS: ifmap v = pixel, i = tap (row-major);      filter v = tap, i = filter (anti-diagonal)
 * The ifmap element (pixel, tap) is the word at the pixel's window corner plus the tap's offset, the
 * filter element (tap, filter) the word filter * W + tap. */
typedef struct {
    int64_t M, N, rows, limit;
    bool diagonal, v_is_pixel_or_filter; /* v: the pixel (ifmap) or the filter (filter); else the tap */
} prefetch_layout;

static prefetch_layout prefetch_shape(const gemm *g, int op) {
    prefetch_layout l;
    if (op == IFMAP) {
        l.v_is_pixel_or_filter = g->df != HN_DATAFLOW_WS;
        l.N = g->df == HN_DATAFLOW_IS ? g->C : g->R;
        l.rows = l.v_is_pixel_or_filter ? g->W : g->P, l.limit = l.v_is_pixel_or_filter ? g->P : g->W;
        l.diagonal = g->df != HN_DATAFLOW_IS;
    } else {
        l.v_is_pixel_or_filter = g->df != HN_DATAFLOW_IS;
        l.N = g->df == HN_DATAFLOW_IS ? g->R : g->C;
        l.rows = l.v_is_pixel_or_filter ? g->W : g->F, l.limit = l.v_is_pixel_or_filter ? g->F : g->W;
        l.diagonal = g->df != HN_DATAFLOW_WS;
    }
    l.M = (l.limit + l.N - 1) / l.N * l.rows;
    return l;
}

/* One fold's demands of one operand, row by row, in column order without the nulls. A skewed stream
 * puts stream element u = t - j - lead (0 <= u < len) in column j <= jmax: prefetch-matrix element
 * (base + u) * N + j, so along a row the elements are evenly spaced. A stationary tile goes in over
 * the first R (rows) rows, bottom row first: row t is tile row w = top - t (valid while < limit),
 * elements (base + w) * N + j, j <= jmax. The ofmap's are counted only. */
typedef struct {
    bool tile;
    int64_t lead, len, jmax, N, base, top, rows, limit;
} fold_demands;

static fold_demands read_fold(const gemm *g, int op, int64_t fr, int64_t fc) {
    fold_demands d = {0};
    if (g->df == HN_DATAFLOW_OS) { /* columns: the row fold's pixels (ifmap) or the column fold's filters; the window streams */
        int64_t width = op == IFMAP ? g->R : g->C, left = op == IFMAP ? g->P - fr * g->R : g->F - fc * g->C;
        d.lead = 0, d.len = g->W, d.N = width, d.jmax = min64(width, left) - 1, d.base = (op == IFMAP ? fr : fc) * g->W;
    } else if ((g->df == HN_DATAFLOW_WS) == (op == IFMAP)) {
        /* WS ifmap, IS filter: pixels or filters stream into the row fold's window columns after R idle rows */
        d.lead = g->R, d.len = g->df == HN_DATAFLOW_WS ? g->P : g->F, d.N = g->R;
        d.jmax = min64(g->R, g->W - fr * g->R) - 1, d.base = fr * d.len;
    } else { /* WS filter, IS ifmap: the tile (window rows x filter or pixel columns) */
        d.tile = true, d.N = g->C, d.top = fr * g->R + g->R - 1, d.rows = g->R, d.limit = g->W, d.base = fc * g->W;
        d.jmax = min64(g->C, (g->df == HN_DATAFLOW_WS ? g->F : g->P) - fc * g->C) - 1;
    }
    return d;
}

static fold_demands ofmap_fold(const gemm *g, int64_t fr, int64_t fc) {
    fold_demands d = {0};
    if (g->df == HN_DATAFLOW_OS) { /* after the W - 1 cycles of the stream the tile's rows drain, bottom first */
        int64_t past = max64(0, g->R - (g->P - fr * g->R)); /* bottom rows past the last pixel */
        d.lead = g->W - 1 + past, d.len = g->R - past, d.jmax = min64(g->C, g->F - fc * g->C) - 1;
    } else { /* after 2R - 1 cycles one pixel (WS) or filter (IS) per cycle, skewed by column */
        d.lead = 2 * g->R - 1, d.len = g->df == HN_DATAFLOW_WS ? g->P : g->F;
        d.jmax = min64(g->C, (g->df == HN_DATAFLOW_WS ? g->F : g->P) - fc * g->C) - 1;
    }
    return d;
}

/* Row t of d: the number of demands, and (read operands) the first element and the spacing */
static inline int64_t row_demands(const fold_demands *d, int64_t t, int64_t *e0, int64_t *de) {
    if (d->tile) {
        int64_t w = d->top - t;
        if (t >= d->rows || w >= d->limit) return 0;
        *e0 = (d->base + w) * d->N, *de = 1;
        return d->jmax + 1;
    }
    int64_t j0 = max64(0, t - d->lead - d->len + 1), j1 = min64(d->jmax, t - d->lead);
    *e0 = (d->base + t - d->lead - j0) * d->N + j0, *de = -(d->N - 1);
    return j1 >= j0 ? j1 - j0 + 1 : 0;
}

/* A read operand's double buffer: its prefetch order cut into sets ("lines") of ceil(S/100) valid
 * words, and line[e] the line of prefetch-matrix element e. An ifmap word is read by several (pixel,
 * tap) pairs, so it is in several lines: those are listed per word. */
typedef struct {
    const gemm *g;
    int op;
    prefetch_layout layout;
    int64_t nlines, active, prefetch; /* lines in the order, in the active and the prefetch half */
    int64_t start;                    /* the active window's first line */
    int32_t *line;
    int32_t *word, *first, *lines;    /* ifmap: element e's word; word a's lines, one per occurrence:
                                         lines[first[a] .. first[a + 1]) */
    int64_t fill_words, prefetch_words; /* DRAM words of the first fill and of each prefetch */
    int64_t prefetch_cycles;
    int64_t last_done;                /* the cycle the latest prefetch finished */
    int64_t dram_words;
} read_buffer;

/* The ifmap's words by (pixel, tap): the pixel's window corner plus the tap's offset, in (row,
 * column, channel) order, null where the window reaches past the input (SCALE-Sim's rounded-up output
 * size). Per pixel and per tap: word offsets and (row, column) positions, so that a word costs no
 * division. Arrays of P (pixel, py, px) and W (tap, ty, tx) entries, the caller's. */
typedef struct {
    int64_t *pixel, *tap;
    int32_t *py, *px, *ty, *tx;
} ifmap_index;

static void ifmap_index_fill(const gemm *g, ifmap_index *x) {
    for (int64_t p = 0; p < g->P; p++) {
        x->py[p] = (int32_t)(p / g->ow * g->stride), x->px[p] = (int32_t)(p % g->ow * g->stride);
        x->pixel[p] = ((int64_t)x->py[p] * g->iw + x->px[p]) * g->ch;
    }
    for (int64_t w = 0; w < g->W; w++) {
        x->ty[w] = (int32_t)(w / (g->fw * g->ch)), x->tx[w] = (int32_t)(w % (g->fw * g->ch) / g->ch);
        x->tap[w] = ((int64_t)x->ty[w] * g->iw + x->tx[w]) * g->ch + w % g->ch;
    }
}

static inline int64_t ifmap_word(const gemm *g, const ifmap_index *x, int64_t p, int64_t w) {
    return x->py[p] + x->ty[w] < g->ih && x->px[p] + x->tx[w] < g->iw ? x->pixel[p] + x->tap[w] : -1;
}

/* Each ifmap element's word (word, -1 for a null: also past the last valid column of the last block) */
static void ifmap_words(const gemm *g, const prefetch_layout *pl, const ifmap_index *x, int32_t *word) {
    for (int64_t r = 0, e = 0; r < pl->M; r++) {
        const int64_t v0 = r / pl->rows * pl->N, valid = min64(pl->N, pl->limit - v0), i = r % pl->rows;
        for (int64_t c = 0; c < pl->N; c++, e++)
            word[e] = c >= valid ? -1
                      : (int32_t)(pl->v_is_pixel_or_filter ? ifmap_word(g, x, v0 + c, i) : ifmap_word(g, x, i, v0 + c));
    }
}

/* The ifmap's per-word lists of lines (first, lines), from each element's word. Word (y, x, c) is
 * read by every tap (ty, tx, c) whose window corner (y - ty, x - tx) is an output pixel, which makes
 * its list as long as the rows that can read row y times the columns that can read column x: the
 * lists' bounds need no pass over the elements. reads (ifmap_h + ifmap_w) is scratch. */
static void list_occurrences(read_buffer *b, const hn_systolic_layer *l, int32_t *reads) {
    const gemm *g = b->g;
    const int64_t ih = l->ifmap_h, iw = l->ifmap_w, ch = l->channels, fh = l->filter_h, s = g->stride;
    const int32_t *word = b->word;
    int32_t *reads_x = reads + ih;
    for (int64_t y = 0; y < ih; y++) /* rows of output pixels reading input row y; columns alike */
        for (int64_t t = reads[y] = 0; t < fh; t++) reads[y] += y >= t && (y - t) % s == 0 && (y - t) / s < g->oh;
    for (int64_t x = 0; x < iw; x++)
        for (int64_t t = reads_x[x] = 0; t < g->fw; t++) reads_x[x] += x >= t && (x - t) % s == 0 && (x - t) / s < g->ow;
    b->first[0] = b->first[1] = 0;
    for (int64_t y = 0, a = 0; y < ih; y++)
        for (int64_t x = 0; x < iw; x++)
            for (int64_t c = 0; c < ch; c++, a++) b->first[a + 2] = b->first[a + 1] + reads[y] * reads_x[x];
    for (int64_t e = 0, n = b->layout.M * b->layout.N; e < n; e++)
        if (word[e] >= 0) b->lines[b->first[word[e] + 1]++] = b->line[e];
}

/* The replay's tables, carved from one block (one allocation per layer: so that malloc keeps reusing
 * it rather than mapping and unmapping fresh pages every layer) */
typedef struct {
    void *block;
    int32_t *ifmap_line, *filter_line, *word, *first, *lines;
    ifmap_index index;
    int32_t *reads;
} replay_tables;

static hn_status replay_tables_alloc(replay_tables *t, const gemm *g, const hn_systolic_layer *l) {
    const prefetch_layout in = prefetch_shape(g, IFMAP), fl = prefetch_shape(g, FILTER);
    const int64_t n_in = in.M * in.N, n_fl = fl.M * fl.N, words = (int64_t)l->ifmap_h * l->ifmap_w * l->channels;
    memset(t, 0, sizeof *t);
    if (n_in >= INT32_MAX || n_fl >= INT32_MAX || words >= INT32_MAX)
        return hn_error(HN_ERR_INVALID, "systolic memory: a layer of %lld ifmap and %lld filter elements is too large to replay",
                        (long long)n_in, (long long)n_fl);
    const size_t w32 = (size_t)(3 * n_in + n_fl + words + 2 + l->ifmap_h + l->ifmap_w + 2 * (g->P + g->W)),
                 w64 = (size_t)(g->P + g->W);
    int32_t *p = t->block = hn_alloc(sizeof(int64_t) * w64 + sizeof(int32_t) * w32);
    if (!p) return hn_error(HN_ERR_NOMEM, "systolic memory: tables of %zu bytes", sizeof(int64_t) * w64 + sizeof(int32_t) * w32);
    ifmap_index *x = &t->index;
    x->pixel = (int64_t *)(void *)p, x->tap = x->pixel + g->P; /* the int64 tables first: aligned */
    p = (int32_t *)(void *)(x->tap + g->W);
    x->py = p, x->px = p + g->P, x->ty = p + 2 * g->P, x->tx = p + 2 * g->P + g->W, p += 2 * (g->P + g->W);
    t->ifmap_line = p, p += n_in;
    t->word = p, p += n_in;
    t->lines = p, p += n_in;
    t->filter_line = p, p += n_fl;
    t->first = p, p += words + 2;
    t->reads = p;
    return HN_OK;
}

/* The operand's buffer over its tables (replay_tables): line, and for the ifmap word, first, lines */
static void read_buffer_init(read_buffer *b, const gemm *g, const hn_systolic_layer *l, int op, int64_t sram_words,
                                  int64_t bw, const replay_tables *t) {
    const int64_t per_line = (sram_words + 99) / 100; /* SCALE-Sim's lookup sets: a hundredth of the SRAM */
    memset(b, 0, sizeof *b);
    b->g = g, b->op = op, b->layout = prefetch_shape(g, op), b->line = op == IFMAP ? t->ifmap_line : t->filter_line;
    const int64_t M = b->layout.M, N = b->layout.N, n = M * N;
    /* the filter's nulls: the last block's columns from last_valid on; the ifmap's: its null words */
    const int64_t last_block = M - b->layout.rows, last_valid = b->layout.limit - (M / b->layout.rows - 1) * N;
    if (op == IFMAP) {
        b->word = t->word, b->first = t->first, b->lines = t->lines;
        ifmap_index x = t->index; /* its arrays are the tables' */
        ifmap_index_fill(g, &x);
        ifmap_words(g, &b->layout, &x, t->word);
    }
#define VALID(r, c) (op == IFMAP ? b->word[(r) * N + (c)] >= 0 : (r) < last_block || (c) < last_valid)
    /* lines in prefetch order (row-major, or along anti-diagonals d = r + c, each from its bottom-left
     * end); SCALE-Sim counts repeats, and ends with a line that may be empty */
    int32_t line = 0, in_line = 0;
    if (!b->layout.diagonal)
        for (int64_t r = 0, e = 0; r < M; r++)
            for (int64_t c = 0; c < N; c++, e++) {
                b->line[e] = line;
                if (VALID(r, c) && ++in_line == per_line) line++, in_line = 0;
            }
    else
        for (int64_t d = 0; d < M + N - 1; d++)
            for (int64_t r = min64(d, M - 1), lo = max64(0, d - N + 1); r >= lo; r--) {
                b->line[r * N + d - r] = line;
                if (VALID(r, d - r) && ++in_line == per_line) line++, in_line = 0;
            }
#undef VALID
    b->nlines = line + 1;
    if (op == IFMAP) list_occurrences(b, l, t->reads);
    int64_t active_words = (sram_words + 1) / 2, prefetch_words = sram_words - active_words;
    int64_t max_active = (active_words + per_line - 1) / per_line, max_prefetch = (prefetch_words + per_line - 1) / per_line;
    b->active = b->nlines < max_active ? b->nlines : max_active;
    b->prefetch = b->nlines - b->active < max_prefetch ? b->nlines - b->active : max_prefetch;
    int64_t fetch_rows = (n + bw - 1) / bw; /* the DRAM side counts whole lines, nulls included */
    int64_t fill_rows = (active_words + bw - 1) / bw, prefetch_rows = (prefetch_words + bw - 1) / bw;
    b->fill_words = (fill_rows < fetch_rows ? fill_rows : fetch_rows) * bw;
    b->prefetch_cycles = prefetch_rows;
    b->prefetch_words = prefetch_rows * bw;
}

/* How far line l is into the active window (circularly); in it when < active */
static int64_t ahead(const read_buffer *b, int64_t l) {
    int64_t d = l - b->start;
    return d < 0 ? d + b->nlines : d;
}

/* Whether element e's word is in the active window: in e's own line, or (an ifmap word) in the line
 * of another (pixel, tap) pair that reads it. */
static bool word_in_window(const read_buffer *b, int64_t e) {
    if (ahead(b, b->line[e]) < b->active) return true;
    if (b->op != IFMAP) return false; /* each filter word is in the matrix once */
    for (int32_t i = b->first[b->word[e]]; i < b->first[b->word[e] + 1]; i++)
        if (ahead(b, b->lines[i]) < b->active) return true;
    return false;
}

/* One demand row at cycle: elements e0 + k * de (k < n) of the prefetch matrix, consecutive in its
 * prefetch order (the order follows the demand), so their own lines rise from line[e0]. Returns the
 * row's wait (SCALE-Sim's read stall, may be negative). When all those lines are in the window the
 * row hits at once; else, element by element, an element's own line in the window is a hit, and
 * failing that another line holding its word may be. */
static int64_t read_row(read_buffer *b, int64_t e0, int64_t de, int64_t n, int64_t cycle) {
    if (n == 0) return 0;
    int64_t first = ahead(b, b->line[e0]), last = ahead(b, b->line[e0 + (n - 1) * de]);
    if (first <= last && last < b->active) return 0;
    int64_t offset = 1;
    for (int64_t k = 0, e = e0; k < n; k++, e += de) {
        if (b->op == IFMAP && b->word[e] < 0) continue; /* a window past the input: a null demand */
        while (!word_in_window(b, e)) {
            if (b->prefetch == 0) return offset - 1; /* everything is in already: cannot happen */
            b->start = (b->start + b->prefetch) % b->nlines;
            b->dram_words += b->prefetch_words;
            b->last_done += b->prefetch_cycles + 1;
            offset += b->last_done - (cycle + offset);
        }
    }
    return offset - 1;
}

/* The ofmap's write buffer: words queue in lines of bw; the drain half goes out when more than half
 * of the buffer is taken. A drain closes the open line even if partial: those partial lines (at most
 * one per drain) are remembered, in order, with their words; every other line holds bw words, so the
 * lines closed so far are settled (up to the last partial one) + fresh / bw. */
typedef struct {
    int64_t total, active, drain_lines, bw;
    int64_t free;                /* free words */
    int64_t settled, fresh;      /* lines up to the last partial one; words queued since */
    int64_t drained;             /* lines drained */
    int64_t *partial, *partial_words, npartial, first_partial, cap;
    int64_t drain_end;
    int64_t dram_words;
} write_buffer;

static hn_status close_partial(write_buffer *w) {
    if (w->npartial == w->cap) {
        int64_t cap = w->cap ? 2 * w->cap : 64;
        int64_t *l = hn_alloc(sizeof(int64_t) * (size_t)cap), *n = hn_alloc(sizeof(int64_t) * (size_t)cap);
        if (!l || !n) {
            hn_free(l), hn_free(n);
            return hn_error(HN_ERR_NOMEM, "systolic memory: %lld write lines", (long long)cap);
        }
        if (w->npartial) {
            memcpy(l, w->partial, sizeof(int64_t) * (size_t)w->npartial);
            memcpy(n, w->partial_words, sizeof(int64_t) * (size_t)w->npartial);
        }
        hn_free(w->partial), hn_free(w->partial_words);
        w->partial = l, w->partial_words = n, w->cap = cap;
    }
    int64_t lines = w->settled + w->fresh / w->bw;
    w->partial[w->npartial] = lines, w->partial_words[w->npartial++] = w->fresh % w->bw;
    w->settled = lines + 1, w->fresh = 0;
    return HN_OK;
}

/* Drains from cycle start; returns the cycle it ends. SCALE-Sim counts whole lines but the last one's
 * empty slots, and frees that many words. */
static int64_t drain(write_buffer *w, int64_t start) {
    const int64_t lines = w->settled + w->fresh / w->bw; /* closed lines so far */
    int64_t end = min64(w->drained + w->drain_lines, lines);
    int64_t n = end - w->drained, last = w->bw;
    if (n <= 0) return start;
    while (w->first_partial < w->npartial && w->partial[w->first_partial] < end - 1) w->first_partial++;
    if (w->first_partial < w->npartial && w->partial[w->first_partial] == end - 1) last = w->partial_words[w->first_partial];
    int64_t words = n * w->bw - (w->bw - last);
    w->dram_words += words, w->free += words, w->drained = end;
    return start + n - 1;
}

/* k words queue without crossing a threshold */
static void queue_words(write_buffer *w, int64_t k) {
    w->free -= k;
    w->fresh += k;
}

/* One row of n output words at cycle; *wait: how long the row waits for the buffer. Word by word
 * SCALE-Sim checks, after queueing each, whether a drain is running (the row waits for its end if
 * the buffer is full) or else whether one must start (more than half full): the words in between
 * queue in one step. */
static hn_status write_row(write_buffer *w, int64_t n, int64_t cycle, int64_t *wait) {
    int64_t now = cycle;
    hn_status st = HN_OK;
    while (n > 0 && !st) {
        if (now < w->drain_end) {
            int64_t m = w->free - n > 0 ? n : (w->free > 0 ? w->free : 1); /* the m-th fills it */
            queue_words(w, m), n -= m;
            if (w->free <= 0) now = w->drain_end;
        } else {
            int64_t m = w->free - n >= w->active ? n : (w->free >= w->active ? w->free - w->active + 1 : 1);
            queue_words(w, m), n -= m;
            if (w->free < w->active) {
                if (w->fresh % w->bw) st = close_partial(w);
                w->drain_end = drain(w, now);
            }
        }
    }
    *wait = now - cycle;
    return st;
}

static hn_status write_finish(write_buffer *w, int64_t cycle) {
    hn_status st = w->fresh % w->bw ? close_partial(w) : HN_OK;
    while (!st && w->drained < w->settled + w->fresh / w->bw) cycle = drain(w, cycle) + 1;
    return st;
}

/* ---- Quiet rows: most rows hit in all the windows and queue their outputs below every threshold.
 * Such a run of rows changes nothing but the row count and the queued words, so it is found by
 * search and taken in one step; only the rows around a prefetch or a drain are replayed one by one. */

/* How many rows from t (at most cap) need no replay for read operand b: rows without demands, and,
 * from a row t that hits at once, the rows whose lines stay within the window's span ahead of t's
 * first line (lines only grow along a fold's stream, so this is a threshold: galloping, then
 * bisection). A tile (R rows) is checked row by row. */
static int64_t quiet_reads(const read_buffer *b, const fold_demands *d, int64_t t, int64_t cap) {
    int64_t e0, de, n;
    if (d->tile) {
        int64_t k = 0;
        for (; k < cap && t + k < d->rows; k++)
            if ((n = row_demands(d, t + k, &e0, &de)) > 0) {
                int64_t first = ahead(b, b->line[e0]), last = ahead(b, b->line[e0 + (n - 1) * de]);
                if (!(first <= last && last < b->active)) return k;
            }
        return t + k >= d->rows ? cap : k;
    }
    const int64_t lo = d->lead, hi = d->lead + d->len + d->jmax - 1; /* rows with demands */
    if (d->jmax < 0 || t > hi) return cap;
    if (t < lo) return min64(cap, lo - t);
    n = row_demands(d, t, &e0, &de);
    int64_t first = ahead(b, b->line[e0]), last = ahead(b, b->line[e0 + (n - 1) * de]);
    if (!(first <= last && last < b->active)) return 0;
    const int64_t bound = b->line[e0] + (b->active - first); /* lines below it are in the window */
    /* rows t .. t + k - 1 are quiet: gallop, then bisect for the first row (<= hi) whose last line is not below bound */
    int64_t good = 1, step = 1, bad = -1;
    while (bad < 0) {
        int64_t probe = good + step - 1; /* offset from t */
        if (t + probe > hi) {
            probe = hi - t;
            if (probe < good) return cap; /* every demand row from t on is quiet */
        }
        n = row_demands(d, t + probe, &e0, &de);
        if (b->line[e0 + (n - 1) * de] < bound) {
            good = probe + 1;
            if (t + probe == hi) return cap;
            step *= 2;
        } else bad = probe;
    }
    while (good < bad) { /* rows before t + good are quiet, row t + bad is not */
        int64_t mid = good + (bad - good) / 2;
        n = row_demands(d, t + mid, &e0, &de);
        if (b->line[e0 + (n - 1) * de] < bound) good = mid + 1;
        else bad = mid;
    }
    return min64(cap, good);
}

/* The ofmap words of rows [0, t) of stream d (each row t holds n(t) = min(jmax, y) - max(0, y - len + 1)
 * + 1 words, y = t - lead, where positive): sums of clamped ramps in closed form */
static int64_t ofmap_words_before(const fold_demands *d, int64_t t) {
    if (d->jmax < 0) return 0;
    const int64_t y = min64(max64(t - d->lead, 0), d->len + d->jmax), j = d->jmax, l = d->len;
    int64_t ramp = y <= j + 1 ? y * (y - 1) / 2 : j * (j + 1) / 2 + (y - j - 1) * j; /* sum of min(j, z), z < y */
    int64_t tail = y > l ? (y - l) * (y - l + 1) / 2 : 0;                         /* sum of max(0, z - l + 1) */
    return ramp - tail + y;
}

/* How many rows from t (at most cap, row t at cycle) queue their outputs without starting a drain or
 * filling the buffer during one: while a drain runs (until drain_end) the buffer must not fill, after
 * it it must stay at most half full. Both only tighten as rows go by: bisection. */
static int64_t quiet_writes(const write_buffer *w, const fold_demands *d, int64_t t, int64_t cycle, int64_t cap) {
    const int64_t before = ofmap_words_before(d, t);
    int64_t good = 0, bad = cap + 1; /* rows t .. t + good - 1 are quiet; t + bad - 1 is not (or past cap) */
    while (bad - good > 1) {
        int64_t k = good + (bad - good) / 2; /* are the first k rows quiet? their last is row t + k - 1 */
        int64_t left = w->free - (ofmap_words_before(d, t + k) - before);
        bool ok = cycle + k - 1 < w->drain_end ? left > 0 : left >= w->active;
        if (ok) good = k;
        else bad = k;
    }
    return good;
}

/* ---- CALC's unlimited bandwidth: SCALE-Sim's bandwidth-estimating read buffers never stall; their
 * DRAM reads depend only on the order of the demands. Each buffer of S words gathers the words it
 * misses into sets of floor(S / 100); a word hits while it was gathered since the last time 50 sets
 * were complete (the active half), when the buffer starts afresh. DRAM reads: the words gathered. */

typedef struct {
    int64_t left;     /* words still to gather before the buffer starts afresh */
    int64_t group_words, gathered;
    int32_t group;
    int32_t *stamp;   /* per word: the group it was last gathered in, -1 never */
} estimate_buffer;

static inline void gather(estimate_buffer *e, int64_t w) {
    if (e->stamp[w] == e->group) return;
    e->stamp[w] = e->group, e->gathered++;
    if (--e->left == 0) e->group++, e->left = e->group_words;
}

/* Row t of fold demands d of operand op, column by column, through buffer e */
static void estimate_row(const gemm *g, const prefetch_layout *pl, const fold_demands *d, int op, const ifmap_index *x,
                         int64_t t, estimate_buffer *e) {
    int64_t j0, j1, i0, di; /* columns j0..j1; inner index i0 + (j - j0) * di */
    if (d->tile) {
        if (t >= d->rows || d->top - t >= d->limit) return;
        j0 = 0, j1 = d->jmax, i0 = d->top - t, di = 0;
    } else {
        j0 = max64(0, t - d->lead - d->len + 1), j1 = min64(d->jmax, t - d->lead);
        i0 = t - d->lead - j0, di = -1;
    }
    const int64_t v0 = d->base / pl->rows * pl->N; /* the block's first outer value */
    for (int64_t j = j0, i = i0; j <= j1; j++, i += di) {
        const int64_t v = v0 + j;
        if (op == FILTER) {
            gather(e, pl->v_is_pixel_or_filter ? v * g->W + i : i * g->W + v);
            continue;
        }
        const int64_t word = pl->v_is_pixel_or_filter ? ifmap_word(g, x, v, i) : ifmap_word(g, x, i, v);
        if (word >= 0) gather(e, word);
    }
}

/* The ifmap words some window reads: the input rows and columns a window covers, times the channels */
static int64_t ifmap_words_read(const gemm *g, const hn_systolic_layer *l) {
    int64_t rows = 0, cols = 0;
    for (int64_t y = 0; y < l->ifmap_h; y++) {
        bool read = false;
        for (int64_t t = 0; t < l->filter_h && !read; t++) read = y >= t && (y - t) % g->stride == 0 && (y - t) / g->stride < g->oh;
        rows += read;
    }
    for (int64_t x = 0; x < l->ifmap_w; x++) {
        bool read = false;
        for (int64_t t = 0; t < l->filter_w && !read; t++) read = x >= t && (x - t) % g->stride == 0 && (x - t) / g->stride < g->ow;
        cols += read;
    }
    return rows * cols * l->channels;
}

/* CALC's DRAM reads of both operands. An operand whose words number fewer than its 50 sets hold is
 * never started afresh: it reads each word once, with no replay (most layers on SRAMs of tens of KB). */
static hn_status estimate_reads(const gemm *g, const hn_systolic_layer *l, int64_t in_words, int64_t fl_words,
                                int64_t *dram_in, int64_t *dram_fl) {
    const int64_t read_in = ifmap_words_read(g, l), read_fl = g->W * g->F;
    const int64_t group_in = 50 * (in_words / 100), group_fl = 50 * (fl_words / 100);
    const bool replay[2] = {read_in >= group_in, read_fl >= group_fl};
    *dram_in = read_in, *dram_fl = read_fl;
    if (!replay[0] && !replay[1]) return HN_OK;
    const int64_t words[2] = {(int64_t)l->ifmap_h * l->ifmap_w * l->channels, g->W * g->F};
    if (words[0] >= INT32_MAX || words[1] >= INT32_MAX)
        return hn_error(HN_ERR_INVALID, "systolic: a layer of %lld ifmap and %lld filter words is too large to simulate",
                        (long long)words[0], (long long)words[1]);
    const size_t bytes = (sizeof(int64_t) + 2 * sizeof(int32_t)) * (size_t)(g->P + g->W) +
                         sizeof(int32_t) * (size_t)(words[0] + words[1]);
    int64_t *block = hn_alloc(bytes);
    if (!block) return hn_error(HN_ERR_NOMEM, "systolic: tables of %zu bytes", bytes);
    ifmap_index x = {.pixel = block, .tap = block + g->P};
    x.py = (int32_t *)(void *)(x.tap + g->W), x.px = x.py + g->P, x.ty = x.px + g->P, x.tx = x.ty + g->W;
    ifmap_index_fill(g, &x);
    estimate_buffer b[2] = {{.left = group_in, .group_words = group_in, .stamp = x.tx + g->W},
                            {.left = group_fl, .group_words = group_fl, .stamp = x.tx + g->W + words[0]}};
    memset(b[0].stamp, 0xff, sizeof(int32_t) * (size_t)(words[0] + words[1]));
    const prefetch_layout pl[2] = {prefetch_shape(g, IFMAP), prefetch_shape(g, FILTER)};
    for (int64_t fc = 0; fc < g->cf; fc++)
        for (int64_t fr = 0; fr < g->rf; fr++)
            for (int op = 0; op < 2; op++) {
                if (!replay[op]) continue;
                const fold_demands d = read_fold(g, op, fr, fc);
                for (int64_t t = 0; t < g->fold; t++) estimate_row(g, &pl[op], &d, op, &x, t, &b[op]);
            }
    if (replay[0]) *dram_in = b[0].gathered;
    if (replay[1]) *dram_fl = b[1].gathered;
    hn_free(block);
    return HN_OK;
}

hn_status hn_systolic_memory(const hn_systolic *a, const hn_systolic_layer *l, hn_systolic_result *r) {
    const bool estimate = !(a->bandwidth > 0); /* CALC: reads never stall, the ofmap drains cols words a cycle */
    const int64_t bw = estimate ? a->cols : a->bandwidth < 1.5 ? 1 : (int64_t)(a->bandwidth + 0.5); /* whole words */
    const double words_per_kb = 1024.0 / (a->word_bytes > 0 ? a->word_bytes : 1);
    gemm g;
    gemm_init(&g, a, l);
    read_buffer in = {0}, fl = {0};
    write_buffer out = {.total = (int64_t)(a->ofmap_sram_kb * words_per_kb), .bw = bw};
    out.active = (out.total + 1) / 2, out.free = out.total;
    out.drain_lines = max64(1, (out.total - out.active + bw - 1) / bw); /* a one-word buffer still drains */
    const int64_t in_words = (int64_t)(a->ifmap_sram_kb * words_per_kb), fl_words = (int64_t)(a->filter_sram_kb * words_per_kb);
    if (estimate && (in_words < 100 || fl_words < 100)) /* SCALE-Sim's sets of S / 100 words would be empty */
        return hn_error(HN_ERR_INVALID,
                        "systolic: the %s SRAM holds %lld words; SCALE-Sim's bandwidth estimate (CALC) needs at least 100 "
                        "(give it a larger size, or a user-set bandwidth)",
                        in_words < 100 ? "ifmap" : "filter", (long long)(in_words < 100 ? in_words : fl_words));
    if (in_words < 2 || fl_words < 2) /* SCALE-Sim would wait forever for a prefetch that has no room */
        return hn_error(HN_ERR_INVALID,
                        "systolic: the %s SRAM holds %lld word(s); double buffering under a limited bandwidth needs at "
                        "least 2 (give it a larger size)",
                        in_words < 2 ? "ifmap" : "filter", (long long)(in_words < 2 ? in_words : fl_words));
    replay_tables tables = {0};
    hn_status st = estimate ? estimate_reads(&g, l, in_words, fl_words, &in.dram_words, &fl.dram_words)
                            : replay_tables_alloc(&tables, &g, l);
    if (st) return st;
    if (!estimate) {
        read_buffer_init(&in, &g, l, IFMAP, in_words, bw, &tables);
        read_buffer_init(&fl, &g, l, FILTER, fl_words, bw, &tables);
        /* the first demand row (cycle 0) fills both active halves, done just before it */
        in.dram_words = in.fill_words, fl.dram_words = fl.fill_words, in.last_done = fl.last_done = -1;
    }
    int64_t stalls = 0, i = 0, end = 0;
    for (int64_t fc = 0; fc < g.cf && !st; fc++)
        for (int64_t fr = 0; fr < g.rf && !st; fr++) {
            const fold_demands di = read_fold(&g, IFMAP, fr, fc), df = read_fold(&g, FILTER, fr, fc), dof = ofmap_fold(&g, fr, fc);
            for (int64_t t = 0; t < g.fold && !st;) {
                const int64_t cycle = i + stalls;
                int64_t q = estimate ? g.fold - t : quiet_reads(&in, &di, t, g.fold - t);
                if (q > 0 && !estimate) q = quiet_reads(&fl, &df, t, q);
                if (q > 0) q = quiet_writes(&out, &dof, t, cycle, q);
                if (q > 0) { /* q rows without a wait */
                    queue_words(&out, ofmap_words_before(&dof, t + q) - ofmap_words_before(&dof, t));
                    i += q, t += q, end = cycle + q - 1;
                    continue;
                }
                int64_t e0 = 0, de = 1, worst = 0, wait, n;
                if (!estimate) {
                    n = row_demands(&di, t, &e0, &de);
                    worst = read_row(&in, e0, de, n, cycle);
                    n = row_demands(&df, t, &e0, &de);
                    if ((wait = read_row(&fl, e0, de, n, cycle)) > worst) worst = wait;
                }
                st = write_row(&out, row_demands(&dof, t, &e0, &de), cycle, &wait);
                if (wait > worst) worst = wait;
                end = cycle + wait;
                stalls += worst;
                i++, t++;
            }
        }
    if (!st) st = write_finish(&out, end);
    if (!st) {
        r->dram_ifmap_reads = in.dram_words;
        r->dram_filter_reads = fl.dram_words;
        r->dram_ofmap_writes = out.dram_words;
        r->total_cycles = end;
        r->stall_cycles = stalls;
    }
    hn_free(out.partial), hn_free(out.partial_words), hn_free(tables.block);
    return st;
}
