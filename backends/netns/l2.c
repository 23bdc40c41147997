/* backends/netns/l2.c: a network's bridge and its uplink on this host.
 *
 * Like Neutron's Linux bridge agent: bridge "brq<11>" (the caller names
 * it), enslaving the physical interface of a flat network, VLAN device
 * "<physical>.<vlan>" of a VLAN network, or VXLAN device "vxlan-<vni>" of
 * a VXLAN network.  Everything happens in the calling thread's namespace
 * (the host namespace), over a netlink socket opened there. */
#include "backends/netns/netns-private.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/util.h"

#define VXLAN_DEFAULT_PORT 4789

size_t
netns_vlan_build_msg(void *buf, size_t size, const char *name,
                     unsigned int parent_ifindex, uint16_t vlan_id,
                     uint32_t seq)
{
    char msg[NL_MSG_MAX];
    struct nlmsghdr *nlh;

    if (!name || !name[0] || strlen(name) >= NETNS_IFNAME_LEN
        || !parent_ifindex || vlan_id < 1 || vlan_id > 4094) {
        return 0;
    }
    nlh = nl_vlan_msg__(msg, sizeof msg, name, parent_ifindex, vlan_id);
    if (!nlh || nlh->nlmsg_len > size) {
        return 0;
    }
    nlh->nlmsg_seq = seq;
    memcpy(buf, nlh, nlh->nlmsg_len);
    return nlh->nlmsg_len;
}

static bool
fdb_equal(const struct nl_fdb__ *a, const struct nl_fdb__ *b)
{
    return netns_addr_equal(&a->dst, &b->dst) && a->port == b->port;
}

/* Makes the flood list of VXLAN device 'ifindex' exactly 'net->remotes'. */
static int
vxlan_fdb_converge(struct nl_sock__ *s, int ifindex,
                   const struct netns_network *net,
                   struct netns_status__ *st)
{
    struct nl_fdb__ *have;
    size_t n_have;
    char e[256];
    int error;

    error = nl_fdb_dump__(s, ifindex, &have, &n_have);
    if (error) {
        return status_fail__(st, error, "FDB dump: %s",
                             nl_strerror__(s, error, e, sizeof e));
    }
    for (size_t i = 0; i < n_have; i++) {
        bool wanted = false;

        for (size_t j = 0; j < net->n_remotes && !wanted; j++) {
            struct nl_fdb__ w = { net->remotes[j].ip, net->remotes[j].port };
            w.dst.plen = w.dst.family == AF_INET ? 32 : 128;
            wanted = fdb_equal(&w, &have[i]);
        }
        if (!wanted) {
            error = nl_fdb_change__(s, false, ifindex, &have[i]);
            if (error && error != ENOENT) {
                status_fail__(st, error, "FDB delete: %s",
                              nl_strerror__(s, error, e, sizeof e));
            }
        }
    }
    for (size_t j = 0; j < net->n_remotes; j++) {
        struct nl_fdb__ w = { net->remotes[j].ip, net->remotes[j].port };
        bool present = false;

        w.dst.plen = w.dst.family == AF_INET ? 32 : 128;
        for (size_t i = 0; i < n_have && !present; i++) {
            present = fdb_equal(&w, &have[i]);
        }
        if (!present) {
            char ip[NETNS_ADDR_STR_LEN];

            error = nl_fdb_change__(s, true, ifindex, &w);
            if (error) {
                netns_addr_format(&w.dst, false, ip);
                status_fail__(st, error, "FDB add %s: %s", ip,
                              nl_strerror__(s, error, e, sizeof e));
            }
        }
    }
    free(have);
    return st->error;
}

/* Makes the network's uplink exist as asked; '*ifindex' is its index, or
 * 0 for a local network. */
