/* Rank statistics and hashing (include/hwnas/core.h). */
#include <math.h>
#include <stdlib.h>

#include "hwnas/core.h"

/* ranks of x (1-based, ties averaged) into r; idx is scratch of n entries */
static _Thread_local const double *sort_key; /* qsort has no context argument in C11 */
static int by_key(const void *a, const void *b) {
    double x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
    return (x > y) - (x < y);
}

static void ranks(const double *x, int n, int *idx, double *r) {
    for (int i = 0; i < n; i++) idx[i] = i;
    sort_key = x;
    qsort(idx, (size_t)n, sizeof(int), by_key);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && x[idx[j + 1]] == x[idx[i]]) j++;
        for (int k = i; k <= j; k++) r[idx[k]] = (i + j) / 2.0 + 1;
        i = j + 1;
    }
}

double hn_spearman(const double *a, const double *b, int n) {
    if (n < 2) return NAN;
    double *ra = hn_alloc(sizeof(double) * 2 * (size_t)n);
    int *idx = hn_alloc(sizeof(int) * (size_t)n);
    double rho = NAN;
    if (ra && idx) {
        double *rb = ra + n;
        ranks(a, n, idx, ra);
        ranks(b, n, idx, rb);
        double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++) ma += ra[i], mb += rb[i];
        ma /= n, mb /= n;
        for (int i = 0; i < n; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        if (saa > 0 && sbb > 0) rho = sab / sqrt(saa * sbb);
    }
    hn_free(ra);
    hn_free(idx);
    return rho;
}

double hn_kendall(const double *a, const double *b, int n) {
    double concordant = 0, discordant = 0, untied_a = 0, untied_b = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double da = a[j] - a[i], db = b[j] - b[i];
            untied_a += da != 0, untied_b += db != 0;
            if (da * db > 0) concordant++;
            else if (da * db < 0) discordant++;
        }
    return untied_a > 0 && untied_b > 0 ? (concordant - discordant) / sqrt(untied_a * untied_b) : NAN;
}

uint64_t hn_hash(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}
