/* l2/subnet.c: the subnets resource.
 *
 * A subnet is an IPv4 or IPv6 prefix on a network with its gateway,
 * allocation pools, DNS servers, host routes and DHCP/IPv6 modes.  The
 * row lives in table subnets; pools, DNS servers and routes in child
 * tables (ipallocationpools, dnsnameservers, subnetroutes), loaded for a
 * whole page of subnets at once by expand().
 *
 * Behaviour follows Neutron's db_base_plugin_v2 and ipam_backend_mixin:
 * the same checks in the same order with the same error types and texts.
 * Policy is Neutron's: a subnet is created, changed and deleted by the
 * owner of its network (or an admin); it is seen by its project, and by
 * everyone when its network is shared or external.  Deleting a subnet
 * still holding addresses of ports other than DHCP ports is a 409
 * SubnetInUse (addresses on IPv6 auto-address subnets are taken away
 * instead, as Neutron does); EV_SUBNET BEFORE_DELETE comes first so that
 * the L3 core can refuse a subnet with router interfaces. */
#include "l2/l2.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonv.h"
#include "core/config.h"
#include "core/context.h"
#include "core/events.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/l2-internal.h"

#define DEFAULT_MAX_DNS 5
#define DEFAULT_MAX_ROUTES 20

/* ---- Attribute validators (neutron-lib's, as the API layer runs them:
 * "Invalid input for ATTR. Reason: ...") ---- */

/* validate_ip_address: NULL if 'v' is an IP address, else the reason. */
static bool
ip_reason(yajl_val v, char *reason, size_t size)
{
    const char *s = YAJL_GET_STRING(v);
    char what[256];
    struct ipaddr a;

    if (s && ipaddr_parse(s, &a)) {
        return false;
    }
    jsonv_describe(v, what, sizeof what);
    if (s && !strchr(s, ':')) {
        /* Leading zeros: netaddr reads them, Neutron refuses them. */
        unsigned int o[4];
        char tail;
        if (sscanf(s, "%3u.%3u.%3u.%3u%c", &o[0], &o[1], &o[2], &o[3],
                   &tail) == 4
            && o[0] < 256 && o[1] < 256 && o[2] < 256 && o[3] < 256
            && strspn(s, "0123456789.") == strlen(s)) {
            snprintf(reason, size, "'%s' is not an accepted IP address, "
                     "'%u.%u.%u.%u' is recommended", what, o[0], o[1], o[2],
                     o[3]);
            return true;
        }
    }
    snprintf(reason, size, "'%s' is not a valid IP address", what);
    return true;
}

/* validate_subnet: NULL if 'v' is a CIDR as Neutron wants it. */
static bool
cidr_reason(yajl_val v, char *reason, size_t size)
{
    const char *s = YAJL_GET_STRING(v);
    char what[256], canon[IPNET_STR_MAX];
    struct ipnet n;

    jsonv_describe(v, what, sizeof what);
    if (!s || !ipnet_parse(s, true, &n)) {
        snprintf(reason, size, "'%s' is not a valid IP subnet", what);
        return true;
    }
    ipnet_format(&n, canon);
    if (!strchr(s, '/') || (n.addr.version == 4 && strcmp(canon, s))) {
        ipnet_first(&n, &n.addr);
        ipnet_format(&n, canon);
        snprintf(reason, size, "'%s' isn't a recognized IP subnet cidr, "
                 "'%s' is recommended", what, canon);
        return true;
    }
    return false;
}

static struct neutron_error *
validate_uuid(const char *attr, yajl_val v)
{
    const char *s = YAJL_GET_STRING(v);
    char what[256];

    if (s && uuid_is_valid(s)) {
        return NULL;
    }
    jsonv_describe(v, what, sizeof what);
    return resource_attr_error(attr, "'%s' is not a valid UUID", what);
}

static struct neutron_error *
validate_ip_version(const char *attr, yajl_val v)
{
    int64_t i;

    if (YAJL_IS_INTEGER(v)) {
        i = YAJL_GET_INTEGER(v);
    } else if (!YAJL_IS_STRING(v)
               || !str_to_int64(v->u.string, INT64_MIN, INT64_MAX, &i)) {
        return NULL;        /* the integer conversion refuses it */
    }
    if (i != 4 && i != 6) {
        return resource_attr_error(attr, "%lld is not in valid_values",
                                   (long long) i);
    }
    return NULL;
}

static struct neutron_error *
validate_cidr(const char *attr, yajl_val v)
{
    char reason[600];

    return cidr_reason(v, reason, sizeof reason)
           ? resource_attr_error(attr, "%s", reason) : NULL;
}

static struct neutron_error *
validate_ip(const char *attr, yajl_val v)
{
    char reason[600];

    return ip_reason(v, reason, sizeof reason)
           ? resource_attr_error(attr, "%s", reason) : NULL;
}

static struct neutron_error *
validate_ipv6_mode(const char *attr, yajl_val v)
{
    const char *s = YAJL_GET_STRING(v);
    char what[256];

    if (s && (!strcmp(s, "slaac") || !strcmp(s, "dhcpv6-stateful")
              || !strcmp(s, "dhcpv6-stateless"))) {
        return NULL;
    }
    jsonv_describe(v, what, sizeof what);
    return resource_attr_error(attr, "%s is not in valid_values", what);
}

static struct neutron_error *
validate_subnetpool(const char *attr, yajl_val v)
{
    const char *s = YAJL_GET_STRING(v);

    return s && !strcmp(s, "prefix_delegation") ? NULL
                                                : validate_uuid(attr, v);
}

/* Checks that 'item' is an object with exactly the keys 'a' and 'b'
 * (_verify_dict_keys, strict). */
static bool
dict_keys_reason(yajl_val item, const char *a, const char *b, char *reason,
                 size_t size)
{
    char what[256];

    if (!YAJL_IS_OBJECT(item)) {
        jsonv_describe(item, what, sizeof what);
        snprintf(reason, size, "Invalid input. '%s' must be a dictionary "
                 "with keys: ['%s', '%s']", what, a, b);
        return true;
    }
    bool has_a = false, has_b = false, other = false;
    for (size_t i = 0; i < item->u.object.len; i++) {
        const char *k = item->u.object.keys[i];
        has_a |= !strcmp(k, a);
        has_b |= !strcmp(k, b);
        other |= strcmp(k, a) && strcmp(k, b);
    }
    if (has_a && has_b && !other) {
        return false;
    }
    size_t len = snprintf(reason, size, "Validation of dictionary's keys "
                          "failed. Expected keys: {'%s', '%s'} Provided "
                          "keys: {", a, b);
    for (size_t i = 0; i < item->u.object.len && len < size; i++) {
        len += snprintf(reason + len, size - len, "%s'%.60s'",
                        i ? ", " : "", item->u.object.keys[i]);
    }
    if (len < size) {
        snprintf(reason + len, size - len, "}");
    }
    return true;
}

static struct neutron_error *
validate_pools(const char *attr, yajl_val v)
{
    char reason[600], what[256];

    if (!YAJL_IS_ARRAY(v)) {
        jsonv_describe(v, what, sizeof what);
        return resource_attr_error(attr,
                                   "Invalid data format for IP pool: '%s'",
                                   what);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val pool = v->u.array.values[i];
        if (dict_keys_reason(pool, "start", "end", reason, sizeof reason)
            || ip_reason(jsonv_member(pool, "start"), reason,
                         sizeof reason)
            || ip_reason(jsonv_member(pool, "end"), reason,
                         sizeof reason)) {
            return resource_attr_error(attr, "%s", reason);
        }
    }
    return NULL;
}

static struct neutron_error *
validate_dns(const char *attr, yajl_val v)
{
    char reason[600], what[256];

    if (!YAJL_IS_ARRAY(v)) {
        jsonv_describe(v, what, sizeof what);
        return resource_attr_error(attr,
                                   "Invalid data format for nameserver: '%s'",
                                   what);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val host = v->u.array.values[i];
        jsonv_describe(host, what, sizeof what);
        if (ip_reason(host, reason, sizeof reason)) {
            return resource_attr_error(attr,
                                       "'%s' is not a valid nameserver. %s",
                                       what, reason);
        }
        struct ipaddr a, b;
        ipaddr_parse(host->u.string, &a);
        for (size_t j = 0; j < i; j++) {
            ipaddr_parse(v->u.array.values[j]->u.string, &b);
            if (!ipaddr_cmp(&a, &b)) {
                return resource_attr_error(attr, "Duplicate nameserver '%s'",
                                           what);
            }
        }
    }
    return NULL;
}

