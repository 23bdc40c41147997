/* backends/netns/vif.c: see netns_vif.h.
 *
 * One worker thread does it all: it opens an rtnetlink socket in the host
 * namespace, enters the instance's namespace (creating it) and opens a
 * second socket there; the veth pair is created through the host socket
 * with its peer sent into the instance namespace, then configured through
 * the inner socket. */
#include "backends/netns/netns_vif.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/netns/netns-private.h"
#include "core/util.h"

struct vif_job {
    const struct netns_vif *vif;
    const char *port_id;        /* unplug */
    char tap[NETNS_IFNAME_LEN];
    struct netns_status__ st;
};

static int
plug_main(void *job_)
{
    struct vif_job *job = job_;
    const struct netns_vif *vif = job->vif;
    struct netns_status__ *st = &job->st;
    const char *ifname = vif->ifname[0] ? vif->ifname : "eth0";
    struct nl_sock__ host, inner;
    struct nl_link__ br, l;
    bool host_open = false, inner_open = false, created;
    int ns_fd = -1;
    char e[256];
    int error;

    error = nl_open__(&host, NETLINK_ROUTE);
    if (error) {
        return status_fail__(st, error, "rtnetlink socket: %s",
                             strerror(error));
    }
    host_open = true;
    error = nl_link_get__(&host, vif->bridge, 0, &br);
    if (error == ENODEV) {
        status_fail__(st, ENODEV, "bridge %s does not exist (is the port "
                      "bound to this host, and its network realized?)",
                      vif->bridge);
        goto out;
    } else if (error || strcmp(br.kind, "bridge")) {
        status_fail__(st, error ? error : EINVAL, "%s: %s", vif->bridge,
                      error ? nl_strerror__(&host, error, e, sizeof e)
                            : "not a bridge");
        goto out;
    }
    /* A re-plug starts from nothing. */
    if (!nl_link_get__(&host, job->tap, 0, &l)) {
        nl_link_del__(&host, l.ifindex);
    }

    error = ns_enter__(vif->netns, true, &ns_fd, &created);
    if (error) {
        status_fail__(st, error, "namespace %s: %s", vif->netns,
                      strerror(error));
        goto out;
    }
    error = nl_open__(&inner, NETLINK_ROUTE);
    if (error) {
        status_fail__(st, error, "rtnetlink socket in %s: %s", vif->netns,
                      strerror(error));
        goto out;
    }
    inner_open = true;
    if (!nl_link_get__(&inner, ifname, 0, &l)) {
        nl_link_del__(&inner, l.ifindex);
    }
    error = nl_link_get__(&inner, "lo", 0, &l);
    if (!error && !(l.flags & IFF_UP)) {
        error = nl_link_set__(&inner, l.ifindex, 1, -1, NULL);
    }
    if (error) {
        status_fail__(st, error, "%s: lo: %s", vif->netns,
                      nl_strerror__(&inner, error, e, sizeof e));
        goto out;
    }

    error = nl_veth_create__(&host, job->tap, br.ifindex, ifname, ns_fd,
                             vif->mac);
    if (error) {
        status_fail__(st, error, "creating %s: %s", job->tap,
                      nl_strerror__(&host, error, e, sizeof e));
        goto out;
    }
    error = nl_link_get__(&inner, ifname, 0, &l);
    if (!error) {
        error = nl_link_set__(&inner, l.ifindex, 1, -1, NULL);
    }
    if (error) {
        status_fail__(st, error, "%s: %s: %s", vif->netns, ifname,
                      nl_strerror__(&inner, error, e, sizeof e));
        goto out;
    }
    for (size_t i = 0; i < vif->n_ips; i++) {
        error = nl_addr_change__(&inner, true, l.ifindex, &vif->ips[i]);
        if (error) {
            char a[NETNS_ADDR_STR_LEN];
            netns_addr_format(&vif->ips[i], true, a);
            status_fail__(st, error, "%s: adding %s: %s", vif->netns, a,
                          nl_strerror__(&inner, error, e, sizeof e));
            goto out;
        }
    }
    for (int v = 0; v < 2; v++) {
        const struct netns_addr *gw = v ? &vif->gateway6 : &vif->gateway;
        struct nl_route__ r;

        if (!gw->family) {
            continue;
        }
        memset(&r, 0, sizeof r);
        r.dst.family = gw->family;
        r.gw = *gw;
        r.gw.plen = gw->family == AF_INET ? 32 : 128;
        r.oif = l.ifindex;
        error = nl_route_change__(&inner, true, &r);
        if (error) {
            char a[NETNS_ADDR_STR_LEN];
            netns_addr_format(gw, false, a);
            status_fail__(st, error, "%s: default route via %s: %s",
                          vif->netns, a,
                          nl_strerror__(&inner, error, e, sizeof e));
            goto out;
        }
    }
out:
    if (inner_open) {
        nl_close__(&inner);
    }
    if (host_open) {
        nl_close__(&host);
    }
    if (ns_fd >= 0) {
        close(ns_fd);
    }
    return st->error;
}

int
netns_vif_plug(const struct netns_vif *vif, char *err, size_t err_size)
{
    struct vif_job job = { .vif = vif };
    int error;

    status_init__(&job.st, vif ? vif->port_id : "vif", err, err_size);
    if (!vif || strlen(vif->port_id) < NETNS_ID_PREFIX_LEN
        || !vif->netns[0] || !vif->bridge[0]
        || vif->n_ips > NETNS_PORT_MAX_IPS
        || strchr(vif->netns, '/') || vif->netns[0] == '.') {
        return status_fail__(&job.st, EINVAL, "bad VIF description");
    }
    netns_port_ifname("tap", vif->port_id, job.tap);
    error = ns_run_thread__(plug_main, &job);
    if (error && !job.st.error) {
        status_fail__(&job.st, error, "worker thread: %s", strerror(error));
    }
    return job.st.error;
}

static int
unplug_main(void *job_)
{
    struct vif_job *job = job_;
    struct nl_sock__ s;
    struct nl_link__ l;
    char e[256];
    int error;

    error = nl_open__(&s, NETLINK_ROUTE);
    if (error) {
        return status_fail__(&job->st, error, "rtnetlink socket: %s",
                             strerror(error));
    }
    error = nl_link_get__(&s, job->tap, 0, &l);
    if (!error) {
        error = nl_link_del__(&s, l.ifindex);
    }
    if (error && error != ENODEV) {
        status_fail__(&job->st, error, "deleting %s: %s", job->tap,
                      nl_strerror__(&s, error, e, sizeof e));
    }
    nl_close__(&s);
    return job->st.error;
}

int
netns_vif_unplug(const char *port_id, char *err, size_t err_size)
{
    struct vif_job job = { .port_id = port_id };
    int error;

    status_init__(&job.st, port_id ? port_id : "vif", err, err_size);
    if (!port_id || strlen(port_id) < NETNS_ID_PREFIX_LEN) {
        return status_fail__(&job.st, EINVAL, "bad port id");
    }
    netns_port_ifname("tap", port_id, job.tap);
    error = ns_run_thread__(unplug_main, &job);
    if (error && !job.st.error) {
        status_fail__(&job.st, error, "worker thread: %s", strerror(error));
    }
    return job.st.error;
}
