/* backends/netns/driver.c: the `netns` flavor driver (netns_driver.h).
 *
 * apply() and sync_all() turn router documents (flavors/driver.h) into
 * `struct netns_router` and hand them to netns_router_apply(), after making
 * sure the bridges the router's ports plug into exist.  The document's
 * parts map as follows:
 *   admin_state_up                      -> admin_up
 *   external_gateway_info               -> gw (qg-): the port's MAC, its
 *     .port, .external_fixed_ips           external fixed IPs with the
 *                                          prefix of the subnet that holds
 *                                          each (from .port.cidrs), the
 *                                          default route via
 *                                          .port.gateway_ip; enable_snat
 *   interfaces (one item per fixed IP)  -> ports (qr-), grouped by port_id
 *   routes                              -> routes
 *   floatingips with a fixed IP         -> fips (IPv4)
 * A port's bridge is its vif_details bridge_name, else "brq" + 11
 * characters of its network id; its network is described from the
 * document's "l2" network (provider:network_type, physical_network,
 * segmentation_id), else from an interface's network_type and
 * segmentation_id (when neither says, the bridge must already exist). */
#include "backends/netns/netns_driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>
#include <yajl/yajl_tree.h>

#include "backends/netns/netns.h"
#include "backends/netns/netns_host.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "netns"

/* L2_DOCUMENT: the "l2" member gives each network's segment (type,
 * physical network, id), which the bridges need. */
#define NETNS_CAPS (HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY          \
                    | HADRON_L3_CAP_FLOATINGIP                          \
                    | HADRON_L3_CAP_EXTRA_ROUTES                        \
                    | HADRON_L3_CAP_ADMIN_DOWN                          \
                    | HADRON_L3_CAP_L2_DOCUMENT)

/* A set of bridge names. */
struct bridges {
    char (*names)[NETNS_IFNAME_LEN];
    size_t n;
};

/* A router realized by this instance since its start, with the document
 * the kernel holds for it. */
struct held {
    char id[NETNS_ID_LEN];
    char *doc;                  /* as last applied with success */
    struct bridges bridges;     /* the bridges of its interfaces that this
                                 * driver made (not operator bridges) */
    uint64_t digest;            /* of the kernel state read back after the
                                 * apply, once 'digest_valid' */
    bool digest_valid;
    UT_hash_handle hh;
};

struct netns_driver {
    char *state_dir;            /* marks: one file per router */
    bool remove_unmarked;
    struct held *held;          /* uthash by id */
    unsigned int drift_cursor;  /* where the next drift check starts */
    struct bridges released;    /* left by routers, removed by health() */
};

/* Removing a bridge costs the kernel ~70 ms (an RCU grace period), so
 * apply() leaves the bridges a router no longer uses to health(), which
 * runs on the same thread between entries and removes a few per call:
 * tearing down many routers is not held up by their bridges. */
#define RELEASES_PER_HEALTH 4

/* At most this many routers are read back per health() call to look for
 * changes made behind the driver's back, round-robin. */
#define DRIFT_CHECKS_PER_HEALTH 8

/* One `netns` instance per process: two would each take the other's
 * namespaces for strays. */
static atomic_bool instance_exists;

/* ---- Bridge sets ---- */

static bool
bridges_has(const struct bridges *b, const char *name)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!strcmp(b->names[i], name)) {
            return true;
        }
    }
    return false;
}

static void
bridges_add(struct bridges *b, const char *name)
{
    if (!name[0] || strlen(name) >= NETNS_IFNAME_LEN || bridges_has(b, name)) {
        return;
    }
    b->names = xrealloc(b->names, (b->n + 1) * sizeof *b->names);
    str_copy(b->names[b->n++], name, NETNS_IFNAME_LEN);
}

static void
bridges_add_all(struct bridges *b, const struct bridges *more)
{
    for (size_t i = 0; i < more->n; i++) {
        bridges_add(b, more->names[i]);
    }
}

/* Same names, in any order. */
static bool
bridges_equal(const struct bridges *a, const struct bridges *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!bridges_has(b, a->names[i])) {
            return false;
        }
    }
    return true;
}

static void
bridges_clear(struct bridges *b)
{
    free(b->names);
    b->names = NULL;
    b->n = 0;
}

/* Removes each bridge of 'b' that 'keep' (may be NULL) does not name, if
 * nothing but its uplink is attached any more (netns_host_bridge_release()
 * keeps a bridge with tap interfaces, a router's or an instance's, on
 * it). */
static void
release_bridges(const struct bridges *b, const struct bridges *keep,
                const char *why)
{
    for (size_t i = 0; i < b->n; i++) {
        char err[NETNS_ERR_LEN] = "";
        bool removed = false;
        int error;

        if (keep && bridges_has(keep, b->names[i])) {
            continue;
        }
        error = netns_host_bridge_release(b->names[i], NULL, NULL, &removed,
                                          err, sizeof err);
        if (error) {
            LOG_WARN(MOD, "%s: cannot remove bridge %s: %s", why,
                     b->names[i], err);
        } else if (removed) {
            LOG_INFO(MOD, "%s: bridge %s removed (no interface left on it)",
                     why, b->names[i]);
        }
    }
}

/* Queues the bridges of 'b' that 'keep' (may be NULL) does not name for
 * release by health(). */