/* The canonical form of a host route, for comparisons. */
static void
route_canon(yajl_val route, char *buf, size_t size)
{
    struct ipnet d;
    struct ipaddr h;
    char ds[IPNET_STR_MAX], hs[IPADDR_STR_MAX];

    ipnet_parse(jsonv_member(route, "destination")->u.string, false, &d);
    ipaddr_parse(jsonv_member(route, "nexthop")->u.string, &h);
    ipnet_format(&d, ds);
    ipaddr_format(&h, hs);
    snprintf(buf, size, "%s_%s", ds, hs);
}

static struct neutron_error *
validate_routes(const char *attr, yajl_val v)
{
    char reason[600], what[256];

    if (!YAJL_IS_ARRAY(v)) {
        jsonv_describe(v, what, sizeof what);
        return resource_attr_error(attr,
                                   "Invalid data format for hostroute: '%s'",
                                   what);
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val route = v->u.array.values[i];
        if (dict_keys_reason(route, "destination", "nexthop", reason,
                             sizeof reason)
            || cidr_reason(jsonv_member(route, "destination"), reason,
                           sizeof reason)
            || ip_reason(jsonv_member(route, "nexthop"), reason,
                         sizeof reason)) {
            return resource_attr_error(attr, "%s", reason);
        }
        char a[120], b[120];
        route_canon(route, a, sizeof a);
        for (size_t j = 0; j < i; j++) {
            route_canon(v->u.array.values[j], b, sizeof b);
            if (!strcmp(a, b)) {
                return resource_attr_error(
                    attr, "Duplicate hostroute '{'destination': "
                    "'%.60s', 'nexthop': '%.60s'}'",
                    jsonv_member(route, "destination")->u.string,
                    jsonv_member(route, "nexthop")->u.string);
            }
        }
    }
    return NULL;
}

/* ---- The resource ---- */

enum {
    A_ID, A_NAME, A_PROJECT_ID, A_TENANT_ID, A_NETWORK_ID, A_IP_VERSION,
    A_CIDR, A_PREFIXLEN, A_SUBNETPOOL_ID, A_GATEWAY_IP, A_ALLOCATION_POOLS,
    A_DNS_NAMESERVERS, A_HOST_ROUTES, A_ENABLE_DHCP, A_IPV6_RA_MODE,
    A_IPV6_ADDRESS_MODE, A_SEGMENT_ID, A_DESCRIPTION, A_TAGS, A_CREATED_AT,
    A_UPDATED_AT, A_REVISION_NUMBER, N_ATTRS
};

#define FS (AF_FILTER | AF_SORT)

static const struct attr_def attrs[N_ATTRS] = {
    [A_ID] = { "id", AT_UUID, FS, "id", NULL, 0, 0, NULL },
    [A_NAME] = { "name", AT_STRING, AF_POST | AF_PUT | FS, "name", "\"\"",
                 0, 255, NULL },
    [A_PROJECT_ID] = { "project_id", AT_STRING, AF_POST | FS | AF_PROJECT,
                       "project_id", NULL, 0, 255, NULL },
    [A_TENANT_ID] = { "tenant_id", AT_STRING, AF_POST | FS | AF_PROJECT,
                      "project_id", NULL, 0, 255, NULL },
    [A_NETWORK_ID] = { "network_id", AT_UUID, AF_POST | AF_REQUIRED | FS,
                       "network_id", NULL, 0, 0, validate_uuid },
    [A_IP_VERSION] = { "ip_version", AT_INT, AF_POST | AF_REQUIRED | FS,
                       "ip_version", NULL, 0, 0, validate_ip_version },
    [A_CIDR] = { "cidr", AT_CIDR, AF_POST | FS | AF_NULLABLE, "cidr", NULL,
                 0, 0, validate_cidr },
    /* Only with subnet pools, which Hadron does not have; never shown. */
    [A_PREFIXLEN] = { "prefixlen", AT_INT, AF_POST | AF_NULLABLE, NULL,
                      NULL, 0, 128, NULL },
    [A_SUBNETPOOL_ID] = { "subnetpool_id", AT_STRING,
                          AF_POST | FS | AF_NULLABLE, "subnetpool_id",
                          "null", 0, 64, validate_subnetpool },
    [A_GATEWAY_IP] = { "gateway_ip", AT_IP, AF_POST | AF_PUT | FS
                       | AF_NULLABLE, "gateway_ip", NULL, 0, 0, validate_ip },
    [A_ALLOCATION_POOLS] = { "allocation_pools", AT_JSON,
                             AF_POST | AF_PUT | AF_NULLABLE, NULL, NULL, 0, 0,
                             validate_pools },
    [A_DNS_NAMESERVERS] = { "dns_nameservers", AT_JSON,
                            AF_POST | AF_PUT | AF_NULLABLE, NULL, NULL, 0, 0,
                            validate_dns },
    [A_HOST_ROUTES] = { "host_routes", AT_JSON,
                        AF_POST | AF_PUT | AF_NULLABLE, NULL, NULL, 0, 0,
                        validate_routes },
    [A_ENABLE_DHCP] = { "enable_dhcp", AT_BOOL, AF_POST | AF_PUT | FS,
                        "enable_dhcp", "true", 0, 0, NULL },
    [A_IPV6_RA_MODE] = { "ipv6_ra_mode", AT_STRING, AF_POST | FS,
                         "ipv6_ra_mode", "null", 0, 16, validate_ipv6_mode },
    [A_IPV6_ADDRESS_MODE] = { "ipv6_address_mode", AT_STRING, AF_POST | FS,
                              "ipv6_address_mode", "null", 0, 16,
                              validate_ipv6_mode },
    [A_SEGMENT_ID] = { "segment_id", AT_UUID, AF_POST | FS | AF_NULLABLE
                       | AF_ADMIN_READ | AF_ADMIN_WRITE, "segment_id",
                       "null", 0, 0, validate_uuid },
    [A_DESCRIPTION] = { "description", AT_STRING, AF_POST | AF_PUT | FS,
                        "description", "\"\"", 0, 255, NULL },
    [A_TAGS] = { "tags", AT_JSON, 0, NULL, NULL, 0, 0, NULL },
    [A_CREATED_AT] = { "created_at", AT_STRING, FS, "created_at", NULL, 0, 0,
                       NULL },
    [A_UPDATED_AT] = { "updated_at", AT_STRING, FS, "updated_at", NULL, 0, 0,
                       NULL },
    [A_REVISION_NUMBER] = { "revision_number", AT_INT, FS, "revision_number",
                            NULL, 0, 0, NULL },
};

static struct neutron_error *subnet_create(const struct op_ctx *,
                                           const struct res_obj *,
                                           struct res_obj **);
static struct neutron_error *subnet_update(const struct op_ctx *,
                                           struct res_obj *,
                                           const struct res_obj *,
                                           struct res_obj **);
static struct neutron_error *subnet_remove(const struct op_ctx *,
                                           struct res_obj *);
static struct neutron_error *subnet_after_create(const struct op_ctx *,
                                                 const struct res_obj *);
static struct neutron_error *subnet_after_update(const struct op_ctx *,
                                                 const struct res_obj *);
static struct neutron_error *subnet_after_remove(const struct op_ctx *,
                                                 const struct res_obj *);
static struct neutron_error *subnet_expand(struct db *, struct res_obj **,
                                           size_t);
static bool subnet_may_modify(const struct op_ctx *, const struct res_obj *);

static const struct resource_ops subnet_ops = {
    .create = subnet_create,
    .update = subnet_update,
    .remove = subnet_remove,
    .after_create = subnet_after_create,
    .after_update = subnet_after_update,
    .after_remove = subnet_after_remove,
    .expand = subnet_expand,
    .may_modify = subnet_may_modify,
};

const struct resource_def l2_subnet_def = {
    .singular = "subnet",
    .plural = "subnets",
    .table = "subnets",
    .not_found = "SubnetNotFound",
    .display = "Subnet",
    .attrs = attrs,
    .n_attrs = N_ATTRS,
    .visible_sql = "t.project_id = ? OR EXISTS (SELECT 1 FROM networks n "
                   "WHERE n.id = t.network_id AND (n.shared = 1 OR "
                   "n.router_external = 1))",
    .tags = true,
    .ops = &subnet_ops,
};

