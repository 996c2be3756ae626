/* The allocator every library allocation goes through (with a fault-injection hook for tests), and
 * the arena that owns a graph's memory. */
#include "hwnas/core.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown; /* 0: never fail; k > 0: the k-th allocation from now fails, and later ones */
static int failing;

void hn_alloc_fail_after(long n) {
    fail_countdown = n;
    failing = 0;
}

void *hn_alloc(size_t bytes) {
    if (fail_countdown > 0 && !failing && --fail_countdown == 0) failing = 1;
    if (failing) {
        hn_error(HN_ERR_NOMEM, "out of memory allocating %zu bytes (injected)", bytes);
        return NULL;
    }
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded == 0) rounded = 64;
    if (posix_memalign(&p, 64, rounded) != 0) {
        hn_error(HN_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    return p;
}

void *hn_calloc(size_t bytes) {
    void *p = hn_alloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void hn_free(void *p) { free(p); }

/* The arena is a singly linked list of blocks; a request larger than the default block size gets a
 * block of its own, so large parameter tensors are never split. */
typedef struct block {
    struct block *next;
    size_t size, used;
    /* data follows, 64-byte aligned */
} block;

struct hn_arena {
    block *head;
    size_t total;
};

enum { BLOCK_HEADER = 64, DEFAULT_BLOCK = 64 * 1024 };

hn_arena *hn_arena_new(void) { return hn_calloc(sizeof(hn_arena)); }

void *hn_arena_alloc(hn_arena *a, size_t bytes) {
    bytes = (bytes + 63) & ~(size_t)63;
    if (!a->head || a->head->size - a->head->used < bytes) {
        size_t size = bytes > DEFAULT_BLOCK ? bytes : DEFAULT_BLOCK;
        block *b = hn_alloc(BLOCK_HEADER + size);
        if (!b) return NULL;
        b->size = size;
        b->used = 0;
        if (a->head && bytes > DEFAULT_BLOCK) {
            /* keep the current partly used block on top for later small requests */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
        a->total += size;
        b->used = bytes;
        void *p = (char *)b + BLOCK_HEADER;
        memset(p, 0, bytes);
        return p;
    }
    void *p = (char *)a->head + BLOCK_HEADER + a->head->used;
    a->head->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *hn_arena_strdup(hn_arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = hn_arena_alloc(a, n);
    if (d) memcpy(d, s, n);
    return d;
}

size_t hn_arena_used(const hn_arena *a) { return a->total; }

void hn_arena_free(hn_arena *a) {
    if (!a) return;
    for (block *b = a->head; b;) {
        block *n = b->next;
        hn_free(b);
        b = n;
    }
    hn_free(a);
}