static void
defer_release(struct netns_driver *d, const struct bridges *b,
              const struct bridges *keep)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!keep || !bridges_has(keep, b->names[i])) {
            bridges_add(&d->released, b->names[i]);
        }
    }
}

/* Releases up to 'max' queued bridges (all if 'max' is 0). */
static void
release_deferred(struct netns_driver *d, size_t max)
{
    size_t n = max && d->released.n > max ? max : d->released.n;
    struct bridges now = { 0 };

    if (!n) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        bridges_add(&now, d->released.names[i]);
    }
    memmove(d->released.names, d->released.names + n,
            (d->released.n - n) * sizeof *d->released.names);
    d->released.n -= n;
    release_bridges(&now, NULL, "released");
    bridges_clear(&now);
}

/* ---- Held routers ---- */

/* Records that the kernel holds router 'id' as document 'doc', with
 * interfaces on the bridges 'b'. */
static void
held_add(struct netns_driver *d, const char *id, const char *doc,
         const struct bridges *b)
{
    struct held *h;

    HASH_FIND_STR(d->held, id, h);
    if (!h) {
        h = xzalloc(sizeof *h);
        str_copy(h->id, id, sizeof h->id);
        HASH_ADD_STR(d->held, id, h);
    }
    free(h->doc);
    h->doc = xstrdup(doc);
    bridges_clear(&h->bridges);
    bridges_add_all(&h->bridges, b);
    h->digest_valid = false;
}

/* True if the kernel holds router 'id' as 'doc' already: an entry whose
 * document was applied before (a replay, or the later entries of a burst,
 * which carry the router as it is now, like the first) needs no work. */
static bool
held_same(const struct netns_driver *d, const char *id, const char *doc)
{
    struct held *h;

    HASH_FIND_STR(d->held, id, h);
    return h && h->doc && !strcmp(h->doc, doc);
}

static void
held_free(struct held *h)
{
    free(h->doc);
    bridges_clear(&h->bridges);
    free(h);
}

static void
held_del(struct netns_driver *d, const char *id)
{
    struct held *h;

    HASH_FIND_STR(d->held, id, h);
    if (h) {
        HASH_DEL(d->held, h);
        held_free(h);
    }
}

static void
held_clear(struct netns_driver *d)
{
    struct held *h, *tmp;

    HASH_ITER(hh, d->held, h, tmp) {
        HASH_DEL(d->held, h);
        held_free(h);
    }
}

/* ---- Marks ---- */

/* Creates 'path' and its parents (mode 0755).  Returns 0 or an errno. */
static int
mkdir_p(const char *path)
{
    char buf[512];

    if (!str_copy(buf, path, sizeof buf)) {
        return ENAMETOOLONG;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST) {
                return errno;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) && errno != EEXIST) {
        return errno;
    }
    return 0;
}

static bool
valid_router_id(const char *id)
{
    size_t len = strlen(id);

    if (len < NETNS_ID_PREFIX_LEN || len >= NETNS_ID_LEN) {
        return false;
    }
    return strspn(id, "0123456789abcdefABCDEF-") == len;
}

static void
mark_path(const struct netns_driver *d, const char *id, char *buf,
          size_t size)
{
    snprintf(buf, size, "%s/%s", d->state_dir, id);
}

/* Marks router 'id' as ours, the mark listing the bridges 'b' (one name
 * a line) that hold or may hold its interfaces, so that they can be
 * removed with the router also after a restart.  Returns 0 or an errno
 * with a message. */
static int
mark(const struct netns_driver *d, const char *id, const struct bridges *b,
     char *msg, size_t size)
{
    char path[600];
    FILE *f;
    int fd;

    mark_path(d, id, path, sizeof path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        int error = mkdir_p(d->state_dir);
        if (error) {
            snprintf(msg, size, "netns: cannot create state directory %s: "
                     "%s", d->state_dir, strerror(error));
            return error;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int error = errno;
        if (fd >= 0) {
            close(fd);
        }
        snprintf(msg, size, "netns: cannot write %s: %s", path,
                 strerror(error));
        return error;
    }
    for (size_t i = 0; i < b->n; i++) {
        fprintf(f, "%s\n", b->names[i]);
    }
    if (fclose(f)) {
        int error = errno;
        snprintf(msg, size, "netns: cannot write %s: %s", path,
                 strerror(error));
        return error;
    }
    return 0;
}

/* Adds to '*b' the bridges router 'id''s mark lists.  Returns false if
 * the router has no mark. */
static bool
mark_bridges(const struct netns_driver *d, const char *id, struct bridges *b)
{
    char path[600], line[64];
    FILE *f;

    mark_path(d, id, path, sizeof path);
    f = fopen(path, "re");
    if (!f) {
        return false;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        bridges_add(b, line);
    }
    fclose(f);
    return true;
}

static bool
is_marked(const struct netns_driver *d, const char *id)
{
    char path[600];

    mark_path(d, id, path, sizeof path);
    return !access(path, F_OK);
}

static void
unmark(const struct netns_driver *d, const char *id)
{
    char path[600];

    mark_path(d, id, path, sizeof path);
    if (unlink(path) && errno != ENOENT) {
        LOG_WARN(MOD, "router %s: cannot remove %s: %s", id, path,
                 strerror(errno));
    }
}

/* The marked router ids (malloc'd array of malloc'd strings). */
static char **
list_marks(const struct netns_driver *d, size_t *n)
{
    DIR *dir = opendir(d->state_dir);
    char **ids = NULL;
    struct dirent *de;

    *n = 0;
    if (!dir) {
        return NULL;
    }
    while ((de = readdir(dir))) {
        if (de->d_name[0] != '.' && valid_router_id(de->d_name)) {
            ids = xrealloc(ids, (*n + 1) * sizeof *ids);
            ids[(*n)++] = xstrdup(de->d_name);
        }
    }
    closedir(dir);
    return ids;
}

static void
free_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i]);
    }
    free(s);
}