/* ---- Address ranges ---- */

struct ip_range {
    struct ipaddr first, last;
};

static void
range_format(const struct ip_range *r, char *buf, size_t size)
{
    char a[IPADDR_STR_MAX], b[IPADDR_STR_MAX];

    ipaddr_format(&r->first, a);
    ipaddr_format(&r->last, b);
    snprintf(buf, size, "%s-%s", a, b);
}

static bool
range_contains(const struct ip_range *r, const struct ipaddr *a)
{
    return a->version == r->first.version
           && ipaddr_cmp(&r->first, a) <= 0 && ipaddr_cmp(a, &r->last) <= 0;
}

static int
range_cmp(const void *a_, const void *b_)
{
    const struct ip_range *a = a_, *b = b_;

    return ipaddr_cmp(&a->first, &b->first);
}

static void
sort_ranges(struct ip_range *r, size_t n)
{
    if (n > 1) {
        qsort(r, n, sizeof *r, range_cmp);
    }
}

/* ipam.utils.generate_pools: the whole prefix but the network address
 * (and the IPv4 broadcast address, for prefixes up to /30), less the
 * gateway.  Returns the number of ranges written into 'out' (at most 2). */
static size_t
generate_pools(const struct ipnet *cidr, const struct ipaddr *gateway,
               struct ip_range out[2])
{
    struct ipaddr first, last, lo, hi;

    ipnet_first(cidr, &first);
    ipnet_last(cidr, &last);
    if (!ipaddr_cmp(&first, &last)) {
        out[0].first = first;
        out[0].last = last;
        return 1;
    }
    lo = first;
    hi = last;
    if (cidr->addr.version == 6 || cidr->prefix <= 30) {
        ipaddr_add(&first, 1, &lo);
    }
    if (cidr->addr.version == 4 && cidr->prefix <= 30) {
        ipaddr_add(&last, -1, &hi);
    }
    if (ipaddr_cmp(&lo, &hi) > 0) {
        return 0;
    }
    struct ip_range whole = { lo, hi };
    if (!gateway || !range_contains(&whole, gateway)) {
        out[0] = whole;
        return 1;
    }
    size_t n = 0;
    if (ipaddr_cmp(&lo, gateway) < 0) {
        out[n].first = lo;
        ipaddr_add(gateway, -1, &out[n].last);
        n++;
    }
    if (ipaddr_cmp(gateway, &hi) < 0) {
        ipaddr_add(gateway, 1, &out[n].first);
        out[n].last = hi;
        n++;
    }
    return n;
}

/* pools_to_ip_range + validate_allocation_pools: parses the request's
 * pools (already checked to be {start, end} with addresses) and checks
 * them against 'cidr'.  Caller frees '*out'. */
static struct neutron_error *
parse_pools(yajl_val list, const struct ipnet *cidr, const char *cidr_text,
            struct ip_range **out, size_t *n_out)
{
    size_t n = list->u.array.len;
    struct ip_range *r = xcalloc(n + 1, sizeof *r);
    struct ipaddr first, last, lo, hi;
    struct neutron_error *error = NULL;
    char a[120], b[120];

    for (size_t i = 0; i < n; i++) {
        yajl_val pool = list->u.array.values[i];
        const char *s = jsonv_member(pool, "start")->u.string;
        const char *e = jsonv_member(pool, "end")->u.string;

        ipaddr_parse(s, &r[i].first);
        ipaddr_parse(e, &r[i].last);
        if (r[i].first.version != r[i].last.version
            || ipaddr_cmp(&r[i].first, &r[i].last) > 0) {
            error = neutron_error_create(
                NE_BAD_REQUEST, "InvalidAllocationPool", "The allocation "
                "pool {'start': '%.60s', 'end': '%.60s'} is not valid.", s, e);
            goto out;
        }
    }
    ipnet_first(cidr, &first);
    ipnet_last(cidr, &last);
    ipaddr_add(&first, 1, &lo);
    hi = last;
    if (cidr->addr.version == 4) {
        ipaddr_add(&last, -1, &hi);
    }
    for (size_t i = 0; i < n; i++) {
        range_format(&r[i], a, sizeof a);
        if (r[i].first.version != cidr->addr.version) {
            error = neutron_error_create(NE_BAD_REQUEST,
                                         "InvalidAllocationPool",
                                         "The allocation pool %s is not "
                                         "valid.", a);
            goto out;
        }
        if (ipaddr_cmp(&r[i].first, &lo) < 0
            || ipaddr_cmp(&r[i].last, &hi) > 0) {
            error = neutron_error_create(NE_BAD_REQUEST,
                                         "OutOfBoundsAllocationPool",
                                         "The allocation pool %s spans "
                                         "beyond the subnet cidr %s.", a,
                                         cidr_text);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (ipaddr_cmp(&r[i].first, &r[j].last) <= 0
                && ipaddr_cmp(&r[j].first, &r[i].last) <= 0) {
                range_format(&r[i], a, sizeof a);
                range_format(&r[j], b, sizeof b);
                error = neutron_error_create(
                    NE_CONFLICT, "OverlappingAllocationPools",
                    "Found overlapping allocation pools: %s %s for subnet "
                    "%s.", a, b, cidr_text);
                goto out;
            }
        }
    }
out:
    if (error) {
        free(r);
        r = NULL;
        n = 0;
    }
    *out = r;
    *n_out = n;
    return error;
}

/* validate_gw_out_of_pools. */
static struct neutron_error *
check_gateway_out_of_pools(const struct ipaddr *gateway,
                           const struct ip_range *pools, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (range_contains(&pools[i], gateway)) {
            char g[IPADDR_STR_MAX], p[120];
            ipaddr_format(gateway, g);
            range_format(&pools[i], p, sizeof p);
            return neutron_error_create(
                NE_CONFLICT, "GatewayConflictWithAllocationPools",
                "Gateway ip %s conflicts with allocation pool %s.", g, p);
        }
    }
    return NULL;
}

/* ---- JSON text of the child attributes ---- */

static char *
pools_json(const struct ip_range *pools, size_t n)
{
    struct sql_buf b;
    char a[IPADDR_STR_MAX], z[IPADDR_STR_MAX];

    sql_init(&b);
    sql_add(&b, "[");
    for (size_t i = 0; i < n; i++) {
        ipaddr_format(&pools[i].first, a);
        ipaddr_format(&pools[i].last, z);
        sql_addf(&b, "%s{\"start\": \"%s\", \"end\": \"%s\"}", i ? ", " : "",
                 a, z);
    }
    sql_add(&b, "]");
    char *s = b.text;
    b.text = NULL;
    sql_destroy(&b);
    return s;
}

/* Appends 's' as a JSON string (addresses and prefixes only need no
 * escaping, but text read back from the database is escaped anyway). */
static void
json_add_str(struct sql_buf *b, const char *s)
{
    sql_add(b, "\"");
    for (; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            sql_addf(b, "\\%c", c);
        } else if (c < 0x20) {
            sql_addf(b, "\\u%04x", c);
        } else {
            char one[2] = { (char) c, '\0' };
            sql_add(b, one);
        }
    }
    sql_add(b, "\"");
}

static char *
steal_text(struct sql_buf *b)
{
    char *s = b->text;

    b->text = NULL;
    sql_destroy(b);
    return s;
}

/* ---- Database helpers ---- */

static struct neutron_error *
exec(struct db *db, const char *sql, const char *const *params, size_t n,
     const char *what)
{
    int rc = db_exec_params(db, sql, params, n);

    return rc == DB_OK ? NULL : store_db_error(db, rc, what);
}

static struct neutron_error *
write_pools(struct db *db, const char *id, const struct ip_range *pools,
            size_t n)
{
    struct neutron_error *error = NULL;

    for (size_t i = 0; i < n && !error; i++) {
        char a[IPADDR_STR_MAX], z[IPADDR_STR_MAX];
        const char *params[3] = { id, a, z };
        ipaddr_format(&pools[i].first, a);
        ipaddr_format(&pools[i].last, z);
        error = exec(db, "INSERT INTO ipallocationpools (subnet_id, "
                     "first_ip, last_ip) VALUES (?, ?, ?)", params, 3,
                     "writing allocation pools");
    }
    return error;
}

