/* backends/dpdk/control.c: the hadron-dpdk control protocol.
 *
 * A request is a JSON object {"op": NAME, ...}; the commands are one static
 * table.  Each handler reads its arguments, applies them to the dp through
 * its configuration API and writes its result fields into the reply, which
 * is already open as {"id": ..., "ok": true, ...}; on failure the partial
 * reply is discarded and an error reply is built instead.  Parsed requests
 * are freed before ctl_handle() returns. */
#include "backends/dpdk/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_random.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "backends/dpdk/dataplane.h"
#include "core/jsonv.h"

#define CTL_MAX_DEPTH 8

#ifndef HADRON_VERSION
#define HADRON_VERSION "unknown"
#endif

/* Error kinds, with the names replies carry. */
#define CTL_ERRORS(E)                                                       \
    E(BAD_REQUEST, "BadRequest")                                            \
    E(NOT_FOUND, "NotFound")                                                \
    E(CONFLICT, "Conflict")                                                 \
    E(UNAVAILABLE, "Unavailable")                                           \
    E(INTERNAL, "Internal")

enum ctl_status {
    CTL_OK,
#define CTL_ERR_ENUM__(KIND, NAME) CTL_##KIND,
    CTL_ERRORS(CTL_ERR_ENUM__)
};

static const char *const ctl_status_names[] = {
    [CTL_OK] = "OK",
#define CTL_ERR_NAME__(KIND, NAME) [CTL_##KIND] = NAME,
    CTL_ERRORS(CTL_ERR_NAME__)
};

struct ctl_router {
    bool in_use;
    char name[CTL_NAME_MAX];
};

/* A router port: by the dp's router port index. */
struct ctl_port {
    bool in_use;
    char name[CTL_NAME_MAX];
    uint16_t dev;                   /* its DPDK device */
    char bridge[CTL_BRIDGE_MAX];    /* "" = none */
    struct dp_port_config cfg;
};

/* A DPDK device opened for one or more router ports (all ports naming the
 * same "device" share it): by DPDK port id. */
struct ctl_dev {
    uint32_t refs;                  /* router ports on it; 0 = closed */
    char devspec[CTL_DEVSPEC_MAX];
};

struct ctl {
    struct dp *dp;                              /* dps[0], for reading */
    struct dp *dps[CTL_MAX_DPS];                /* one per worker lcore */
    unsigned int lcores[CTL_MAX_DPS];
    unsigned int n_dps;
    const struct ctl_port_class *class;
    void *aux;
    char instance[17];                          /* random, hex */
    struct ctl_router routers[DP_MAX_ROUTERS];  /* by dp router index */
    struct ctl_port ports[DP_MAX_LPORTS];       /* by router port index */
    struct ctl_dev devs[DP_MAX_PORTS];          /* by DPDK port id */
};

/* Applies a change to every worker's dp (workers.h: they hold the same
 * configuration).  CALL and UNDO are expressions of 'dp_'.  The result,
 * in ERR, is that of the first dp, where bad or conflicting arguments
 * fail (and the change goes no further); if a later dp fails (out of
 * memory), UNDO reverts the dps that took the change and ERR is that
 * failure. */
#define ALL_DPS(CTL, ERR, CALL, UNDO)                                       \
    do {                                                                    \
        (ERR) = 0;                                                          \
        for (unsigned int k_ = 0; k_ < (CTL)->n_dps; k_++) {                \
            struct dp *dp_ = (CTL)->dps[k_];                                \
            int e_ = (CALL);                                                \
            if (e_ && !k_) {                                                \
                (ERR) = e_;                                                 \
                break;                                                      \
            } else if (e_) {                                                \
                (ERR) = e_;                                                 \
                while (k_--) {                                              \
                    dp_ = (CTL)->dps[k_];                                   \
                    (void) (UNDO);                                          \
                }                                                           \
                break;                                                      \
            }                                                               \
        }                                                                   \
    } while (0)

/* A request being handled. */
struct req {
    struct ctl *ctl;
    yajl_val root;
    yajl_gen out;               /* reply, open inside its top-level map */
    char msg[256];              /* error message */
};

