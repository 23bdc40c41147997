/* backends/dpdk/driver.c: the `dpdk` flavor driver (dpdk_driver.h).
 *
 * Every op works the same way: read the router document(s) into 'struct
 * drouter' (what the dataplane should hold), read the dataplane's own view
 * with "dump" into another 'struct drouter', and send the difference as one
 * batch of requests, written at once and answered in order (hadron-dpdk
 * serves its socket between bursts, about every millisecond, so a batch
 * costs one such wait instead of one per command).
 *
 * The connection is kept open between ops and re-opened after any error;
 * every exchange is bounded by timeout_ms. */
#include "backends/dpdk/dpdk_driver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uthash.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "backends/netns/netns.h"
#include "backends/netns/netns_host.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "dpdk"

/* L2_DOCUMENT: the "l2" member gives each network's segment, which the
 * bridges need (the gateway port's above all). */
#define DPDK_CAPS (HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY            \
                   | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES \
                   | HADRON_L3_CAP_ADMIN_DOWN | HADRON_L3_CAP_L2_DOCUMENT)

#define NAME_LEN 64             /* router and port names (PROTOCOL.md) */
#define IP_LEN 16               /* "255.255.255.255" */
#define CIDR_LEN 19             /* "255.255.255.255/32" */
#define INSTANCE_LEN 32

/* ---- What a router is made of, wanted or held ---- */

struct dport {
    char name[NAME_LEN];        /* the Neutron port id */
    char device[160];           /* DPDK vdev spec */
    char mac[18];               /* lower case */
    char ip[CIDR_LEN + 1];      /* address/prefix */
    bool external;
    int mtu;
    char bridge[IF_NAMESIZE];   /* "" = none */
    /* Wanted ports only: the network to make sure of, if known. */
    bool has_net;
    bool operator_bridge;
    struct netns_network net;
};

struct droute {
    char destination[CIDR_LEN + 1];
    char nexthop[IP_LEN];
};

struct dfip {
    char id[NAME_LEN];          /* wanted only */
    char floating[IP_LEN];
    char fixed[IP_LEN];
};

struct drouter {
    char id[NAME_LEN];
    bool exists;                /* held: the dataplane has it */
    struct dport *ports;
    size_t n_ports;
    struct droute *routes;
    size_t n_routes;
    char snat[IP_LEN];          /* "" = no SNAT */
    struct dfip *fips;
    size_t n_fips;
};

static void
drouter_clear(struct drouter *r)
{
    free(r->ports);
    free(r->routes);
    free(r->fips);
    memset(r, 0, sizeof *r);
}

static struct dport *
add_port(struct drouter *r)
{
    r->ports = xrealloc(r->ports, (r->n_ports + 1) * sizeof *r->ports);
    struct dport *p = &r->ports[r->n_ports++];
    memset(p, 0, sizeof *p);
    return p;
}

static void
add_route(struct drouter *r, const char *destination, const char *nexthop)
{
    for (size_t i = 0; i < r->n_routes; i++) {
        if (!strcmp(r->routes[i].destination, destination)
            && !strcmp(r->routes[i].nexthop, nexthop)) {
            return;
        }
    }
    r->routes = xrealloc(r->routes, (r->n_routes + 1) * sizeof *r->routes);
    struct droute *rt = &r->routes[r->n_routes++];
    str_copy(rt->destination, destination, sizeof rt->destination);
    str_copy(rt->nexthop, nexthop, sizeof rt->nexthop);
}

static void
add_fip(struct drouter *r, const char *id, const char *floating,
        const char *fixed)
{
    r->fips = xrealloc(r->fips, (r->n_fips + 1) * sizeof *r->fips);
    struct dfip *f = &r->fips[r->n_fips++];
    str_copy(f->id, id ? id : "", sizeof f->id);
    str_copy(f->floating, floating, sizeof f->floating);
    str_copy(f->fixed, fixed, sizeof f->fixed);
}

/* ---- The driver instance ---- */

/* Floating IP ids this instance configured, for dpdk_l3_has(). */
struct fip_name {
    char id[NAME_LEN];
    char router[NAME_LEN];
    char floating[IP_LEN];
    UT_hash_handle hh;
};

struct dpdk_driver {
    pthread_mutex_t mutex;
    char *socket_path;
    int timeout_ms;
    int mtu;
    bool create_missing_bridges;

    int fd;                     /* connection, -1 if none */
    char *in;                   /* received, not yet consumed */
    size_t in_len, in_cap;
    int64_t next_id;

    char synced[INSTANCE_LEN];  /* instance the last sync_all() set up */
    char seen[INSTANCE_LEN];    /* instance last answered */
    bool lost;                  /* the process changed since 'synced' */
    struct fip_name *fip_names; /* uthash by id */
};

static void
fip_name_set(struct dpdk_driver *d, const char *router, const struct dfip *f)
{
    struct fip_name *n;

    if (!f->id[0]) {
        return;
    }
    HASH_FIND_STR(d->fip_names, f->id, n);
    if (!n) {
        n = xzalloc(sizeof *n);
        str_copy(n->id, f->id, sizeof n->id);
        HASH_ADD_STR(d->fip_names, id, n);
    }
    str_copy(n->router, router, sizeof n->router);
    str_copy(n->floating, f->floating, sizeof n->floating);
}

/* ---- JSON reading ---- */

static yajl_val
member(yajl_val obj, const char *key)
{
    if (!obj || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }
    for (size_t i = 0; i < obj->u.object.len; i++) {
        if (!strcmp(obj->u.object.keys[i], key)) {
            return obj->u.object.values[i];
        }
    }
    return NULL;
}

