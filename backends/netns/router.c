/* backends/netns/router.c: router namespaces.
 *
 * Each public call runs one worker thread (ns_run_thread__()) that opens a
 * netlink socket in the host namespace, enters (or creates) the router's
 * namespace, opens a second socket there, and then compares and converges:
 * one dump each of links, addresses and routes in the namespace, two
 * lookups per interface in the host namespace (its bridge and its tap),
 * the NAT table read over nfnetlink, and a change request only for what
 * differs.  An unchanged router costs about 0.2 ms and changes nothing. */
#include "backends/netns/netns-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

/* One router interface as apply wants it. */
struct want_if {
    const struct netns_port *port;
    bool gateway;
    char name[NETNS_IFNAME_LEN];    /* qr-<11> or qg-<11>, in the namespace */
    char tap[NETNS_IFNAME_LEN];     /* tap<11>, in the host namespace */
    int ifindex;                    /* in the namespace, once ensured */
};

struct router_job {
    const struct netns_router *r;   /* apply */
    struct netns_router *out;       /* read */
    char nsname[NETNS_NSNAME_LEN];
    struct netns_status__ st;
    struct nl_sock__ host;
    struct nl_sock__ ns;
    int ns_fd;
};

static bool
is_router_ifname(const char *name)
{
    return str_starts_with(name, "qr-") || str_starts_with(name, "qg-");
}

static int
job_fail(struct router_job *job, struct nl_sock__ *s, int error,
         const char *what)
{
    char e[256];

    return status_fail__(&job->st, error, "%s: %s", what,
                         nl_strerror__(s, error, e, sizeof e));
}

/* Opens the host socket, enters the namespace (creating it if 'create')
 * and opens the namespace socket. */
static int
job_enter(struct router_job *job, bool create)
{
    bool created;
    int error;

    job->ns_fd = -1;
    error = nl_open__(&job->host, NETLINK_ROUTE);
    if (error) {
        return status_fail__(&job->st, error, "rtnetlink socket: %s",
                             strerror(error));
    }
    error = ns_enter__(job->nsname, create, &job->ns_fd, &created);
    if (error) {
        if (error == ENOENT && !create) {
            return error;
        }
        return status_fail__(&job->st, error, "entering namespace: %s",
                             strerror(error));
    }
    if (created) {
        LOG_DBG("netns", "%s: namespace created", job->nsname);
    }
    error = nl_open__(&job->ns, NETLINK_ROUTE);
    if (error) {
        return status_fail__(&job->st, error,
                             "rtnetlink socket in namespace: %s",
                             strerror(error));
    }
    return 0;
}

static void
job_leave(struct router_job *job)
{
    nl_close__(&job->ns);
    nl_close__(&job->host);
    if (job->ns_fd >= 0) {
        close(job->ns_fd);
        job->ns_fd = -1;
    }
}

/* ---- Apply. ---- */

/* Forwarding on, address promotion on (deleting a primary address keeps
 * the others), loopback up. */
static void
ns_basics(struct router_job *job)
{
    static const char *const sysctls[][2] = {
        { "/proc/sys/net/ipv4/ip_forward", "1" },
        { "/proc/sys/net/ipv4/conf/all/promote_secondaries", "1" },
        { "/proc/sys/net/ipv6/conf/all/forwarding", "1" },
    };
    struct nl_link__ lo;
    int error;

    /* The thread is inside the namespace: /proc/sys/net is its own. */
    for (size_t i = 0; i < ARRAY_SIZE(sysctls); i++) {
        error = ns_sysctl_set__(sysctls[i][0], sysctls[i][1]);
        if (error && !(error == ENOENT && strstr(sysctls[i][0], "ipv6"))) {
            status_fail__(&job->st, error, "sysctl %s: %s", sysctls[i][0],
                          strerror(error));
        }
    }
    error = nl_link_get__(&job->ns, "lo", 0, &lo);
    if (!error && !(lo.flags & IFF_UP)) {
        error = nl_link_set__(&job->ns, lo.ifindex, 1, -1, NULL);
    }
    if (error) {
        job_fail(job, &job->ns, error, "lo");
    }
}