static enum ctl_status
fail(struct req *r, enum ctl_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum ctl_status
fail(struct req *r, enum ctl_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return st;
}

/* Maps a dp errno to a reply. */
static enum ctl_status
fail_errno(struct req *r, int error, const char *what)
{
    switch (error) {
    case 0:
        return CTL_OK;
    case EINVAL:
        return fail(r, CTL_BAD_REQUEST, "%s: invalid value", what);
    case ENOENT:
        return fail(r, CTL_NOT_FOUND, "%s: not found", what);
    case EEXIST:
        return fail(r, CTL_CONFLICT, "%s: conflicts with existing "
                    "configuration", what);
    case ENOSPC:
    case ENOMEM:
        return fail(r, CTL_UNAVAILABLE, "%s: table full or out of memory",
                    what);
    default:
        return fail(r, CTL_INTERNAL, "%s: %s", what, strerror(error));
    }
}

/* --- Reading arguments. --- */

static yajl_val
arg(const struct req *r, const char *key)
{
    const char *path[] = { key, NULL };
    return yajl_tree_get(r->root, path, yajl_t_any);
}

/* Reads string 'key' into '*s'.  Missing is an error only if 'required'. */
static enum ctl_status
arg_str(struct req *r, const char *key, bool required, size_t max,
        const char **s)
{
    yajl_val v = arg(r, key);

    *s = NULL;
    if (!v) {
        return required ? fail(r, CTL_BAD_REQUEST, "%s: required", key)
                        : CTL_OK;
    }
    if (!YAJL_IS_STRING(v)) {
        return fail(r, CTL_BAD_REQUEST, "%s: must be a string", key);
    }
    const char *str = YAJL_GET_STRING(v);
    size_t len = strlen(str);
    if (!len || len >= max) {
        return fail(r, CTL_BAD_REQUEST, "%s: must be 1 to %zu characters",
                    key, max - 1);
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char) str[i] < 0x20 || str[i] == 0x7f) {
            return fail(r, CTL_BAD_REQUEST, "%s: control character", key);
        }
    }
    *s = str;
    return CTL_OK;
}

static enum ctl_status
arg_name(struct req *r, const char *key, bool required, const char **s)
{
    return arg_str(r, key, required, CTL_NAME_MAX, s);
}

static bool
parse_ip(const char *s, uint32_t *ip)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1) {
        return false;
    }
    *ip = ntohl(a.s_addr);
    return true;
}

static enum ctl_status
arg_ip(struct req *r, const char *key, bool required, bool *present,
       uint32_t *ip)
{
    const char *s;
    enum ctl_status st = arg_str(r, key, required, 16, &s);

    if (present) {
        *present = s != NULL;
    }
    if (st || !s) {
        return st;
    }
    if (!parse_ip(s, ip)) {
        return fail(r, CTL_BAD_REQUEST, "%s: not an IPv4 address", key);
    }
    return CTL_OK;
}

/* Reads "a.b.c.d/len". */
static enum ctl_status
arg_cidr(struct req *r, const char *key, uint32_t *ip, uint8_t *plen)
{
    const char *s;
    char buf[19];
    enum ctl_status st = arg_str(r, key, true, sizeof buf, &s);

    if (st) {
        return st;
    }
    memcpy(buf, s, strlen(s) + 1);
    char *slash = strchr(buf, '/');
    if (!slash || !slash[1] || strlen(slash + 1) > 2) {
        return fail(r, CTL_BAD_REQUEST, "%s: expected address/prefixlen",
                    key);
    }
    *slash = '\0';
    unsigned int n = 0;
    for (const char *p = slash + 1; *p; p++) {
        if (*p < '0' || *p > '9') {
            return fail(r, CTL_BAD_REQUEST, "%s: bad prefix length", key);
        }
        n = n * 10 + (*p - '0');
    }
    if (n > 32 || !parse_ip(buf, ip)) {
        return fail(r, CTL_BAD_REQUEST, "%s: bad address or prefix length",
                    key);
    }
    *plen = n;
    return CTL_OK;
}

static enum ctl_status
arg_mac(struct req *r, const char *key, struct rte_ether_addr *mac)
{
    const char *s;
    enum ctl_status st = arg_str(r, key, true, 18, &s);

    if (st) {
        return st;
    }
    if (strlen(s) != 17 || rte_ether_unformat_addr(s, mac) < 0) {
        return fail(r, CTL_BAD_REQUEST, "%s: expected xx:xx:xx:xx:xx:xx",
                    key);
    }
    if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac)) {
        return fail(r, CTL_BAD_REQUEST, "%s: must be a unicast address", key);
    }
    return CTL_OK;
}

static enum ctl_status
arg_uint(struct req *r, const char *key, long long min, long long max,
         long long def, long long *out)
{
    yajl_val v = arg(r, key);

    *out = def;
    if (!v) {
        return CTL_OK;
    }
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min
        || YAJL_GET_INTEGER(v) > max) {
        return fail(r, CTL_BAD_REQUEST, "%s: must be an integer in "
                    "[%lld, %lld]", key, min, max);
    }
    *out = YAJL_GET_INTEGER(v);
    return CTL_OK;
}

static enum ctl_status
arg_bool(struct req *r, const char *key, bool *out)
{
    yajl_val v = arg(r, key);

    *out = false;
    if (!v) {
        return CTL_OK;
    }
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
        return fail(r, CTL_BAD_REQUEST, "%s: must be true or false", key);
    }
    *out = YAJL_IS_TRUE(v);
    return CTL_OK;
}

/* --- Names. --- */