static const char *
member_str(yajl_val obj, const char *key)
{
    yajl_val v = member(obj, key);

    return v && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

static bool
member_bool(yajl_val obj, const char *key, bool dflt)
{
    yajl_val v = member(obj, key);

    return !v ? dflt : YAJL_IS_TRUE(v) ? true : YAJL_IS_FALSE(v) ? false
                                                                 : dflt;
}

static bool
member_int(yajl_val obj, const char *key, int64_t *out)
{
    yajl_val v = member(obj, key);

    if (v && YAJL_IS_INTEGER(v)) {
        *out = YAJL_GET_INTEGER(v);
        return true;
    }
    return false;
}

static size_t
array_len(yajl_val v)
{
    return v && YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

static yajl_val
array_at(yajl_val v, size_t i)
{
    return v->u.array.values[i];
}

/* ---- Addresses ---- */

static bool
ipv4_parse(const char *s, uint32_t *ip)
{
    struct in_addr a;

    if (!s || inet_pton(AF_INET, s, &a) != 1) {
        return false;
    }
    *ip = ntohl(a.s_addr);
    return true;
}

static void
ipv4_format(uint32_t ip, char buf[IP_LEN])
{
    snprintf(buf, IP_LEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
             (ip >> 8) & 0xff, ip & 0xff);
}

static uint32_t
plen_mask(unsigned int plen)
{
    return plen ? UINT32_MAX << (32 - plen) : 0;
}

/* Parses IPv4 "a.b.c.d/len".  False for IPv6 or garbage. */
static bool
cidr_parse(const char *s, uint32_t *ip, unsigned int *plen)
{
    char buf[CIDR_LEN + 1];
    int64_t len;

    if (!s || !str_copy(buf, s, sizeof buf)) {
        return false;
    }
    char *slash = strchr(buf, '/');
    if (!slash) {
        return false;
    }
    *slash = '\0';
    if (!ipv4_parse(buf, ip) || !str_to_int64(slash + 1, 0, 32, &len)) {
        return false;
    }
    *plen = (unsigned int) len;
    return true;
}

static bool
is_ipv6(const char *s)
{
    return s && strchr(s, ':');
}

/* ---- Names ---- */

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The device of port 'id': a TAP named by 48 bits of a hash of the whole
 * id (Neutron ids need not differ in their first characters; DPDK device
 * names must stay short: the TAP driver derives object names from them).
 * The interface is "tap" + 12 hex digits: bridges treat tap* members as
 * router or instance ports (never as the network's uplink, which
 * netns_bridge_ensure() would release), and Nova's and the `netns`
 * driver's "tap" + 11 characters of a port id always hold the id's '-'. */
static void
port_device(const char *id, char *buf, size_t size)
{
    unsigned long long h = fnv1a(id) & 0xffffffffffffull;

    snprintf(buf, size, "net_tap_%012llx,iface=tap%012llx", h, h);
}

/* ---- Router documents ---- */

/* The network 'id' among the document's "l2" 'networks', or NULL. */
static yajl_val
find_network(yajl_val networks, const char *id)
{
    for (size_t i = 0; id && i < array_len(networks); i++) {
        const char *nid = member_str(array_at(networks, i), "id");
        if (nid && !strcmp(nid, id)) {
            return array_at(networks, i);
        }
    }
    return NULL;
}

/* Fills the bridge of 'p' from 'obj' (network_id, vif_details, and for an
 * interface network_type and segmentation_id); the segment comes from the
 * network in 'networks' (the document's l2/networks), else from 'obj'.
 * Returns false with a message. */
static bool
port_bridge__(struct dport *p, yajl_val obj, yajl_val networks, char *msg,
              size_t size)
{
    const char *network_id = member_str(obj, "network_id");
    const char *bridge = member_str(member(obj, "vif_details"),
                                    "bridge_name");
    yajl_val network = find_network(networks, network_id);
    const char *type = network ? member_str(network, "provider:network_type")
                               : member_str(obj, "network_type");
    const char *physnet = network
                          ? member_str(network, "provider:physical_network")
                          : member_str(obj, "physical_network");
    char err[NETNS_ERR_LEN];
    int64_t seg_id = -1;

    if (bridge && *bridge) {
        if (!str_copy(p->bridge, bridge, sizeof p->bridge)) {
            snprintf(msg, size, "port %s: bridge name '%s' too long",
                     p->name, bridge);
            return false;
        }
    } else if (network_id && *network_id) {
        netns_bridge_name(network_id, p->bridge);
    } else {
        snprintf(msg, size, "port %s: no network", p->name);
        return false;
    }
    if (!type || !netns_host_configured()) {
        return true;            /* the bridge must exist, or be made bare */
    }
    member_int(network ? network : obj, network ? "provider:segmentation_id"
                                                : "segmentation_id", &seg_id);
    if (netns_host_network(p->bridge, type, physnet, seg_id, &p->net,
                           &p->operator_bridge, err, sizeof err)) {
        /* This host cannot describe it: use the bridge if it exists. */
        LOG_DBG(MOD, "port %s: %s", p->name, err);
        return true;
    }
    p->has_net = true;
    str_copy(p->bridge, p->net.bridge, sizeof p->bridge);
    return true;
}

/* The same, and the port's device: one TAP per bridge, which every router
 * port on that bridge shares (hadron-dpdk tells their frames apart by
 * destination MAC), so that the process's 32 DPDK ports hold any number of
 * routers. */
static bool
port_bridge(struct dport *p, yajl_val obj, yajl_val networks, char *msg,
            size_t size)
{
    char key[IF_NAMESIZE + 8];

    if (!port_bridge__(p, obj, networks, msg, size)) {
        return false;
    }
    snprintf(key, sizeof key, "bridge:%s", p->bridge);
    port_device(key, p->device, sizeof p->device);

    /* The network's MTU when the document has it; else [dpdk] mtu. */
    int64_t mtu = 0;
    yajl_val network = find_network(networks, member_str(obj, "network_id"));
    if (network && member_int(network, "mtu", &mtu) && mtu >= 68
        && mtu <= 9000) {
        p->mtu = (int) mtu;
    }
    return true;
}

static bool
port_basics(const struct dpdk_driver *d, struct dport *p, const char *id,
            const char *mac, char *msg, size_t size)
{
    uint8_t m[6];

    if (!id || !*id || !str_copy(p->name, id, sizeof p->name)) {
        snprintf(msg, size, "bad port id '%s'", id ? id : "");
        return false;
    }
    if (!mac || netns_mac_parse(mac, m)) {
        snprintf(msg, size, "port %s: bad MAC address '%s'", id,
                 mac ? mac : "");
        return false;
    }
    snprintf(p->mac, sizeof p->mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0],
             m[1], m[2], m[3], m[4], m[5]);
    port_device(id, p->device, sizeof p->device);
    p->mtu = d->mtu;
    return true;
}

/* Reads router document 'doc' into 'r'.  Returns false with a message if
 * it cannot be realized. */
static bool
parse_document(const struct dpdk_driver *d, yajl_val doc, struct drouter *r,
               char *msg, size_t size)
{
    const char *id = member_str(doc, "id");

    memset(r, 0, sizeof *r);
    if (!id || !*id || !str_copy(r->id, id, sizeof r->id)) {
        snprintf(msg, size, "router document without a usable id");
        return false;
    }
    r->exists = true;
    yajl_val networks = member(member(doc, "l2"), "networks");
    if (!member_bool(doc, "admin_state_up", true)) {
        return true;            /* down: a router with nothing in it */
    }

    /* The gateway. */
    yajl_val gw = member(doc, "external_gateway_info");
    yajl_val gwport = member(gw, "port");
    char gw_ip[IP_LEN] = "";
    if (gwport && YAJL_IS_OBJECT(gwport)) {
        yajl_val fixed = member(gw, "external_fixed_ips");
        yajl_val cidrs = member(gwport, "cidrs");
        uint32_t ip = 0, net, gwaddr;
        unsigned int plen = 0;
        bool found = false;

        for (size_t i = 0; i < array_len(fixed) && !found; i++) {
            const char *s = member_str(array_at(fixed, i), "ip_address");
            if (!ipv4_parse(s, &ip)) {
                continue;
            }
            for (size_t k = 0; k < array_len(cidrs); k++) {
                yajl_val c = array_at(cidrs, k);
                if (YAJL_IS_STRING(c) && cidr_parse(c->u.string, &net, &plen)
                    && (ip & plen_mask(plen)) == (net & plen_mask(plen))) {
                    found = true;
                    break;
                }
            }
        }
        if (found) {
            struct dport *p = add_port(r);
            if (!port_basics(d, p, member_str(gwport, "id"),
                             member_str(gwport, "mac_address"), msg, size)
                || !port_bridge(p, gwport, networks, msg, size)) {
                return false;
            }
            ipv4_format(ip, gw_ip);
            snprintf(p->ip, sizeof p->ip, "%s/%u", gw_ip, plen);
            p->external = true;
            if (ipv4_parse(member_str(gwport, "gateway_ip"), &gwaddr)) {
                char nh[IP_LEN];
                ipv4_format(gwaddr, nh);
                add_route(r, "0.0.0.0/0", nh);
            }
            if (member_bool(gw, "enable_snat", true)) {
                str_copy(r->snat, gw_ip, sizeof r->snat);
            }
        } else {
            LOG_RL(LOG_LEVEL_WARN, MOD, "router %s: the gateway has no IPv4 "
                   "address: no external port", r->id);
        }
    }

    /* Interfaces: one item per fixed IP; one port per port id. */
    yajl_val ifaces = member(doc, "interfaces");
    for (size_t i = 0; i < array_len(ifaces); i++) {
        yajl_val it = array_at(ifaces, i);
        const char *port_id = member_str(it, "port_id");
        uint32_t ip, net;
        unsigned int plen;
        bool dup = false;

        if (!ipv4_parse(member_str(it, "ip_address"), &ip)
            || !cidr_parse(member_str(it, "cidr"), &net, &plen)) {
            continue;           /* IPv6: refused at the API */
        }
        for (size_t k = 0; k < r->n_ports && port_id; k++) {
            dup |= !strcmp(r->ports[k].name, port_id);
        }
        if (dup) {
            continue;           /* one IPv4 address per port */
        }
        struct dport *p = add_port(r);
        if (!port_basics(d, p, port_id, member_str(it, "mac_address"), msg,
                         size)
            || !port_bridge(p, it, networks, msg, size)) {
            return false;
        }
        char a[IP_LEN];
        ipv4_format(ip, a);
        snprintf(p->ip, sizeof p->ip, "%s/%u", a, plen);
    }

    /* Extra routes. */
    yajl_val routes = member(doc, "routes");
    for (size_t i = 0; i < array_len(routes); i++) {
        yajl_val rt = array_at(routes, i);
        uint32_t dst, nh;
        unsigned int plen;
        char a[IP_LEN], dest[CIDR_LEN + 1], next[IP_LEN];

        if (!cidr_parse(member_str(rt, "destination"), &dst, &plen)
            || !ipv4_parse(member_str(rt, "nexthop"), &nh)) {
            continue;           /* IPv6: refused by validate() */
        }
        ipv4_format(dst & plen_mask(plen), a);
        snprintf(dest, sizeof dest, "%s/%u", a, plen);
        ipv4_format(nh, next);
        add_route(r, dest, next);
    }

    /* Floating IPs, through the gateway. */
    yajl_val fips = member(doc, "floatingips");
    for (size_t i = 0; gw_ip[0] && i < array_len(fips); i++) {
        yajl_val f = array_at(fips, i);
        uint32_t fip, fixed;
        char a[IP_LEN], b[IP_LEN];

        if (!ipv4_parse(member_str(f, "floating_ip_address"), &fip)
            || !ipv4_parse(member_str(f, "fixed_ip_address"), &fixed)) {
            continue;           /* not associated */
        }
        ipv4_format(fip, a);
        ipv4_format(fixed, b);
        add_fip(r, member_str(f, "id"), a, b);
    }
    return true;
}

/* Reads one router of a "dump" reply into 'r'. */
static void
parse_held(const char *name, yajl_val obj, struct drouter *r)
{
    memset(r, 0, sizeof *r);
    str_copy(r->id, name, sizeof r->id);
    r->exists = true;

    yajl_val ports = member(obj, "ports");
    for (size_t i = 0; ports && YAJL_IS_OBJECT(ports)
                       && i < ports->u.object.len; i++) {
        yajl_val po = ports->u.object.values[i];
        struct dport *p = add_port(r);
        int64_t mtu = 0;
        str_copy(p->name, ports->u.object.keys[i], sizeof p->name);
        str_copy(p->device, member_str(po, "device") ? member_str(po, "device")
                                                     : "", sizeof p->device);
        const char *mac = member_str(po, "mac");
        str_copy(p->mac, mac ? mac : "", sizeof p->mac);
        for (char *c = p->mac; *c; c++) {
            *c = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
        }
        const char *ip = member_str(po, "ip");
        str_copy(p->ip, ip ? ip : "", sizeof p->ip);
        member_int(po, "mtu", &mtu);
        p->mtu = (int) mtu;
        p->external = member_bool(po, "external", false);
        const char *bridge = member_str(po, "bridge");
        str_copy(p->bridge, bridge ? bridge : "", sizeof p->bridge);
    }
    yajl_val routes = member(obj, "routes");
    for (size_t i = 0; i < array_len(routes); i++) {
        const char *dst = member_str(array_at(routes, i), "destination");
        const char *nh = member_str(array_at(routes, i), "nexthop");
        if (dst && nh) {
            add_route(r, dst, nh);
        }
    }
    const char *snat = member_str(obj, "snat");
    str_copy(r->snat, snat ? snat : "", sizeof r->snat);
    yajl_val fips = member(obj, "fips");
    for (size_t i = 0; i < array_len(fips); i++) {
        const char *fip = member_str(array_at(fips, i), "floating_ip");
        const char *fixed = member_str(array_at(fips, i), "fixed_ip");
        if (fip && fixed) {
            add_fip(r, NULL, fip, fixed);
        }
    }
}

/* ---- The connection ---- */

static void
conn_close(struct dpdk_driver *d)
{
    if (d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
    }
    d->in_len = 0;
}

static int
conn_open(struct dpdk_driver *d, char *msg, size_t size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (d->fd >= 0) {
        return 0;
    }
    if (!str_copy(sa.sun_path, d->socket_path, sizeof sa.sun_path)) {
        snprintf(msg, size, "dpdk: control socket path too long");
        return ENAMETOOLONG;
    }
    d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->fd < 0 || connect(d->fd, (struct sockaddr *) &sa, sizeof sa)) {
        int error = errno;
        snprintf(msg, size, "dpdk: hadron-dpdk at %s: %s", d->socket_path,
                 strerror(error));
        conn_close(d);
        return error;
    }
    return 0;
}

