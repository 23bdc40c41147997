/* l2/ipam.c: IP address management, the fixed IPs of ports.
 *
 * Neutron's pluggable IPAM with its default "neutrondb" driver, as one
 * module that works on the tables subnets, ipallocationpools and
 * ipallocations inside the caller's transaction:
 *
 *   - A request is the port's "fixed_ips" list: entries {subnet_id},
 *     {ip_address} or both; or no list at all, which asks for Neutron's
 *     default: one address from the IPv4 subnets (the first one with
 *     room), one from the stateful IPv6 subnets, and on every IPv6
 *     auto-address subnet (SLAAC, DHCPv6-stateless) the EUI-64 address
 *     made from the port's MAC.  Entries are checked as Neutron does
 *     (_get_subnet_for_fixed_ip, _test_fixed_ips_for_port) before anything
 *     is written.
 *
 *   - The database decides.  An address is taken by INSERTing its
 *     ipallocations row, whose primary key (ip_address, subnet_id) refuses
 *     a second holder.  A specific address that the key refuses is a 409
 *     IpAddressAlreadyAllocated.  "Any address" picks a random candidate
 *     within the subnet's pools (so that servers allocating at the same
 *     time rarely want the same one), tries a few, and then loads the
 *     subnet's allocated set once and scans the pools in order for the
 *     first free address.  Addresses are 128-bit integers here, so a /8
 *     or a /64 costs no more than a /24.
 *
 * Addresses are stored in canonical text (dotted quad, RFC 5952), so the
 * primary key compares like the addresses themselves. */
#include "l2/l2-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/jsonv.h"
#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"

/* A 128-bit address value: IPv4 in the low 32 bits. */
typedef unsigned __int128 ipam_u128;

/* Candidates tried at random before the ordered scan. */
#define RANDOM_TRIES 4

/* Inserts refused during one scan (others allocating the same addresses
 * at the same time) before the transaction is retried. */
#define SCAN_CONFLICTS_MAX 16

#define DEFAULT_MAX_FIXED_IPS 5

struct ipam_pool {
    ipam_u128 first, last;
};

/* A subnet as IPAM sees it. */
struct ipam_subnet {
    char id[UUID_STR_LEN];
    int version;
    struct ipnet cidr;              /* network address, host bits clear */
    bool auto_address;              /* SLAAC or DHCPv6-stateless */
    struct ipam_pool *pools;        /* in address order */
    size_t n_pools;
};

/* The subnets of one network, oldest first. */
struct ipam_net {
    const char *network_id;
    struct ipam_subnet *subnets;
    size_t n;
};

/* One fixed_ips entry of a request, parsed. */
struct fixed_entry {
    bool has_subnet;
    char subnet_id[UUID_STR_LEN];
    bool has_ip;
    struct ipaddr ip;
};

/* One address to allocate. */
struct ipam_req {
    const struct ipam_subnet *subnet;   /* NULL: any subnet of 'group' */
    bool has_ip;                        /* a specific (or EUI-64) address */
    struct ipaddr ip;
    int group;                          /* 4: the IPv4 subnets, 6: the
                                         * stateful IPv6 ones */
};

struct ipam_reqs {
    struct ipam_req *r;
    size_t n, cap;
};

/* An address a port holds. */
struct held_ip {
    char subnet_id[UUID_STR_LEN];
    struct ipaddr ip;
    bool claimed;
};

/* ---- Errors ---- */

static struct neutron_error *
generation_failure(const char *network_id)
{
    return neutron_error_create(NE_CONFLICT, "IpAddressGenerationFailure",
                                "No more IP addresses available on network "
                                "%s.", network_id);
}

static struct neutron_error *
already_allocated(const struct ipaddr *ip, const char *subnet_id)
{
    char s[IPADDR_STR_MAX];

    ipaddr_format(ip, s);
    return neutron_error_create(NE_CONFLICT, "IpAddressAlreadyAllocated",
                                "IP address %s already allocated in subnet "
                                "%s", s, subnet_id);
}

/* ---- Addresses as integers ---- */

static ipam_u128
addr_to_u128(const struct ipaddr *a)
{
    int len = a->version == 4 ? 4 : 16;
    ipam_u128 v = 0;

    for (int i = 0; i < len; i++) {
        v = (v << 8) | a->b[i];
    }
    return v;
}

static void
u128_to_addr(ipam_u128 v, int version, struct ipaddr *out)
{
    int len = version == 4 ? 4 : 16;

    memset(out, 0, sizeof *out);
    out->version = version;
    for (int i = len - 1; i >= 0; i--) {
        out->b[i] = (uint8_t) (v & 0xff);
        v >>= 8;
    }
}

static bool
parse_u128(const char *s, int version, ipam_u128 *out)
{
    struct ipaddr a;

    if (!s || !ipaddr_parse(s, &a) || a.version != version) {
        return false;
    }
    *out = addr_to_u128(&a);
    return true;
}

/* A uniformly distributed 64-bit random number (xorshift64*, seeded per
 * thread from the kernel). */