/* ---- Reading the document ---- */

static yajl_val
member(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj)) {
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

    return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

static bool
member_bool(yajl_val obj, const char *key, bool dflt)
{
    yajl_val v = member(obj, key);

    return YAJL_IS_TRUE(v) ? true : YAJL_IS_FALSE(v) ? false : dflt;
}

static bool
member_int(yajl_val obj, const char *key, int64_t *out)
{
    yajl_val v = member(obj, key);

    if (YAJL_IS_INTEGER(v)) {
        *out = YAJL_GET_INTEGER(v);
        return true;
    }
    return false;
}

static bool
is_host_addr(const struct netns_addr *a)
{
    return a->plen == (a->family == AF_INET ? 32u : 128u);
}

/* True if prefix 'cidr' holds address 'ip'. */
static bool
cidr_holds(const struct netns_addr *cidr, const struct netns_addr *ip)
{
    struct netns_addr a = *ip, net = netns_addr_network(cidr);

    if (ip->family != cidr->family) {
        return false;
    }
    a.plen = cidr->plen;
    a = netns_addr_network(&a);
    return netns_addr_equal(&a, &net);
}

/* A network to make sure of before the router is applied. */
struct want_net {
    struct netns_network net;
    bool operator_bridge;
};

/* A router document, read. */
struct parsed {
    struct netns_router r;      /* the arrays are ours */
    struct netns_gateway gw;
    struct want_net *nets;
    size_t n_nets;
    yajl_val networks;          /* the document's l2/networks, while
                                 * parsing */
};

static void
parsed_destroy(struct parsed *p)
{
    free(p->r.ports);
    free(p->r.routes);
    free(p->r.fips);
    free(p->nets);
    memset(p, 0, sizeof *p);
}

/* The document's "l2" network 'id', or NULL. */
static yajl_val
find_network(const struct parsed *p, const char *id)
{
    for (size_t i = 0; id && YAJL_IS_ARRAY(p->networks)
                       && i < p->networks->u.array.len; i++) {
        const char *nid = member_str(p->networks->u.array.values[i], "id");
        if (nid && !strcmp(nid, id)) {
            return p->networks->u.array.values[i];
        }
    }
    return NULL;
}

/* Fills the bridge of 'port' and records the network it needs.  'obj' has
 * network_id and vif_details (and, for an interface, network_type and
 * segmentation_id); the segment comes from the "l2" network, else from
 * 'obj'.  Returns 0 or an errno with a message. */
static int
port_network(struct parsed *p, struct netns_port *port, yajl_val obj,
             char *msg, size_t size)
{
    const char *network_id = member_str(obj, "network_id");
    const char *bridge = member_str(member(obj, "vif_details"),
                                    "bridge_name");
    yajl_val network = find_network(p, network_id);
    const char *type = network ? member_str(network, "provider:network_type")
                               : member_str(obj, "network_type");
    const char *physnet = network
                          ? member_str(network, "provider:physical_network")
                          : member_str(obj, "physical_network");
    int64_t seg_id = -1;
    struct want_net w;
    char err[NETNS_ERR_LEN];
    int error;

    if (bridge && *bridge) {
        if (!str_copy(port->bridge, bridge, sizeof port->bridge)) {
            snprintf(msg, size, "port %s: bridge name '%s' too long",
                     port->id, bridge);
            return EINVAL;
        }
    } else if (network_id && *network_id) {
        netns_bridge_name(network_id, port->bridge);
    } else {
        snprintf(msg, size, "port %s: no network", port->id);
        return EINVAL;
    }
    if (!type) {
        return 0;               /* the bridge must exist already */
    }
    member_int(network ? network : obj, network ? "provider:segmentation_id"
                                                : "segmentation_id", &seg_id);
    memset(&w, 0, sizeof w);
    error = netns_host_network(port->bridge, type, physnet, seg_id, &w.net,
                               &w.operator_bridge, err, sizeof err);
    if (error) {
        snprintf(msg, size, "port %s: %s", port->id, err);
        return error;
    }
    /* An operator bridge may have another name than vif_details says. */
    str_copy(port->bridge, w.net.bridge, sizeof port->bridge);
    for (size_t i = 0; i < p->n_nets; i++) {
        if (!strcmp(p->nets[i].net.bridge, w.net.bridge)) {
            return 0;
        }
    }
    p->nets = xrealloc(p->nets, (p->n_nets + 1) * sizeof *p->nets);
    p->nets[p->n_nets++] = w;
    return 0;
}

static int
port_basics(struct netns_port *port, const char *id, const char *mac,
            char *msg, size_t size)
{
    memset(port, 0, sizeof *port);
    if (!id || strlen(id) < NETNS_ID_PREFIX_LEN
        || !str_copy(port->id, id, sizeof port->id)) {
        snprintf(msg, size, "bad port id '%s'", id ? id : "");
        return EINVAL;
    }
    if (netns_mac_parse(mac, port->mac)) {
        snprintf(msg, size, "port %s: bad MAC address '%s'", id,
                 mac ? mac : "");
        return EINVAL;
    }
    return 0;
}

static int
port_add_ip(struct netns_port *port, const struct netns_addr *ip,
            char *msg, size_t size)
{
    for (size_t i = 0; i < port->n_ips; i++) {
        if (netns_addr_equal(&port->ips[i], ip)) {
            return 0;
        }
    }
    if (port->n_ips >= NETNS_PORT_MAX_IPS) {
        snprintf(msg, size, "port %s: more than %d IPs", port->id,
                 NETNS_PORT_MAX_IPS);
        return EINVAL;
    }
    port->ips[port->n_ips++] = *ip;
    return 0;
}

static int
parse_gateway(struct parsed *p, yajl_val info, char *msg, size_t size)
{
    yajl_val port = member(info, "port");
    yajl_val ips = member(info, "external_fixed_ips");
    yajl_val cidrs = member(port, "cidrs");
    const char *gw_ip = member_str(port, "gateway_ip");
    int error;

    error = port_basics(&p->gw.port, member_str(port, "id"),
                        member_str(port, "mac_address"), msg, size);
    if (error) {
        return error;
    }
    for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len; i++) {
        const char *text = member_str(ips->u.array.values[i], "ip_address");
        struct netns_addr ip;

        if (!text || netns_addr_parse(text, &ip) || !is_host_addr(&ip)) {
            snprintf(msg, size, "gateway port %s: bad IP '%s'",
                     p->gw.port.id, text ? text : "");
            return EINVAL;
        }
        /* The prefix of the external subnet that holds it. */
        for (size_t j = 0; YAJL_IS_ARRAY(cidrs) && j < cidrs->u.array.len;
             j++) {
            yajl_val c = cidrs->u.array.values[j];
            struct netns_addr cidr;

            if (YAJL_IS_STRING(c) && !netns_addr_parse(c->u.string, &cidr)
                && cidr_holds(&cidr, &ip)) {
                ip.plen = cidr.plen;
                break;
            }
        }
        error = port_add_ip(&p->gw.port, &ip, msg, size);
        if (error) {
            return error;
        }
    }
    if (gw_ip && *gw_ip) {
        struct netns_addr a;

        if (netns_addr_parse(gw_ip, &a) || !is_host_addr(&a)) {
            snprintf(msg, size, "gateway port %s: bad gateway_ip '%s'",
                     p->gw.port.id, gw_ip);
            return EINVAL;
        }
        if (a.family == AF_INET) {
            p->gw.gateway_ip = a;
        } else {
            p->gw.gateway_ip6 = a;
        }
    }
    error = port_network(p, &p->gw.port, port, msg, size);
    if (error) {
        return error;
    }
    p->r.gw = &p->gw;
    p->r.enable_snat = member_bool(info, "enable_snat", true);
    return 0;
}