static int
uplink_ensure(struct nl_sock__ *s, const struct netns_network *net,
              int *ifindex, struct netns_status__ *st)
{
    char name[NETNS_IFNAME_LEN];
    struct nl_link__ l, phys;
    char e[256];
    int error;

    *ifindex = 0;
    switch (net->type) {
    case NETNS_NET_LOCAL:
        return 0;

    case NETNS_NET_FLAT:
        error = nl_link_get__(s, net->physical_interface, 0, &l);
        if (error) {
            return status_fail__(st, error, "physical interface %s: %s",
                                 net->physical_interface,
                                 nl_strerror__(s, error, e, sizeof e));
        }
        *ifindex = l.ifindex;
        return 0;

    case NETNS_NET_VLAN:
        error = nl_link_get__(s, net->physical_interface, 0, &phys);
        if (error) {
            return status_fail__(st, error, "physical interface %s: %s",
                                 net->physical_interface,
                                 nl_strerror__(s, error, e, sizeof e));
        }
        netns_vlan_ifname(net->physical_interface, net->vlan_id, name);
        error = nl_link_get__(s, name, 0, &l);
        if (!error && (strcmp(l.kind, "vlan") || l.vlan_id != net->vlan_id
                       || l.link != phys.ifindex)) {
            error = nl_link_del__(s, l.ifindex);
            if (error) {
                return status_fail__(st, error, "%s: delete: %s", name,
                                     nl_strerror__(s, error, e, sizeof e));
            }
            error = ENODEV;
        }
        if (error == ENODEV) {
            char buf[NL_MSG_MAX];
            struct nlmsghdr *nlh = nl_vlan_msg__(buf, sizeof buf, name,
                                                 (unsigned int) phys.ifindex,
                                                 net->vlan_id);

            error = nl_talk__(s, nlh, NULL, NULL);
            if (error == EOPNOTSUPP) {
                return status_fail__(st, error, "%s: kernel has no 8021q "
                                     "VLAN support (RTM_NEWLINK kind vlan: "
                                     "%s)", name,
                                     nl_strerror__(s, error, e, sizeof e));
            }
            if (!error) {
                error = nl_link_get__(s, name, 0, &l);
            }
        }
        if (error) {
            return status_fail__(st, error, "%s: %s", name,
                                 nl_strerror__(s, error, e, sizeof e));
        }
        *ifindex = l.ifindex;
        /* The parent must be up for the VLAN device to carry anything. */
        if (!(phys.flags & IFF_UP)) {
            error = nl_link_set__(s, phys.ifindex, 1, -1, NULL);
            if (error) {
                return status_fail__(st, error, "%s: up: %s",
                                     net->physical_interface,
                                     nl_strerror__(s, error, e, sizeof e));
            }
        }
        return 0;

    case NETNS_NET_VXLAN: {
        uint16_t port = net->dst_port ? net->dst_port : VXLAN_DEFAULT_PORT;
        bool learning = net->n_remotes == 0;
        struct netns_addr local = net->local_ip;

        local.plen = local.family == AF_INET ? 32 : 128;
        netns_vxlan_ifname(net->vni, name);
        error = nl_link_get__(s, name, 0, &l);
        if (!error && (strcmp(l.kind, "vxlan") || l.vxlan_id != net->vni
                       || l.vxlan_port != port
                       || l.vxlan_learning != learning
                       || !netns_addr_equal(&l.vxlan_local, &local))) {
            error = nl_link_del__(s, l.ifindex);
            if (error) {
                return status_fail__(st, error, "%s: delete: %s", name,
                                     nl_strerror__(s, error, e, sizeof e));
            }
            error = ENODEV;
        }
        if (error == ENODEV) {
            error = nl_vxlan_create__(s, name, net->vni, &net->local_ip,
                                      &net->group, port, learning);
            if (!error) {
                error = nl_link_get__(s, name, 0, &l);
            }
        }
        if (error) {
            return status_fail__(st, error, "%s: %s", name,
                                 nl_strerror__(s, error, e, sizeof e));
        }
        *ifindex = l.ifindex;
        return vxlan_fdb_converge(s, l.ifindex, net, st);
    }
    }
    return status_fail__(st, EINVAL, "unknown network type %d", net->type);
}

