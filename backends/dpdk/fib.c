/* backends/dpdk/fib.c: see fib.h.
 *
 * Entries (root and plies alike) are 32-bit words:
 *   0                  no route
 *   LEAF | value       a route's value (24 bits)
 *   PLY | index        the next level is ply 'index' of 'plies'
 * A build sorts the rules by prefix length and paints them shortest first,
 * so a longer prefix overwrites the shorter ones it lies in; a ply is
 * created holding the entry it replaces, so it inherits what the shorter
 * prefixes painted there. */
#include "backends/dpdk/fib.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#define ROOT_BITS 16
#define ROOT_SIZE (1u << ROOT_BITS)
#define PLY_SIZE 256u
#define E_LEAF 0x80000000u
#define E_PLY 0x40000000u
#define E_DATA 0x00ffffffu

struct dp_fib {
    uint32_t *root;             /* [ROOT_SIZE] */
    uint32_t *plies;            /* [n_plies_max * PLY_SIZE] */
    uint32_t n_plies_max;       /* plies allocated */
    int socket;
};

struct dp_fib *
dp_fib_create(int socket)
{
    struct dp_fib *fib = rte_zmalloc_socket("dp_fib", sizeof *fib, 0, socket);

    if (!fib) {
        return NULL;
    }
    fib->socket = socket;
    fib->root = rte_zmalloc_socket("dp_fib_root",
                                   ROOT_SIZE * sizeof *fib->root,
                                   RTE_CACHE_LINE_SIZE, socket);
    if (!fib->root) {
        rte_free(fib);
        return NULL;
    }
    return fib;
}

void
dp_fib_destroy(struct dp_fib *fib)
{
    if (fib) {
        rte_free(fib->root);
        rte_free(fib->plies);
        rte_free(fib);
    }
}

static inline uint32_t
mask_of(uint8_t plen)
{
    return plen ? UINT32_MAX << (32 - plen) : 0;
}

static int
by_plen(const void *a_, const void *b_)
{
    const struct dp_fib_rule *a = *(const struct dp_fib_rule *const *) a_;
    const struct dp_fib_rule *b = *(const struct dp_fib_rule *const *) b_;

    return (int) a->plen - (int) b->plen;
}

static int
by_u32(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;

    return a < b ? -1 : a > b;
}

/* Distinct values among 'v[0..n)' (sorts 'v'). */
static size_t
count_distinct(uint32_t *v, size_t n)
{
    size_t d = 0;

    qsort(v, n, sizeof *v, by_u32);
    for (size_t i = 0; i < n; i++) {
        if (!i || v[i] != v[i - 1]) {
            d++;
        }
    }
    return d;
}

/* The number of plies 'rules' need: one per /16 holding a rule longer
 * than /16, one per /24 holding a rule longer than /24. */
static int
plies_needed(const struct dp_fib_rule *rules, size_t n, size_t *needed)
{
    uint32_t *k16 = malloc(sizeof *k16 * (n ? n : 1));
    uint32_t *k24 = malloc(sizeof *k24 * (n ? n : 1));
    size_t n16 = 0, n24 = 0;

    if (!k16 || !k24) {
        free(k16);
        free(k24);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (rules[i].plen > 16) {
            k16[n16++] = rules[i].prefix >> 16;
        }
        if (rules[i].plen > 24) {
            k24[n24++] = rules[i].prefix >> 8;
        }
    }
    *needed = count_distinct(k16, n16) + count_distinct(k24, n24);
    free(k16);
    free(k24);
    return 0;
}

/* Returns the ply under '*entry', creating it (inheriting '*entry') from
 * '*next_ply' if it is not one yet. */
static uint32_t *
ply_get(struct dp_fib *fib, uint32_t *entry, uint32_t *next_ply)
{
    if (!(*entry & E_PLY)) {
        uint32_t idx = (*next_ply)++;
        uint32_t *ply = &fib->plies[(size_t) idx * PLY_SIZE];
        for (uint32_t i = 0; i < PLY_SIZE; i++) {
            ply[i] = *entry;
        }
        *entry = E_PLY | idx;
    }
    return &fib->plies[(size_t) (*entry & E_DATA) * PLY_SIZE];
}