static int
parse_interfaces(struct parsed *p, yajl_val list, char *msg, size_t size)
{
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val it = list->u.array.values[i];
        const char *port_id = member_str(it, "port_id");
        const char *ip_text = member_str(it, "ip_address");
        const char *cidr_text = member_str(it, "cidr");
        struct netns_port *port = NULL;
        struct netns_addr ip, cidr;
        int error;

        for (size_t j = 0; port_id && j < p->r.n_ports; j++) {
            if (!strcmp(p->r.ports[j].id, port_id)) {
                port = &p->r.ports[j];
            }
        }
        if (!port) {
            p->r.ports = xrealloc(p->r.ports,
                                  (p->r.n_ports + 1) * sizeof *p->r.ports);
            port = &p->r.ports[p->r.n_ports];
            error = port_basics(port, port_id,
                                member_str(it, "mac_address"), msg, size);
            if (!error) {
                error = port_network(p, port, it, msg, size);
            }
            if (error) {
                return error;
            }
            p->r.n_ports++;
        }
        if (!ip_text) {
            continue;
        }
        if (netns_addr_parse(ip_text, &ip) || !is_host_addr(&ip)) {
            snprintf(msg, size, "interface %s: bad IP '%s'", port->id,
                     ip_text);
            return EINVAL;
        }
        if (cidr_text && !netns_addr_parse(cidr_text, &cidr)
            && cidr_holds(&cidr, &ip)) {
            ip.plen = cidr.plen;
        }
        error = port_add_ip(port, &ip, msg, size);
        if (error) {
            return error;
        }
    }
    return 0;
}

