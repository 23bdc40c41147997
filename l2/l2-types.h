/* l2/l2-types.h: what networks, segments and type drivers share inside
 * l2/ (network.c, segment.c, types.c, type_*.c), and what
 * tests/unit/test_l2_types.c reaches.  Names end in "__": l2/ only.
 *
 * types.c owns the registry of type drivers and the wrappers that call
 * them, the [ml2] options every driver reads (MTUs), the parsers of the
 * range options and the allocation pools.
 *
 * An allocation pool is one table of segmentation ids (ml2_vlan_allocations
 * for one physical network, ml2_vxlan_allocations, ...).  A row says that
 * an id exists in the pool and whether it is allocated.  Ids are taken with
 * a compare-and-swap ("UPDATE ... SET allocated = 1 WHERE id = ? AND
 * allocated = 0", which must change exactly one row) on a row chosen at
 * random, so that servers sharing one database neither fight over the
 * lowest free id nor hand out one id twice.  An id outside the configured
 * ranges (a provider segment) gets a row of its own with allocated = 1,
 * and its primary key refuses a second reservation.
 *
 * A pool whose ranges hold more than L2_POOL_PREFILL_MAX ids (a VXLAN range
 * of 16 million VNIs, say) is "lazy": rather than a row per id, it keeps
 * rows only for allocated ids.  Allocation then inserts a random id of the
 * ranges (the primary key refuses an id already taken) and, after a few
 * collisions, searches for the first gap.  Every function here runs inside
 * the caller's transaction. */
#ifndef HADRON_L2_TYPES_H
#define HADRON_L2_TYPES_H 1

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct neutron_error;

/* ---- Ranges ---- */

/* Inclusive ranges of ids, sorted, merged, never overlapping. */
struct l2_range {
    int64_t min, max;
};

struct l2_ranges {
    struct l2_range *r;
    size_t n;
};

void l2_ranges_destroy__(struct l2_ranges *);
void l2_ranges_add__(struct l2_ranges *, int64_t min, int64_t max);
bool l2_ranges_contain__(const struct l2_ranges *, int64_t id);
uint64_t l2_ranges_size__(const struct l2_ranges *);

/* Parses a [ml2_type_vxlan|gre|geneve] range list ("1:1000, 2000:2999")
 * for 'type', whose ids lie in [lo, hi].  Empty items are skipped.
 * Returns NULL and fills 'out' (cleared first), or a malloc'd message in
 * Neutron's words ("Invalid network tunnel range: '...' - ..."). */
char *l2_tunnel_ranges_parse__(const char *text, const char *type,
                               int64_t lo, int64_t hi,
                               struct l2_ranges *out);

/* The physical networks of [ml2_type_vlan] network_vlan_ranges
 * ("physnet1:100:199,physnet2"): a name alone stands for all of 1..4094.
 * In the order first named. */
struct l2_vlan_physnet {
    char *name;
    struct l2_ranges ranges;
};

char *l2_vlan_ranges_parse__(const char *text, struct l2_vlan_physnet **out,
                             size_t *n_out);
void l2_vlan_physnets_destroy__(struct l2_vlan_physnet *, size_t n);

/* Splits a comma-separated option into trimmed, non-empty items (malloc'd
 * array of malloc'd strings). */
char **l2_split_list__(const char *text, size_t *n);
void l2_free_list__(char **, size_t n);

/* ---- MTUs ([DEFAULT] global_physnet_mtu, [ml2] path_mtu,
 * physical_network_mtus, overlay_ip_version), as Neutron computes them.
 * 0 means "no limit from this segment". ---- */

/* min(global_physnet_mtu, physical_network_mtus[physnet]). */
int l2_types_physnet_mtu__(const char *physnet);

/* min(global_physnet_mtu, path_mtu) minus the outer IP header (20 for
 * IPv4, 40 for IPv6) and 'overhead' (the tunnel header). */
int l2_types_tunnel_mtu__(int overhead);

/* ---- Allocation pools ---- */

/* Pools of more ids than this keep rows only for allocated ids. */
#define L2_POOL_PREFILL_MAX 65536

struct l2_pool {
    const char *table;          /* "ml2_vxlan_allocations" */
    const char *id_column;      /* "vxlan_vni" */
    const char *physnet;        /* VLAN: the physical_network; else NULL */
    const struct l2_ranges *ranges;
};