static uint64_t
random_u64(void)
{
    static __thread uint64_t state;

    if (!state) {
        if (getrandom(&state, sizeof state, 0) != sizeof state) {
            state = time_monotonic_usec() ^ ((uint64_t) getpid() << 32);
        }
        state |= 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
}

static ipam_u128
random_below(ipam_u128 n)
{
    ipam_u128 r = ((ipam_u128) random_u64() << 64) | random_u64();

    return n ? r % n : 0;
}

/* ---- Device owners (neutron_lib.constants) ---- */

static bool
owner_in(const char *owner, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(owner, *list)) {
            return true;
        }
    }
    return false;
}

static const char *const router_interface_owners[] = {
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
    NULL,
};

static const char *const router_interface_owners_snat[] = {
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
    "network:router_centralized_snat",
    NULL,
};

static const char *const router_port_owners[] = {
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
    "network:router_centralized_snat",
    "network:router_gateway",
    NULL,
};

/* Ports Neutron trusts (is_port_trusted): the network's own. */
static bool
owner_is_trusted(const char *owner)
{
    return str_starts_with(owner, "network:");
}

/* ---- Subnets ---- */

static void
ipam_net_destroy(struct ipam_net *net)
{
    for (size_t i = 0; i < net->n; i++) {
        free(net->subnets[i].pools);
    }
    free(net->subnets);
    memset(net, 0, sizeof *net);
}

static int
pool_cmp(const void *a_, const void *b_)
{
    const struct ipam_pool *a = a_, *b = b_;

    return a->first < b->first ? -1 : a->first > b->first;
}

/* True for an IPv6 subnet whose addresses the hosts make themselves
 * (ipv6_utils.is_auto_address_subnet). */
static bool
modes_auto_address(const char *ra_mode, const char *addr_mode)
{
    static const char *const modes[] = { "slaac", "dhcpv6-stateless", NULL };

    return (addr_mode && owner_in(addr_mode, modes))
           || (ra_mode && owner_in(ra_mode, modes));
}

/* Loads the subnets of 'network_id' with their pools, oldest first, in
 * one query. */
static struct neutron_error *
load_net(struct db *db, const char *network_id, struct ipam_net *net)
{
    static const char sql[] =
        "SELECT s.id, s.ip_version, s.cidr, s.ipv6_ra_mode, "
        "s.ipv6_address_mode, p.first_ip, p.last_ip FROM subnets s "
        "LEFT JOIN ipallocationpools p ON p.subnet_id = s.id "
        "WHERE s.network_id = ? ORDER BY s.created_at, s.id";
    struct db_stmt *stmt = db_prepare(db, sql);
    size_t cap = 0;
    int rc;

    memset(net, 0, sizeof *net);
    net->network_id = network_id;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "loading subnets");
    }
    db_bind_text(stmt, 1, network_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        const char *id = db_col_text(stmt, 0);
        struct ipam_subnet *s = net->n ? &net->subnets[net->n - 1] : NULL;

        if (!s || strcmp(s->id, id)) {
            if (net->n == cap) {
                cap = cap ? cap * 2 : 4;
                net->subnets = xrealloc(net->subnets,
                                        cap * sizeof *net->subnets);
            }
            s = &net->subnets[net->n++];
            memset(s, 0, sizeof *s);
            str_copy(s->id, id, sizeof s->id);
            s->version = (int) db_col_int64(stmt, 1);
            if (!ipnet_parse(db_col_text(stmt, 2), false, &s->cidr)) {
                LOG_RL(LOG_LEVEL_ERR, "ipam", "subnet %s: bad cidr '%s'",
                       id, db_col_text(stmt, 2));
                net->n--;
                continue;
            }
            ipnet_first(&s->cidr, &s->cidr.addr);
            s->auto_address = s->version == 6
                              && modes_auto_address(db_col_text(stmt, 3),
                                                    db_col_text(stmt, 4));
        }
        struct ipam_pool p;
        if (parse_u128(db_col_text(stmt, 5), s->version, &p.first)
            && parse_u128(db_col_text(stmt, 6), s->version, &p.last)
            && p.first <= p.last) {
            s->pools = xrealloc(s->pools, (s->n_pools + 1) * sizeof *s->pools);
            s->pools[s->n_pools++] = p;
        }
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        ipam_net_destroy(net);
        return store_db_error(db, rc, "loading subnets");
    }
    for (size_t i = 0; i < net->n; i++) {
        if (net->subnets[i].n_pools > 1) {
            qsort(net->subnets[i].pools, net->subnets[i].n_pools,
                  sizeof *net->subnets[i].pools, pool_cmp);
        }
    }
    return NULL;
}

static const struct ipam_subnet *
find_subnet(const struct ipam_net *net, const char *id)
{
    for (size_t i = 0; i < net->n; i++) {
        if (!strcmp(net->subnets[i].id, id)) {
            return &net->subnets[i];
        }
    }
    return NULL;
}