int
dp_fib_build(struct dp_fib *fib, const struct dp_fib_rule *rules, size_t n)
{
    const struct dp_fib_rule **sorted = NULL;
    size_t needed;
    int error;

    for (size_t i = 0; i < n; i++) {
        if (rules[i].plen > 32 || rules[i].value > DP_FIB_VALUE_MAX) {
            return EINVAL;
        }
    }
    error = plies_needed(rules, n, &needed);
    if (error) {
        return error;
    }
    if (needed > E_DATA) {
        return ENOMEM;
    }
    sorted = malloc(sizeof *sorted * (n ? n : 1));
    if (!sorted) {
        return ENOMEM;
    }
    if (needed > fib->n_plies_max) {
        /* Grow, with room for a few more, before touching anything. */
        size_t cap = needed + needed / 2 + 4;
        uint32_t *plies = rte_malloc_socket("dp_fib_plies",
                                            cap * PLY_SIZE * sizeof *plies,
                                            RTE_CACHE_LINE_SIZE, fib->socket);
        if (!plies) {
            free(sorted);
            return ENOMEM;
        }
        rte_free(fib->plies);
        fib->plies = plies;
        fib->n_plies_max = cap;
    }

    for (size_t i = 0; i < n; i++) {
        sorted[i] = &rules[i];
    }
    qsort(sorted, n, sizeof *sorted, by_plen);

    memset(fib->root, 0, ROOT_SIZE * sizeof *fib->root);
    uint32_t next_ply = 0;
    for (size_t i = 0; i < n; i++) {
        const struct dp_fib_rule *r = sorted[i];
        uint32_t prefix = r->prefix & mask_of(r->plen);
        uint32_t leaf = E_LEAF | r->value;

        if (r->plen <= 16) {
            uint32_t first = prefix >> 16, count = 1u << (16 - r->plen);
            for (uint32_t k = 0; k < count; k++) {
                fib->root[first + k] = leaf;
            }
            continue;
        }
        uint32_t *l2 = ply_get(fib, &fib->root[prefix >> 16], &next_ply);
        uint32_t i2 = (prefix >> 8) & 0xff;
        if (r->plen <= 24) {
            uint32_t count = 1u << (24 - r->plen);
            for (uint32_t k = 0; k < count; k++) {
                l2[i2 + k] = leaf;
            }
            continue;
        }
        uint32_t *l3 = ply_get(fib, &l2[i2], &next_ply);
        uint32_t i3 = prefix & 0xff, count = 1u << (32 - r->plen);
        for (uint32_t k = 0; k < count; k++) {
            l3[i3 + k] = leaf;
        }
    }
    free(sorted);
    return 0;
}

static inline uint32_t
lookup(const struct dp_fib *fib, uint32_t ip)
{
    uint32_t e = fib->root[ip >> 16];

    if (e & E_PLY) {
        e = fib->plies[(size_t) (e & E_DATA) * PLY_SIZE + ((ip >> 8) & 0xff)];
        if (e & E_PLY) {
            e = fib->plies[(size_t) (e & E_DATA) * PLY_SIZE + (ip & 0xff)];
        }
    }
    return e & E_LEAF ? e & E_DATA : DP_FIB_MISS;
}

uint32_t
dp_fib_lookup(const struct dp_fib *fib, uint32_t ip)
{
    return lookup(fib, ip);
}

void
dp_fib_lookup_bulk(const struct dp_fib *fib, const uint32_t *ips,
                   uint32_t *values, unsigned int n)
{
    for (unsigned int i = 0; i < n && i < 8; i++) {
        rte_prefetch0(&fib->root[ips[i] >> 16]);
    }
    for (unsigned int i = 0; i < n; i++) {
        if (i + 8 < n) {
            rte_prefetch0(&fib->root[ips[i + 8] >> 16]);
        }
        values[i] = lookup(fib, ips[i]);
    }
}

size_t
dp_fib_memory(const struct dp_fib *fib)
{
    return sizeof *fib + ROOT_SIZE * sizeof *fib->root
           + (size_t) fib->n_plies_max * PLY_SIZE * sizeof *fib->plies;
}