static int
parse_routes(struct parsed *p, yajl_val list, char *msg, size_t size)
{
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val it = list->u.array.values[i];
        const char *dst = member_str(it, "destination");
        const char *nh = member_str(it, "nexthop");
        struct netns_route r;

        memset(&r, 0, sizeof r);
        if (!dst || !nh || netns_addr_parse(dst, &r.destination)
            || netns_addr_parse(nh, &r.nexthop) || !is_host_addr(&r.nexthop)
            || r.destination.family != r.nexthop.family) {
            snprintf(msg, size, "bad route %s via %s", dst ? dst : "?",
                     nh ? nh : "?");
            return EINVAL;
        }
        r.destination = netns_addr_network(&r.destination);
        p->r.routes = xrealloc(p->r.routes,
                               (p->r.n_routes + 1) * sizeof *p->r.routes);
        p->r.routes[p->r.n_routes++] = r;
    }
    return 0;
}

static int
parse_fips(struct parsed *p, yajl_val list, char *msg, size_t size)
{
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val it = list->u.array.values[i];
        const char *fip = member_str(it, "floating_ip_address");
        const char *fixed = member_str(it, "fixed_ip_address");
        struct netns_fip f;

        if (!fixed || !*fixed) {
            continue;           /* not associated: nothing to realize */
        }
        memset(&f, 0, sizeof f);
        if (!fip || netns_addr_parse(fip, &f.floating_ip)
            || netns_addr_parse(fixed, &f.fixed_ip)
            || f.floating_ip.family != AF_INET
            || f.fixed_ip.family != AF_INET
            || !is_host_addr(&f.floating_ip) || !is_host_addr(&f.fixed_ip)) {
            snprintf(msg, size, "floating IP %s: bad addresses %s -> %s",
                     member_str(it, "id") ? member_str(it, "id") : "?",
                     fip ? fip : "?", fixed);
            return EINVAL;
        }
        p->r.fips = xrealloc(p->r.fips, (p->r.n_fips + 1) * sizeof *p->r.fips);
        p->r.fips[p->r.n_fips++] = f;
    }
    return 0;
}

/* Reads router document 'text' into '*p' (parsed_destroy() it, also after
 * an error).  Returns 0 or an errno with a message. */
static int
parse_router(const char *text, struct parsed *p, char *msg, size_t size)
{
    char yerr[128] = "";
    yajl_val doc = yajl_tree_parse(text, yerr, sizeof yerr);
    const char *id;
    yajl_val gw;
    int error = 0;

    memset(p, 0, sizeof *p);
    if (!YAJL_IS_OBJECT(doc)) {
        snprintf(msg, size, "router document is not a JSON object%s%s",
                 *yerr ? ": " : "", yerr);
        yajl_tree_free(doc);
        return EINVAL;
    }
    id = member_str(doc, "id");
    if (!id || !valid_router_id(id)) {
        snprintf(msg, size, "router document without a valid id");
        yajl_tree_free(doc);
        return EINVAL;
    }
    str_copy(p->r.id, id, sizeof p->r.id);
    p->networks = member(member(doc, "l2"), "networks");
    p->r.admin_up = member_bool(doc, "admin_state_up", true);
    gw = member(doc, "external_gateway_info");
    if (YAJL_IS_OBJECT(gw) && YAJL_IS_OBJECT(member(gw, "port"))) {
        error = parse_gateway(p, gw, msg, size);
    }
    if (!error) {
        error = parse_interfaces(p, member(doc, "interfaces"), msg, size);
    }
    if (!error) {
        error = parse_routes(p, member(doc, "routes"), msg, size);
    }
    if (!error) {
        error = parse_fips(p, member(doc, "floatingips"), msg, size);
    }
    if (error) {
        /* Name the router in the message. */
        char inner[512];
        str_copy(inner, msg, sizeof inner);
        snprintf(msg, size, "router %s: %s", id, inner);
    }
    p->networks = NULL;
    yajl_tree_free(doc);
    return error;
}

/* ---- Realizing ---- */

/* Whether a kernel failure may pass by itself. */
static enum hadron_l3_result
kernel_result(int error)
{
    switch (error) {
    case 0:
        return HADRON_L3_OK;
    case EINVAL:
    case EOPNOTSUPP:
    case EPERM:
    case EACCES:
    case ERANGE:
        return HADRON_L3_FAILED;
    default:
        return HADRON_L3_RETRY;
    }
}

/* Makes the kernel hold parsed router 'p', whose document is 'doc'.  The
 * bridges the router's interfaces left (an interface or the gateway
 * removed) go once nothing but their uplink is on them. */