/* ipam.utils.check_subnet_ip: is 'ip' a host address of 's'?  IPv4 takes
 * neither the network nor the broadcast address (but a /31 or /32 has no
 * such addresses); IPv6 keeps the network address (the subnet-router
 * anycast address) for router ports and ports with no owner. */
static bool
check_subnet_ip(const struct ipam_subnet *s, const struct ipaddr *ip,
                const char *owner)
{
    struct ipaddr first, last;

    if (!ipnet_contains(&s->cidr, ip)) {
        return false;
    }
    ipnet_first(&s->cidr, &first);
    ipnet_last(&s->cidr, &last);
    if (s->version == 4) {
        return s->cidr.prefix >= 31
               || (ipaddr_cmp(ip, &first) && ipaddr_cmp(ip, &last));
    }
    return !*owner || owner_in(owner, router_port_owners)
           || ipaddr_cmp(ip, &first);
}

/* The EUI-64 address of 'mac' in the /64 of 's'
 * (net_utils.get_ipv6_addr_by_EUI64). */
static void
eui64_address(const struct ipam_subnet *s, const uint8_t mac[6],
              struct ipaddr *out)
{
    *out = s->cidr.addr;
    out->b[8] = mac[0] ^ 0x02;
    out->b[9] = mac[1];
    out->b[10] = mac[2];
    out->b[11] = 0xff;
    out->b[12] = 0xfe;
    out->b[13] = mac[3];
    out->b[14] = mac[4];
    out->b[15] = mac[5];
}

/* ipv6_utils.is_eui64_address. */
static bool
is_eui64(const struct ipaddr *ip)
{
    return ip->version == 6 && ip->b[11] == 0xff && ip->b[12] == 0xfe;
}

/* ---- The ipallocations table ---- */

/* Tries to take 'ip' on 's' for the port.  Returns DB_OK, DB_CONSTRAINT
 * when the address is taken, or another failure. */
static int
insert_allocation(struct db *db, const char *network_id, const char *port_id,
                  const char *subnet_id, const struct ipaddr *ip)
{
    char s[IPADDR_STR_MAX];
    const char *params[4];

    ipaddr_format(ip, s);
    params[0] = port_id;
    params[1] = s;
    params[2] = subnet_id;
    params[3] = network_id;
    return db_exec_params(db, "INSERT INTO ipallocations "
                          "(port_id, ip_address, subnet_id, network_id) "
                          "VALUES (?, ?, ?, ?)", params, 4);
}

/* After an insert of 'ip' was refused: a 409 if someone holds it, else
 * the foreign key failed (a port or subnet deleted meanwhile): retry. */
static struct neutron_error *
explain_refused(struct db *db, const char *subnet_id, const struct ipaddr *ip)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT 1 FROM ipallocations "
                                      "WHERE ip_address = ? AND "
                                      "subnet_id = ?");
    char s[IPADDR_STR_MAX];
    int rc;

    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading IP allocations");
    }
    ipaddr_format(ip, s);
    db_bind_text(stmt, 1, s);
    db_bind_text(stmt, 2, subnet_id);
    rc = db_step(stmt);
    db_reset(stmt);
    if (rc == DB_ROW) {
        return already_allocated(ip, subnet_id);
    }
    if (rc != DB_DONE) {
        return store_db_error(db, rc, "reading IP allocations");
    }
    return neutron_error_create(NE_RETRY, NULL, "IP allocation on subnet %s "
                                "lost a race; retry.", subnet_id);
}

/* Takes the specific address 'ip' on 's'. */
static struct neutron_error *
allocate_specific(struct db *db, const char *network_id, const char *port_id,
                  const struct ipam_subnet *s, const struct ipaddr *ip)
{
    int rc = insert_allocation(db, network_id, port_id, s->id, ip);

    if (rc == DB_CONSTRAINT) {
        return explain_refused(db, s->id, ip);
    }
    if (rc != DB_OK) {
        return store_db_error(db, rc, "allocating an IP address");
    }
    return NULL;
}

static int
u128_cmp(const void *a_, const void *b_)
{
    const ipam_u128 *a = a_, *b = b_;

    return *a < *b ? -1 : *a > *b;
}

/* Loads the addresses allocated on 's', sorted. */
static struct neutron_error *
load_allocated(struct db *db, const struct ipam_subnet *s, ipam_u128 **out,
               size_t *n_out)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT ip_address FROM "
                                      "ipallocations WHERE subnet_id = ?");
    ipam_u128 *v = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *n_out = 0;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading IP allocations");
    }
    db_bind_text(stmt, 1, s->id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        ipam_u128 a;
        if (!parse_u128(db_col_text(stmt, 0), s->version, &a)) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[n++] = a;
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        free(v);
        return store_db_error(db, rc, "reading IP allocations");
    }
    if (n > 1) {
        qsort(v, n, sizeof *v, u128_cmp);
    }
    *out = v;
    *n_out = n;
    return NULL;
}