/* Waits until 'fd' is ready for 'events' or the deadline (monotonic us). */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = time_monotonic_usec();
        if (now >= deadline) {
            return ETIMEDOUT;
        }
        struct pollfd pfd = { .fd = fd, .events = events };
        int n = poll(&pfd, 1, (int) ((deadline - now + 999) / 1000));
        if (n > 0) {
            return 0;
        }
        if (n < 0 && errno != EINTR) {
            return errno;
        }
    }
}

/* A batch of requests, one JSON object per line. */
struct batch {
    char *text;
    size_t len, cap;
    size_t n;                   /* requests */
    yajl_gen g;                 /* request being built */
};

static void
batch_destroy(struct batch *b)
{
    free(b->text);
    if (b->g) {
        yajl_gen_free(b->g);
    }
    memset(b, 0, sizeof *b);
}

/* Starts request 'op' of router 'router' (NULL: none); add arguments with
 * json_kv_*() on b->g, then req_end(). */
static yajl_gen
req_begin(struct batch *b, const char *op, const char *router)
{
    b->g = json_gen_create();
    yajl_gen_map_open(b->g);
    json_kv_str(b->g, "op", op);
    if (router) {
        json_kv_str(b->g, "router", router);
    }
    return b->g;
}

static void
req_end(struct batch *b)
{
    const unsigned char *buf;
    size_t len;

    yajl_gen_map_close(b->g);
    yajl_gen_get_buf(b->g, &buf, &len);
    if (b->len + len + 2 > b->cap) {
        b->cap = (b->len + len + 2) * 2;
        b->text = xrealloc(b->text, b->cap);
    }
    memcpy(b->text + b->len, buf, len);
    b->len += len;
    b->text[b->len++] = '\n';
    b->text[b->len] = '\0';
    b->n++;
    yajl_gen_free(b->g);
    b->g = NULL;
}