static enum hadron_l3_result
realize(struct netns_driver *d, const struct parsed *p, const char *doc,
        char *msg, size_t size)
{
    struct bridges old = { 0 }, want = { 0 }, all = { 0 };
    enum hadron_l3_result result = HADRON_L3_OK;
    char err[NETNS_ERR_LEN];
    bool marked;
    struct held *h;
    int error;

    /* The bridges it had: as held, else as its mark says (a restart). */
    HASH_FIND_STR(d->held, p->r.id, h);
    if (h) {
        bridges_add_all(&old, &h->bridges);
        marked = true;
    } else {
        marked = mark_bridges(d, p->r.id, &old);
    }
    for (size_t i = 0; i < p->n_nets; i++) {
        if (!p->nets[i].operator_bridge) {
            bridges_add(&want, p->nets[i].net.bridge);
        }
    }
    bridges_add_all(&all, &old);
    bridges_add_all(&all, &want);

    /* Whatever happens now, the kernel may no longer hold what we knew. */
    held_del(d, p->r.id);
    /* The mark names every bridge that may get an interface of the router
     * before any is made. */
    if (!marked || !bridges_equal(&old, &all)) {
        error = mark(d, p->r.id, &all, msg, size);
        if (error) {
            result = HADRON_L3_FAILED;
            goto out;
        }
    }
    for (size_t i = 0; i < p->n_nets; i++) {
        error = netns_host_bridge_ensure(&p->nets[i].net,
                                         p->nets[i].operator_bridge, err,
                                         sizeof err);
        if (error) {
            snprintf(msg, size, "router %s: %s", p->r.id, err);
            result = kernel_result(error);
            goto out;
        }
    }
    error = netns_router_apply(&p->r, err, sizeof err);
    if (error) {
        snprintf(msg, size, "%s", err);
        result = kernel_result(error);
        goto out;
    }
    if (!bridges_equal(&all, &want)) {
        char why[64];

        snprintf(why, sizeof why, "router %.36s", p->r.id);
        defer_release(d, &old, &want);
        /* A failure to rewrite leaves a longer list: harmless. */
        mark(d, p->r.id, &want, err, sizeof err);
    }
    held_add(d, p->r.id, doc, &want);
out:
    bridges_clear(&old);
    bridges_clear(&want);
    bridges_clear(&all);
    return result;
}

static enum hadron_l3_result
destroy(struct netns_driver *d, const char *id, char *msg, size_t size)
{
    struct bridges b = { 0 };
    char err[NETNS_ERR_LEN];
    struct held *h;
    int error;

    if (!valid_router_id(id)) {
        snprintf(msg, size, "bad router id '%s'", id);
        return HADRON_L3_FAILED;
    }
    HASH_FIND_STR(d->held, id, h);
    if (h) {
        bridges_add_all(&b, &h->bridges);
    }
    mark_bridges(d, id, &b);
    error = netns_router_destroy(id, err, sizeof err);
    if (error) {
        snprintf(msg, size, "%s", err);
        bridges_clear(&b);
        return kernel_result(error);
    }
    held_del(d, id);
    defer_release(d, &b, NULL);
    bridges_clear(&b);
    unmark(d, id);
    LOG_DBG(MOD, "router %s: namespace removed", id);
    return HADRON_L3_OK;
}

/* ---- Ops ---- */

static void netns_destroy(void *state);

static int
netns_init(const struct hadron_l3_config *cfg, void **state, char *err,
           size_t err_size)
{
    struct netns_driver *d;
    int error = 0;

    if (atomic_exchange(&instance_exists, true)) {
        snprintf(err, err_size, "the netns driver serves one provider per "
                 "server, and another one is configured");
        return EEXIST;
    }
    d = xzalloc(sizeof *d);
    for (size_t i = 0; i < cfg->n_options && !error; i++) {
        const char *key = cfg->options[i].key;
        const char *value = cfg->options[i].value;
        if (!strcmp(key, "state_dir")) {
            if (value[0] != '/') {
                snprintf(err, err_size, "[netns] state_dir: '%s' is not an "
                         "absolute path", value);
                error = EINVAL;
            } else {
                free(d->state_dir);
                d->state_dir = xstrdup(value);
            }
        } else if (!strcmp(key, "remove_unmarked")) {
            if (!str_to_bool(value, &d->remove_unmarked)) {
                snprintf(err, err_size, "[netns] remove_unmarked: '%s' is "
                         "not a boolean", value);
                error = EINVAL;
            }
        } else {
            snprintf(err, err_size, "unknown option [netns] %s", key);
            error = EINVAL;
        }
    }
    if (!error && !d->state_dir) {
        char hostname[256];
        str_copy(hostname, cfg->host && *cfg->host ? cfg->host : "localhost",
                 sizeof hostname);
        for (char *p = hostname; *p; p++) {
            if (*p == '/') {
                *p = '_';
            }
        }
        d->state_dir = xasprintf("/run/hadron/netns/%s", hostname);
    }
    if (error) {
        netns_destroy(d);
        return error;
    }
    LOG_INFO(MOD, "routers in namespaces on this host (marks in %s%s)",
             d->state_dir, d->remove_unmarked ? ", unmarked namespaces "
                                                "removed" : "");
    *state = d;
    return 0;
}

static void
netns_destroy(void *state)
{
    struct netns_driver *d = state;

    if (!d) {
        return;
    }
    /* Namespaces stay: routers keep forwarding while the server is
     * down; bridges no router uses any more go. */
    release_deferred(d, 0);
    bridges_clear(&d->released);
    netns_wait_idle();
    held_clear(d);
    free(d->state_dir);
    free(d);
    atomic_store(&instance_exists, false);
}

static unsigned int
netns_capabilities(void *state)
{
    return NETNS_CAPS;
}