/* Index of the first element of sorted 'v' that is >= 'x'. */
static size_t
lower_bound(const ipam_u128 *v, size_t n, ipam_u128 x)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Takes any free address of 's' from its pools: random candidates first,
 * then the first free address in pool order.  Sets '*full' and returns
 * NULL when the pools have no free address. */
static struct neutron_error *
allocate_any(struct db *db, const char *network_id, const char *port_id,
             const struct ipam_subnet *s, bool *full)
{
    struct neutron_error *error = NULL;
    ipam_u128 total = 0;
    ipam_u128 *taken = NULL;
    size_t n_taken = 0;
    struct ipaddr ip;
    int rc, conflicts = 0;

    *full = false;
    for (size_t i = 0; i < s->n_pools; i++) {
        total += s->pools[i].last - s->pools[i].first + 1;
    }
    if (!total) {
        *full = true;
        return NULL;
    }

    for (int try = 0; try < RANDOM_TRIES; try++) {
        ipam_u128 k = random_below(total);
        size_t i = 0;
        while (k > s->pools[i].last - s->pools[i].first) {
            k -= s->pools[i].last - s->pools[i].first + 1;
            i++;
        }
        u128_to_addr(s->pools[i].first + k, s->version, &ip);
        rc = insert_allocation(db, network_id, port_id, s->id, &ip);
        if (rc == DB_OK) {
            return NULL;
        }
        if (rc != DB_CONSTRAINT) {
            return store_db_error(db, rc, "allocating an IP address");
        }
    }

    error = load_allocated(db, s, &taken, &n_taken);
    if (error) {
        return error;
    }
    for (size_t i = 0; i < s->n_pools; i++) {
        ipam_u128 cur = s->pools[i].first;
        size_t k = lower_bound(taken, n_taken, cur);

        for (;;) {
            while (k < n_taken && taken[k] < cur) {
                k++;
            }
            if (k >= n_taken || taken[k] != cur) {
                u128_to_addr(cur, s->version, &ip);
                rc = insert_allocation(db, network_id, port_id, s->id, &ip);
                if (rc == DB_OK) {
                    goto out;
                }
                if (rc != DB_CONSTRAINT) {
                    error = store_db_error(db, rc, "allocating an IP "
                                           "address");
                    goto out;
                }
                if (++conflicts > SCAN_CONFLICTS_MAX) {
                    error = neutron_error_create(NE_RETRY, NULL, "IP "
                                                 "allocation on subnet %s "
                                                 "lost a race; retry.",
                                                 s->id);
                    goto out;
                }
            }
            if (cur == s->pools[i].last) {
                break;
            }
            cur++;
        }
    }
    *full = true;
out:
    free(taken);
    return error;
}

/* ---- Requests ---- */

static void
reqs_add(struct ipam_reqs *reqs, const struct ipam_req *r)
{
    if (reqs->n == reqs->cap) {
        reqs->cap = reqs->cap ? reqs->cap * 2 : 8;
        reqs->r = xrealloc(reqs->r, reqs->cap * sizeof *reqs->r);
    }
    reqs->r[reqs->n++] = *r;
}

/* Parses and checks the request's fixed_ips as neutron-lib's
 * validate_fixed_ips does. */
static struct neutron_error *
parse_fixed_ips(yajl_val list, struct fixed_entry **out, size_t *n_out)
{
    struct fixed_entry *e;
    char what[256], reason[512];
    size_t n;

    *out = NULL;
    *n_out = 0;
    if (!YAJL_IS_ARRAY(list)) {
        jsonv_describe(list, what, sizeof what);
        snprintf(reason, sizeof reason, "Invalid data format for fixed IP: "
                 "'%s'", what);
        return resource_attr_error("fixed_ips", "%s", reason);
    }
    n = list->u.array.len;
    e = xcalloc(n + 1, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        yajl_val item = list->u.array.values[i];
        if (!YAJL_IS_OBJECT(item)) {
            jsonv_describe(item, what, sizeof what);
            snprintf(reason, sizeof reason, "Invalid data format for fixed "
                     "IP: '%s'", what);
            goto fail;
        }
        for (size_t k = 0; k < item->u.object.len; k++) {
            const char *key = item->u.object.keys[k];
            yajl_val v = item->u.object.values[k];

            if (!strcmp(key, "ip_address")) {
                const char *s = YAJL_GET_STRING(v);
                jsonv_describe(v, what, sizeof what);
                if (!s || !ipaddr_parse(s, &e[i].ip)) {
                    snprintf(reason, sizeof reason, "'%s' is not a valid IP "
                             "address", what);
                    goto fail;
                }
                for (size_t j = 0; j < i; j++) {
                    if (e[j].has_ip && !ipaddr_cmp(&e[j].ip, &e[i].ip)) {
                        snprintf(reason, sizeof reason, "Duplicate IP "
                                 "address '%s'", what);
                        goto fail;
                    }
                }
                e[i].has_ip = true;
            } else if (!strcmp(key, "subnet_id")) {
                const char *s = YAJL_GET_STRING(v);
                if (!s || !uuid_is_valid(s)) {
                    jsonv_describe(v, what, sizeof what);
                    snprintf(reason, sizeof reason, "'%s' is not a valid "
                             "UUID", what);
                    goto fail;
                }
                for (int c = 0; c < UUID_STR_LEN - 1; c++) {
                    e[i].subnet_id[c] = s[c] >= 'A' && s[c] <= 'F'
                                        ? s[c] - 'A' + 'a' : s[c];
                }
                e[i].has_subnet = true;
            }
        }
    }
    *out = e;
    *n_out = n;
    return NULL;

fail:
    free(e);
    return resource_attr_error("fixed_ips", "%s", reason);
}