/* Makes interface 'w' exist as a veth pair whose host end is on its
 * bridge, with the port's MAC, up or down as the router is. */
static int
iface_ensure(struct router_job *job, struct want_if *w,
             const struct nl_link__ *links, size_t n_links)
{
    const struct nl_link__ *in = NULL;
    struct nl_link__ br, tap, now;
    bool up = job->r->admin_up;
    char what[64];
    int error;

    for (size_t i = 0; i < n_links; i++) {
        if (!strcmp(links[i].name, w->name)) {
            in = &links[i];
        }
    }
    error = nl_link_get__(&job->host, w->port->bridge, 0, &br);
    if (error) {
        snprintf(what, sizeof what, "%s: bridge %s", w->name,
                 w->port->bridge);
        return job_fail(job, &job->host, error, what);
    }
    error = nl_link_get__(&job->host, w->tap, 0, &tap);
    if (error && error != ENODEV) {
        return job_fail(job, &job->host, error, w->tap);
    }

    /* Healthy: a veth here whose peer is our tap in the host. */
    if (in && !error && !strcmp(in->kind, "veth")
        && !strcmp(tap.kind, "veth") && in->link == tap.ifindex
        && tap.link == in->ifindex) {
        if (tap.master != br.ifindex || !(tap.flags & IFF_UP)) {
            error = nl_link_set__(&job->host, tap.ifindex, 1, br.ifindex,
                                  NULL);
            if (error) {
                return job_fail(job, &job->host, error, w->tap);
            }
        }
        if (memcmp(in->mac, w->port->mac, 6)
            || !(in->flags & IFF_UP) != !up) {
            error = nl_link_set__(&job->ns, in->ifindex, up, -1,
                                  memcmp(in->mac, w->port->mac, 6)
                                  ? w->port->mac : NULL);
            if (error) {
                return job_fail(job, &job->ns, error, w->name);
            }
        }
        w->ifindex = in->ifindex;
        return 0;
    }

    /* Missing or broken: start over. */
    if (in) {
        error = nl_link_del__(&job->ns, in->ifindex);
        if (error && error != ENODEV) {
            return job_fail(job, &job->ns, error, w->name);
        }
    }
    if (!nl_link_get__(&job->host, w->tap, 0, &tap)) {
        error = nl_link_del__(&job->host, tap.ifindex);
        if (error && error != ENODEV) {
            return job_fail(job, &job->host, error, w->tap);
        }
    }
    error = nl_veth_create__(&job->host, w->tap, br.ifindex, w->name,
                             job->ns_fd, w->port->mac);
    if (error) {
        snprintf(what, sizeof what, "%s: creating veth", w->name);
        return job_fail(job, &job->host, error, what);
    }
    error = nl_link_get__(&job->ns, w->name, 0, &now);
    if (!error && up) {
        error = nl_link_set__(&job->ns, now.ifindex, 1, -1, NULL);
    }
    if (error) {
        return job_fail(job, &job->ns, error, w->name);
    }
    LOG_DBG("netns", "%s: %s created on %s", job->nsname, w->name,
            w->port->bridge);
    w->ifindex = now.ifindex;
    return 0;
}

static bool
addr_is_link_local6(const struct netns_addr *a)
{
    return a->family == AF_INET6 && a->u.in6.s6_addr[0] == 0xfe
           && (a->u.in6.s6_addr[1] & 0xc0) == 0x80;
}

/* The addresses interface 'w' should have: its IPs, and for the gateway
 * each floating IP as a /32 so that it answers ARP for them. */
static size_t
want_addrs(const struct netns_router *r, const struct want_if *w,
           struct netns_addr *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < w->port->n_ips && n < max; i++) {
        out[n++] = w->port->ips[i];
    }
    for (size_t i = 0; w->gateway && i < r->n_fips && n < max; i++) {
        out[n] = r->fips[i].floating_ip;
        out[n++].plen = 32;
    }
    return n;
}