static enum hadron_l3_result
netns_apply(void *state, const struct hadron_l3_entry *e, char *msg,
            size_t msg_size)
{
    struct netns_driver *d = state;
    enum hadron_l3_result r;
    struct parsed p;

    if (!e->router || (!strcmp(e->resource, "router")
                       && !strcmp(e->operation, "delete"))) {
        /* Gone, or handed over to another flavor. */
        return destroy(d, e->router_id, msg, msg_size);
    }
    if (held_same(d, e->router_id, e->router)) {
        LOG_DBG(MOD, "router %s: entry %lld %s %s: the kernel holds this "
                "document already", e->router_id, (long long) e->seq,
                e->resource, e->operation);
        return HADRON_L3_OK;
    }
    if (parse_router(e->router, &p, msg, msg_size)) {
        parsed_destroy(&p);
        return HADRON_L3_FAILED;
    }
    if (strcmp(p.r.id, e->router_id)) {
        snprintf(msg, msg_size, "entry %lld of router %s carries the "
                 "document of router %s", (long long) e->seq, e->router_id,
                 p.r.id);
        parsed_destroy(&p);
        return HADRON_L3_FAILED;
    }
    r = realize(d, &p, e->router, msg, msg_size);
    if (r == HADRON_L3_OK) {
        LOG_DBG(MOD, "router %s: %zu interfaces, %s, %zu routes, %zu "
                "floating IPs (entry %lld %s %s)", p.r.id, p.r.n_ports,
                p.r.gw ? "gateway" : "no gateway", p.r.n_routes, p.r.n_fips,
                (long long) e->seq, e->resource, e->operation);
    }
    parsed_destroy(&p);
    return r;
}

/* Keeps the first failure's message and the worse result. */
static void
merge_result(enum hadron_l3_result *acc, enum hadron_l3_result r,
             char *msg, size_t size, const char *this_msg)
{
    if (r == HADRON_L3_OK) {
        return;
    }
    if (*acc == HADRON_L3_OK) {
        snprintf(msg, size, "%s", this_msg);
    }
    if (*acc != HADRON_L3_RETRY) {
        /* RETRY wins: the journal then syncs again later. */
        *acc = r;
    }
}

static bool
in_list(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] && !strcmp(ids[i], id)) {
            return true;
        }
    }
    return false;
}

static bool
namespace_exists(const char *router_id)
{
    char ns[NETNS_NSNAME_LEN], path[128];

    netns_router_ns_name(router_id, ns);
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    return !access(path, F_OK);
}

static enum hadron_l3_result
netns_sync_all(void *state, const char *const *routers, size_t n,
               char *msg, size_t msg_size)
{
    struct netns_driver *d = state;
    enum hadron_l3_result result = HADRON_L3_OK;
    struct netns_router *kernel = NULL;
    size_t n_kernel = 0, n_marks = 0, n_stale = 0, n_built = 0;
    const char **stale = NULL;
    char **ids = xcalloc(n ? n : 1, sizeof *ids);
    char **marks = NULL;
    struct bridges left = { 0 };    /* bridges of routers removed */
    char one[512], err[NETNS_ERR_LEN];
    int error;

    held_clear(d);

    /* Build (or repair) every router of the documents. */
    for (size_t i = 0; i < n; i++) {
        struct parsed p;
        enum hadron_l3_result r;

        one[0] = '\0';
        if (parse_router(routers[i], &p, one, sizeof one)) {
            r = HADRON_L3_FAILED;
        } else {
            ids[i] = xstrdup(p.r.id);
            r = realize(d, &p, routers[i], one, sizeof one);
            n_built += r == HADRON_L3_OK;
        }
        parsed_destroy(&p);
        merge_result(&result, r, msg, msg_size, one);
    }

    /* Remove what no router owns: marked namespaces (and, if asked,
     * unmarked ones) of routers not in the documents. */
    error = netns_list_routers(&kernel, &n_kernel, err, sizeof err);
    if (error) {
        merge_result(&result, kernel_result(error) == HADRON_L3_FAILED
                              ? HADRON_L3_FAILED : HADRON_L3_RETRY,
                     msg, msg_size, err);
    }
    for (size_t i = 0; i < n_kernel; i++) {
        const char *id = kernel[i].id;
        if (!in_list((const char *const *) ids, n, id)
            && (d->remove_unmarked || is_marked(d, id))) {
            stale = xrealloc(stale, (n_stale + 1) * sizeof *stale);
            stale[n_stale++] = id;
            mark_bridges(d, id, &left);
        }
    }
    if (n_stale) {
        error = netns_routers_destroy(stale, n_stale, err, sizeof err);
        if (error) {
            merge_result(&result, kernel_result(error), msg, msg_size, err);
        }
    }
    /* Marks of routers that are neither in the documents nor in the
     * kernel any more (or were just removed). */
    marks = list_marks(d, &n_marks);
    for (size_t i = 0; i < n_marks; i++) {
        if (!in_list((const char *const *) ids, n, marks[i])
            && !namespace_exists(marks[i])) {
            mark_bridges(d, marks[i], &left);
            unmark(d, marks[i]);
        }
    }
    free_strings(marks, n_marks);
    /* Their bridges go unless a router built above (or an instance) has an
     * interface on them. */
    release_bridges(&left, NULL, "sync");
    bridges_clear(&left);
    LOG_INFO(MOD, "sync: %zu routers in the database, %zu built, %zu stale "
             "namespaces removed", n, n_built, n_stale);
    free(stale);
    netns_routers_free(kernel, n_kernel);
    free_strings(ids, n);
    return result;
}