static struct neutron_error *
check_max_ips(const struct op_ctx *ctx, size_t n, const char *owner)
{
    int max = ctx->cfg ? ctx->cfg->max_fixed_ips_per_port
                       : DEFAULT_MAX_FIXED_IPS;

    if (!owner_is_trusted(owner) && n > (size_t) max) {
        return resource_invalid_input("Exceeded maximum amount of fixed ips "
                                      "per port");
    }
    return NULL;
}

/* _get_subnet_for_fixed_ip: the subnet of the network 'e' names. */
static struct neutron_error *
subnet_for_entry(struct db *db, const struct ipam_net *net,
                 const struct fixed_entry *e, const char *owner,
                 const struct ipam_subnet **out)
{
    char s[IPADDR_STR_MAX];

    *out = NULL;
    if (!net->n) {
        return resource_invalid_input("IP allocation requires subnets for "
                                      "network");
    }
    if (e->has_subnet) {
        const struct ipam_subnet *sub = find_subnet(net, e->subnet_id);
        if (!sub) {
            struct db_stmt *stmt = db_prepare(db, "SELECT network_id FROM "
                                              "subnets WHERE id = ?");
            struct neutron_error *error;
            int rc;

            if (!stmt) {
                return store_db_error(db, DB_ERROR, "reading a subnet");
            }
            db_bind_text(stmt, 1, e->subnet_id);
            rc = db_step(stmt);
            if (rc == DB_ROW) {
                error = resource_invalid_input("Failed to create port on "
                                               "network %s, because fixed_ips "
                                               "included invalid subnet %s",
                                               db_col_text(stmt, 0),
                                               e->subnet_id);
            } else if (rc == DB_DONE) {
                error = neutron_error_create(NE_NOT_FOUND, "SubnetNotFound",
                                             "Subnet %s could not be found.",
                                             e->subnet_id);
            } else {
                error = store_db_error(db, rc, "reading a subnet");
            }
            db_reset(stmt);
            return error;
        }
        if (e->has_ip && !check_subnet_ip(sub, &e->ip, owner)) {
            ipaddr_format(&e->ip, s);
            return neutron_error_create(NE_BAD_REQUEST, "InvalidIpForSubnet",
                                        "IP address %s is not a valid IP "
                                        "for the specified subnet.", s);
        }
        *out = sub;
        return NULL;
    }
    if (!e->has_ip) {
        return resource_invalid_input("IP allocation requires subnet_id or "
                                      "ip_address");
    }
    for (size_t i = 0; i < net->n; i++) {
        if (check_subnet_ip(&net->subnets[i], &e->ip, owner)) {
            *out = &net->subnets[i];
            return NULL;
        }
    }
    ipaddr_format(&e->ip, s);
    return neutron_error_create(NE_BAD_REQUEST, "InvalidIpForNetwork",
                                "IP address %s is not a valid IP for any of "
                                "the subnets on the specified network.", s);
}

/* _test_fixed_ips_for_port: turns entries into requests, checking all of
 * them before anything is allocated. */
static struct neutron_error *
test_fixed_ips(struct db *db, const struct ipam_net *net,
               const struct fixed_entry *e, size_t n, const char *owner,
               struct ipam_reqs *reqs)
{
    for (size_t i = 0; i < n; i++) {
        const struct ipam_subnet *s;
        struct neutron_error *error = subnet_for_entry(db, net, &e[i], owner,
                                                       &s);
        if (error) {
            return error;
        }
        if (e[i].has_ip) {
            if (s->auto_address
                && !owner_in(owner, router_interface_owners)) {
                char ip[IPADDR_STR_MAX];
                ipaddr_format(&e[i].ip, ip);
                return neutron_error_create(
                    NE_BAD_REQUEST, "AllocationOnAutoAddressSubnet",
                    "IPv6 address %s cannot be directly assigned to a port "
                    "on subnet %s as the subnet is configured for automatic "
                    "addresses", ip, s->id);
            }
            reqs_add(reqs, &(struct ipam_req) { .subnet = s, .has_ip = true,
                                                .ip = e[i].ip });
        } else if (owner_in(owner, router_interface_owners_snat)
                   || !s->auto_address) {
            reqs_add(reqs, &(struct ipam_req) { .subnet = s });
        }
    }
    return NULL;
}