static int
check_network(const struct netns_network *net, struct netns_status__ *st)
{
    if (!net->bridge[0]
        || strnlen(net->bridge, NETNS_IFNAME_LEN) >= NETNS_IFNAME_LEN) {
        return status_fail__(st, EINVAL, "bad bridge name");
    }
    if ((net->type == NETNS_NET_FLAT || net->type == NETNS_NET_VLAN)
        && (!net->physical_interface[0]
            || strnlen(net->physical_interface, NETNS_IFNAME_LEN)
               >= NETNS_IFNAME_LEN)) {
        return status_fail__(st, EINVAL, "no physical interface");
    }
    if (net->type == NETNS_NET_VLAN
        && (net->vlan_id < 1 || net->vlan_id > 4094)) {
        return status_fail__(st, EINVAL, "VLAN id %u out of range",
                             (unsigned int) net->vlan_id);
    }
    if (net->type == NETNS_NET_VXLAN) {
        if (net->vni < 1 || net->vni > 0xffffff) {
            return status_fail__(st, EINVAL, "VNI %u out of range",
                                 (unsigned int) net->vni);
        }
        if (net->local_ip.family != AF_INET
            && net->local_ip.family != AF_INET6) {
            return status_fail__(st, EINVAL, "no VXLAN local IP");
        }
        if (net->group.family && net->group.family != net->local_ip.family) {
            return status_fail__(st, EINVAL, "VXLAN group of another family");
        }
        for (size_t i = 0; i < net->n_remotes; i++) {
            if (net->remotes[i].ip.family != net->local_ip.family) {
                return status_fail__(st, EINVAL,
                                     "VXLAN remote #%zu of another family",
                                     i);
            }
        }
    }
    return 0;
}

struct bridge_job {
    const struct netns_network *net;
    const char *bridge;
    bool force;
    struct netns_status__ st;
};

/* Bridge ports on the network side: not router (or instance) interfaces,
 * which are all named tap*. */
static bool
is_uplink_member(const struct nl_link__ *l)
{
    return !str_starts_with(l->name, "tap");
}

static int
bridge_ensure_main(void *job_)
{
    struct bridge_job *job = job_;
    const struct netns_network *net = job->net;
    struct netns_status__ *st = &job->st;
    struct nl_link__ br, *links = NULL;
    struct nl_sock__ s;
    size_t n_links = 0;
    bool created = false;
    int uplink = 0;
    char e[256];
    int error;

    error = nl_open__(&s, NETLINK_ROUTE);
    if (error) {
        return status_fail__(st, error, "rtnetlink socket: %s",
                             strerror(error));
    }
    error = nl_link_get__(&s, net->bridge, 0, &br);
    if (error == ENODEV) {
        error = nl_bridge_create__(&s, net->bridge);
        if (!error) {
            LOG_DBG("netns", "%s: bridge created", net->bridge);
            error = nl_link_get__(&s, net->bridge, 0, &br);
            created = !error;
        }
    }
    if (error) {
        status_fail__(st, error, "%s", nl_strerror__(&s, error, e, sizeof e));
        goto out;
    }
    if (strcmp(br.kind, "bridge")) {
        status_fail__(st, EEXIST, "exists and is not a bridge (%s)",
                      br.kind[0] ? br.kind : "no kind");
        goto out;
    }
    if (!(br.flags & IFF_UP)) {
        error = nl_link_set__(&s, br.ifindex, 1, -1, NULL);
        if (error) {
            status_fail__(st, error, "up: %s",
                          nl_strerror__(&s, error, e, sizeof e));
            goto out;
        }
    }

    /* Release what the network no longer uses before attaching the new
     * uplink: a network has one. */
    error = nl_link_dump__(&s, &links, &n_links);
    if (error) {
        status_fail__(st, error, "link dump: %s",
                      nl_strerror__(&s, error, e, sizeof e));
        goto out;
    }
    if (uplink_ensure(&s, net, &uplink, st)) {
        /* A bridge made just now for a network that cannot be realized
         * (no such interface, no 8021q) is of no use: leave no trace. */
        if (created) {
            nl_link_del__(&s, br.ifindex);
        }
        goto out;
    }
    for (size_t i = 0; i < n_links; i++) {
        const struct nl_link__ *l = &links[i];

        if (l->master != br.ifindex || l->ifindex == uplink
            || !is_uplink_member(l)) {
            continue;
        }
        if (!strcmp(l->kind, "vlan") || !strcmp(l->kind, "vxlan")) {
            error = nl_link_del__(&s, l->ifindex);
        } else {
            error = nl_link_set__(&s, l->ifindex, -1, 0, NULL);
        }
        if (error && error != ENODEV) {
            status_fail__(st, error, "releasing %s: %s", l->name,
                          nl_strerror__(&s, error, e, sizeof e));
        }
    }
    if (uplink) {
        struct nl_link__ u;

        error = nl_link_get__(&s, NULL, uplink, &u);
        if (!error && (u.master != br.ifindex || !(u.flags & IFF_UP))) {
            error = nl_link_set__(&s, uplink, 1, br.ifindex, NULL);
        }
        if (error) {
            status_fail__(st, error, "attaching %s: %s", u.name,
                          nl_strerror__(&s, error, e, sizeof e));
        }
    }
out:
    free(links);
    nl_close__(&s);
    return st->error;
}