/* Writes the DNS servers of 'list' (may be NULL: none) and returns their
 * JSON text in '*json'. */
static struct neutron_error *
write_dns(struct db *db, const char *id, yajl_val list, char **json)
{
    struct neutron_error *error = NULL;
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "[");
    for (size_t i = 0; list && i < list->u.array.len && !error; i++) {
        const char *addr = list->u.array.values[i]->u.string;
        char order[24];
        const char *params[3] = { id, addr, order };
        snprintf(order, sizeof order, "%zu", i);
        error = exec(db, "INSERT INTO dnsnameservers (subnet_id, address, "
                     "list_order) VALUES (?, ?, ?)", params, 3,
                     "writing DNS servers");
        if (i) {
            sql_add(&b, ", ");
        }
        json_add_str(&b, addr);
    }
    sql_add(&b, "]");
    *json = steal_text(&b);
    return error;
}

static struct neutron_error *
write_routes(struct db *db, const char *id, yajl_val list, char **json)
{
    struct neutron_error *error = NULL;
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "[");
    for (size_t i = 0; list && i < list->u.array.len && !error; i++) {
        yajl_val route = list->u.array.values[i];
        char ds[IPNET_STR_MAX], hs[IPADDR_STR_MAX];
        struct ipnet d;
        struct ipaddr h;
        const char *params[3] = { id, ds, hs };

        ipnet_parse(jsonv_member(route, "destination")->u.string, false,
                    &d);
        ipaddr_parse(jsonv_member(route, "nexthop")->u.string, &h);
        ipnet_format(&d, ds);
        ipaddr_format(&h, hs);
        error = exec(db, "INSERT INTO subnetroutes (subnet_id, destination, "
                     "nexthop) VALUES (?, ?, ?)", params, 3,
                     "writing host routes");
        sql_addf(&b, "%s{\"destination\": \"%s\", \"nexthop\": \"%s\"}",
                 i ? ", " : "", ds, hs);
    }
    sql_add(&b, "]");
    *json = steal_text(&b);
    return error;
}

static struct neutron_error *
delete_children(struct db *db, const char *id, bool pools, bool dns,
                bool routes)
{
    const char *params[1] = { id };
    struct neutron_error *error = NULL;

    if (pools) {
        error = exec(db, "DELETE FROM ipallocationpools WHERE subnet_id = ?",
                     params, 1, "deleting allocation pools");
    }
    if (!error && dns) {
        error = exec(db, "DELETE FROM dnsnameservers WHERE subnet_id = ?",
                     params, 1, "deleting DNS servers");
    }
    if (!error && routes) {
        error = exec(db, "DELETE FROM subnetroutes WHERE subnet_id = ?",
                     params, 1, "deleting host routes");
    }
    return error;
}

/* Loads the pools of subnet 'id' (address order). */
static struct neutron_error *
load_pools(struct db *db, const char *id, struct ip_range **out, size_t *n)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT first_ip, last_ip FROM "
                                      "ipallocationpools WHERE subnet_id "
                                      "= ?");
    struct ip_range *r = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading allocation pools");
    }
    db_bind_text(stmt, 1, id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        r = xrealloc(r, (*n + 1) * sizeof *r);
        ipaddr_parse(db_col_text(stmt, 0), &r[*n].first);
        ipaddr_parse(db_col_text(stmt, 1), &r[*n].last);
        (*n)++;
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        free(r);
        *n = 0;
        return store_db_error(db, rc, "reading allocation pools");
    }
    sort_ranges(r, *n);
    *out = r;
    return NULL;
}

/* ---- Neutron's checks ---- */

static bool
is_auto_address(const char *ra_mode, const char *addr_mode)
{
    return (addr_mode && (!strcmp(addr_mode, "slaac")
                          || !strcmp(addr_mode, "dhcpv6-stateless")))
           || (ra_mode && (!strcmp(ra_mode, "slaac")
                           || !strcmp(ra_mode, "dhcpv6-stateless")));
}

/* What _validate_subnet looks at, for a create or an update. */
struct subnet_spec {
    const char *id;                 /* NULL on create */
    int version;
    struct ipnet cidr;              /* host bits cleared */
    char cidr_text[IPNET_STR_MAX];
    bool dhcp_given, dhcp;          /* enable_dhcp given, and its value */
    bool dhcp_was_enabled;
    bool gateway_given;             /* a non-null gateway given */
    struct ipaddr gateway;
    const char *gateway_text;
    const char *cur_gateway;        /* update: the current gateway, or NULL */
    yajl_val dns, routes;           /* given lists, or NULL */
    const char *ra_mode, *addr_mode;
    const char *cur_ra_mode, *cur_addr_mode;    /* update */
};

/* _validate_ip_version. */
static struct neutron_error *
check_version(const struct subnet_spec *s, int version, const char *text,
              const char *name)
{
    if (version != s->version) {
        return resource_invalid_input("%s '%s' does not match the ip_version "
                                      "'%d'", name, text, s->version);
    }
    return NULL;
}

/* True if 'n' lies wholly within 'outer'. */
static bool
ipnet_within(const struct ipnet *n, const char *outer_text)
{
    struct ipnet outer;

    ipnet_parse(outer_text, false, &outer);
    return n->addr.version == outer.addr.version
           && n->prefix >= outer.prefix && ipnet_contains(&outer, &n->addr);
}