/* Adds the EUI-64 address on each auto-address subnet not in 'skip'. */
static void
add_auto_addresses(const struct ipam_net *net, const char *owner,
                   const char *mac, const struct ipam_reqs *skip,
                   const struct held_ip *held, size_t n_held,
                   struct ipam_reqs *reqs)
{
    uint8_t m[6];

    if (owner_in(owner, router_interface_owners_snat) || !mac
        || !mac_parse(mac, m)) {
        return;
    }
    for (size_t i = 0; i < net->n; i++) {
        const struct ipam_subnet *s = &net->subnets[i];
        bool handled = false;

        if (!s->auto_address) {
            continue;
        }
        for (size_t k = 0; skip && k < skip->n && !handled; k++) {
            handled = skip->r[k].subnet == s;
        }
        for (size_t k = 0; k < n_held && !handled; k++) {
            handled = !strcmp(held[k].subnet_id, s->id);
        }
        if (!handled) {
            struct ipam_req r = { .subnet = s, .has_ip = true };
            eui64_address(s, m, &r.ip);
            reqs_add(reqs, &r);
        }
    }
}

/* Allocates 'reqs': specific addresses first (so that a later "any"
 * request does not take one of them), then the others. */
static struct neutron_error *
run_requests(struct db *db, const struct ipam_net *net, const char *port_id,
             const struct ipam_reqs *reqs)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < reqs->n; i++) {
            const struct ipam_req *r = &reqs->r[i];
            struct neutron_error *error;
            bool full = true;

            if (r->has_ip != (pass == 0)) {
                continue;
            }
            if (r->has_ip) {
                error = allocate_specific(db, net->network_id, port_id,
                                          r->subnet, &r->ip);
                if (error) {
                    return error;
                }
                continue;
            }
            for (size_t k = 0; k < net->n && full; k++) {
                const struct ipam_subnet *s = &net->subnets[k];
                if (r->subnet ? s != r->subnet
                    : (s->version != r->group
                       || (s->version == 6 && s->auto_address))) {
                    continue;
                }
                error = allocate_any(db, net->network_id, port_id, s, &full);
                if (error) {
                    return error;
                }
            }
            if (full) {
                return generation_failure(net->network_id);
            }
        }
    }
    return NULL;
}

/* Reads the device_owner of port 'port_id' into 'owner'. */
static struct neutron_error *
load_owner(struct db *db, const char *port_id, char *owner, size_t size)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT device_owner FROM ports "
                                      "WHERE id = ?");
    int rc;

    owner[0] = '\0';
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a port");
    }
    db_bind_text(stmt, 1, port_id);
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        const char *s = db_col_text(stmt, 0);
        str_copy(owner, s ? s : "", size);
    }
    db_reset(stmt);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_error(db, rc, "reading a port");
    }
    return NULL;
}

/* ---- Public ---- */

struct neutron_error *
l2_ipam_allocate__(const struct op_ctx *ctx, const char *network_id,
                   const char *port_id, const char *mac, yajl_val fixed_ips)
{
    struct ipam_reqs reqs = { 0 };
    struct fixed_entry *entries = NULL;
    size_t n_entries = 0;
    struct neutron_error *error;
    struct ipam_net net = { 0 };
    char owner[256];

    if (fixed_ips) {
        error = parse_fixed_ips(fixed_ips, &entries, &n_entries);
        if (error) {
            return error;
        }
    }
    error = load_owner(ctx->db, port_id, owner, sizeof owner);
    if (!error && fixed_ips) {
        error = check_max_ips(ctx, n_entries, owner);
    }
    if (!error) {
        error = load_net(ctx->db, network_id, &net);
    }
    if (error) {
        goto out;
    }
    if (fixed_ips) {
        error = test_fixed_ips(ctx->db, &net, entries, n_entries, owner,
                               &reqs);
        if (error) {
            goto out;
        }
    } else {
        bool has_v4 = false, has_v6 = false;
        for (size_t i = 0; i < net.n; i++) {
            has_v4 |= net.subnets[i].version == 4;
            has_v6 |= net.subnets[i].version == 6
                      && !net.subnets[i].auto_address;
        }
        if (has_v4) {
            reqs_add(&reqs, &(struct ipam_req) { .group = 4 });
        }
        if (has_v6) {
            reqs_add(&reqs, &(struct ipam_req) { .group = 6 });
        }
    }
    add_auto_addresses(&net, owner, mac, NULL, NULL, 0, &reqs);
    error = run_requests(ctx->db, &net, port_id, &reqs);
out:
    free(reqs.r);
    free(entries);
    ipam_net_destroy(&net);
    return error;
}

/* Loads the addresses 'port_id' holds. */
static struct neutron_error *
load_held(struct db *db, const char *port_id, struct held_ip **out,
          size_t *n_out)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT subnet_id, ip_address "
                                      "FROM ipallocations WHERE port_id = ?");
    struct held_ip *h = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    *n_out = 0;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading IP allocations");
    }
    db_bind_text(stmt, 1, port_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        struct held_ip x = { .claimed = false };
        if (!ipaddr_parse(db_col_text(stmt, 1), &x.ip)) {
            continue;
        }
        str_copy(x.subnet_id, db_col_text(stmt, 0), sizeof x.subnet_id);
        h = xrealloc(h, (n + 1) * sizeof *h);
        h[n++] = x;
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        free(h);
        return store_db_error(db, rc, "reading IP allocations");
    }
    *out = h;
    *n_out = n;
    return NULL;
}