static int64_t
router_find(const struct ctl *ctl, const char *name)
{
    for (uint32_t i = 0; i < DP_MAX_ROUTERS; i++) {
        if (ctl->routers[i].in_use && !strcmp(ctl->routers[i].name, name)) {
            return i;
        }
    }
    return -1;
}

static int32_t
port_find(const struct ctl *ctl, const char *name)
{
    for (uint32_t i = 0; i < DP_MAX_LPORTS; i++) {
        if (ctl->ports[i].in_use && !strcmp(ctl->ports[i].name, name)) {
            return i;
        }
    }
    return -1;
}

/* Reads the "router" argument and finds it. */
static enum ctl_status
arg_router(struct req *r, uint32_t *router)
{
    const char *name;
    enum ctl_status st = arg_name(r, "router", true, &name);

    if (st) {
        return st;
    }
    int64_t i = router_find(r->ctl, name);
    if (i < 0) {
        return fail(r, CTL_NOT_FOUND, "router %s: not found", name);
    }
    *router = i;
    return CTL_OK;
}

/* --- Writing replies. --- */

/* json_kv_int() is signed: counters are uint64_t. */
static void
gen_kv_uint(yajl_gen g, const char *k, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long) v);
    json_key(g, k);
    yajl_gen_number(g, buf, n);
}

static void
gen_kv_ip(yajl_gen g, const char *k, uint32_t ip, int plen)
{
    char buf[24];
    snprintf(buf, sizeof buf, plen >= 0 ? "%u.%u.%u.%u/%d" : "%u.%u.%u.%u",
             ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, plen);
    if (k) {
        json_key(g, k);
    }
    json_str(g, buf);
}

/* --- Commands. --- */

static enum ctl_status
cmd_ping(struct req *r)
{
    json_kv_str(r->out, "version", HADRON_VERSION);
    json_kv_str(r->out, "instance", r->ctl->instance);
    return CTL_OK;
}

/* Creates a router in every dp, at the same index in each. */
static int
routers_create(struct ctl *ctl, uint32_t *idx)
{
    int error = dp_router_create(ctl->dps[0], idx);

    for (unsigned int k = 1; !error && k < ctl->n_dps; k++) {
        uint32_t other;
        error = dp_router_create(ctl->dps[k], &other);
        if (!error && other != *idx) {
            dp_router_destroy(ctl->dps[k], other);
            error = EIO;
        }
        if (error) {
            for (unsigned int j = 0; j < k; j++) {
                dp_router_destroy(ctl->dps[j], *idx);
            }
        }
    }
    return error;
}

static enum ctl_status
cmd_router_add(struct req *r)
{
    struct ctl *ctl = r->ctl;
    const char *name;
    enum ctl_status st = arg_name(r, "router", true, &name);
    uint32_t idx = 0;
    bool created = false;

    if (st) {
        return st;
    }
    int64_t found = router_find(ctl, name);
    if (found >= 0) {
        idx = found;
    } else {
        int error = routers_create(ctl, &idx);
        if (error) {
            return fail_errno(r, error, "router_add");
        }
        ctl->routers[idx].in_use = true;
        snprintf(ctl->routers[idx].name, sizeof ctl->routers[idx].name, "%s",
                 name);
        created = true;
    }
    gen_kv_uint(r->out, "index", idx);
    json_kv_bool(r->out, "created", created);
    return CTL_OK;
}

/* The device opened for 'devspec', or -1. */
static int32_t
dev_find(const struct ctl *ctl, const char *devspec)
{
    for (uint32_t i = 0; i < DP_MAX_PORTS; i++) {
        if (ctl->devs[i].refs && !strcmp(ctl->devs[i].devspec, devspec)) {
            return i;
        }
    }
    return -1;
}

/* Drops a reference to device 'dev', closing it with the last one. */
static void
dev_put(struct ctl *ctl, uint16_t dev)
{
    if (ctl->devs[dev].refs && !--ctl->devs[dev].refs) {
        ctl->class->close(ctl->aux, dev);
        memset(&ctl->devs[dev], 0, sizeof ctl->devs[dev]);
    }
}

static void
port_close(struct ctl *ctl, uint16_t port)
{
    int error;
    ALL_DPS(ctl, error, dp_port_del(dp_, port), 0);
    (void) error;
    dev_put(ctl, ctl->ports[port].dev);
    memset(&ctl->ports[port], 0, sizeof ctl->ports[port]);
}

static enum ctl_status
cmd_router_del(struct req *r)
{
    struct ctl *ctl = r->ctl;
    const char *name;
    enum ctl_status st = arg_name(r, "router", true, &name);

    if (st) {
        return st;
    }
    int64_t idx = router_find(ctl, name);
    if (idx >= 0) {
        for (uint16_t p = 0; p < DP_MAX_LPORTS; p++) {
            if (ctl->ports[p].in_use && ctl->ports[p].cfg.router == idx) {
                port_close(ctl, p);
            }
        }
        int error;
        ALL_DPS(ctl, error, dp_router_destroy(dp_, idx), 0);
        (void) error;
        memset(&ctl->routers[idx], 0, sizeof ctl->routers[idx]);
    }
    json_kv_bool(r->out, "existed", idx >= 0);
    return CTL_OK;
}