int
netns_bridge_ensure(const struct netns_network *net, char *err,
                    size_t err_size)
{
    struct bridge_job job = { .net = net };
    int error;

    status_init__(&job.st, net ? net->bridge : "bridge", err, err_size);
    if (!net) {
        return status_fail__(&job.st, EINVAL, "no network");
    }
    error = check_network(net, &job.st);
    if (error) {
        return error;
    }
    /* A thread of our own so that the netlink socket's life is short and
     * the caller's thread is untouched; it inherits the caller's
     * namespace. */
    error = ns_run_thread__(bridge_ensure_main, &job);
    if (error && !job.st.error) {
        status_fail__(&job.st, error, "worker thread: %s", strerror(error));
    }
    return job.st.error;
}

static int
bridge_remove_main(void *job_)
{
    struct bridge_job *job = job_;
    struct netns_status__ *st = &job->st;
    struct nl_link__ br, *links = NULL;
    struct nl_sock__ s;
    size_t n_links = 0;
    char e[256];
    int error;

    error = nl_open__(&s, NETLINK_ROUTE);
    if (error) {
        return status_fail__(st, error, "rtnetlink socket: %s",
                             strerror(error));
    }
    error = nl_link_get__(&s, job->bridge, 0, &br);
    if (error == ENODEV) {
        error = 0;
        goto out;
    }
    if (!error && strcmp(br.kind, "bridge")) {
        status_fail__(st, EINVAL, "not a bridge");
        goto out;
    }
    if (!error) {
        error = nl_link_dump__(&s, &links, &n_links);
    }
    if (error) {
        status_fail__(st, error, "%s", nl_strerror__(&s, error, e, sizeof e));
        goto out;
    }
    for (size_t i = 0; i < n_links && !job->force; i++) {
        if (links[i].master == br.ifindex && !is_uplink_member(&links[i])) {
            status_fail__(st, EBUSY, "router interface %s still attached",
                          links[i].name);
            goto out;
        }
    }
    for (size_t i = 0; i < n_links; i++) {
        const struct nl_link__ *l = &links[i];

        if (l->master == br.ifindex
            && (!strcmp(l->kind, "vlan") || !strcmp(l->kind, "vxlan"))) {
            error = nl_link_del__(&s, l->ifindex);
            if (error && error != ENODEV) {
                status_fail__(st, error, "deleting %s: %s", l->name,
                              nl_strerror__(&s, error, e, sizeof e));
            }
        }
    }
    error = nl_link_del__(&s, br.ifindex);
    if (error && error != ENODEV) {
        status_fail__(st, error, "delete: %s",
                      nl_strerror__(&s, error, e, sizeof e));
    } else {
        LOG_DBG("netns", "%s: bridge deleted", job->bridge);
    }
out:
    free(links);
    nl_close__(&s);
    return st->error;
}

int
netns_bridge_remove(const char *bridge, bool force, char *err,
                    size_t err_size)
{
    struct bridge_job job = { .bridge = bridge, .force = force };
    int error;

    status_init__(&job.st, bridge ? bridge : "bridge", err, err_size);
    if (!bridge || !bridge[0] || strlen(bridge) >= NETNS_IFNAME_LEN) {
        return status_fail__(&job.st, EINVAL, "bad bridge name");
    }
    error = ns_run_thread__(bridge_remove_main, &job);
    if (error && !job.st.error) {
        status_fail__(&job.st, error, "worker thread: %s", strerror(error));
    }
    return job.st.error;
}