static void
addrs_converge(struct router_job *job, struct want_if *wants, size_t n_wants)
{
    struct nl_addr__ *have;
    size_t n_have;
    char what[96], at[NETNS_ADDR_STR_LEN];
    int error;

    error = nl_addr_dump__(&job->ns, &have, &n_have);
    if (error) {
        job_fail(job, &job->ns, error, "address dump");
        return;
    }
    for (size_t k = 0; k < n_wants; k++) {
        const struct want_if *w = &wants[k];
        size_t max = NETNS_PORT_MAX_IPS + job->r->n_fips;
        struct netns_addr *want = xcalloc(max, sizeof *want);
        size_t n_want;

        if (!w->ifindex) {
            free(want);
            continue;           /* its creation failed; already reported */
        }
        n_want = want_addrs(job->r, w, want, max);
        for (size_t i = 0; i < n_have; i++) {
            bool keep = false;

            if (have[i].ifindex != w->ifindex
                || addr_is_link_local6(&have[i].addr)) {
                continue;
            }
            for (size_t j = 0; j < n_want && !keep; j++) {
                keep = netns_addr_equal(&want[j], &have[i].addr);
            }
            if (!keep) {
                error = nl_addr_change__(&job->ns, false, w->ifindex,
                                         &have[i].addr);
                if (error && error != EADDRNOTAVAIL) {
                    netns_addr_format(&have[i].addr, true, at);
                    snprintf(what, sizeof what, "%s: deleting %s", w->name,
                             at);
                    job_fail(job, &job->ns, error, what);
                }
            }
        }
        for (size_t j = 0; j < n_want; j++) {
            bool present = false;

            for (size_t i = 0; i < n_have && !present; i++) {
                present = have[i].ifindex == w->ifindex
                          && netns_addr_equal(&want[j], &have[i].addr);
            }
            if (!present) {
                error = nl_addr_change__(&job->ns, true, w->ifindex,
                                         &want[j]);
                if (error) {
                    netns_addr_format(&want[j], true, at);
                    snprintf(what, sizeof what, "%s: adding %s", w->name,
                             at);
                    job_fail(job, &job->ns, error, what);
                }
            }
        }
        free(want);
    }
    free(have);
}

static bool
route_equal(const struct nl_route__ *a, const struct nl_route__ *b)
{
    return netns_addr_equal(&a->dst, &b->dst)
           && netns_addr_equal(&a->gw, &b->gw)
           && (!a->oif || !b->oif || a->oif == b->oif);
}

static bool
route_is_ours(const struct nl_route__ *r)
{
    return r->protocol == RTPROT_STATIC && r->type == RTN_UNICAST;
}