static enum ctl_status
cmd_port_add(struct req *r)
{
    struct ctl *ctl = r->ctl;
    const char *name, *devspec, *bridge;
    struct dp_port_config cfg = { 0 };
    long long mtu;
    enum ctl_status st;

    if ((st = arg_router(r, &cfg.router))
        || (st = arg_name(r, "port", true, &name))
        || (st = arg_str(r, "device", true, CTL_DEVSPEC_MAX, &devspec))
        || (st = arg_mac(r, "mac", &cfg.mac))
        || (st = arg_cidr(r, "ip", &cfg.ip, &cfg.plen))
        || (st = arg_uint(r, "mtu", 68, 9000, 1500, &mtu))
        || (st = arg_bool(r, "external", &cfg.external))
        || (st = arg_str(r, "bridge", false, CTL_BRIDGE_MAX, &bridge))) {
        return st;
    }
    cfg.mtu = mtu;
    if (bridge && !ctl->class->attach) {
        return fail(r, CTL_BAD_REQUEST, "bridge: this dataplane cannot "
                    "attach ports to bridges");
    }

    int32_t idx = port_find(ctl, name);
    if (idx >= 0) {
        struct ctl_port *p = &ctl->ports[idx];
        char err[128] = "";
        if (p->cfg.router != cfg.router
            || strcmp(ctl->devs[p->dev].devspec, devspec)) {
            return fail(r, CTL_CONFLICT, "port %s: exists on another router "
                        "or device; delete it first", name);
        }
        if (bridge && ctl->class->attach(ctl->aux, p->dev, bridge, err,
                                         sizeof err)) {
            return fail(r, CTL_UNAVAILABLE, "port %s: bridge %s: %s", name,
                        bridge, err);
        }
        int error;
        ALL_DPS(ctl, error, dp_port_set_dev(dp_, idx, p->dev, &cfg),
                dp_port_set_dev(dp_, idx, p->dev, &p->cfg));
        if (error) {
            return fail_errno(r, error, name);
        }
        p->cfg = cfg;
        snprintf(p->bridge, sizeof p->bridge, "%s", bridge ? bridge : "");
        gen_kv_uint(r->out, "dpdk_port", p->dev);
        json_kv_bool(r->out, "created", false);
        return CTL_OK;
    }

    uint16_t lport = 0;
    while (lport < DP_MAX_LPORTS && ctl->ports[lport].in_use) {
        lport++;
    }
    if (lport >= DP_MAX_LPORTS) {
        return fail(r, CTL_UNAVAILABLE, "port %s: too many ports", name);
    }

    /* Ports naming the same device share it: the dataplane tells their
     * frames apart by destination MAC. */
    char err[128] = "";
    int32_t shared = dev_find(ctl, devspec);
    uint16_t dev = 0;
    int error;
    if (shared >= 0) {
        dev = shared;
        for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
            const struct ctl_port *o = &ctl->ports[i];
            if (o->in_use && o->dev == dev && o->bridge[0]
                && strcmp(o->bridge, bridge ? bridge : "")) {
                return fail(r, CTL_CONFLICT, "device %s: on bridge %s (port "
                            "%s), not %s", devspec, o->bridge, o->name,
                            bridge ? bridge : "none");
            }
        }
    } else {
        error = ctl->class->open(ctl->aux, devspec, &cfg.mac, cfg.mtu, &dev,
                                 err, sizeof err);
        if (error) {
            return fail(r, error == EINVAL ? CTL_BAD_REQUEST
                                           : CTL_UNAVAILABLE,
                        "device %s: %s", devspec,
                        err[0] ? err : strerror(error));
        }
        if (dev >= DP_MAX_PORTS || ctl->devs[dev].refs) {
            ctl->class->close(ctl->aux, dev);
            return fail(r, CTL_INTERNAL, "device %s: port id %u unusable",
                        devspec, dev);
        }
        snprintf(ctl->devs[dev].devspec, sizeof ctl->devs[dev].devspec, "%s",
                 devspec);
    }
    ctl->devs[dev].refs++;
    ALL_DPS(ctl, error, dp_port_set_dev(dp_, lport, dev, &cfg),
            dp_port_del(dp_, lport));
    if (error) {
        dev_put(ctl, dev);
        return fail_errno(r, error, name);
    }
    if (bridge && (error = ctl->class->attach(ctl->aux, dev, bridge, err,
                                              sizeof err))) {
        ALL_DPS(ctl, error, dp_port_del(dp_, lport), 0);
        dev_put(ctl, dev);
        return fail(r, CTL_UNAVAILABLE, "port %s: bridge %s: %s", name,
                    bridge, err[0] ? err : strerror(error));
    }
    struct ctl_port *p = &ctl->ports[lport];
    p->in_use = true;
    p->cfg = cfg;
    p->dev = dev;
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->bridge, sizeof p->bridge, "%s", bridge ? bridge : "");
    gen_kv_uint(r->out, "dpdk_port", dev);
    json_kv_bool(r->out, "created", true);
    return CTL_OK;
}