/* Reads one reply line into a parsed tree. */
static int
read_reply(struct dpdk_driver *d, uint64_t deadline, yajl_val *reply,
           char *msg, size_t size)
{
    for (;;) {
        char *nl = d->in_len ? memchr(d->in, '\n', d->in_len) : NULL;
        if (nl) {
            char err[128] = "";
            *nl = '\0';
            *reply = yajl_tree_parse(d->in, err, sizeof err);
            size_t used = nl + 1 - d->in;
            memmove(d->in, nl + 1, d->in_len - used);
            d->in_len -= used;
            if (!*reply) {
                snprintf(msg, size, "dpdk: hadron-dpdk sent a reply that is "
                         "not JSON");
                return EPROTO;
            }
            return 0;
        }
        if (d->in_cap - d->in_len < 65536) {
            d->in_cap = d->in_cap * 2 + 65536;
            d->in = xrealloc(d->in, d->in_cap);
        }
        int error = wait_fd(d->fd, POLLIN, deadline);
        if (error) {
            snprintf(msg, size, "dpdk: hadron-dpdk at %s: no reply: %s",
                     d->socket_path, strerror(error));
            return error;
        }
        ssize_t n = read(d->fd, d->in + d->in_len, d->in_cap - d->in_len - 1);
        if (n <= 0) {
            error = n ? errno : ECONNRESET;
            if (error == EINTR || error == EAGAIN) {
                continue;
            }
            snprintf(msg, size, "dpdk: hadron-dpdk at %s: %s",
                     d->socket_path, strerror(error));
            return error;
        }
        d->in_len += n;
    }
}

/* Sends batch 'b' on the connection (opening it if needed) and reads its
 * replies into 'replies[0..b->n)'.  Returns 0, or an errno with a message
 * (then the connection is closed and no reply kept). */
static int
exchange_once(struct dpdk_driver *d, const struct batch *b,
              yajl_val *replies, char *msg, size_t size)
{
    uint64_t deadline = time_monotonic_usec()
                        + (uint64_t) d->timeout_ms * 1000;
    size_t got = 0, off = 0;
    int error = conn_open(d, msg, size);

    while (!error && off < b->len) {
        error = wait_fd(d->fd, POLLOUT, deadline);
        if (error) {
            snprintf(msg, size, "dpdk: hadron-dpdk at %s: cannot send: %s",
                     d->socket_path, strerror(error));
            break;
        }
        ssize_t n = send(d->fd, b->text + off, b->len - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            error = errno;
            snprintf(msg, size, "dpdk: hadron-dpdk at %s: %s", d->socket_path,
                     strerror(error));
            break;
        }
        off += n;
    }
    while (!error && got < b->n) {
        error = read_reply(d, deadline, &replies[got], msg, size);
        if (!error) {
            got++;
        }
    }
    if (error) {
        for (size_t i = 0; i < got; i++) {
            yajl_tree_free(replies[i]);
            replies[i] = NULL;
        }
        conn_close(d);
    }
    return error;
}

/* exchange_once(), again on a new connection if one that was open turns
 * out closed by the peer (hadron-dpdk restarted since the last op: every
 * command is idempotent, so sending a batch twice is harmless).  The
 * caller frees the replies. */
static int
exchange(struct dpdk_driver *d, const struct batch *b, yajl_val *replies,
         char *msg, size_t size)
{
    bool was_open = d->fd >= 0;
    int error = exchange_once(d, b, replies, msg, size);

    if (error && was_open && error != ETIMEDOUT) {
        msg[0] = '\0';
        error = exchange_once(d, b, replies, msg, size);
    }
    return error;
}