/* db_base_plugin_v2._validate_subnet, in its order. */
static struct neutron_error *
validate_subnet(const struct op_ctx *ctx, const struct subnet_spec *s)
{
    struct neutron_error *error;

    error = check_version(s, s->cidr.addr.version, s->cidr_text, "cidr");
    if (error) {
        return error;
    }
    if (s->dhcp && (s->id ? s->dhcp_given : true) && !s->dhcp_was_enabled) {
        if ((s->version == 4 && s->cidr.prefix > 30)
            || (s->version == 6 && s->cidr.prefix > 126)) {
            return resource_invalid_input("Subnet has a prefix length that is "
                                          "incompatible with DHCP service "
                                          "enabled");
        }
        if (ipnet_within(&s->cidr, s->version == 4 ? "224.0.0.0/4"
                                                   : "ff00::/8")) {
            return resource_invalid_input("Multicast IP subnet is not "
                                          "supported if enable_dhcp is True");
        }
        if (s->version == 4 ? ipnet_within(&s->cidr, "127.0.0.0/8")
                            : s->cidr.prefix == 128
                              && ipnet_within(&s->cidr, "::1/128")) {
            return resource_invalid_input("Loopback IP subnet is not "
                                          "supported if enable_dhcp is True");
        }
        struct ipaddr first;
        ipnet_first(&s->cidr, &first);
        if (s->version == 4 && !first.b[0] && !first.b[1] && !first.b[2]
            && !first.b[3]) {
            return resource_invalid_input("First IP '0.0.0.0' of network is "
                                          "not supported if enable_dhcp is "
                                          "True.");
        }
    }
    if (s->gateway_given) {
        error = check_version(s, s->gateway.version, s->gateway_text,
                              "gateway_ip");
        if (error) {
            return error;
        }
        /* check_gateway_invalid_in_subnet: an IPv4 gateway may not be the
         * network or the broadcast address. */
        struct ipaddr first, last;
        ipnet_first(&s->cidr, &first);
        ipnet_last(&s->cidr, &last);
        if (s->version == 4 && ipnet_contains(&s->cidr, &s->gateway)
            && (!ipaddr_cmp(&s->gateway, &first)
                || !ipaddr_cmp(&s->gateway, &last))) {
            return resource_invalid_input("Gateway is not valid on subnet");
        }
        /* The current gateway may not be taken from a router using it. */
        if (s->id && s->cur_gateway && strcmp(s->cur_gateway,
                                              s->gateway_text)) {
            struct db_stmt *stmt = db_prepare(
                ctx->db, "SELECT a.port_id FROM ipallocations a JOIN ports p "
                "ON p.id = a.port_id WHERE a.subnet_id = ? AND "
                "a.ip_address = ? AND p.device_owner IN (?, ?, ?, ?)");
            static const char *const owners[] = {
                "network:router_interface",
                "network:router_interface_distributed",
                "network:ha_router_replicated_interface",
                "network:router_gateway",
            };
            int rc;

            if (!stmt) {
                return store_db_error(ctx->db, DB_ERROR, "reading ports");
            }
            db_bind_text(stmt, 1, s->id);
            db_bind_text(stmt, 2, s->cur_gateway);
            for (size_t i = 0; i < ARRAY_SIZE(owners); i++) {
                db_bind_text(stmt, i + 3, owners[i]);
            }
            rc = db_step(stmt);
            if (rc == DB_ROW) {
                error = neutron_error_create(
                    NE_CONFLICT, "GatewayIpInUse", "Current gateway ip %s "
                    "already in use by port %s. Unable to update.",
                    s->cur_gateway, db_col_text(stmt, 0));
            } else if (rc != DB_DONE) {
                error = store_db_error(ctx->db, rc, "reading ports");
            }
            db_reset(stmt);
            if (error) {
                return error;
            }
        }
    }
    if (s->dns) {
        int max = ctx->cfg ? ctx->cfg->max_dns_nameservers : DEFAULT_MAX_DNS;
        if (s->dns->u.array.len > (size_t) max) {
            return neutron_error_create(
                NE_BAD_REQUEST, "DNSNameServersExhausted", "Unable to "
                "complete operation for %s. The number of DNS nameservers "
                "exceeds the limit %d.", s->id ? s->id : "new subnet", max);
        }
        for (size_t i = 0; i < s->dns->u.array.len; i++) {
            const char *text = s->dns->u.array.values[i]->u.string;
            struct ipaddr a;
            ipaddr_parse(text, &a);
            error = check_version(s, a.version, text, "dns_nameserver");
            if (error) {
                return error;
            }
        }
    }
    if (s->routes) {
        int max = ctx->cfg ? ctx->cfg->max_subnet_host_routes
                           : DEFAULT_MAX_ROUTES;
        if (s->routes->u.array.len > (size_t) max) {
            return neutron_error_create(
                NE_BAD_REQUEST, "HostRoutesExhausted", "Unable to complete "
                "operation for %s. The number of host routes exceeds the "
                "limit %d.", s->id ? s->id : "new subnet", max);
        }
        for (size_t i = 0; i < s->routes->u.array.len; i++) {
            yajl_val r = s->routes->u.array.values[i];
            const char *d = jsonv_member(r, "destination")->u.string;
            const char *h = jsonv_member(r, "nexthop")->u.string;
            struct ipnet dn;
            struct ipaddr ha;
            ipnet_parse(d, false, &dn);
            ipaddr_parse(h, &ha);
            error = check_version(s, ha.version, h, "nexthop");
            if (!error) {
                error = check_version(s, dn.addr.version, d, "destination");
            }
            if (error) {
                return error;
            }
        }
    }
    if (s->version == 4) {
        if (s->ra_mode) {
            return resource_invalid_input("ipv6_ra_mode is not valid when "
                                          "ip_version is 4");
        }
        if (s->addr_mode) {
            return resource_invalid_input("ipv6_address_mode is not valid "
                                          "when ip_version is 4");
        }
        return NULL;
    }
    if (s->id) {
        /* _validate_ipv6_update_dhcp */
        if (s->dhcp_given && !s->dhcp
            && (s->cur_ra_mode || s->cur_addr_mode)) {
            return resource_invalid_input("Cannot disable enable_dhcp with "
                                          "ipv6 attributes set");
        }
        return NULL;
    }
    if ((s->ra_mode || s->addr_mode) && !s->dhcp) {
        return resource_invalid_input("ipv6_ra_mode or ipv6_address_mode "
                                      "cannot be set when enable_dhcp is set "
                                      "to False");
    }
    if (s->ra_mode && s->addr_mode && strcmp(s->ra_mode, s->addr_mode)) {
        return resource_invalid_input("ipv6_ra_mode set to '%s' with "
                                      "ipv6_address_mode set to '%s' is not "
                                      "valid. If both attributes are set, "
                                      "they must be the same value",
                                      s->ra_mode, s->addr_mode);
    }
    if ((s->ra_mode || s->addr_mode)
        && is_auto_address(s->ra_mode, s->addr_mode)
        && s->cidr.prefix != 64) {
        return resource_invalid_input("Invalid CIDR %s for IPv6 address mode. "
                                      "OpenStack uses the EUI-64 address "
                                      "format, which requires the prefix to "
                                      "be /64", s->cidr_text);
    }
    return NULL;
}

/* ---- Networks and policy ---- */

static const char *
obj_str(const struct res_obj *obj, const char *name)
{
    int i = resource_attr_index(obj->def, name);

    return i >= 0 ? value_str(&obj->v[i]) : NULL;
}

/* Reads the owner of network 'id' into 'owner' ("" if there is none). */
static struct neutron_error *
network_owner(struct db *db, const char *id, char *owner, size_t size)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT project_id FROM networks "
                                      "WHERE id = ?");
    int rc;

    owner[0] = '\0';
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a network");
    }
    db_bind_text(stmt, 1, id);
    rc = db_step(stmt);
    if (rc == DB_ROW && db_col_text(stmt, 0)) {
        str_copy(owner, db_col_text(stmt, 0), size);
    }
    db_reset(stmt);
    return rc == DB_ROW || rc == DB_DONE ? NULL
           : store_db_error(db, rc, "reading a network");
}

/* The API layer's policy check for a new subnet on 'network_id':
 * create_subnet is "rule:admin_or_network_owner"; a network the caller
 * cannot see (neither its own, shared nor external) is a 404.  One
 * primary-key read instead of loading the whole network. */
static struct neutron_error *
check_create_policy(const struct op_ctx *ctx, const char *network_id)
{
    struct db_stmt *stmt = db_prepare(ctx->db, "SELECT project_id, shared, "
                                      "router_external FROM networks WHERE "
                                      "id = ?");
    struct neutron_error *error = NULL;
    int rc;

    if (!stmt) {
        return store_db_error(ctx->db, DB_ERROR, "reading a network");
    }
    db_bind_text(stmt, 1, network_id);
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        const char *owner = db_col_text(stmt, 0);
        bool own = ctx->auth.is_admin
                   || (owner && !strcmp(owner, ctx->auth.project_id));
        if (!own && !db_col_int64(stmt, 1) && !db_col_int64(stmt, 2)) {
            rc = DB_DONE;
        } else if (!own) {
            error = neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                         "(rule:create_subnet) is disallowed "
                                         "by policy");
        }
    }
    db_reset(stmt);
    if (rc == DB_DONE) {
        error = neutron_error_create(NE_NOT_FOUND, "NetworkNotFound",
                                     "Network %s could not be found.",
                                     network_id);
    } else if (rc != DB_ROW) {
        error = store_db_error(ctx->db, rc, "reading a network");
    }
    return error;
}

/* update_subnet and delete_subnet: "rule:admin_or_network_owner" (the
 * subnet's own project passes the API layer's check before this). */
static bool
subnet_may_modify(const struct op_ctx *ctx, const struct res_obj *obj)
{
    char owner[AUTH_ID_MAX];
    struct neutron_error *error = network_owner(ctx->db,
                                                obj_str(obj, "network_id"),
                                                owner, sizeof owner);

    if (error) {
        neutron_error_destroy(error);
        return false;
    }
    return *owner && !strcmp(owner, ctx->auth.project_id);
}

/* On MariaDB, locks the network row so that subnets of one network are
 * created one at a time (the overlap check reads the others); SQLite
 * writers are serialised anyway. */
static struct neutron_error *
lock_network(struct db *db, const char *id)
{
    const char *params[1] = { id };

    if (db_engine(db) != DB_ENGINE_MARIADB) {
        return NULL;
    }
    return exec(db, "SELECT id FROM networks WHERE id = ? FOR UPDATE",
                params, 1, "locking a network");
}