static enum ctl_status
cmd_port_del(struct req *r)
{
    const char *name;
    enum ctl_status st = arg_name(r, "port", true, &name);

    if (st) {
        return st;
    }
    int32_t idx = port_find(r->ctl, name);
    if (idx >= 0) {
        port_close(r->ctl, idx);
    }
    json_kv_bool(r->out, "existed", idx >= 0);
    return CTL_OK;
}

static enum ctl_status
route_args(struct req *r, uint32_t *router, uint32_t *prefix, uint8_t *plen,
           uint32_t *gw)
{
    enum ctl_status st;

    if ((st = arg_router(r, router))
        || (st = arg_cidr(r, "destination", prefix, plen))
        || (st = arg_ip(r, "nexthop", true, NULL, gw))) {
        return st;
    }
    return CTL_OK;
}

static enum ctl_status
cmd_route_add(struct req *r)
{
    uint32_t router = 0, prefix = 0, gw = 0;
    uint8_t plen;
    enum ctl_status st = route_args(r, &router, &prefix, &plen, &gw);

    if (st) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_route_add(dp_, router, prefix, plen, gw),
            dp_route_del(dp_, router, prefix, plen, gw));
    return fail_errno(r, error, "route_add");
}

static enum ctl_status
cmd_route_del(struct req *r)
{
    uint32_t router = 0, prefix = 0, gw = 0;
    uint8_t plen;
    enum ctl_status st = route_args(r, &router, &prefix, &plen, &gw);

    if (st) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_route_del(dp_, router, prefix, plen, gw), 0);
    json_kv_bool(r->out, "existed", !error);
    return CTL_OK;
}

static enum ctl_status
cmd_snat_set(struct req *r)
{
    struct ctl *ctl = r->ctl;
    uint32_t router = 0, ip = 0;
    bool present;
    enum ctl_status st;

    if ((st = arg_router(r, &router))
        || (st = arg_ip(r, "ip", false, &present, &ip))) {
        return st;
    }
    if (!present) {
        for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
            const struct ctl_port *p = &ctl->ports[i];
            if (p->in_use && p->cfg.router == router && p->cfg.external) {
                ip = p->cfg.ip;
                present = true;
            }
        }
        if (!present) {
            return fail(r, CTL_BAD_REQUEST, "snat_set: no ip given and the "
                        "router has no external port");
        }
    }
    int error;
    ALL_DPS(ctl, error, dp_snat_set(dp_, router, ip), 0);
    st = fail_errno(r, error, "snat_set");
    if (!st) {
        gen_kv_ip(r->out, "ip", ip, -1);
    }
    return st;
}

static enum ctl_status
cmd_snat_clear(struct req *r)
{
    uint32_t router = 0;
    enum ctl_status st = arg_router(r, &router);

    if (st) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_snat_clear(dp_, router), 0);
    json_kv_bool(r->out, "existed", !error);
    return CTL_OK;
}

static enum ctl_status
cmd_fip_add(struct req *r)
{
    uint32_t router = 0, fip = 0, fixed = 0;
    enum ctl_status st;

    if ((st = arg_router(r, &router))
        || (st = arg_ip(r, "floating_ip", true, NULL, &fip))
        || (st = arg_ip(r, "fixed_ip", true, NULL, &fixed))) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_fip_add(dp_, router, fip, fixed),
            dp_fip_del(dp_, router, fip));
    return fail_errno(r, error, "fip_add");
}

static enum ctl_status
cmd_fip_del(struct req *r)
{
    uint32_t router = 0, fip = 0;
    enum ctl_status st;

    if ((st = arg_router(r, &router))
        || (st = arg_ip(r, "floating_ip", true, NULL, &fip))) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_fip_del(dp_, router, fip), 0);
    json_kv_bool(r->out, "existed", !error);
    return CTL_OK;
}

static enum ctl_status
arg_port(struct req *r, uint16_t *port)
{
    const char *name;
    enum ctl_status st = arg_name(r, "port", true, &name);

    if (st) {
        return st;
    }
    int32_t idx = port_find(r->ctl, name);
    if (idx < 0) {
        return fail(r, CTL_NOT_FOUND, "port %s: not found", name);
    }
    *port = idx;
    return CTL_OK;
}

static enum ctl_status
cmd_neigh_add(struct req *r)
{
    uint16_t port = 0;
    uint32_t ip = 0;
    struct rte_ether_addr mac;
    enum ctl_status st;

    if ((st = arg_port(r, &port))
        || (st = arg_ip(r, "ip", true, NULL, &ip))
        || (st = arg_mac(r, "mac", &mac))) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_neigh_add(dp_, port, ip, &mac),
            dp_neigh_del(dp_, port, ip));
    return fail_errno(r, error, "neigh_add");
}