/* The outcome of a reply: OK, or what its error type means. */
static enum hadron_l3_result
reply_result(yajl_val reply, char *msg, size_t size)
{
    if (member_bool(reply, "ok", false)) {
        return HADRON_L3_OK;
    }
    yajl_val e = member(reply, "error");
    const char *type = member_str(e, "type");
    const char *text = member_str(e, "message");
    snprintf(msg, size, "dpdk: hadron-dpdk: %s: %s", type ? type : "error",
             text ? text : "no message");
    return type && !strcmp(type, "Unavailable") ? HADRON_L3_RETRY
                                                : HADRON_L3_FAILED;
}

/* Runs 'b' and returns the first failure among its replies.  A failed
 * exchange is RETRY. */
static enum hadron_l3_result
run_batch(struct dpdk_driver *d, const struct batch *b, char *msg,
          size_t size)
{
    enum hadron_l3_result result = HADRON_L3_OK;

    if (!b->n) {
        return HADRON_L3_OK;
    }
    yajl_val *replies = xcalloc(b->n, sizeof *replies);
    if (exchange(d, b, replies, msg, size)) {
        free(replies);
        return HADRON_L3_RETRY;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (result == HADRON_L3_OK) {
            result = reply_result(replies[i], msg, size);
        }
        yajl_tree_free(replies[i]);
    }
    free(replies);
    return result;
}

/* Records the instance id 'instance' that hadron-dpdk just answered,
 * noting in d->lost when it is not the one the last sync configured. */
static void
note_instance(struct dpdk_driver *d, const char *instance)
{
    if (d->synced[0] && strcmp(instance, d->synced) && !d->lost) {
        LOG_WARN(MOD, "hadron-dpdk at %s restarted (instance %s, was %s): "
                 "its routers must be synced", d->socket_path, instance,
                 d->synced);
        d->lost = true;
    }
    str_copy(d->seen, instance, sizeof d->seen);
}

/* Pings the dataplane and, unless 'router' is NULL, dumps router 'router'
 * ("" for every router) in the same batch.  On success notes the instance
 * (note_instance()) and returns the dump reply in '*dump' (caller frees;
 * NULL without 'router'). */
static enum hadron_l3_result
ping_dump(struct dpdk_driver *d, const char *router, yajl_val *dump,
          char *msg, size_t size)
{
    struct batch b = { 0 };
    yajl_val replies[2] = { NULL, NULL };
    enum hadron_l3_result result;

    *dump = NULL;
    req_begin(&b, "ping", NULL);
    req_end(&b);
    if (router) {
        req_begin(&b, "dump", router[0] ? router : NULL);
        req_end(&b);
    }
    if (exchange(d, &b, replies, msg, size)) {
        batch_destroy(&b);
        return HADRON_L3_RETRY;
    }
    batch_destroy(&b);
    result = reply_result(replies[0], msg, size);
    if (result == HADRON_L3_OK && router) {
        result = reply_result(replies[1], msg, size);
    }
    const char *instance = member_str(replies[0], "instance");
    if (result == HADRON_L3_OK && !instance) {
        snprintf(msg, size, "dpdk: hadron-dpdk at %s answers ping without "
                 "an instance id (too old)", d->socket_path);
        result = HADRON_L3_FAILED;
    }
    if (result == HADRON_L3_OK) {
        note_instance(d, instance);
        *dump = replies[1];
        replies[1] = NULL;
    }
    yajl_tree_free(replies[0]);
    yajl_tree_free(replies[1]);
    return result;
}

/* ---- Converging ---- */

static const struct dport *
find_port(const struct drouter *r, const char *name)
{
    for (size_t i = 0; i < r->n_ports; i++) {
        if (!strcmp(r->ports[i].name, name)) {
            return &r->ports[i];
        }
    }
    return NULL;
}

static bool
has_route(const struct drouter *r, const struct droute *rt)
{
    for (size_t i = 0; i < r->n_routes; i++) {
        if (!strcmp(r->routes[i].destination, rt->destination)
            && !strcmp(r->routes[i].nexthop, rt->nexthop)) {
            return true;
        }
    }
    return false;
}

static bool
has_fip(const struct drouter *r, const struct dfip *f)
{
    for (size_t i = 0; i < r->n_fips; i++) {
        if (!strcmp(r->fips[i].floating, f->floating)
            && !strcmp(r->fips[i].fixed, f->fixed)) {
            return true;
        }
    }
    return false;
}

static bool
port_differs(const struct dport *want, const struct dport *have)
{
    return strcmp(want->device, have->device) || strcmp(want->mac, have->mac)
           || strcmp(want->ip, have->ip) || want->mtu != have->mtu
           || want->external != have->external
           || strcmp(want->bridge, have->bridge);
}

/* Makes sure the bridge of wanted port 'p' exists.  Returns OK, or RETRY
 * with a message when it cannot be (yet). */
static enum hadron_l3_result
ensure_bridge(const struct dpdk_driver *d, const struct dport *p, char *msg,
              size_t size)
{
    char err[NETNS_ERR_LEN];
    int error;

    if (!p->bridge[0]) {
        return HADRON_L3_OK;
    }
    if (p->has_net) {
        error = netns_host_bridge_ensure(&p->net, p->operator_bridge, err,
                                         sizeof err);
    } else if (if_nametoindex(p->bridge)) {
        return HADRON_L3_OK;
    } else if (d->create_missing_bridges) {
        struct netns_network net = { .type = NETNS_NET_LOCAL };
        str_copy(net.bridge, p->bridge, sizeof net.bridge);
        error = netns_bridge_ensure(&net, err, sizeof err);
    } else {
        snprintf(msg, size, "dpdk: port %s: bridge %s does not exist (its "
                 "network is not realized on this host)", p->name,
                 p->bridge);
        return HADRON_L3_RETRY;
    }
    if (error) {
        snprintf(msg, size, "dpdk: port %s: %s", p->name, err);
        return HADRON_L3_RETRY;
    }
    return HADRON_L3_OK;
}

/* Adds to 'b' what turns 'have' into 'want' (same router); with 'force'
 * every wanted port is sent again (repairs bridge attachments). */
static void
plan(const struct drouter *want, const struct drouter *have, bool force,
     struct batch *b)
{
    const char *rid = want->id;
    yajl_gen g;

