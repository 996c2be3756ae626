/* Pareto utilities (include/hwnas/search.h): non-dominated sorting with constraint-domination,
 * crowding distance (Deb et al., IEEE TEC 2002), and the exact hypervolume in 2 and 3 dimensions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hwnas/search.h"

/* a constraint-dominates b: feasible beats infeasible, less violation beats more, and between
 * feasible points Pareto dominance (no worse in every objective, better in one) */
static bool dominates(const double *a, double va, const double *b, double vb, int m) {
    if ((va > 0) != (vb > 0)) return va <= 0;
    if (va > 0) return va < vb;
    bool better = false;
    for (int k = 0; k < m; k++) {
        if (a[k] > b[k]) return false;
        better |= a[k] < b[k];
    }
    return better;
}

int hn_pareto_rank(const double *points, const double *violation, int n, int m, int *rank) {
    /* O(m n^2): count for each point how many dominate it, then peel fronts */
    int *count = hn_calloc(sizeof(int) * (size_t)n), *front = hn_alloc(sizeof(int) * (size_t)n);
    if (!count || !front) {
        hn_free(count), hn_free(front);
        return -1;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j && dominates(points + (size_t)j * m, violation ? violation[j] : 0, points + (size_t)i * m,
                                    violation ? violation[i] : 0, m))
                count[i]++;
    int nf = 0, done = 0;
    while (done < n) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (count[i] == 0) front[k++] = i, count[i] = -1, rank[i] = nf;
        for (int a = 0; a < k; a++)
            for (int j = 0; j < n; j++)
                if (count[j] > 0 && dominates(points + (size_t)front[a] * m, violation ? violation[front[a]] : 0,
                                              points + (size_t)j * m, violation ? violation[j] : 0, m))
                    count[j]--;
        done += k;
        nf++;
    }
    hn_free(count);
    hn_free(front);
    return nf;
}

static _Thread_local const double *sort_pts; /* qsort has no context argument in C11 */
static _Thread_local int sort_dim, sort_m;
static int by_dim(const void *a, const void *b) {
    double x = sort_pts[(size_t)*(const int *)a * sort_m + sort_dim], y = sort_pts[(size_t)*(const int *)b * sort_m + sort_dim];
    return (x > y) - (x < y);
}

void hn_pareto_crowding(const double *points, int m, const int *idx, int k, double *dist) {
    for (int i = 0; i < k; i++) dist[i] = 0;
    if (k <= 2) {
        for (int i = 0; i < k; i++) dist[i] = INFINITY;
        return;
    }
    int *order = hn_alloc(sizeof(int) * (size_t)k), *pos = hn_alloc(sizeof(int) * (size_t)k);
    if (!order || !pos) { /* without scratch every point counts as a boundary one */
        for (int i = 0; i < k; i++) dist[i] = INFINITY;
        hn_free(order), hn_free(pos);
        return;
    }
    for (int d = 0; d < m; d++) {
        for (int i = 0; i < k; i++) order[i] = idx[i];
        sort_pts = points, sort_dim = d, sort_m = m;
        qsort(order, (size_t)k, sizeof(int), by_dim);
        for (int i = 0; i < k; i++) /* position of each sorted point in idx */
            for (int j = 0; j < k; j++)
                if (idx[j] == order[i]) pos[i] = j;
        double lo = points[(size_t)order[0] * m + d], hi = points[(size_t)order[k - 1] * m + d];
        dist[pos[0]] = dist[pos[k - 1]] = INFINITY;
        if (hi <= lo) continue;
        for (int i = 1; i < k - 1; i++)
            dist[pos[i]] += (points[(size_t)order[i + 1] * m + d] - points[(size_t)order[i - 1] * m + d]) / (hi - lo);
    }
    hn_free(order);
    hn_free(pos);
}

/* 2-D hypervolume of points p[0..n) (x, y pairs, all inside the reference box), by a sweep in x */
static double hv2(double *p, int n, const double *ref) {
    sort_pts = p, sort_dim = 0, sort_m = 2;
    int *order = hn_alloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!order) return NAN;
    for (int i = 0; i < n; i++) order[i] = i;
    qsort(order, (size_t)n, sizeof(int), by_dim);
    /* strips [x_i, x_next) x [y_i, ref_y) over the staircase of points that lower y */
    double hv = 0, ymin = ref[1], xprev = 0, yprev = 0;
    bool have = false;
    for (int i = 0; i < n; i++) {
        double x = p[2 * order[i]], y = p[2 * order[i] + 1];
        if (y >= ymin) continue;
        if (have) hv += (x - xprev) * (ref[1] - yprev);
        xprev = x, yprev = y, ymin = y, have = true;
    }
    if (have) hv += (ref[0] - xprev) * (ref[1] - yprev);
    hn_free(order);
    return hv;
}

hn_status hn_hypervolume(const double *points, int n, int m, const double *ref, double *hv) {
    if (m < 2 || m > 3) return hn_error(HN_ERR_INVALID, "hypervolume of %d objectives: exact only for 2 or 3", m);
    double *p = hn_alloc(sizeof(double) * (size_t)(n ? n : 1) * (size_t)m), *slab = hn_alloc(sizeof(double) * 2 * (size_t)(n ? n : 1));
    if (!p || !slab) {
        hn_free(p), hn_free(slab);
        return hn_error_prefix(HN_ERR_NOMEM, "hypervolume of %d points", n);
    }
    int k = 0; /* the points strictly inside the reference box */
    for (int i = 0; i < n; i++) {
        bool in = true;
        for (int d = 0; d < m; d++) in &= points[(size_t)i * m + d] < ref[d];
        if (in) memcpy(p + (size_t)k++ * m, points + (size_t)i * m, sizeof(double) * (size_t)m);
    }
    if (m == 2) {
        *hv = hv2(p, k, ref);
    } else { /* slice along z: between consecutive z values the section is the 2-D volume of the points below */
        sort_pts = p, sort_dim = 2, sort_m = 3;
        int *order = hn_alloc(sizeof(int) * (size_t)(k ? k : 1));
        if (!order) {
            hn_free(p), hn_free(slab);
            return hn_error_prefix(HN_ERR_NOMEM, "hypervolume of %d points", n);
        }
        for (int i = 0; i < k; i++) order[i] = i;
        qsort(order, (size_t)k, sizeof(int), by_dim);
        double total = 0;
        for (int i = 0; i < k; i++) {
            double z = p[(size_t)order[i] * 3 + 2], znext = i + 1 < k ? p[(size_t)order[i + 1] * 3 + 2] : ref[2];
            if (znext <= z) continue;
            for (int j = 0; j <= i; j++) slab[2 * j] = p[(size_t)order[j] * 3], slab[2 * j + 1] = p[(size_t)order[j] * 3 + 1];
            total += hv2(slab, i + 1, ref) * (znext - z);
        }
        hn_free(order);
        *hv = total;
    }
    hn_free(p);
    hn_free(slab);
    return isnan(*hv) ? hn_error_prefix(HN_ERR_NOMEM, "hypervolume of %d points", n) : HN_OK;
}