static enum ctl_status
cmd_neigh_del(struct req *r)
{
    uint16_t port = 0;
    uint32_t ip = 0;
    enum ctl_status st;

    if ((st = arg_port(r, &port)) || (st = arg_ip(r, "ip", true, NULL, &ip))) {
        return st;
    }
    int error;
    ALL_DPS(r->ctl, error, dp_neigh_del(dp_, port, ip), 0);
    json_kv_bool(r->out, "existed", !error);
    return CTL_OK;
}

#define GEN_COUNTER__(NAME) gen_kv_uint(g, #NAME, s.NAME);

/* Adds the 'size' bytes of uint64_t counters at 'b' to those at 'a'. */
static void
stats_add(void *a, const void *b, size_t size)
{
    uint64_t *x = a;
    const uint64_t *y = b;

    for (size_t i = 0; i < size / sizeof *x; i++) {
        x[i] += y[i];
    }
}

/* A router's and a port's counters, summed over the workers' dps (only
 * the router's owner counts its packets; workers.h). */
static int
router_stats(const struct ctl *ctl, uint32_t router,
             struct dp_router_stats *s)
{
    int error = dp_router_stats_get(ctl->dps[0], router, s);

    for (unsigned int k = 1; !error && k < ctl->n_dps; k++) {
        struct dp_router_stats t;
        error = dp_router_stats_get(ctl->dps[k], router, &t);
        stats_add(s, &t, sizeof t);
    }
    return error;
}

static int
port_stats(const struct ctl *ctl, uint16_t port, struct dp_port_stats *s)
{
    int error = dp_port_stats_get(ctl->dps[0], port, s);

    for (unsigned int k = 1; !error && k < ctl->n_dps; k++) {
        struct dp_port_stats t;
        error = dp_port_stats_get(ctl->dps[k], port, &t);
        stats_add(s, &t, sizeof t);
    }
    return error;
}