/* _validate_subnet_cidr and the segment checks of _save_subnet. */
static struct neutron_error *
check_network_subnets(struct db *db, const char *network_id,
                      const struct subnet_spec *s, const char *segment_id)
{
    struct db_stmt *stmt;
    struct neutron_error *error = NULL;
    bool any = false, some_null = false, some_set = false;
    int rc;

    if (!s->cidr.prefix) {
        return resource_invalid_input("0 is not allowed as CIDR prefix "
                                      "length");
    }
    stmt = db_prepare(db, "SELECT cidr, segment_id FROM subnets WHERE "
                      "network_id = ?");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading subnets");
    }
    db_bind_text(stmt, 1, network_id);
    while ((rc = db_step(stmt)) == DB_ROW) {
        struct ipnet other;
        any = true;
        if (db_col_is_null(stmt, 1)) {
            some_null = true;
        } else {
            some_set = true;
        }
        if (!error && ipnet_parse(db_col_text(stmt, 0), false, &other)
            && ipnet_overlaps(&other, &s->cidr)) {
            error = resource_invalid_input("Requested subnet with cidr: %s "
                                           "for network: %s overlaps with "
                                           "another subnet", s->cidr_text,
                                           network_id);
        }
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        neutron_error_destroy(error);
        return store_db_error(db, rc, "reading subnets");
    }
    if (error) {
        return error;
    }
    if (segment_id) {
        stmt = db_prepare(db, "SELECT network_id FROM network_segments "
                          "WHERE id = ?");
        if (!stmt) {
            return store_db_error(db, DB_ERROR, "reading a segment");
        }
        db_bind_text(stmt, 1, segment_id);
        rc = db_step(stmt);
        if (rc == DB_DONE) {
            error = neutron_error_create(NE_NOT_FOUND, "SegmentNotFound",
                                         "Segment %s could not be found.",
                                         segment_id);
        } else if (rc == DB_ROW && strcmp(db_col_text(stmt, 0), network_id)) {
            error = neutron_error_create(
                NE_BAD_REQUEST, "NetworkIdsDontMatch", "The subnet's "
                "network id, '%s', doesn't match the network_id of segment "
                "'%s'", network_id, segment_id);
        } else if (rc != DB_ROW) {
            error = store_db_error(db, rc, "reading a segment");
        }
        db_reset(stmt);
        if (error) {
            return error;
        }
    }
    if (any && ((segment_id && some_null) || (!segment_id && some_set))) {
        return neutron_error_create(
            NE_BAD_REQUEST, "SubnetsNotAllAssociatedWithSegments", "All of "
            "the subnets on network '%s' must either all be associated with "
            "segments or all not associated with any segment.", network_id);
    }
    return NULL;
}

/* ---- Events and mechanism drivers ---- */

static struct neutron_error *
precommit(const struct op_ctx *ctx, enum l2_mech_op op,
          const struct res_obj *cur, const struct res_obj *orig)
{
    static const enum event_type types[] = {
        [L2_MECH_CREATE] = EV_PRECOMMIT_CREATE,
        [L2_MECH_UPDATE] = EV_PRECOMMIT_UPDATE,
        [L2_MECH_DELETE] = EV_PRECOMMIT_DELETE,
    };
    struct l2_mech_context mc = {
        .ctx = ctx, .op = op, .cur = cur, .orig = orig,
    };
    struct neutron_error *error = events_publish(ctx, EV_SUBNET, types[op],
                                                 cur, orig);

    return error ? error : l2_mech_precommit__("subnet", &mc);
}

static struct neutron_error *
postcommit(const struct op_ctx *ctx, enum l2_mech_op op,
           const struct res_obj *cur, const struct res_obj *orig)
{
    static const enum event_type types[] = {
        [L2_MECH_CREATE] = EV_AFTER_CREATE,
        [L2_MECH_UPDATE] = EV_AFTER_UPDATE,
        [L2_MECH_DELETE] = EV_AFTER_DELETE,
    };
    struct l2_mech_context mc = {
        .ctx = ctx, .op = op, .cur = cur, .orig = orig,
    };
    struct neutron_error *error = l2_mech_postcommit__("subnet", &mc);

    if (!error) {
        events_publish(ctx, EV_SUBNET, types[op], cur, orig);
    }
    return error;
}

/* ---- Create ---- */

static yajl_val
tree_or_null(const struct value *v)
{
    return v->kind == VALUE_TREE ? v->tree : NULL;
}

static struct neutron_error *
subnet_create(const struct op_ctx *ctx, const struct res_obj *body,
              struct res_obj **out)
{
    struct res_obj *obj = res_obj_clone(body);
    struct ip_range *pools = NULL, gen[2];
    size_t n_pools = 0;
    struct subnet_spec s = { .dhcp_given = true };
    struct neutron_error *error;
    char *dns_json = NULL, *routes_json = NULL;
    struct value *v = obj->v;
    const char *network_id = value_str(&v[A_NETWORK_ID]);
    const char *id;

    *out = NULL;
    error = store_fill_new(ctx, obj);
    if (error) {
        goto out;
    }
    id = value_str(&v[A_ID]);

    error = check_create_policy(ctx, network_id);
    if (error) {
        goto out;
    }

    bool has_cidr = v[A_CIDR].kind == VALUE_STRING;
    if (has_cidr && v[A_PREFIXLEN].kind == VALUE_INT) {
        error = neutron_error_bad_request("Bad subnets request: cidr and "
                                          "prefixlen must not be supplied "
                                          "together.");
        goto out;
    }
    const char *pool_id = value_str(&v[A_SUBNETPOOL_ID]);
    if (pool_id && !(has_cidr && !strcmp(pool_id, "prefix_delegation"))) {
        error = neutron_error_create(NE_NOT_FOUND, "SubnetPoolNotFound",
                                     "Subnet pool %s could not be found.",
                                     pool_id);
        goto out;
    }
    value_set_null(&v[A_SUBNETPOOL_ID]);
    value_clear(&v[A_PREFIXLEN]);
    if (!has_cidr) {
        error = neutron_error_bad_request("Bad subnets request: a subnetpool "
                                          "must be specified in the absence "
                                          "of a cidr.");
        goto out;
    }

    /* The CIDR, host bits cleared. */
    ipnet_parse(value_str(&v[A_CIDR]), false, &s.cidr);
    ipnet_first(&s.cidr, &s.cidr.addr);
    ipnet_format(&s.cidr, s.cidr_text);
    value_set_str(&v[A_CIDR], s.cidr_text);

    s.version = (int) v[A_IP_VERSION].i;
    s.dhcp = v[A_ENABLE_DHCP].b;
    if (v[A_GATEWAY_IP].kind == VALUE_STRING) {
        s.gateway_given = true;
        s.gateway_text = value_str(&v[A_GATEWAY_IP]);
        ipaddr_parse(s.gateway_text, &s.gateway);
    }
    if (v[A_DNS_NAMESERVERS].kind == VALUE_TREE) {
        s.dns = v[A_DNS_NAMESERVERS].tree;
    }
    if (v[A_HOST_ROUTES].kind == VALUE_TREE) {
        s.routes = v[A_HOST_ROUTES].tree;
    }
    s.ra_mode = value_str(&v[A_IPV6_RA_MODE]);
    s.addr_mode = value_str(&v[A_IPV6_ADDRESS_MODE]);
    error = validate_subnet(ctx, &s);
    if (error) {
        goto out;
    }

    /* The gateway: the first address unless given (or null). */
    struct ipaddr gateway;
    bool has_gateway;
    if (v[A_GATEWAY_IP].kind == VALUE_UNSET) {
        has_gateway = ipaddr_add(&s.cidr.addr, 1, &gateway);
        if (has_gateway) {
            char g[IPADDR_STR_MAX];
            ipaddr_format(&gateway, g);
            value_set_str(&v[A_GATEWAY_IP], g);
        } else {
            value_set_null(&v[A_GATEWAY_IP]);
        }
    } else {
        has_gateway = s.gateway_given;
        gateway = s.gateway;
    }

    /* _prepare_allocation_pools. */
    if (v[A_ALLOCATION_POOLS].kind == VALUE_NULL) {
        error = resource_attr_error("allocation_pools",
                                    "Invalid data format for IP pool: "
                                    "'None'");
        goto out;
    }
    yajl_val given_pools = tree_or_null(&v[A_ALLOCATION_POOLS]);
    if (given_pools && given_pools->u.array.len) {
        error = parse_pools(given_pools, &s.cidr, s.cidr_text, &pools,
                            &n_pools);
        if (!error && has_gateway) {
            error = check_gateway_out_of_pools(&gateway, pools, n_pools);
        }
        if (error) {
            goto out;
        }
    } else {
        n_pools = generate_pools(&s.cidr, has_gateway ? &gateway : NULL,
                                 gen);
        pools = xmalloc(sizeof gen);
        memcpy(pools, gen, sizeof gen);
    }
    sort_ranges(pools, n_pools);

