/* backends/dpdk/fib.h: a compact IPv4 longest-prefix-match table, one per
 * router (VRF) of hadron-dpdk.
 *
 * DPDK's rte_lpm and rte_fib (DIR-24-8) answer a lookup with one or two
 * memory reads, but each table is a 2^24-entry tbl24: 64 MiB per router,
 * so a dataplane started with -m 256 held two routers.  This table is a
 * 16-8-8 multibit trie, the layout of VPP's ip4 mtrie: a 2^16-entry root
 * (256 KiB) indexed by the top 16 bits of the address, and 256-entry plies
 * (1 KiB) for the next 8 and the last 8 bits, allocated only under prefixes
 * longer than /16 and /24.  A lookup is one to three reads; a router with
 * a few interfaces (each a connected prefix and a /32 local address) takes
 * about 260 KiB, so hundreds of routers fit in the default memory.
 *
 * The table is built from the whole rule set at once (dp_fib_build()): the
 * dataplane already keeps each router's rules, and routers change rarely
 * and have few rules, so a rebuild (rewriting the root, ~30 us) is simpler
 * and as fast as incremental updates in practice.  Depth 0 (a default
 * route) is an ordinary rule here.
 *
 * Threading: like the rest of the dataplane, a table is used by one lcore;
 * builds happen between bursts. */
#ifndef HADRON_DPDK_FIB_H
#define HADRON_DPDK_FIB_H 1

#include <stddef.h>
#include <stdint.h>

struct dp_fib;

#define DP_FIB_VALUE_MAX 0x00ffffffu    /* largest value a rule may carry */
#define DP_FIB_MISS UINT32_MAX          /* lookup result without a match */

/* One rule: 'prefix'/'plen' (host byte order; bits beyond 'plen' are
 * ignored) maps to 'value' (at most DP_FIB_VALUE_MAX). */
struct dp_fib_rule {
    uint32_t prefix;
    uint8_t plen;               /* 0..32 */
    uint32_t value;
};

/* Creates an empty table (every lookup misses) on NUMA socket 'socket'
 * (SOCKET_ID_ANY for any).  Must be called after rte_eal_init().  Returns
 * NULL if out of memory. */
struct dp_fib *dp_fib_create(int socket);

/* Frees 'fib'.  Accepts NULL. */
void dp_fib_destroy(struct dp_fib *fib);

/* Replaces the content of 'fib' with 'rules[0..n)'.  Rules with the same
 * prefix and length must not appear twice (which one wins is undefined).
 * Returns 0, EINVAL for a bad rule, or ENOMEM; on error the table is
 * unchanged.  A build that needs no more plies than the table has
 * allocated so far never fails with ENOMEM. */
int dp_fib_build(struct dp_fib *fib, const struct dp_fib_rule *rules,
                 size_t n);

/* Looks up 'n' addresses (host byte order): 'values[i]' receives the value
 * of the longest rule matching 'ips[i]', or DP_FIB_MISS. */
void dp_fib_lookup_bulk(const struct dp_fib *fib, const uint32_t *ips,
                        uint32_t *values, unsigned int n);

/* One address. */
uint32_t dp_fib_lookup(const struct dp_fib *fib, uint32_t ip);

/* Bytes the table holds (root and plies). */
size_t dp_fib_memory(const struct dp_fib *fib);

#endif /* backends/dpdk/fib.h */