static void
routes_converge(struct router_job *job, const struct want_if *gw)
{
    const struct netns_router *r = job->r;
    struct nl_route__ *want, *have;
    size_t n_want = 0, n_have;
    char what[160], a[NETNS_ADDR_STR_LEN], b[NETNS_ADDR_STR_LEN];
    int error;

    want = xcalloc(r->n_routes + 2, sizeof *want);
    if (r->admin_up && gw && gw->ifindex) {
        const struct netns_addr *gips[2] = { &r->gw->gateway_ip,
                                             &r->gw->gateway_ip6 };

        for (size_t i = 0; i < 2; i++) {
            if (gips[i]->family) {
                struct nl_route__ *d = &want[n_want++];

                d->dst.family = gips[i]->family;
                d->gw = *gips[i];
                d->gw.plen = d->gw.family == AF_INET ? 32 : 128;
                d->oif = gw->ifindex;
            }
        }
    }
    for (size_t i = 0; r->admin_up && i < r->n_routes; i++) {
        struct nl_route__ *d = &want[n_want++];

        d->dst = netns_addr_network(&r->routes[i].destination);
        d->gw = r->routes[i].nexthop;
        d->gw.plen = d->gw.family == AF_INET ? 32 : 128;
    }

    error = nl_route_dump__(&job->ns, &have, &n_have);
    if (error) {
        job_fail(job, &job->ns, error, "route dump");
        free(want);
        return;
    }
    for (size_t i = 0; i < n_have; i++) {
        bool keep = false;

        if (!route_is_ours(&have[i])) {
            continue;
        }
        for (size_t j = 0; j < n_want && !keep; j++) {
            keep = route_equal(&want[j], &have[i]);
        }
        if (!keep) {
            error = nl_route_change__(&job->ns, false, &have[i]);
            if (error && error != ESRCH) {
                netns_addr_format(&have[i].dst, true, a);
                snprintf(what, sizeof what, "deleting route %s", a);
                job_fail(job, &job->ns, error, what);
            }
        }
    }
    for (size_t j = 0; j < n_want; j++) {
        bool present = false;

        for (size_t i = 0; i < n_have && !present; i++) {
            present = route_is_ours(&have[i])
                      && route_equal(&want[j], &have[i]);
        }
        if (!present) {
            error = nl_route_change__(&job->ns, true, &want[j]);
            if (error) {
                netns_addr_format(&want[j].dst, true, a);
                netns_addr_format(&want[j].gw, false, b);
                snprintf(what, sizeof what, "route %s via %s", a, b);
                job_fail(job, &job->ns, error, what);
            }
        }
    }
    free(have);
    free(want);
}

static int
apply_main(void *job_)
{
    struct router_job *job = job_;
    const struct netns_router *r = job->r;
    size_t n_wants = r->n_ports + (r->gw ? 1 : 0);
    struct want_if *wants = xcalloc(n_wants ? n_wants : 1, sizeof *wants);
    struct nl_link__ *links = NULL;
    size_t n_links = 0;
    int error;

    for (size_t i = 0; i < n_wants; i++) {
        struct want_if *w = &wants[i];

        w->gateway = i == r->n_ports;
        w->port = w->gateway ? &r->gw->port : &r->ports[i];
        netns_port_ifname(w->gateway ? "qg-" : "qr-", w->port->id, w->name);
        netns_port_ifname("tap", w->port->id, w->tap);
    }

    if (job_enter(job, true)) {
        goto out;
    }
    ns_basics(job);

    error = nl_link_dump__(&job->ns, &links, &n_links);
    if (error) {
        job_fail(job, &job->ns, error, "link dump");
        goto out;
    }
    /* Interfaces no port asks for go first (their tap ends with them). */
    for (size_t i = 0; i < n_links; i++) {
        bool wanted = false;

        if (!is_router_ifname(links[i].name)) {
            continue;
        }
        for (size_t j = 0; j < n_wants && !wanted; j++) {
            wanted = !strcmp(wants[j].name, links[i].name);
        }
        if (!wanted) {
            error = nl_link_del__(&job->ns, links[i].ifindex);
            if (error && error != ENODEV) {
                job_fail(job, &job->ns, error, links[i].name);
            } else {
                LOG_DBG("netns", "%s: %s deleted", job->nsname,
                        links[i].name);
            }
        }
    }
    for (size_t i = 0; i < n_wants; i++) {
        iface_ensure(job, &wants[i], links, n_links);
    }
    addrs_converge(job, wants, n_wants);
    routes_converge(job, r->gw ? &wants[r->n_ports] : NULL);
    nat_apply__(r, &job->st);

out:
    free(links);
    free(wants);
    job_leave(job);
    return job->st.error;
}

/* Runs 'fn' on a worker thread for 'job' and returns the job's error. */
static int
job_run(struct router_job *job, int (*fn)(void *))
{
    int error = ns_run_thread__(fn, job);

    if (error && !job->st.error) {
        status_fail__(&job->st, error, "worker thread: %s", strerror(error));
    }
    return error;
}