    const char *segment_id = value_str(&v[A_SEGMENT_ID]);
    error = lock_network(ctx->db, network_id);
    if (!error) {
        error = check_network_subnets(ctx->db, network_id, &s, segment_id);
    }
    if (!error) {
        error = events_publish(ctx, EV_SUBNET, EV_BEFORE_CREATE, obj, NULL);
    }
    if (!error) {
        error = store_insert(ctx->db, obj);
    }
    if (!error) {
        error = write_pools(ctx->db, id, pools, n_pools);
    }
    if (!error) {
        error = write_dns(ctx->db, id, s.dns, &dns_json);
    }
    if (!error) {
        error = write_routes(ctx->db, id, s.routes, &routes_json);
    }
    if (error) {
        goto out;
    }
    value_take_raw(&v[A_ALLOCATION_POOLS], pools_json(pools, n_pools));
    value_take_raw(&v[A_DNS_NAMESERVERS], dns_json);
    value_take_raw(&v[A_HOST_ROUTES], routes_json);
    dns_json = routes_json = NULL;

    if (s.version == 6 && is_auto_address(s.ra_mode, s.addr_mode)) {
        error = l2_ipam_add_auto_addresses__(ctx, network_id, id);
    }
    if (!error) {
        error = precommit(ctx, L2_MECH_CREATE, obj, NULL);
    }
out:
    free(pools);
    free(dns_json);
    free(routes_json);
    if (error) {
        res_obj_destroy(obj);
    } else {
        *out = obj;
    }
    return error;
}

static struct neutron_error *
subnet_after_create(const struct op_ctx *ctx, const struct res_obj *obj)
{
    return postcommit(ctx, L2_MECH_CREATE, obj, NULL);
}

/* ---- Update ---- */

static bool
str_differs(const struct value *a, const struct value *b)
{
    const char *x = value_str(a), *y = value_str(b);

    return (x == NULL) != (y == NULL) || (x && strcmp(x, y));
}

static struct neutron_error *
subnet_update(const struct op_ctx *ctx, struct res_obj *cur,
              const struct res_obj *body, struct res_obj **out)
{
    struct res_obj *orig = res_obj_clone(cur);
    const struct value *b = body->v;
    struct value *v = cur->v;
    const char *id = value_str(&v[A_ID]);
    struct subnet_spec s = { .id = id };
    struct ip_range *pools = NULL;
    size_t n_pools = 0;
    struct neutron_error *error = NULL;
    bool changed[N_ATTRS] = { false };
    bool any = false;

    *out = NULL;
    s.version = (int) v[A_IP_VERSION].i;
    ipnet_parse(value_str(&v[A_CIDR]), false, &s.cidr);
    str_copy(s.cidr_text, value_str(&v[A_CIDR]), sizeof s.cidr_text);
    s.dhcp_was_enabled = v[A_ENABLE_DHCP].b;
    s.dhcp_given = b[A_ENABLE_DHCP].kind == VALUE_BOOL;
    s.dhcp = s.dhcp_given ? b[A_ENABLE_DHCP].b : v[A_ENABLE_DHCP].b;
    s.cur_gateway = value_str(&v[A_GATEWAY_IP]);
    if (b[A_GATEWAY_IP].kind == VALUE_STRING) {
        s.gateway_given = true;
        s.gateway_text = value_str(&b[A_GATEWAY_IP]);
        ipaddr_parse(s.gateway_text, &s.gateway);
    }
    s.dns = tree_or_null(&b[A_DNS_NAMESERVERS]);
    s.routes = tree_or_null(&b[A_HOST_ROUTES]);
    s.cur_ra_mode = value_str(&v[A_IPV6_RA_MODE]);
    s.cur_addr_mode = value_str(&v[A_IPV6_ADDRESS_MODE]);
    error = validate_subnet(ctx, &s);
    if (error) {
        goto out;
    }

    if (b[A_ALLOCATION_POOLS].kind == VALUE_NULL) {
        error = resource_attr_error("allocation_pools",
                                    "Invalid data format for IP pool: "
                                    "'None'");
        goto out;
    }
    yajl_val given_pools = tree_or_null(&b[A_ALLOCATION_POOLS]);
    if (given_pools) {
        error = parse_pools(given_pools, &s.cidr, s.cidr_text, &pools,
                            &n_pools);
        if (error) {
            goto out;
        }
        sort_ranges(pools, n_pools);
    }

    /* The gateway, given or kept, must stay out of the pools, new or
     * kept, when either changes. */
    const struct value *new_gw = value_is_set(&b[A_GATEWAY_IP])
                                 ? &b[A_GATEWAY_IP] : &v[A_GATEWAY_IP];
    bool gw_changed = str_differs(new_gw, &v[A_GATEWAY_IP]);
    if ((gw_changed || given_pools) && value_str(new_gw)) {
        struct ip_range *check = pools;
        size_t n_check = n_pools;
        if (!given_pools) {
            error = load_pools(ctx->db, id, &check, &n_check);
        }
        if (!error) {
            struct ipaddr g;
            ipaddr_parse(value_str(new_gw), &g);
            error = check_gateway_out_of_pools(&g, check, n_check);
        }
        if (check != pools) {
            free(check);
        }
        if (error) {
            goto out;
        }
    }

    /* The new state, then the writes. */
    static const int simple[] = { A_NAME, A_DESCRIPTION, A_GATEWAY_IP };
    for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
        int a = simple[i];
        if (value_is_set(&b[a]) && str_differs(&b[a], &v[a])) {
            value_copy(&v[a], &b[a]);
            changed[a] = any = true;
        }
    }
    if (s.dhcp_given && s.dhcp != v[A_ENABLE_DHCP].b) {
        value_set_bool(&v[A_ENABLE_DHCP], s.dhcp);
        changed[A_ENABLE_DHCP] = any = true;
    }
    char *pj = given_pools ? pools_json(pools, n_pools) : NULL;
    bool pools_changed = pj && strcmp(pj, v[A_ALLOCATION_POOLS].s);
    bool dns_given = value_is_set(&b[A_DNS_NAMESERVERS]);
    bool routes_given = value_is_set(&b[A_HOST_ROUTES]);
    any |= pools_changed || dns_given || routes_given;

    error = events_publish(ctx, EV_SUBNET, EV_BEFORE_UPDATE, cur, orig);
    if (!error && (pools_changed || dns_given || routes_given)) {
        error = delete_children(ctx->db, id, pools_changed, dns_given,
                                routes_given);
    }
    if (!error && pools_changed) {
        error = write_pools(ctx->db, id, pools, n_pools);
        value_take_raw(&v[A_ALLOCATION_POOLS], pj);
        pj = NULL;
    }
    if (!error && dns_given) {
        char *json = NULL;
        error = write_dns(ctx->db, id, s.dns, &json);
        value_take_raw(&v[A_DNS_NAMESERVERS], json);
    }
    if (!error && routes_given) {
        char *json = NULL;
        error = write_routes(ctx->db, id, s.routes, &json);
        value_take_raw(&v[A_HOST_ROUTES], json);
    }
    free(pj);
    if (!error && any) {
        error = store_update(ctx->db, cur, changed);
    }
    if (!error) {
        error = precommit(ctx, L2_MECH_UPDATE, cur, orig);
    }
    if (!error) {
        *out = res_obj_clone(cur);
    }
out:
    free(pools);
    res_obj_destroy(orig);
    return error;
}

static struct neutron_error *
subnet_after_update(const struct op_ctx *ctx, const struct res_obj *obj)
{
    return postcommit(ctx, L2_MECH_UPDATE, obj, NULL);
}

/* ---- Delete ---- */

/* Deletes subnet 'id' and what hangs from it, its addresses included. */
static struct neutron_error *
delete_rows(struct db *db, const char *id)
{
    const char *params[1] = { id };
    struct neutron_error *error;
    char now[TIMESTAMP_LEN];
    const char *p2[2] = { now, id };

    timestamp_now(now);
    error = exec(db, "UPDATE ports SET revision_number = revision_number + "
                 "1, updated_at = ? WHERE id IN (SELECT port_id FROM "
                 "ipallocations WHERE subnet_id = ?)", p2, 2,
                 "updating ports");
    if (!error) {
        error = exec(db, "DELETE FROM ipallocations WHERE subnet_id = ?",
                     params, 1, "freeing IP addresses");
    }
    if (!error) {
        error = delete_children(db, id, true, true, true);
    }
    if (!error) {
        error = store_delete(db, &l2_subnet_def, id);
    }
    return error;
}