static enum ctl_status
cmd_counters(struct req *r)
{
    struct ctl *ctl = r->ctl;
    yajl_gen g = r->out;
    const char *only_router, *only_port;
    enum ctl_status st;

    if ((st = arg_name(r, "router", false, &only_router))
        || (st = arg_name(r, "port", false, &only_port))) {
        return st;
    }
    if (only_router && router_find(ctl, only_router) < 0) {
        return fail(r, CTL_NOT_FOUND, "router %s: not found", only_router);
    }
    if (only_port && port_find(ctl, only_port) < 0) {
        return fail(r, CTL_NOT_FOUND, "port %s: not found", only_port);
    }

    if (!only_router && !only_port) {
        struct dp_global_stats s, sum = { 0 };
        json_key(g, "workers");
        yajl_gen_array_open(g);
        for (unsigned int k = 0; k < ctl->n_dps; k++) {
            dp_global_stats_get(ctl->dps[k], &s);
            stats_add(&sum, &s, sizeof s);
            yajl_gen_map_open(g);
            gen_kv_uint(g, "worker", k);
            if (ctl->lcores[k] != UINT32_MAX) {
                gen_kv_uint(g, "lcore", ctl->lcores[k]);
            }
            DP_GLOBAL_COUNTERS(GEN_COUNTER__)
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        s = sum;
        json_key(g, "global");
        yajl_gen_map_open(g);
        DP_GLOBAL_COUNTERS(GEN_COUNTER__)
        yajl_gen_map_close(g);
    }

    json_key(g, "routers");
    yajl_gen_map_open(g);
    for (uint32_t i = 0; i < DP_MAX_ROUTERS && !only_port; i++) {
        struct dp_router_stats s;
        if (!ctl->routers[i].in_use
            || (only_router && strcmp(only_router, ctl->routers[i].name))
            || router_stats(ctl, i, &s)) {
            continue;
        }
        json_key(g, ctl->routers[i].name);
        yajl_gen_map_open(g);
        DP_ROUTER_COUNTERS(GEN_COUNTER__)
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);

    json_key(g, "ports");
    yajl_gen_map_open(g);
    for (uint16_t i = 0; i < DP_MAX_LPORTS; i++) {
        const struct ctl_port *p = &ctl->ports[i];
        struct dp_port_stats s;
        if (!p->in_use
            || (only_port && strcmp(only_port, p->name))
            || (only_router
                && strcmp(only_router, ctl->routers[p->cfg.router].name))
            || port_stats(ctl, i, &s)) {
            continue;
        }
        json_key(g, p->name);
        yajl_gen_map_open(g);
        json_kv_str(g, "router", ctl->routers[p->cfg.router].name);
        gen_kv_uint(g, "dpdk_port", p->dev);
        DP_PORT_COUNTERS(GEN_COUNTER__)
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    return CTL_OK;
}

/* Writes router 'ri's routes, SNAT address (or null) and floating IPs. */
static void
dump_router_tables(const struct ctl *ctl, uint32_t ri, yajl_gen g)
{
    size_t n = dp_router_routes(ctl->dp, ri, NULL, 0);
    struct dp_route_info *routes = calloc(n ? n : 1, sizeof *routes);
    uint32_t snat_ip;

    if (!routes) {
        abort();
    }
    n = dp_router_routes(ctl->dp, ri, routes, n);
    json_key(g, "routes");
    yajl_gen_array_open(g);
    for (size_t k = 0; k < n; k++) {
        yajl_gen_map_open(g);
        gen_kv_ip(g, "destination", routes[k].prefix, routes[k].plen);
        gen_kv_ip(g, "nexthop", routes[k].gw, -1);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    free(routes);

    json_key(g, "snat");
    if (dp_router_snat(ctl->dp, ri, &snat_ip)) {
        gen_kv_ip(g, NULL, snat_ip, -1);
    } else {
        yajl_gen_null(g);
    }

    n = dp_router_fips(ctl->dp, ri, NULL, 0);
    struct dp_fip_info *fips = calloc(n ? n : 1, sizeof *fips);
    if (!fips) {
        abort();
    }
    n = dp_router_fips(ctl->dp, ri, fips, n);
    json_key(g, "fips");
    yajl_gen_array_open(g);
    for (size_t k = 0; k < n; k++) {
        yajl_gen_map_open(g);
        gen_kv_ip(g, "floating_ip", fips[k].fip, -1);
        gen_kv_ip(g, "fixed_ip", fips[k].fixed, -1);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    free(fips);
    gen_kv_uint(g, "memory", dp_router_memory(ctl->dp, ri));
}

/* Lists the configuration: routers (all, or the one named "router", absent
 * when it does not exist) with their ports, routes, SNAT and floating
 * IPs. */
static enum ctl_status
cmd_dump(struct req *r)
{
    struct ctl *ctl = r->ctl;
    yajl_gen g = r->out;
    const char *only;
    enum ctl_status st = arg_name(r, "router", false, &only);

    if (st) {
        return st;
    }
    json_key(g, "routers");
    yajl_gen_map_open(g);
    for (uint32_t i = 0; i < DP_MAX_ROUTERS; i++) {
        if (!ctl->routers[i].in_use
            || (only && strcmp(only, ctl->routers[i].name))) {
            continue;
        }
        json_key(g, ctl->routers[i].name);
        yajl_gen_map_open(g);
        gen_kv_uint(g, "index", i);
        json_key(g, "ports");
        yajl_gen_map_open(g);
        for (uint16_t k = 0; k < DP_MAX_LPORTS; k++) {
            const struct ctl_port *p = &ctl->ports[k];
            char mac[RTE_ETHER_ADDR_FMT_SIZE];
            if (!p->in_use || p->cfg.router != i) {
                continue;
            }
            json_key(g, p->name);
            yajl_gen_map_open(g);
            json_kv_str(g, "device", ctl->devs[p->dev].devspec);
            gen_kv_uint(g, "dpdk_port", p->dev);
            rte_ether_format_addr(mac, sizeof mac, &p->cfg.mac);
            json_kv_str(g, "mac", mac);
            gen_kv_ip(g, "ip", p->cfg.ip, p->cfg.plen);
            gen_kv_uint(g, "mtu", p->cfg.mtu);
            json_kv_bool(g, "external", p->cfg.external);
            if (p->bridge[0]) {
                json_kv_str(g, "bridge", p->bridge);
            }
            yajl_gen_map_close(g);
        }
        yajl_gen_map_close(g);
        dump_router_tables(ctl, i, g);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    return CTL_OK;
}

static const struct ctl_command {
    const char *op;
    enum ctl_status (*handler)(struct req *);
} ctl_commands[] = {
    { "ping", cmd_ping },
    { "router_add", cmd_router_add },
    { "router_del", cmd_router_del },
    { "port_add", cmd_port_add },
    { "port_del", cmd_port_del },
    { "route_add", cmd_route_add },
    { "route_del", cmd_route_del },
    { "snat_set", cmd_snat_set },
    { "snat_clear", cmd_snat_clear },
    { "fip_add", cmd_fip_add },
    { "fip_del", cmd_fip_del },
    { "neigh_add", cmd_neigh_add },
    { "neigh_del", cmd_neigh_del },
    { "counters", cmd_counters },
    { "dump", cmd_dump },
};

/* --- Requests. --- */

/* True if 'text' nests arrays/objects no deeper than CTL_MAX_DEPTH (yajl's
 * tree free recurses, so depth is bounded before parsing). */
static bool
depth_ok(const char *text, size_t len)
{
    bool in_str = false, esc = false;
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > CTL_MAX_DEPTH) {
                return false;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

static yajl_gen
reply_open(yajl_val id)
{
    yajl_gen g = json_gen_create();

    if (!g) {
        abort();
    }
    yajl_gen_map_open(g);
    if (id) {
        /* A string or an integer: ctl_handle() checked. */
        json_key(g, "id");
        json_value(g, id);
    }
    return g;
}

static char *
reply_error(yajl_val id, enum ctl_status st, const char *msg)
{
    yajl_gen g = reply_open(id);

    json_kv_bool(g, "ok", false);
    json_key(g, "error");
    yajl_gen_map_open(g);
    json_kv_str(g, "type", ctl_status_names[st]);
    json_kv_str(g, "message", msg);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

char *
ctl_handle(struct ctl *ctl, const char *text, size_t len)
{
    struct req r = { .ctl = ctl };
    char errbuf[128] = "";
    char *reply;

    if (len > CTL_REQUEST_MAX) {
        return reply_error(NULL, CTL_BAD_REQUEST, "request too large");
    }
    if (memchr(text, '\0', len)) {
        return reply_error(NULL, CTL_BAD_REQUEST, "NUL byte in request");
    }
    if (!depth_ok(text, len)) {
        return reply_error(NULL, CTL_BAD_REQUEST, "request nested too deep");
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        abort();
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    r.root = yajl_tree_parse(copy, errbuf, sizeof errbuf);
    free(copy);
    if (!r.root) {
        /* yajl's message spans lines; keep the first. */
        errbuf[strcspn(errbuf, "\r\n")] = '\0';
        char msg[160];
        snprintf(msg, sizeof msg, "invalid JSON: %s", errbuf);
        return reply_error(NULL, CTL_BAD_REQUEST, msg);
    }
    if (!YAJL_IS_OBJECT(r.root)) {
        reply = reply_error(NULL, CTL_BAD_REQUEST,
                            "request must be a JSON object");
        goto out;
    }
    yajl_val id = arg(&r, "id");
    if (id && !YAJL_IS_STRING(id) && !YAJL_IS_INTEGER(id)) {
        reply = reply_error(NULL, CTL_BAD_REQUEST,
                            "id: must be a string or an integer");
        goto out;
    }
    const char *op;
    enum ctl_status st = arg_name(&r, "op", true, &op);
    if (st) {
        reply = reply_error(id, st, r.msg);
        goto out;
    }
    const struct ctl_command *cmd = NULL;
    for (size_t i = 0; i < sizeof ctl_commands / sizeof ctl_commands[0];
         i++) {
        if (!strcmp(op, ctl_commands[i].op)) {
            cmd = &ctl_commands[i];
            break;
        }
    }
    if (!cmd) {
        snprintf(r.msg, sizeof r.msg, "op %s: unknown command", op);
        reply = reply_error(id, CTL_BAD_REQUEST, r.msg);
        goto out;
    }

    r.out = reply_open(id);
    json_kv_bool(r.out, "ok", true);
    json_kv_str(r.out, "op", cmd->op);
    st = cmd->handler(&r);
    if (st) {
        yajl_gen_free(r.out);
        reply = reply_error(id, st, r.msg);
        goto out;
    }
    yajl_gen_map_close(r.out);
    reply = json_gen_finish(r.out);
out:
    yajl_tree_free(r.root);
    return reply;
}

struct ctl *
ctl_create(struct dp *dp, const struct ctl_port_class *class, void *aux)
{
    return ctl_create_workers(&dp, NULL, 1, class, aux);
}

struct ctl *
ctl_create_workers(struct dp *const *dps, const unsigned int *lcores,
                   unsigned int n, const struct ctl_port_class *class,
                   void *aux)
{
    struct ctl *ctl = calloc(1, sizeof *ctl);

    if (!ctl || !n || n > CTL_MAX_DPS) {
        abort();
    }
    ctl->dp = dps[0];
    ctl->n_dps = n;
    for (unsigned int k = 0; k < n; k++) {
        ctl->dps[k] = dps[k];
        ctl->lcores[k] = lcores ? lcores[k] : UINT32_MAX;
    }
    ctl->class = class;
    ctl->aux = aux;
    snprintf(ctl->instance, sizeof ctl->instance, "%016llx",
             (unsigned long long) rte_rand());
    return ctl;
}

void
ctl_destroy(struct ctl *ctl)
{
    if (!ctl) {
        return;
    }
    for (uint16_t p = 0; p < DP_MAX_LPORTS; p++) {
        if (ctl->ports[p].in_use) {
            port_close(ctl, p);
        }
    }
    for (uint32_t i = 0; i < DP_MAX_ROUTERS; i++) {
        if (ctl->routers[i].in_use) {
            for (unsigned int k = 0; k < ctl->n_dps; k++) {
                dp_router_destroy(ctl->dps[k], i);
            }
        }
    }
    free(ctl);
}