int
netns_router_apply(const struct netns_router *r, char *err, size_t err_size)
{
    struct router_job job;
    int error;

    memset(&job, 0, sizeof job);
    job.r = r;
    status_init__(&job.st, job.nsname, err, err_size);
    if (!r) {
        return status_fail__(&job.st, EINVAL, "no router");
    }
    netns_router_ns_name(r->id, job.nsname);
    error = names_check_router__(r, &job.st);
    if (error) {
        return error;
    }
    return job_run(&job, apply_main);
}

/* ---- Destroy. ---- */

/* Removing a namespace would take its veths (and so the taps in the host)
 * with it, but only when the kernel gets round to it; destroy deletes them
 * first so that it is complete when it returns.  Each deletion request
 * costs an RCU grace period (tens of ms here) however many interfaces it
 * deletes, so destroy tags the host ends of all the routers' veths with a
 * group of its own and deletes that group in one request. */

struct destroy_job {
    const char *const *ids;
    size_t n;
    struct netns_status__ st;
    char nsname[NETNS_NSNAME_LEN];
};

static uint32_t
teardown_group(void)
{
    static unsigned int counter;
    unsigned int n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

    return 0x48610000u | (n & 0xffffu);
}

/* In a worker thread: enters router 'id's namespace and, for each router
 * interface there, tags its tap in the host with 'group' (if 'group') or
 * deletes it (if not).  Returns how many taps it tagged. */
static size_t
destroy_ns(struct destroy_job *job, struct nl_sock__ *host, const char *id,
           uint32_t group)
{
    struct nl_link__ *links = NULL;
    struct nl_sock__ ns = { 0 };
    size_t n_links = 0, tagged = 0;
    bool created;
    int fd = -1;
    int error;

    netns_router_ns_name(id, job->nsname);
    error = ns_enter__(job->nsname, false, &fd, &created);
    if (error) {
        /* Gone, or a name with nothing mounted on it: only the name is
         * left to remove. */
        if (error != ENOENT && error != EINVAL) {
            status_fail__(&job->st, error, "entering namespace: %s",
                          strerror(error));
        }
        return 0;
    }
    error = nl_open__(&ns, NETLINK_ROUTE);
    if (!error) {
        error = nl_link_dump__(&ns, &links, &n_links);
    }
    if (error) {
        status_fail__(&job->st, error, "link dump: %s", strerror(error));
        goto out;
    }
    for (size_t i = 0; i < n_links; i++) {
        const struct nl_link__ *l = &links[i];
        char suffix[NETNS_ID_LEN], tap[NETNS_IFNAME_LEN];
        struct nl_link__ t;

        if (!is_router_ifname(l->name)) {
            continue;
        }
        names_port_suffix__(l->name, str_starts_with(l->name, "qr-")
                            ? "qr-" : "qg-", suffix);
        netns_port_ifname("tap", suffix, tap);
        if (group && !strcmp(l->kind, "veth")
            && !nl_link_get__(host, tap, 0, &t) && t.link == l->ifindex
            && !nl_link_set_group__(host, t.ifindex, group)) {
            tagged++;
            continue;
        }
        error = nl_link_del__(&ns, l->ifindex);
        if (error && error != ENODEV) {
            char e[256];

            status_fail__(&job->st, error, "deleting %s: %s", l->name,
                          nl_strerror__(&ns, error, e, sizeof e));
        }
    }
out:
    free(links);
    nl_close__(&ns);
    close(fd);
    return tagged;
}