/* Neutron's _remove_subnet_ip_allocations_from_ports checks: router
 * interfaces always hold a subnet; other ports do unless it is an
 * auto-address subnet or they are DHCP ports. */
static struct neutron_error *
check_subnet_unused(struct db *db, const struct res_obj *cur)
{
    const char *id = value_str(&cur->v[A_ID]);
    bool auto_addr = cur->v[A_IP_VERSION].i == 6
                     && is_auto_address(value_str(&cur->v[A_IPV6_RA_MODE]),
                                        value_str(&cur->v[A_IPV6_ADDRESS_MODE]));
    struct db_stmt *stmt = db_prepare(
        db, "SELECT p.device_owner FROM ipallocations a JOIN ports p ON "
        "p.id = a.port_id WHERE a.subnet_id = ? AND p.device_owner <> ?");
    bool in_use = false;
    int rc;

    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading IP allocations");
    }
    db_bind_text(stmt, 1, id);
    db_bind_text(stmt, 2, "network:dhcp");
    while (!in_use && (rc = db_step(stmt)) == DB_ROW) {
        const char *owner = db_col_text(stmt, 0);
        in_use = !auto_addr
                 || !strcmp(owner, "network:router_interface")
                 || !strcmp(owner, "network:router_interface_distributed")
                 || !strcmp(owner, "network:ha_router_replicated_interface");
    }
    db_reset(stmt);
    if (!in_use && rc != DB_DONE) {
        return store_db_error(db, rc, "reading IP allocations");
    }
    if (in_use) {
        return neutron_error_create(NE_CONFLICT, "SubnetInUse", "Unable to "
                                    "complete operation on subnet %s: One or "
                                    "more ports have an IP allocation from "
                                    "this subnet.", id);
    }
    return NULL;
}

static struct neutron_error *
subnet_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    const char *id = value_str(&cur->v[A_ID]);
    struct neutron_error *error;

    error = events_publish(ctx, EV_SUBNET, EV_BEFORE_DELETE, NULL, cur);
    if (!error) {
        error = check_subnet_unused(ctx->db, cur);
    }
    if (!error) {
        error = precommit(ctx, L2_MECH_DELETE, NULL, cur);
    }
    if (!error) {
        error = delete_rows(ctx->db, id);
    }
    return error;
}

static struct neutron_error *
subnet_after_remove(const struct op_ctx *ctx, const struct res_obj *old)
{
    return postcommit(ctx, L2_MECH_DELETE, NULL, old);
}

struct neutron_error *
l2_subnets_delete_for_network__(const struct op_ctx *ctx,
                                const char *network_id)
{
    struct list_filter filter = {
        .attr = A_NETWORK_ID,
        .values = (char **) &network_id,
        .n_values = 1,
    };
    struct list_query q = { .filters = &filter, .n_filters = 1 };
    struct res_list list = { 0 };
    struct neutron_error *error;

    error = store_list(ctx->db, &l2_subnet_def, NULL, &q, &list);
    for (size_t i = 0; !error && i < list.n; i++) {
        error = precommit(ctx, L2_MECH_DELETE, NULL, list.objs[i]);
        if (!error) {
            error = delete_rows(ctx->db, value_str(&list.objs[i]->v[A_ID]));
        }
    }
    res_list_destroy(&list);
    return error;
}

/* ---- Expand: the child attributes of a page of subnets ---- */

struct id_index {
    const char *id;
    size_t obj;
};

static int
id_index_cmp(const void *a_, const void *b_)
{
    const struct id_index *a = a_, *b = b_;

    return strcmp(a->id, b->id);
}

static size_t
find_obj(const struct id_index *idx, size_t n, const char *id)
{
    struct id_index key = { id, 0 };
    const struct id_index *hit = bsearch(&key, idx, n, sizeof *idx,
                                         id_index_cmp);

    return hit ? hit->obj : SIZE_MAX;
}

struct child_acc {
    struct ip_range *pools;
    size_t n_pools;
    struct sql_buf dns, routes;
    bool any_dns, any_routes;
};

/* Runs "SELECT subnet_id, a, b FROM ... WHERE subnet_id IN (ids)" for the
 * objects [start, end) and calls 'row' for each result. */
static struct neutron_error *
load_children(struct db *db, struct res_obj **objs, size_t start, size_t end,
              const char *select, const char *order,
              const struct id_index *idx, size_t n_idx,
              struct child_acc *acc, int which)
{
    struct sql_buf b;
    struct db_stmt *stmt;
    int rc;

    sql_init(&b);
    sql_add(&b, select);
    sql_add(&b, " WHERE subnet_id IN (");
    for (size_t i = start; i < end; i++) {
        sql_add(&b, i > start ? ", ?" : "?");
        sql_param(&b, value_str(&objs[i]->v[A_ID]));
    }
    sql_in_pad(&b, end - start);
    sql_add(&b, ")");
    sql_add(&b, order);
    stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading subnets");
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        size_t k = find_obj(idx, n_idx, db_col_text(stmt, 0));
        const char *x = db_col_text(stmt, 1), *y = db_col_text(stmt, 2);
        struct child_acc *a;

        if (k == SIZE_MAX || !x) {
            continue;
        }
        a = &acc[k];
        if (which == 0) {
            struct ip_range r;
            if (ipaddr_parse(x, &r.first) && y && ipaddr_parse(y, &r.last)) {
                a->pools = xrealloc(a->pools,
                                    (a->n_pools + 1) * sizeof *a->pools);
                a->pools[a->n_pools++] = r;
            }
        } else if (which == 1) {
            if (a->any_dns) {
                sql_add(&a->dns, ", ");
            }
            json_add_str(&a->dns, x);
            a->any_dns = true;
        } else if (y) {
            if (a->any_routes) {
                sql_add(&a->routes, ", ");
            }
            sql_add(&a->routes, "{\"destination\": ");
            json_add_str(&a->routes, x);
            sql_add(&a->routes, ", \"nexthop\": ");
            json_add_str(&a->routes, y);
            sql_add(&a->routes, "}");
            a->any_routes = true;
        }
    }
    db_reset(stmt);
    return rc == DB_DONE ? NULL : store_db_error(db, rc, "reading subnets");
}

static struct neutron_error *
subnet_expand(struct db *db, struct res_obj **objs, size_t n)
{
    struct neutron_error *error = NULL;

    for (size_t start = 0; start < n && !error; start += 500) {
        size_t end = start + 500 < n ? start + 500 : n;
        size_t m = end - start;
        struct id_index *idx = xcalloc(m, sizeof *idx);
        struct child_acc *acc = xcalloc(m, sizeof *acc);

        for (size_t i = 0; i < m; i++) {
            idx[i].id = value_str(&objs[start + i]->v[A_ID]);
            idx[i].obj = i;
            sql_init(&acc[i].dns);
            sql_init(&acc[i].routes);
        }
        qsort(idx, m, sizeof *idx, id_index_cmp);
        error = load_children(db, objs, start, end, "SELECT subnet_id, "
                              "first_ip, last_ip FROM ipallocationpools", "",
                              idx, m, acc, 0);
        if (!error) {
            error = load_children(db, objs, start, end, "SELECT subnet_id, "
                                  "address, list_order FROM dnsnameservers",
                                  " ORDER BY subnet_id, list_order", idx, m,
                                  acc, 1);
        }
        if (!error) {
            error = load_children(db, objs, start, end, "SELECT subnet_id, "
                                  "destination, nexthop FROM subnetroutes",
                                  " ORDER BY subnet_id, destination, nexthop",
                                  idx, m, acc, 2);
        }
        for (size_t i = 0; i < m; i++) {
            struct value *v = objs[start + i]->v;
            if (!error) {
                sort_ranges(acc[i].pools, acc[i].n_pools);
                value_take_raw(&v[A_ALLOCATION_POOLS],
                               pools_json(acc[i].pools, acc[i].n_pools));
                value_take_raw(&v[A_DNS_NAMESERVERS],
                               xasprintf("[%s]", acc[i].any_dns
                                         ? acc[i].dns.text : ""));
                value_take_raw(&v[A_HOST_ROUTES],
                               xasprintf("[%s]", acc[i].any_routes
                                         ? acc[i].routes.text : ""));
            }
            free(acc[i].pools);
            sql_destroy(&acc[i].dns);
            sql_destroy(&acc[i].routes);
        }
        free(idx);
        free(acc);
    }
    return error;
}