static struct neutron_error *
delete_allocation(struct db *db, const char *port_id, const struct held_ip *h)
{
    char s[IPADDR_STR_MAX];
    const char *params[3] = { port_id, h->subnet_id, s };
    int rc;

    ipaddr_format(&h->ip, s);
    rc = db_exec_params(db, "DELETE FROM ipallocations WHERE port_id = ? "
                        "AND subnet_id = ? AND ip_address = ?", params, 3);
    return rc == DB_OK ? NULL : store_db_error(db, rc, "freeing an IP "
                                                "address");
}

/* After a MAC change: the EUI-64 addresses of 'port_id' on auto-address
 * subnets are made again from 'mac' (Neutron's update_port_with_ips). */
static struct neutron_error *
refresh_eui64(const struct op_ctx *ctx, const char *network_id,
              const char *port_id, const char *mac)
{
    struct ipam_net net = { 0 };
    struct held_ip *held = NULL;
    size_t n_held = 0;
    struct neutron_error *error;
    uint8_t m[6];

    if (!mac_parse(mac, m)) {
        return NULL;
    }
    error = load_held(ctx->db, port_id, &held, &n_held);
    for (size_t k = 0; !error && k < n_held; k++) {
        if (!is_eui64(&held[k].ip)) {
            continue;
        }
        if (!net.subnets) {
            error = load_net(ctx->db, network_id, &net);
            if (error) {
                break;
            }
        }
        const struct ipam_subnet *s = find_subnet(&net, held[k].subnet_id);
        struct ipaddr want;
        if (!s || !s->auto_address) {
            continue;
        }
        eui64_address(s, m, &want);
        if (!ipaddr_cmp(&want, &held[k].ip)) {
            continue;
        }
        error = delete_allocation(ctx->db, port_id, &held[k]);
        if (!error) {
            error = allocate_specific(ctx->db, network_id, port_id, s, &want);
        }
    }
    free(held);
    ipam_net_destroy(&net);
    return error;
}

struct neutron_error *
l2_ipam_update__(const struct op_ctx *ctx, const char *network_id,
                 const char *port_id, const char *mac, yajl_val fixed_ips)
{
    struct fixed_entry *entries = NULL, *adds = NULL;
    struct held_ip *held = NULL, *kept = NULL;
    size_t n_entries = 0, n_held = 0, n_adds = 0, n_kept = 0;
    struct ipam_reqs reqs = { 0 };
    struct ipam_net net = { 0 };
    struct neutron_error *error;
    char owner[256];

    if (!fixed_ips) {
        return mac ? refresh_eui64(ctx, network_id, port_id, mac) : NULL;
    }
    error = parse_fixed_ips(fixed_ips, &entries, &n_entries);
    if (error) {
        return error;
    }
    error = load_owner(ctx->db, port_id, owner, sizeof owner);
    if (!error) {
        error = check_max_ips(ctx, n_entries, owner);
    }
    if (!error) {
        error = load_held(ctx->db, port_id, &held, &n_held);
    }
    if (!error) {
        error = load_net(ctx->db, network_id, &net);
    }
    if (error) {
        goto out;
    }

    /* _get_changed_ips_for_port: entries naming an address the port holds
     * keep it; entries naming only a subnet keep one held address there
     * (an EUI-64 one is made again, the prefix may have changed); the
     * rest is added.  Unclaimed addresses go, except auto-addresses of
     * ports that are not router ports. */
    adds = xcalloc(n_entries + 1, sizeof *adds);
    kept = xcalloc(n_held + 1, sizeof *kept);
    bool *remove = xcalloc(n_held + 1, sizeof *remove);
    bool *candidate = xcalloc(n_held + 1, sizeof *candidate);
    for (size_t i = 0; i < n_entries; i++) {
        bool found = false;
        if (!entries[i].has_ip) {
            continue;
        }
        for (size_t k = 0; k < n_held && !found; k++) {
            if (!held[k].claimed && !ipaddr_cmp(&held[k].ip, &entries[i].ip)) {
                held[k].claimed = found = true;
                kept[n_kept++] = held[k];
            }
        }
        if (!found) {
            adds[n_adds++] = entries[i];
        }
    }
    for (size_t i = 0; i < n_entries; i++) {
        bool found = false;
        if (entries[i].has_ip) {
            continue;
        }
        for (size_t k = n_held; k-- > 0 && !found;) {
            if (held[k].claimed || !entries[i].has_subnet
                || strcmp(held[k].subnet_id, entries[i].subnet_id)) {
                continue;
            }
            held[k].claimed = found = true;
            if (is_eui64(&held[k].ip)) {
                adds[n_adds++] = entries[i];
                candidate[k] = true;
            } else {
                kept[n_kept++] = held[k];
            }
        }
        if (!found) {
            adds[n_adds++] = entries[i];
        }
    }
    for (size_t k = 0; k < n_held; k++) {
        if (held[k].claimed && !candidate[k]) {
            continue;
        }
        const struct ipam_subnet *s = find_subnet(&net, held[k].subnet_id);
        bool required = owner_in(owner, router_interface_owners_snat)
                        || !s || !s->auto_address;
        if (required) {
            remove[k] = true;
        } else {
            kept[n_kept++] = held[k];
        }
    }
    free(candidate);

    error = test_fixed_ips(ctx->db, &net, adds, n_adds, owner, &reqs);
    for (size_t k = 0; !error && k < n_held; k++) {
        if (remove[k]) {
            error = delete_allocation(ctx->db, port_id, &held[k]);
        }
    }
    if (!error) {
        /* Auto-addresses for the auto-address subnets the change did not
         * touch (those of removed addresses included). */
        struct held_ip *handled = xcalloc(n_held + 1, sizeof *handled);
        size_t n_handled = 0;
        for (size_t k = 0; k < n_held; k++) {
            bool is_kept = false;
            for (size_t j = 0; j < n_kept && !is_kept; j++) {
                is_kept = !strcmp(kept[j].subnet_id, held[k].subnet_id)
                          && !ipaddr_cmp(&kept[j].ip, &held[k].ip);
            }
            if (is_kept || remove[k]) {
                handled[n_handled++] = held[k];
            }
        }
        struct ipam_reqs more = { 0 };
        add_auto_addresses(&net, owner, mac, &reqs, handled, n_handled,
                           &more);
        for (size_t i = 0; i < more.n; i++) {
            reqs_add(&reqs, &more.r[i]);
        }
        free(more.r);
        free(handled);
        error = run_requests(ctx->db, &net, port_id, &reqs);
    }
    free(remove);
out:
    free(reqs.r);
    free(entries);
    free(adds);
    free(held);
    free(kept);
    ipam_net_destroy(&net);
    return error;
}