static int
destroy_main(void *job_)
{
    struct destroy_job *job = job_;
    uint32_t group = teardown_group();
    struct nl_sock__ host;
    size_t tagged = 0;
    int error;

    error = nl_open__(&host, NETLINK_ROUTE);
    if (error) {
        return status_fail__(&job->st, error, "rtnetlink socket: %s",
                             strerror(error));
    }
    for (size_t i = 0; i < job->n; i++) {
        tagged += destroy_ns(job, &host, job->ids[i], group);
    }
    if (tagged) {
        error = nl_link_del_group__(&host, group);
        if (error && error != ENODEV) {
            /* One by one, then. */
            LOG_WARN("netns", "deleting interface group %#x: %s", group,
                     strerror(error));
            for (size_t i = 0; i < job->n; i++) {
                destroy_ns(job, &host, job->ids[i], 0);
            }
        }
    }
    nl_close__(&host);
    return job->st.error;
}

int
netns_routers_destroy(const char *const *router_ids, size_t n, char *err,
                      size_t err_size)
{
    struct destroy_job job;
    int error;

    memset(&job, 0, sizeof job);
    status_init__(&job.st, job.nsname, err, err_size);
    for (size_t i = 0; i < n; i++) {
        const char *id = router_ids[i];

        if (!id || !id[0] || strlen(id) >= NETNS_ID_LEN || strchr(id, '/')
            || !strcmp(id, ".") || !strcmp(id, "..")) {
            return status_fail__(&job.st, EINVAL, "bad router id #%zu", i);
        }
    }
    if (!n) {
        return 0;
    }
    job.ids = router_ids;
    job.n = n;
    error = ns_run_thread__(destroy_main, &job);
    if (error && !job.st.error) {
        status_fail__(&job.st, error, "worker thread: %s", strerror(error));
    }
    /* The namespaces go even if an interface would not: nothing else
     * would ever remove them. */
    for (size_t i = 0; i < n; i++) {
        netns_router_ns_name(router_ids[i], job.nsname);
        error = ns_remove__(job.nsname);
        if (error) {
            status_fail__(&job.st, error, "removing namespace: %s",
                          strerror(error));
        } else {
            LOG_DBG("netns", "%s: removed", job.nsname);
        }
    }
    return job.st.error;
}

int
netns_router_destroy(const char *router_id, char *err, size_t err_size)
{
    return netns_routers_destroy(&router_id, 1, err, err_size);
}

/* ---- Read back. ---- */

static void
port_read(struct router_job *job, const struct nl_link__ *l,
          const struct nl_addr__ *addrs, size_t n_addrs,
          struct netns_port *p)
{
    char suffix[NETNS_ID_LEN], tap[NETNS_IFNAME_LEN];
    struct nl_link__ t, br;

    memset(p, 0, sizeof *p);
    names_port_suffix__(l->name, str_starts_with(l->name, "qg-") ? "qg-"
                        : "qr-", suffix);
    str_copy(p->id, suffix, sizeof p->id);
    memcpy(p->mac, l->mac, 6);
    for (size_t i = 0; i < n_addrs && p->n_ips < NETNS_PORT_MAX_IPS; i++) {
        if (addrs[i].ifindex == l->ifindex
            && !addr_is_link_local6(&addrs[i].addr)) {
            p->ips[p->n_ips++] = addrs[i].addr;
        }
    }
    netns_port_ifname("tap", suffix, tap);
    if (!nl_link_get__(&job->host, tap, 0, &t) && t.master
        && !nl_link_get__(&job->host, NULL, t.master, &br)) {
        str_copy(p->bridge, br.name, sizeof p->bridge);
    }
}