    req_begin(b, "router_add", rid);
    req_end(b);
    for (size_t i = 0; i < have->n_fips; i++) {
        if (!has_fip(want, &have->fips[i])) {
            g = req_begin(b, "fip_del", rid);
            json_kv_str(g, "floating_ip", have->fips[i].floating);
            req_end(b);
        }
    }
    for (size_t i = 0; i < have->n_routes; i++) {
        if (!has_route(want, &have->routes[i])) {
            g = req_begin(b, "route_del", rid);
            json_kv_str(g, "destination", have->routes[i].destination);
            json_kv_str(g, "nexthop", have->routes[i].nexthop);
            req_end(b);
        }
    }
    if (have->snat[0] && !want->snat[0]) {
        req_begin(b, "snat_clear", rid);
        req_end(b);
    }
    for (size_t i = 0; i < have->n_ports; i++) {
        const struct dport *w = find_port(want, have->ports[i].name);
        if (!w || strcmp(w->device, have->ports[i].device)) {
            g = req_begin(b, "port_del", NULL);
            json_kv_str(g, "port", have->ports[i].name);
            req_end(b);
        }
    }
    for (size_t i = 0; i < want->n_ports; i++) {
        const struct dport *w = &want->ports[i];
        const struct dport *h = find_port(have, w->name);
        if (!force && h && !port_differs(w, h)) {
            continue;
        }
        g = req_begin(b, "port_add", rid);
        json_kv_str(g, "port", w->name);
        json_kv_str(g, "device", w->device);
        json_kv_str(g, "mac", w->mac);
        json_kv_str(g, "ip", w->ip);
        json_kv_int(g, "mtu", w->mtu);
        json_kv_bool(g, "external", w->external);
        if (w->bridge[0]) {
            json_kv_str(g, "bridge", w->bridge);
        }
        req_end(b);
    }
    for (size_t i = 0; i < want->n_routes; i++) {
        if (!has_route(have, &want->routes[i])) {
            g = req_begin(b, "route_add", rid);
            json_kv_str(g, "destination", want->routes[i].destination);
            json_kv_str(g, "nexthop", want->routes[i].nexthop);
            req_end(b);
        }
    }
    if (want->snat[0] && strcmp(want->snat, have->snat)) {
        g = req_begin(b, "snat_set", rid);
        json_kv_str(g, "ip", want->snat);
        req_end(b);
    }
    for (size_t i = 0; i < want->n_fips; i++) {
        if (!has_fip(have, &want->fips[i])) {
            g = req_begin(b, "fip_add", rid);
            json_kv_str(g, "floating_ip", want->fips[i].floating);
            json_kv_str(g, "fixed_ip", want->fips[i].fixed);
            req_end(b);
        }
    }
}

/* The router named 'id' in dump reply 'dump', as held. */
static void
held_router(yajl_val dump, const char *id, struct drouter *have)
{
    yajl_val routers = member(dump, "routers");
    yajl_val obj = member(routers, id);

    if (obj) {
        parse_held(id, obj, have);
    } else {
        memset(have, 0, sizeof *have);
        str_copy(have->id, id, sizeof have->id);
    }
}

/* Converges the dataplane's router 'want->id' on 'want' ('have' is what it
 * holds now). */
static enum hadron_l3_result
converge(struct dpdk_driver *d, const struct drouter *want,
         const struct drouter *have, bool force, char *msg, size_t size)
{
    struct batch b = { 0 };
    enum hadron_l3_result result;

    for (size_t i = 0; i < want->n_ports; i++) {
        const struct dport *h = find_port(have, want->ports[i].name);
        if (force || !h || port_differs(&want->ports[i], h)) {
            result = ensure_bridge(d, &want->ports[i], msg, size);
            if (result != HADRON_L3_OK) {
                return result;
            }
        }
    }
    plan(want, have, force, &b);
    result = run_batch(d, &b, msg, size);
    batch_destroy(&b);
    if (result == HADRON_L3_OK) {
        for (size_t i = 0; i < want->n_fips; i++) {
            fip_name_set(d, want->id, &want->fips[i]);
        }
    }
    return result;
}

static enum hadron_l3_result
router_del(struct dpdk_driver *d, const char *id, char *msg, size_t size)
{
    struct batch b = { 0 };

    req_begin(&b, "router_del", id);
    req_end(&b);
    enum hadron_l3_result result = run_batch(d, &b, msg, size);
    batch_destroy(&b);
    return result;
}

/* ---- Ops ---- */

static void dpdk_destroy(void *state);

static int
dpdk_init(const struct hadron_l3_config *cfg, void **state, char *err,
          size_t err_size)
{
    struct dpdk_driver *d = xzalloc(sizeof *d);
    int error = 0;

    pthread_mutex_init(&d->mutex, NULL);
    d->fd = -1;
    d->socket_path = xstrdup("/run/hadron/hadron-dpdk.sock");
    d->timeout_ms = 5000;
    d->mtu = 1500;
    for (size_t i = 0; i < cfg->n_options && !error; i++) {
        const char *key = cfg->options[i].key;
        const char *value = cfg->options[i].value;
        int64_t n;

        if (!strcmp(key, "control_socket")) {
            struct sockaddr_un sa;
            if (!*value || strlen(value) >= sizeof sa.sun_path) {
                snprintf(err, err_size, "[dpdk] control_socket: '%s' is not "
                         "a usable socket path", value);
                error = EINVAL;
            }
            free(d->socket_path);
            d->socket_path = xstrdup(value);
        } else if (!strcmp(key, "timeout_ms")) {
            if (!str_to_int64(value, 10, 600000, &n)) {
                snprintf(err, err_size, "[dpdk] timeout_ms: '%s' is not a "
                         "number of milliseconds (10-600000)", value);
                error = EINVAL;
            }
            d->timeout_ms = (int) n;
        } else if (!strcmp(key, "mtu")) {
            if (!str_to_int64(value, 68, 9000, &n)) {
                snprintf(err, err_size, "[dpdk] mtu: '%s' is not an MTU "
                         "(68-9000)", value);
                error = EINVAL;
            }
            d->mtu = (int) n;
        } else if (!strcmp(key, "create_missing_bridges")) {
            if (!str_to_bool(value, &d->create_missing_bridges)) {
                snprintf(err, err_size, "[dpdk] create_missing_bridges: "
                         "'%s' is not a boolean", value);
                error = EINVAL;
            }
        } else {
            snprintf(err, err_size, "unknown option [dpdk] %s", key);
            error = EINVAL;
        }
    }
    if (error) {
        dpdk_destroy(d);
        return error;
    }
    *state = d;
    return 0;
}