/* A digest of router state 'r' as read back from the kernel. */
static uint64_t
router_digest(const struct netns_router *r)
{
    uint64_t h = 14695981039346656037ULL;     /* FNV-1a */

#define MIX(PTR, LEN)                                                   \
    do {                                                                \
        const unsigned char *b_ = (const unsigned char *) (PTR);        \
        for (size_t k_ = 0; k_ < (size_t) (LEN); k_++) {                \
            h = (h ^ b_[k_]) * 1099511628211ULL;                        \
        }                                                               \
    } while (0)
#define MIX_ADDR(A)                                                     \
    do {                                                                \
        MIX(&(A)->family, sizeof (A)->family);                          \
        MIX(&(A)->plen, sizeof (A)->plen);                              \
        if ((A)->family == AF_INET) {                                   \
            MIX(&(A)->u.in4, sizeof (A)->u.in4);                        \
        } else if ((A)->family == AF_INET6) {                           \
            MIX(&(A)->u.in6, sizeof (A)->u.in6);                        \
        }                                                               \
    } while (0)
#define MIX_PORT(P)                                                     \
    do {                                                                \
        MIX((P)->id, strlen((P)->id) + 1);                              \
        MIX((P)->mac, sizeof (P)->mac);                                 \
        MIX((P)->bridge, strlen((P)->bridge) + 1);                      \
        MIX(&(P)->n_ips, sizeof (P)->n_ips);                            \
        for (size_t i_ = 0; i_ < (P)->n_ips; i_++) {                    \
            MIX_ADDR(&(P)->ips[i_]);                                    \
        }                                                               \
    } while (0)

    MIX(&r->admin_up, sizeof r->admin_up);
    MIX(&r->enable_snat, sizeof r->enable_snat);
    MIX(&r->n_ports, sizeof r->n_ports);
    for (size_t i = 0; i < r->n_ports; i++) {
        MIX_PORT(&r->ports[i]);
    }
    if (r->gw) {
        MIX("g", 1);
        MIX_PORT(&r->gw->port);
        MIX_ADDR(&r->gw->gateway_ip);
        MIX_ADDR(&r->gw->gateway_ip6);
    }
    MIX(&r->n_routes, sizeof r->n_routes);
    for (size_t i = 0; i < r->n_routes; i++) {
        MIX_ADDR(&r->routes[i].destination);
        MIX_ADDR(&r->routes[i].nexthop);
    }
    MIX(&r->n_fips, sizeof r->n_fips);
    for (size_t i = 0; i < r->n_fips; i++) {
        MIX_ADDR(&r->fips[i].floating_ip);
        MIX_ADDR(&r->fips[i].fixed_ip);
    }
#undef MIX_PORT
#undef MIX_ADDR
#undef MIX
    return h;
}

/* Reads back up to DRIFT_CHECKS_PER_HEALTH held routers, round-robin, and
 * compares each with the digest taken at the first read after its apply:
 * an address, route, interface or NAT rule changed behind the driver's
 * back (by hand, by another tool) shows as a different digest.  Returns
 * true, with a message, on the first difference, or when a held router's
 * namespace is gone. */
static bool
check_drift(struct netns_driver *d, char *msg, size_t msg_size)
{
    unsigned int n = HASH_COUNT(d->held), i = 0, checked = 0;
    struct held *h, *tmp;

    if (!n) {
        return false;
    }
    if (d->drift_cursor >= n) {
        d->drift_cursor = 0;
    }
    HASH_ITER(hh, d->held, h, tmp) {
        struct netns_router k;
        char err[NETNS_ERR_LEN];
        uint64_t digest;
        int error;

        if (i++ < d->drift_cursor) {
            continue;
        }
        if (checked++ >= DRIFT_CHECKS_PER_HEALTH) {
            break;
        }
        memset(&k, 0, sizeof k);
        error = netns_router_read(h->id, &k, err, sizeof err);
        if (error == ENOENT) {
            snprintf(msg, msg_size, "netns: namespace qrouter-%s "
                     "disappeared", h->id);
            return true;
        } else if (error) {
            LOG_RL(LOG_LEVEL_WARN, MOD, "router %s: cannot read the kernel "
                   "state back: %s", h->id, err);
            continue;
        }
        digest = router_digest(&k);
        netns_router_clear(&k);
        if (!h->digest_valid) {
            h->digest = digest;
            h->digest_valid = true;
        } else if (h->digest != digest) {
            snprintf(msg, msg_size, "netns: router %s: the kernel no longer "
                     "holds what was applied (changed behind the driver's "
                     "back)", h->id);
            return true;
        }
    }
    d->drift_cursor += checked;
    return false;
}

static bool
netns_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    struct netns_driver *d = state;

    release_deferred(d, RELEASES_PER_HEALTH);
    /* The journal gives the driver a full sync at start; after that, only
     * a router the kernel no longer holds as applied needs one. */
    *lost_state = check_drift(d, msg, msg_size);
    if (*lost_state) {
        LOG_WARN(MOD, "%s", msg + strlen("netns: "));
    }
    return true;
}

const struct hadron_l3_driver_class netns_l3_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "netns",
    .init = netns_init,
    .destroy = netns_destroy,
    .capabilities = netns_capabilities,
    .validate = NULL,
    .apply = netns_apply,
    .sync_all = netns_sync_all,
    .health = netns_health,
};