/* Reads the router in the namespace the thread is in into 'job->out'. */
static int
read_router(struct router_job *job)
{
    struct netns_router *out = job->out;
    struct nl_link__ *links = NULL;
    struct nl_addr__ *addrs = NULL;
    struct nl_route__ *routes = NULL;
    size_t n_links = 0, n_addrs = 0, n_routes = 0;
    int gw_ifindex = 0;
    size_t n_up = 0, n_ifs = 0;
    int error;

    error = nl_link_dump__(&job->ns, &links, &n_links);
    if (!error) {
        error = nl_addr_dump__(&job->ns, &addrs, &n_addrs);
    }
    if (!error) {
        error = nl_route_dump__(&job->ns, &routes, &n_routes);
    }
    if (error) {
        job_fail(job, &job->ns, error, "dump");
        goto out;
    }
    if (nat_read__(out, &job->st)) {
        goto out;
    }

    out->ports = xcalloc(n_links ? n_links : 1, sizeof *out->ports);
    for (size_t i = 0; i < n_links; i++) {
        const struct nl_link__ *l = &links[i];

        if (!is_router_ifname(l->name)) {
            continue;
        }
        n_ifs++;
        n_up += (l->flags & IFF_UP) != 0;
        if (str_starts_with(l->name, "qg-") && !out->gw) {
            out->gw = xzalloc(sizeof *out->gw);
            port_read(job, l, addrs, n_addrs, &out->gw->port);
            gw_ifindex = l->ifindex;
        } else if (str_starts_with(l->name, "qr-")) {
            port_read(job, l, addrs, n_addrs, &out->ports[out->n_ports++]);
        }
    }
    out->admin_up = !n_ifs || n_up > 0;

    /* Floating IPs show as /32s on qg-: they are fips, not gateway IPs. */
    if (out->gw) {
        struct netns_port *p = &out->gw->port;
        size_t k = 0;

        for (size_t i = 0; i < p->n_ips; i++) {
            bool is_fip = false;

            for (size_t j = 0; j < out->n_fips && !is_fip; j++) {
                is_fip = p->ips[i].plen == 32
                         && netns_addr_equal(&p->ips[i],
                                             &out->fips[j].floating_ip);
            }
            if (!is_fip) {
                p->ips[k++] = p->ips[i];
            }
        }
        p->n_ips = k;
    }

    out->routes = xcalloc(n_routes ? n_routes : 1, sizeof *out->routes);
    for (size_t i = 0; i < n_routes; i++) {
        const struct nl_route__ *rt = &routes[i];

        if (!route_is_ours(rt) || !rt->gw.family) {
            continue;
        }
        if (!rt->dst.plen && out->gw && rt->oif == gw_ifindex) {
            if (rt->dst.family == AF_INET) {
                out->gw->gateway_ip = rt->gw;
            } else {
                out->gw->gateway_ip6 = rt->gw;
            }
            continue;
        }
        out->routes[out->n_routes].destination = rt->dst;
        out->routes[out->n_routes++].nexthop = rt->gw;
    }
out:
    free(links);
    free(addrs);
    free(routes);
    return job->st.error;
}

static int
read_main(void *job_)
{
    struct router_job *job = job_;
    int error;

    error = job_enter(job, false);
    if (!error) {
        error = read_router(job);
    } else if (error == ENOENT && !job->st.error) {
        status_fail__(&job->st, ENOENT, "no such namespace");
    }
    job_leave(job);
    return job->st.error;
}

int
netns_router_read(const char *router_id, struct netns_router *out,
                  char *err, size_t err_size)
{
    struct router_job job;
    int error;

    memset(&job, 0, sizeof job);
    memset(out, 0, sizeof *out);
    status_init__(&job.st, job.nsname, err, err_size);
    if (!router_id || !router_id[0]
        || strlen(router_id) >= NETNS_ID_LEN || strchr(router_id, '/')) {
        return status_fail__(&job.st, EINVAL, "bad router id");
    }
    netns_router_ns_name(router_id, job.nsname);
    str_copy(out->id, router_id, sizeof out->id);
    job.out = out;
    error = job_run(&job, read_main);
    if (error) {
        netns_router_clear(out);
    }
    return error;
}

struct list_job {
    char **names;
    size_t n_names;
    struct netns_router *routers;
    size_t n;
    struct netns_status__ st;
};