static void
dpdk_destroy(void *state)
{
    struct dpdk_driver *d = state;
    struct fip_name *n, *tmp;

    if (!d) {
        return;
    }
    conn_close(d);
    HASH_ITER(hh, d->fip_names, n, tmp) {
        HASH_DEL(d->fip_names, n);
        free(n);
    }
    free(d->in);
    free(d->socket_path);
    pthread_mutex_destroy(&d->mutex);
    free(d);
}

static unsigned int
dpdk_capabilities(void *state)
{
    return DPDK_CAPS;
}

/* Refuses at the API what the dataplane cannot hold beyond what the
 * capabilities already say: IPv6 routes and a gateway with several IPv4
 * addresses. */
static bool
dpdk_validate(void *state, const struct hadron_l3_entry *e, char *err,
              size_t err_size)
{
    bool ok = true;

    if (strcmp(e->resource, "router") || !e->data) {
        return true;
    }
    yajl_val data = yajl_tree_parse(e->data, NULL, 0);
    yajl_val fixed = member(member(data, "external_gateway_info"),
                            "external_fixed_ips");
    size_t n_v4 = 0;
    for (size_t i = 0; i < array_len(fixed); i++) {
        uint32_t ip;
        n_v4 += ipv4_parse(member_str(array_at(fixed, i), "ip_address"),
                           &ip);
    }
    if (n_v4 > 1) {
        snprintf(err, err_size, "the dpdk dataplane takes one IPv4 address "
                 "per gateway port, not %zu", n_v4);
        ok = false;
    }
    yajl_val routes = member(data, "routes");
    for (size_t i = 0; ok && i < array_len(routes); i++) {
        if (is_ipv6(member_str(array_at(routes, i), "destination"))
            || is_ipv6(member_str(array_at(routes, i), "nexthop"))) {
            snprintf(err, err_size, "the dpdk dataplane does not route "
                     "IPv6");
            ok = false;
        }
    }
    yajl_tree_free(data);
    return ok;
}

static enum hadron_l3_result
dpdk_apply(void *state, const struct hadron_l3_entry *e, char *msg,
           size_t msg_size)
{
    struct dpdk_driver *d = state;
    enum hadron_l3_result result;
    struct drouter want, have;
    yajl_val doc = NULL, dump = NULL;

    pthread_mutex_lock(&d->mutex);
    if (!e->router || (!strcmp(e->resource, "router")
                       && !strcmp(e->operation, "delete"))) {
        result = router_del(d, e->router_id, msg, msg_size);
        goto out;
    }
    char err[128] = "";
    doc = yajl_tree_parse(e->router, err, sizeof err);
    if (!doc) {
        snprintf(msg, msg_size, "dpdk: router %s: document is not JSON: %s",
                 e->router_id, err);
        result = HADRON_L3_FAILED;
        goto out;
    }
    if (!parse_document(d, doc, &want, msg, msg_size)) {
        drouter_clear(&want);
        result = HADRON_L3_FAILED;
        goto out;
    }
    result = ping_dump(d, want.id, &dump, msg, msg_size);
    if (result == HADRON_L3_OK) {
        held_router(dump, want.id, &have);
        result = converge(d, &want, &have, false, msg, msg_size);
        drouter_clear(&have);
    }
    drouter_clear(&want);
out:
    pthread_mutex_unlock(&d->mutex);
    yajl_tree_free(doc);
    yajl_tree_free(dump);
    if (result == HADRON_L3_OK) {
        LOG_DBG(MOD, "applied %lld %s %s %s", (long long) e->seq,
                e->resource, e->operation, e->resource_id);
    }
    return result;
}

static enum hadron_l3_result
dpdk_sync_all(void *state, const char *const *routers, size_t n, char *msg,
              size_t msg_size)
{
    struct dpdk_driver *d = state;
    enum hadron_l3_result result;
    struct drouter *wants = xcalloc(n ? n : 1, sizeof *wants);
    size_t n_wants = 0, removed = 0;
    yajl_val dump = NULL;

    pthread_mutex_lock(&d->mutex);
    for (size_t i = 0; i < n; i++) {
        char err[128] = "";
        yajl_val doc = yajl_tree_parse(routers[i], err, sizeof err);
        bool ok = doc && parse_document(d, doc, &wants[n_wants], msg,
                                        msg_size);
        yajl_tree_free(doc);
        if (!ok) {
            /* One router the dataplane cannot hold must not keep the
             * others from being synced: its own entries will fail. */
            LOG_RL(LOG_LEVEL_WARN, MOD, "sync: router document %zu "
                   "skipped: %s", i, doc ? msg : err);
            drouter_clear(&wants[n_wants]);
            msg[0] = '\0';
            continue;
        }
        n_wants++;
    }
    result = ping_dump(d, "", &dump, msg, msg_size);
    if (result != HADRON_L3_OK) {
        goto out;
    }
    char instance[INSTANCE_LEN];
    str_copy(instance, d->seen, sizeof instance);

    /* Remove what no document names. */
    yajl_val held = member(dump, "routers");
    for (size_t i = 0; held && YAJL_IS_OBJECT(held)
                       && i < held->u.object.len; i++) {
        const char *name = held->u.object.keys[i];
        bool wanted = false;
        for (size_t k = 0; k < n_wants && !wanted; k++) {
            wanted = !strcmp(wants[k].id, name);
        }
        if (!wanted) {
            result = router_del(d, name, msg, msg_size);
            if (result != HADRON_L3_OK) {
                goto out;
            }
            removed++;
        }
    }
    /* Build or repair the others, each one whole. */
    for (size_t k = 0; k < n_wants; k++) {
        struct drouter have;
        held_router(dump, wants[k].id, &have);
        enum hadron_l3_result r = converge(d, &wants[k], &have, true, msg,
                                           msg_size);
        drouter_clear(&have);
        if (r == HADRON_L3_RETRY) {
            result = r;
            goto out;
        }
        if (r == HADRON_L3_FAILED) {
            LOG_RL(LOG_LEVEL_WARN, MOD, "sync: router %s: %s", wants[k].id,
                   msg);
            msg[0] = '\0';
        }
    }
    /* The process must still be the one just configured. */
    yajl_tree_free(dump);
    result = ping_dump(d, NULL, &dump, msg, msg_size);
    if (result == HADRON_L3_OK && strcmp(d->seen, instance)) {
        snprintf(msg, msg_size, "dpdk: hadron-dpdk restarted during the "
                 "sync");
        result = HADRON_L3_RETRY;
    }
    if (result == HADRON_L3_OK) {
        str_copy(d->synced, instance, sizeof d->synced);
        d->lost = false;
        LOG_INFO(MOD, "synced %zu routers into hadron-dpdk instance %s "
                 "(%zu stale removed)", n_wants, instance, removed);
    }
out:
    pthread_mutex_unlock(&d->mutex);
    yajl_tree_free(dump);
    for (size_t k = 0; k < n_wants; k++) {
        drouter_clear(&wants[k]);
    }
    free(wants);
    return result;
}