struct neutron_error *
l2_ipam_release__(const struct op_ctx *ctx, const char *port_id)
{
    const char *params[1] = { port_id };
    int rc = db_exec_params(ctx->db, "DELETE FROM ipallocations WHERE "
                            "port_id = ?", params, 1);

    return rc == DB_OK ? NULL : store_db_error(ctx->db, rc,
                                               "freeing IP addresses");
}

struct neutron_error *
l2_ipam_add_auto_addresses__(const struct op_ctx *ctx,
                             const char *network_id, const char *subnet_id)
{
    static const char sql[] =
        "SELECT id, mac_address FROM ports WHERE network_id = ? AND "
        "device_owner NOT IN (?, ?, ?, ?)";
    struct ipam_net net = { 0 };
    struct neutron_error *error;
    const struct ipam_subnet *s;
    struct db_stmt *stmt;
    char **ids = NULL, **macs = NULL;
    size_t n = 0;
    int rc;

    error = load_net(ctx->db, network_id, &net);
    if (error) {
        return error;
    }
    s = find_subnet(&net, subnet_id);
    if (!s || !s->auto_address) {
        goto out;
    }
    stmt = db_prepare(ctx->db, sql);
    if (!stmt) {
        error = store_db_error(ctx->db, DB_ERROR, "reading ports");
        goto out;
    }
    db_bind_text(stmt, 1, network_id);
    for (int i = 0; router_interface_owners_snat[i]; i++) {
        db_bind_text(stmt, i + 2, router_interface_owners_snat[i]);
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        ids = xrealloc(ids, (n + 1) * sizeof *ids);
        macs = xrealloc(macs, (n + 1) * sizeof *macs);
        ids[n] = xstrdup(db_col_text(stmt, 0));
        macs[n] = xstrdup(db_col_text(stmt, 1));
        n++;
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        error = store_db_error(ctx->db, rc, "reading ports");
        goto out;
    }
    for (size_t i = 0; i < n && !error; i++) {
        uint8_t m[6];
        struct ipaddr ip;

        if (!mac_parse(macs[i], m)) {
            continue;
        }
        eui64_address(s, m, &ip);
        rc = insert_allocation(ctx->db, network_id, ids[i], s->id, &ip);
        if (rc == DB_OK) {
            char now[TIMESTAMP_LEN];
            const char *params[2] = { now, ids[i] };
            timestamp_now(now);
            rc = db_exec_params(ctx->db, "UPDATE ports SET revision_number "
                                "= revision_number + 1, updated_at = ? "
                                "WHERE id = ?", params, 2);
        } else if (rc == DB_CONSTRAINT) {
            rc = DB_OK;         /* as Neutron: someone has it, skip */
        }
        if (rc != DB_OK) {
            error = store_db_error(ctx->db, rc, "adding an auto-address");
        }
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(macs[i]);
    }
    free(ids);
    free(macs);
    ipam_net_destroy(&net);
    return error;
}