/* True if 'pool' keeps rows only for allocated ids. */
bool l2_pool_is_lazy__(const struct l2_pool *);

/* Brings the rows of 'pool' in line with its ranges: adds a free row for
 * each id in the ranges that has none (prefilled pools), and deletes the
 * free rows outside them (lazy pools: every free row).  Allocated rows are
 * never touched. */
struct neutron_error *l2_pool_sync__(struct db *, const struct l2_pool *);

/* Takes a random free id of 'pool'.  Returns NULL and sets '*id', or NULL
 * with '*id' = -1 when the pool is full, or an error (NE_RETRY when
 * concurrent allocations won every attempt). */
struct neutron_error *l2_pool_allocate__(struct db *, const struct l2_pool *,
                                         int64_t *id);

/* Reserves 'id' (inside the ranges or not).  Returns NULL and sets
 * '*taken' to whether someone already holds it. */
struct neutron_error *l2_pool_reserve__(struct db *, const struct l2_pool *,
                                        int64_t id, bool *taken);

/* Releases 'id': frees its row inside the ranges of a prefilled pool,
 * deletes it otherwise.  A missing row is not an error. */
struct neutron_error *l2_pool_release__(struct db *, const struct l2_pool *,
                                        int64_t id);

/* A random number in [0, n), n > 0; thread-safe. */
uint64_t l2_random__(uint64_t n);

/* ---- Errors in Neutron's words ---- */

/* 503 NoNetworkAvailable. */
struct neutron_error *l2_no_network_available__(void);

/* True if 'e' is the 503 NoNetworkAvailable. */
bool l2_is_no_network_available__(const struct neutron_error *e);

/* ---- Calling the type drivers (types.c): the only callers of their ops.
 * A segment's physical_network is "" and its segmentation_id -1 when
 * not given. ---- */

struct l2_segment;
struct op_ctx;

/* Checks a provider segment: 400 "network_type value 'x' not supported"
 * when no enabled driver has its type, else the driver's verdict. */
struct neutron_error *l2_type_validate__(const struct l2_segment *);

/* Reserves a validated provider segment (allocating the missing parts of
 * a partial one) and sets its mtu. */
struct neutron_error *l2_type_reserve__(const struct op_ctx *,
                                        struct l2_segment *);

/* Allocates a tenant segment from the first [ml2] tenant_network_types
 * type with room; 503 NoNetworkAvailable when none has. */
struct neutron_error *l2_type_allocate_tenant__(const struct op_ctx *,
                                                struct l2_segment *);

/* Releases a segment; one of a type without a driver is left as is. */
struct neutron_error *l2_type_release__(const struct op_ctx *,
                                        const struct l2_segment *);

/* The MTU of one segment (0: no limit), and of a network made of 'n'
 * segments: the smallest, or global_physnet_mtu when none limits it. */
int l2_type_mtu__(const struct l2_segment *);
int l2_types_network_mtu__(const struct l2_segment *, size_t n);

/* ---- Segment rows (segment.c) ---- */

/* Inserts 'seg' as segment number 'index' of network 'network_id' with
 * timestamps 'now'; sets seg->id to a new UUID if it is empty.  'name'
 * may be NULL. */
struct neutron_error *l2_segment_insert__(struct db *,
                                          const char *network_id,
                                          struct l2_segment *seg, int index,
                                          const char *name,
                                          const char *description,
                                          const char *now);

/* ---- The built-in type drivers (type_*.c) ---- */

struct l2_type_class;
extern const struct l2_type_class l2_type_local;
extern const struct l2_type_class l2_type_flat;
extern const struct l2_type_class l2_type_vlan;
extern const struct l2_type_class l2_type_vxlan;
extern const struct l2_type_class l2_type_gre;
extern const struct l2_type_class l2_type_geneve;

/* The drivers enabled by [ml2] type_drivers, in that order (after
 * l2_types_init__()). */
const struct l2_type_class *const *l2_types_enabled__(size_t *n);

/* The [ml2] tenant_network_types drivers, in order. */
const struct l2_type_class *const *l2_types_tenant__(size_t *n);

#endif /* l2/l2-types.h */