static bool
dpdk_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    struct dpdk_driver *d = state;
    yajl_val none;

    pthread_mutex_lock(&d->mutex);
    bool ok = ping_dump(d, NULL, &none, msg, msg_size) == HADRON_L3_OK;
    /* Never synced since start: compare with the database once. */
    *lost_state = ok && (d->lost || !d->synced[0]);
    pthread_mutex_unlock(&d->mutex);
    return ok;
}

const struct hadron_l3_driver_class dpdk_l3_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "dpdk",
    .init = dpdk_init,
    .destroy = dpdk_destroy,
    .capabilities = dpdk_capabilities,
    .validate = dpdk_validate,
    .apply = dpdk_apply,
    .sync_all = dpdk_sync_all,
    .health = dpdk_health,
};

/* ---- Inspection ---- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Appends to '*lines' the canonical lines of held router 'r'. */
static void
router_lines(const struct drouter *r, char ***lines, size_t *n)
{
    size_t first = *n, cap = *n + 1 + r->n_ports + r->n_routes + 1
                              + r->n_fips;

    *lines = xrealloc(*lines, cap * sizeof **lines);
    for (size_t i = 0; i < r->n_ports; i++) {
        const struct dport *p = &r->ports[i];
        (*lines)[(*n)++] = xasprintf(" port %s %s %s %s mtu %d%s %s",
                                     p->name, p->device, p->mac, p->ip,
                                     p->mtu, p->external ? " external" : "",
                                     p->bridge[0] ? p->bridge : "-");
    }
    for (size_t i = 0; i < r->n_routes; i++) {
        (*lines)[(*n)++] = xasprintf(" route %s via %s",
                                     r->routes[i].destination,
                                     r->routes[i].nexthop);
    }
    if (r->snat[0]) {
        (*lines)[(*n)++] = xasprintf(" snat %s", r->snat);
    }
    for (size_t i = 0; i < r->n_fips; i++) {
        (*lines)[(*n)++] = xasprintf(" fip %s %s", r->fips[i].floating,
                                     r->fips[i].fixed);
    }
    qsort(*lines + first, *n - first, sizeof **lines, cmp_str);
    /* The router's own line goes first (after sorting its items). */
    memmove(*lines + first + 1, *lines + first,
            (*n - first) * sizeof **lines);
    (*lines)[first] = xasprintf("router %s", r->id);
    (*n)++;
}

struct router_text {
    char *name;
    char *text;
};

static int
cmp_router_text(const void *a, const void *b)
{
    return strcmp(((const struct router_text *) a)->name,
                  ((const struct router_text *) b)->name);
}

char *
dpdk_l3_dump(void *state)
{
    struct dpdk_driver *d = state;
    yajl_val dump = NULL;
    char msg[256];
    char *text = NULL;

    pthread_mutex_lock(&d->mutex);
    if (ping_dump(d, "", &dump, msg, sizeof msg) != HADRON_L3_OK) {
        pthread_mutex_unlock(&d->mutex);
        return NULL;
    }
    pthread_mutex_unlock(&d->mutex);

    yajl_val routers = member(dump, "routers");
    size_t n = routers && YAJL_IS_OBJECT(routers) ? routers->u.object.len : 0;
    struct router_text *rt = xcalloc(n ? n : 1, sizeof *rt);
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        struct drouter r;
        char **lines = NULL;
        size_t n_lines = 0, len = 0;

        parse_held(routers->u.object.keys[i], routers->u.object.values[i],
                   &r);
        router_lines(&r, &lines, &n_lines);
        for (size_t k = 0; k < n_lines; k++) {
            len += strlen(lines[k]) + 1;
        }
        rt[i].name = xstrdup(r.id);
        rt[i].text = xzalloc(len + 1);
        for (size_t k = 0, off = 0; k < n_lines; k++) {
            off += (size_t) snprintf(rt[i].text + off, len + 1 - off, "%s\n",
                                     lines[k]);
            free(lines[k]);
        }
        free(lines);
        total += len;
        drouter_clear(&r);
    }
    qsort(rt, n, sizeof *rt, cmp_router_text);
    text = xzalloc(total);
    for (size_t i = 0, off = 0; i < n; i++) {
        off += (size_t) snprintf(text + off, total - off, "%s", rt[i].text);
        free(rt[i].name);
        free(rt[i].text);
    }
    free(rt);
    yajl_tree_free(dump);
    return text;
}

bool
dpdk_l3_has(void *state, const char *resource, const char *router_id,
            const char *id)
{
    struct dpdk_driver *d = state;
    yajl_val dump = NULL;
    char msg[256], floating[IP_LEN] = "";
    bool found = false;

    pthread_mutex_lock(&d->mutex);
    if (!strcmp(resource, "floatingip")) {
        struct fip_name *fn;
        HASH_FIND_STR(d->fip_names, id, fn);
        if (!fn || strcmp(fn->router, router_id)) {
            pthread_mutex_unlock(&d->mutex);
            return false;
        }
        str_copy(floating, fn->floating, sizeof floating);
    }
    enum hadron_l3_result r = ping_dump(d, router_id, &dump, msg,
                                        sizeof msg);
    pthread_mutex_unlock(&d->mutex);
    if (r != HADRON_L3_OK) {
        return false;
    }
    yajl_val obj = member(member(dump, "routers"), router_id);
    if (obj && !strcmp(resource, "router")) {
        found = !strcmp(router_id, id);
    } else if (obj && !strcmp(resource, "router_interface")) {
        found = member(member(obj, "ports"), id) != NULL;
    } else if (obj && floating[0]) {
        yajl_val fips = member(obj, "fips");
        for (size_t i = 0; i < array_len(fips) && !found; i++) {
            const char *f = member_str(array_at(fips, i), "floating_ip");
            found = f && !strcmp(f, floating);
        }
    }
    yajl_tree_free(dump);
    return found;
}