static int
list_main(void *lj_)
{
    struct list_job *lj = lj_;
    int host_fd;

    /* Each router is read from inside its namespace, and its host socket
     * must be opened in the host namespace: come back to it each time. */
    host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host_fd < 0) {
        return status_fail__(&lj->st, errno, "host namespace: %s",
                             strerror(errno));
    }
    for (size_t i = 0; i < lj->n_names; i++) {
        struct router_job job;
        struct netns_router *out = &lj->routers[lj->n];
        bool entered;
        int error;

        memset(&job, 0, sizeof job);
        str_copy(job.nsname, lj->names[i], sizeof job.nsname);
        status_init__(&job.st, job.nsname, lj->st.err, lj->st.err_size);
        memset(out, 0, sizeof *out);
        str_copy(out->id, lj->names[i] + strlen("qrouter-"), sizeof out->id);
        job.out = out;

        if (setns(host_fd, CLONE_NEWNET)) {
            error = errno;
            netns_router_clear(out);
            close(host_fd);
            return status_fail__(&lj->st, error, "back to host namespace: "
                                 "%s", strerror(error));
        }
        error = job_enter(&job, false);
        entered = !error;
        if (entered) {
            error = read_router(&job);
        }
        job_leave(&job);
        if (error == ENOENT && !job.st.error) {
            netns_router_clear(out);    /* removed meanwhile */
            continue;
        }
        if (error == EINVAL && !entered) {
            /* A name with no namespace mounted on it (a crash between the
             * two steps of creating one): report it empty, so that a sync
             * destroys or rebuilds it. */
            netns_router_clear(out);
            str_copy(out->id, lj->names[i] + strlen("qrouter-"),
                     sizeof out->id);
            out->admin_up = true;
            if (lj->st.err && lj->st.err_size) {
                lj->st.err[0] = '\0';
            }
            lj->n++;
            continue;
        }
        if (error) {
            netns_router_clear(out);
            lj->st.error = job.st.error;
            close(host_fd);
            return lj->st.error;
        }
        lj->n++;
    }
    close(host_fd);
    return 0;
}

int
netns_list_routers(struct netns_router **routers, size_t *n, char *err,
                   size_t err_size)
{
    struct list_job lj;
    struct dirent *de;
    DIR *dir;
    int error;

    memset(&lj, 0, sizeof lj);
    status_init__(&lj.st, "", err, err_size);
    *routers = NULL;
    *n = 0;
    dir = opendir(NETNS_RUN_DIR);
    if (!dir) {
        return errno == ENOENT ? 0
               : status_fail__(&lj.st, errno, "%s: %s", NETNS_RUN_DIR,
                               strerror(errno));
    }
    while ((de = readdir(dir)) != NULL) {
        if (str_starts_with(de->d_name, "qrouter-")
            && strlen(de->d_name) > strlen("qrouter-")
            && strlen(de->d_name) < NETNS_NSNAME_LEN
            && strlen(de->d_name) - strlen("qrouter-") < NETNS_ID_LEN) {
            lj.names = xrealloc(lj.names,
                                (lj.n_names + 1) * sizeof *lj.names);
            lj.names[lj.n_names++] = xstrdup(de->d_name);
        }
    }
    closedir(dir);

    lj.routers = xcalloc(lj.n_names ? lj.n_names : 1, sizeof *lj.routers);
    error = ns_run_thread__(list_main, &lj);
    if (error && !lj.st.error) {
        status_fail__(&lj.st, error, "worker thread: %s", strerror(error));
    }
    for (size_t i = 0; i < lj.n_names; i++) {
        free(lj.names[i]);
    }
    free(lj.names);
    if (lj.st.error) {
        netns_routers_free(lj.routers, lj.n);
        return lj.st.error;
    }
    *routers = lj.routers;
    *n = lj.n;
    return 0;
}

void
netns_router_clear(struct netns_router *r)
{
    if (r) {
        free(r->ports);
        free(r->gw);
        free(r->routes);
        free(r->fips);
        memset(r, 0, sizeof *r);
    }
}

void
netns_routers_free(struct netns_router *routers, size_t n)
{
    for (size_t i = 0; routers && i < n; i++) {
        netns_router_clear(&routers[i]);
    }
    free(routers);
}
