/* tests/dataplane/netns/test_netns_router.c: backends/netns against the
 * real kernel, proved with real packets.
 *
 * Topology (every name carries this process's pid, so parallel runs do not
 * clash; group teardown removes all of it, also after failures):
 *
 *   outside ns "hx<pid>o" eth0 203.0.113.1/24
 *        | veth; host end hxp<pid>e is the flat "physical" interface
 *   bridge hxb<pid>e ----- tap<gw port> === qg- 203.0.113.5/24 (+ FIP /32)
 *   bridge hxb<pid>1 ----- tap<port 1>  === qr- 10.0.1.1/24    qrouter-<id>
 *   bridge hxb<pid>2 ----- tap<port 2>  === qr- 10.0.2.1/24
 *        | veth hxp<pid>1 / hxp<pid>2
 *   "VM" namespaces hx<pid>v1 (10.0.1.5) and hx<pid>v2 (10.0.2.5)
 *
 * The router has SNAT on and floating IP 203.0.113.10 -> 10.0.1.5.  Pings
 * run iputils ping inside a namespace (posix_spawn of "ip netns exec");
 * UDP probes use sockets opened inside the namespaces, so the receiver
 * reports the source address it really saw.  Needs root and ping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/netns/netns.h"
#include "tests/dataplane/e2e-lib.h"

#define UNUSED __attribute__((unused))

/* ---- Names and the router under test. ---- */

static unsigned int pid;
static char ns_out[32], ns_vm1[32], ns_vm2[32];
static char br_ext[NETNS_IFNAME_LEN], br_1[NETNS_IFNAME_LEN],
            br_2[NETNS_IFNAME_LEN];
static char ph_ext[NETNS_IFNAME_LEN], ph_1[NETNS_IFNAME_LEN],
            ph_2[NETNS_IFNAME_LEN];
static char qrouter[NETNS_NSNAME_LEN];
static uint16_t udp_port;

static struct netns_port ports[2];
static struct netns_gateway gw;
static struct netns_fip fip;
static struct netns_route extra_route;
static struct netns_router router;

static struct netns_addr
A(const char *s)
{
    struct netns_addr a;

    if (netns_addr_parse(s, &a)) {
        fail_msg("bad address %s", s);
    }
    return a;
}

/* ---- Watching for changes. ---- */

/* Netlink sockets subscribed to every link, address and route change in
 * the router namespace and to nf_tables changes there, and to link changes
 * in the host namespace. */
struct monitor {
    struct mnl_socket *rt, *nf, *host;
};

static struct mnl_socket *
monitor_socket(const char *ns, int bus, unsigned int groups_mask,
               const unsigned int *groups, size_t n_groups)
{
    struct mnl_socket *s;
    int fd = ns ? e2e_ns_socket(ns, AF_NETLINK, SOCK_RAW, bus)
                : socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);

    assert_true(fd >= 0);
    s = mnl_socket_fdopen(fd);
    assert_non_null(s);
    assert_int_equal(mnl_socket_bind(s, groups_mask, MNL_SOCKET_AUTOPID), 0);
    for (size_t i = 0; i < n_groups; i++) {
        unsigned int g = groups[i];
        assert_int_equal(mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g,
                                               sizeof g), 0);
    }
    return s;
}

static void
monitor_start(struct monitor *m)
{
    static const unsigned int rt_groups[] = {
        RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
        RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
    };
    static const unsigned int nf_groups[] = { NFNLGRP_NFTABLES };
    static const unsigned int host_groups[] = { RTNLGRP_LINK };

    m->rt = monitor_socket(qrouter, NETLINK_ROUTE, 0, rt_groups,
                           sizeof rt_groups / sizeof rt_groups[0]);
    m->nf = monitor_socket(qrouter, NETLINK_NETFILTER, 0, nf_groups, 1);
    m->host = monitor_socket(NULL, NETLINK_ROUTE, 0, host_groups, 1);
}

/* Counts pending notifications on 's' (for the host socket, only those
 * about links whose name starts with 'only_prefix' or 'or_prefix'). */
static int
monitor_count(struct mnl_socket *s, const char *only_prefix,
              const char *or_prefix)
{
    char buf[65536];
    int n = 0;

    for (;;) {
        struct pollfd pfd = { .fd = mnl_socket_get_fd(s), .events = POLLIN };
        const struct nlmsghdr *nlh;
        int len;

        if (poll(&pfd, 1, 50) != 1) {
            break;
        }
        len = (int) recv(mnl_socket_get_fd(s), buf, sizeof buf, 0);
        if (len <= 0) {
            break;
        }
        for (nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            if (only_prefix) {
                const struct nlattr *a;
                bool ours = false;

                mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
                    if (mnl_attr_get_type(a) == IFLA_IFNAME
                        && (!strncmp(mnl_attr_get_str(a), only_prefix,
                                     strlen(only_prefix))
                            || (or_prefix
                                && !strncmp(mnl_attr_get_str(a), or_prefix,
                                            strlen(or_prefix))))) {
                        ours = true;
                    }
                }
                if (!ours) {
                    continue;
                }
            }
            n++;
        }
    }
    return n;
}

static void
monitor_stop(struct monitor *m)
{
    mnl_socket_close(m->rt);
    mnl_socket_close(m->nf);
    mnl_socket_close(m->host);
}

/* ---- Setup and teardown. ---- */

static void
apply_ok(const struct netns_router *r)
{
    char err[NETNS_ERR_LEN];
    int error = netns_router_apply(r, err, sizeof err);

    if (error) {
        fail_msg("apply: %s (%s)", err, strerror(error));
    }
}

/* A "VM" (or the outside host) as namespace 'ns' with eth0 at 'ip'
 * (a.b.c.d/len) and a default route via 'gw_ip' (NULL: none), its link
 * the far end of veth 'host_end' here. */
static void
make_vm(const char *ns, const char *host_end, const char *ip,
        const char *gw_ip)
{
    if (e2e_outside_create(ns, host_end, ip)) {
        fail_msg("cannot make namespace %s", ns);
    }
    if (gw_ip) {
        E2E_RUN("ip -n %s route add default via %s", ns, gw_ip);
    }
}

static void
flat_bridge(const char *bridge, const char *phys)
{
    struct netns_network net;
    char err[NETNS_ERR_LEN];

    memset(&net, 0, sizeof net);
    net.type = NETNS_NET_FLAT;
    snprintf(net.bridge, sizeof net.bridge, "%s", bridge);
    snprintf(net.physical_interface, sizeof net.physical_interface, "%s",
             phys);
    if (netns_bridge_ensure(&net, err, sizeof err)) {
        fail_msg("bridge: %s", err);
    }
}

static void
port_init(struct netns_port *p, unsigned int n, const char *mac,
          const char *ip, const char *bridge)
{
    memset(p, 0, sizeof *p);
    /* The first 11 characters (the kernel names) hold pid and n. */
    snprintf(p->id, sizeof p->id, "%08x-%02x00-4000-8000-00000000000%u",
             pid, n, n);
    assert_int_equal(netns_mac_parse(mac, p->mac), 0);
    p->ips[0] = A(ip);
    p->n_ips = 1;
    snprintf(p->bridge, sizeof p->bridge, "%s", bridge);
}

static void
cleanup(void)
{
    char err[NETNS_ERR_LEN];

    netns_router_destroy(router.id, err, sizeof err);
    netns_bridge_remove(br_ext, true, err, sizeof err);
    netns_bridge_remove(br_1, true, err, sizeof err);
    netns_bridge_remove(br_2, true, err, sizeof err);
    e2e_outside_destroy(ns_out, ph_ext);
    e2e_outside_destroy(ns_vm1, ph_1);
    e2e_outside_destroy(ns_vm2, ph_2);
}

static void
router_init(void)
{
    port_init(&ports[0], 1, "fa:16:3e:00:01:01", "10.0.1.1/24", br_1);
    port_init(&ports[1], 2, "fa:16:3e:00:01:02", "10.0.2.1/24", br_2);
    memset(&gw, 0, sizeof gw);
    port_init(&gw.port, 3, "fa:16:3e:00:01:03", "203.0.113.5/24", br_ext);
    gw.gateway_ip = A("203.0.113.1");
    fip.floating_ip = A("203.0.113.10");
    fip.fixed_ip = A("10.0.1.5");
    extra_route.destination = A("10.99.0.0/16");
    extra_route.nexthop = A("10.0.2.5");

    memset(&router, 0, sizeof router);
    snprintf(router.id, sizeof router.id,
             "%08x-0000-4000-8000-0000000000ff", pid);
    router.admin_up = true;
    router.enable_snat = true;
    router.ports = ports;
    router.n_ports = 2;
    router.gw = &gw;
    router.fips = &fip;
    router.n_fips = 1;
    netns_router_ns_name(router.id, qrouter);
}

static int
group_setup(void **state UNUSED)
{
    pid = (unsigned int) getpid();
    snprintf(ns_out, sizeof ns_out, "hx%uo", pid);
    snprintf(ns_vm1, sizeof ns_vm1, "hx%uv1", pid);
    snprintf(ns_vm2, sizeof ns_vm2, "hx%uv2", pid);
    snprintf(br_ext, sizeof br_ext, "hxb%ue", pid);
    snprintf(br_1, sizeof br_1, "hxb%u1", pid);
    snprintf(br_2, sizeof br_2, "hxb%u2", pid);
    snprintf(ph_ext, sizeof ph_ext, "hxp%ue", pid);
    snprintf(ph_1, sizeof ph_1, "hxp%u1", pid);
    snprintf(ph_2, sizeof ph_2, "hxp%u2", pid);
    udp_port = (uint16_t) (20000 + pid % 20000);
    router_init();

    if (geteuid() != 0) {
        fprintf(stderr, "test_netns_router: needs root\n");
        return -1;
    }
    if (e2e_run(NULL, 0, "ping -V") != 0) {
        fprintf(stderr, "test_netns_router: needs ping (iputils-ping)\n");
        return -1;
    }
    cleanup();
    make_vm(ns_out, ph_ext, "203.0.113.1/24", NULL);
    make_vm(ns_vm1, ph_1, "10.0.1.5/24", "10.0.1.1");
    make_vm(ns_vm2, ph_2, "10.0.2.5/24", "10.0.2.1");
    flat_bridge(br_ext, ph_ext);
    flat_bridge(br_1, ph_1);
    flat_bridge(br_2, ph_2);
    return 0;
}

static int
group_teardown(void **state UNUSED)
{
    char ifn[NETNS_IFNAME_LEN];

    cleanup();
    netns_wait_idle();
    /* Nothing of ours may be left. */
    for (size_t i = 0; i < 3; i++) {
        netns_port_ifname("tap", i < 2 ? ports[i].id : gw.port.id, ifn);
        if (if_nametoindex(ifn)) {
            fprintf(stderr, "left behind: %s\n", ifn);
            return -1;
        }
    }
    return 0;
}

/* ---- The tests. ---- */

static void
test_apply_east_west(void **state UNUSED)
{
    char ifn[NETNS_IFNAME_LEN], path[128], out[4096];

    apply_ok(&router);

    /* The namespace, veths and their ends as named. */
    snprintf(path, sizeof path, "/run/netns/%s", qrouter);
    assert_int_equal(access(path, F_OK), 0);
    netns_port_ifname("tap", ports[0].id, ifn);
    assert_true(if_nametoindex(ifn) > 0);
    E2E_RUN("ip -d link show %s", ifn);
    e2e_run(out, sizeof out, "ip -d link show %s", ifn);
    assert_non_null(strstr(out, br_1));             /* master */
    netns_port_ifname("qr-", ports[0].id, ifn);
    e2e_run(out, sizeof out, "ip -n %s link show %s", qrouter, ifn);
    assert_non_null(strstr(out, "fa:16:3e:00:01:01"));
    assert_non_null(strstr(out, ",UP"));
    e2e_run(out, sizeof out, "ip netns exec %s sysctl -n net.ipv4.ip_forward",
            qrouter);
    assert_string_equal(out, "1\n");

    assert_true(e2e_ping_ok(ns_vm1, "10.0.2.5"));
    assert_true(e2e_ping_ok(ns_vm2, "10.0.1.5"));
    assert_true(e2e_ping_ok(ns_vm1, "10.0.1.1"));
}

static void
test_snat_to_gateway_ip(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN];

    /* VM2 has no floating IP: the outside sees the gateway IP. */
    assert_true(e2e_udp_probe(ns_vm2, ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, "203.0.113.5");
    assert_true(e2e_ping_ok(ns_vm2, "203.0.113.1"));

    /* VM1 has one: the outside sees it. */
    assert_true(e2e_udp_probe(ns_vm1, ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, "203.0.113.10");

    /* East-west traffic is not NATed. */
    assert_true(e2e_udp_probe(ns_vm1, ns_vm2, "10.0.2.5", udp_port,
                              src));
    assert_string_equal(src, "10.0.1.5");
}

#define FIXED_SPORT 31337

static void
test_fip_inbound(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN];

    /* The outside reaches VM1 by its floating IP and VM1 sees the
     * outside's own address. */
    assert_true(e2e_udp_probe_sport(ns_out, ns_vm1, "203.0.113.10", udp_port,
                                    FIXED_SPORT, src));
    assert_string_equal(src, "203.0.113.1");
    assert_true(e2e_ping_ok(ns_out, "203.0.113.10"));
    /* The gateway IP itself answers too. */
    assert_true(e2e_ping_ok(ns_out, "203.0.113.5"));
}

static void
test_apply_twice_changes_nothing(void **state UNUSED)
{
    char before[8192], after[8192], prefix[16];
    struct monitor m;

    e2e_run(before, sizeof before, "ip netns exec %s nft -a list ruleset",
            qrouter);
    monitor_start(&m);
    apply_ok(&router);
    apply_ok(&router);
    /* Not one link, address, route or nf_tables notification. */
    assert_int_equal(monitor_count(m.rt, NULL, NULL), 0);
    assert_int_equal(monitor_count(m.nf, NULL, NULL), 0);
    snprintf(prefix, sizeof prefix, "tap%08x", pid);
    assert_int_equal(monitor_count(m.host, prefix, NULL), 0);
    monitor_stop(&m);
    e2e_run(after, sizeof after, "ip netns exec %s nft -a list ruleset",
            qrouter);
    assert_string_equal(before, after);     /* same rule handles */
    assert_non_null(strstr(after, "dnat to 10.0.1.5"));

    /* Bridges too. */
    monitor_start(&m);
    flat_bridge(br_1, ph_1);
    assert_int_equal(monitor_count(m.host, br_1, ph_1), 0);
    monitor_stop(&m);
}

static const struct netns_port *
find_port(const struct netns_port *ps, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(ps[i].id, id, NETNS_ID_PREFIX_LEN)) {
            return &ps[i];
        }
    }
    return NULL;
}

static void
check_readback(const struct netns_router *got, const struct netns_router *want)
{
    assert_string_equal(got->id, want->id);
    assert_int_equal(got->admin_up, want->admin_up);
    assert_int_equal(got->enable_snat, want->enable_snat);
    assert_int_equal(got->n_ports, want->n_ports);
    for (size_t i = 0; i < want->n_ports; i++) {
        const struct netns_port *p = find_port(got->ports, got->n_ports,
                                               want->ports[i].id);
        assert_non_null(p);
        assert_int_equal(strlen(p->id), NETNS_ID_PREFIX_LEN);
        assert_memory_equal(p->mac, want->ports[i].mac, 6);
        assert_string_equal(p->bridge, want->ports[i].bridge);
        assert_int_equal(p->n_ips, 1);
        assert_true(netns_addr_equal(&p->ips[0], &want->ports[i].ips[0]));
    }
    assert_non_null(got->gw);
    assert_string_equal(got->gw->port.bridge, br_ext);
    assert_int_equal(got->gw->port.n_ips, 1);       /* FIP /32 excluded */
    assert_true(netns_addr_equal(&got->gw->port.ips[0],
                                 &want->gw->port.ips[0]));
    if (want->admin_up) {
        assert_true(netns_addr_equal(&got->gw->gateway_ip,
                                     &want->gw->gateway_ip));
    }
    assert_int_equal(got->n_fips, want->n_fips);
    for (size_t i = 0; i < want->n_fips; i++) {
        assert_true(netns_addr_equal(&got->fips[i].floating_ip,
                                     &want->fips[i].floating_ip));
        assert_true(netns_addr_equal(&got->fips[i].fixed_ip,
                                     &want->fips[i].fixed_ip));
    }
    assert_int_equal(got->n_routes, want->admin_up ? want->n_routes : 0);
}

static void
test_read_back(void **state UNUSED)
{
    struct netns_router one, *all, second;
    struct netns_port second_port;
    char err[NETNS_ERR_LEN];
    size_t n, found = 0;

    assert_int_equal(netns_router_read(router.id, &one, err, sizeof err), 0);
    check_readback(&one, &router);
    netns_router_clear(&one);

    /* A second router (one port, no gateway), so that the list reads more
     * than one namespace in a row. */
    port_init(&second_port, 9, "fa:16:3e:00:01:09", "10.0.1.254/24", br_1);
    memset(&second, 0, sizeof second);
    snprintf(second.id, sizeof second.id,
             "%08x-0000-4000-8000-0000000000fe", pid);
    second.admin_up = true;
    second.ports = &second_port;
    second.n_ports = 1;
    apply_ok(&second);

    assert_int_equal(netns_list_routers(&all, &n, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(all[i].id, router.id)) {
            check_readback(&all[i], &router);
            found++;
        } else if (!strcmp(all[i].id, second.id)) {
            assert_int_equal(all[i].n_ports, 1);
            assert_string_equal(all[i].ports[0].bridge, br_1);
            assert_null(all[i].gw);
            assert_false(all[i].enable_snat);
            assert_int_equal(all[i].n_fips, 0);
            found++;
        }
    }
    netns_routers_free(all, n);
    assert_int_equal(netns_router_destroy(second.id, err, sizeof err), 0);
    assert_int_equal(found, 2);

    assert_int_equal(netns_router_read("00000000-0000-4000-8000-00000000dead",
                                       &one, err, sizeof err), ENOENT);
}

static void
test_admin_down(void **state UNUSED)
{
    struct netns_router got;
    char err[NETNS_ERR_LEN], ifn[NETNS_IFNAME_LEN], out[2048];

    router.admin_up = false;
    apply_ok(&router);
    netns_port_ifname("qr-", ports[0].id, ifn);
    e2e_run(out, sizeof out, "ip -n %s link show %s", qrouter, ifn);
    assert_null(strstr(out, ",UP"));
    assert_true(e2e_ping_fails(ns_vm1, "10.0.2.5"));
    assert_int_equal(netns_router_read(router.id, &got, err, sizeof err), 0);
    check_readback(&got, &router);
    netns_router_clear(&got);

    router.admin_up = true;
    apply_ok(&router);
    assert_true(e2e_ping_ok(ns_vm1, "10.0.2.5"));
    assert_true(e2e_ping_ok(ns_vm2,
                            "203.0.113.1"));    /* default route back */
}

static void
test_repair(void **state UNUSED)
{
    char qr1[NETNS_IFNAME_LEN], qr2[NETNS_IFNAME_LEN], tap2[NETNS_IFNAME_LEN];
    char out[4096];

    netns_port_ifname("qr-", ports[0].id, qr1);
    netns_port_ifname("qr-", ports[1].id, qr2);
    netns_port_ifname("tap", ports[1].id, tap2);

    /* Missing pieces come back. */
    E2E_RUN("ip -n %s link del %s", qrouter, qr2);
    E2E_RUN("ip netns exec %s nft delete table ip hadron", qrouter);
    E2E_RUN("ip -n %s addr del 10.0.1.1/24 dev %s", qrouter, qr1);
    assert_true(e2e_ping_fails(ns_vm1, "10.0.2.5"));
    apply_ok(&router);
    assert_true(e2e_ping_ok(ns_vm1, "10.0.2.5"));
    assert_true(e2e_ping_ok(ns_out, "203.0.113.10"));

    /* Extra pieces go. */
    E2E_RUN("ip -n %s addr add 10.0.1.99/24 dev %s", qrouter, qr1);
    E2E_RUN("ip -n %s route add 10.77.0.0/16 via 10.0.2.5 proto static",
            qrouter);
    E2E_RUN("ip -n %s link add qr-bogus%u type veth peer name bogus%u",
            qrouter,
            pid % 1000, pid % 1000);
    E2E_RUN("ip netns exec %s nft add rule ip hadron prerouting "
            "ip daddr 203.0.113.99 dnat to 10.0.1.99", qrouter);
    apply_ok(&router);
    e2e_run(out, sizeof out, "ip -n %s -4 addr show", qrouter);
    assert_null(strstr(out, "10.0.1.99"));
    assert_non_null(strstr(out, "10.0.1.1/24"));
    e2e_run(out, sizeof out, "ip -n %s route show", qrouter);
    assert_null(strstr(out, "10.77.0.0"));
    e2e_run(out, sizeof out, "ip -n %s link show", qrouter);
    assert_null(strstr(out, "bogus"));
    e2e_run(out, sizeof out, "ip netns exec %s nft list ruleset", qrouter);
    assert_null(strstr(out, "203.0.113.99"));

    /* A port taken away is removed with its tap; it comes back. */
    router.n_ports = 1;
    apply_ok(&router);
    e2e_run(out, sizeof out, "ip -n %s link show", qrouter);
    assert_null(strstr(out, qr2));
    assert_int_equal(if_nametoindex(tap2), 0);
    assert_true(e2e_ping_fails(ns_vm1, "10.0.2.5"));
    router.n_ports = 2;
    apply_ok(&router);
    assert_true(e2e_ping_ok(ns_vm1, "10.0.2.5"));
}

static void
test_extra_routes(void **state UNUSED)
{
    struct netns_router got;
    char err[NETNS_ERR_LEN], out[2048];

    router.routes = &extra_route;
    router.n_routes = 1;
    apply_ok(&router);
    e2e_run(out, sizeof out, "ip -n %s route show 10.99.0.0/16", qrouter);
    assert_non_null(strstr(out, "via 10.0.2.5"));
    assert_non_null(strstr(out, "proto static"));
    assert_int_equal(netns_router_read(router.id, &got, err, sizeof err), 0);
    check_readback(&got, &router);
    assert_true(netns_addr_equal(&got.routes[0].nexthop,
                                 &extra_route.nexthop));
    netns_router_clear(&got);

    /* A nexthop that is not on any subnet: said clearly, rest kept. */
    struct netns_route bad = { A("10.98.0.0/16"), A("192.0.2.77") };
    router.routes = &bad;
    assert_int_not_equal(netns_router_apply(&router, err, sizeof err), 0);
    assert_non_null(strstr(err, "route 10.98.0.0/16 via 192.0.2.77"));
    assert_true(e2e_ping_ok(ns_vm1, "10.0.2.5"));

    router.routes = NULL;
    router.n_routes = 0;
    apply_ok(&router);
    e2e_run(out, sizeof out, "ip -n %s route show", qrouter);
    assert_null(strstr(out, "10.99.0.0"));
    assert_non_null(strstr(out, "default via 203.0.113.1"));
}

static void
test_gateway_removed(void **state UNUSED)
{
    char out[4096], qg[NETNS_IFNAME_LEN], tap[NETNS_IFNAME_LEN];

    netns_port_ifname("qg-", gw.port.id, qg);
    netns_port_ifname("tap", gw.port.id, tap);
    router.gw = NULL;
    router.n_fips = 0;
    apply_ok(&router);
    e2e_run(out, sizeof out, "ip -n %s link show", qrouter);
    assert_null(strstr(out, qg));
    assert_int_equal(if_nametoindex(tap), 0);
    e2e_run(out, sizeof out, "ip netns exec %s nft list ruleset", qrouter);
    assert_null(strstr(out, "hadron"));
    assert_true(e2e_ping_fails(ns_vm2, "203.0.113.1"));
    assert_true(e2e_ping_ok(ns_vm1, "10.0.2.5"));

    router.gw = &gw;
    router.n_fips = 1;
    apply_ok(&router);
    assert_true(e2e_ping_ok(ns_vm2, "203.0.113.1"));
    assert_true(e2e_ping_ok(ns_out, "203.0.113.10"));
}

static void
test_fip_removed(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN], out[4096];

    /* Make the flow that conntrack would keep alive, with the same source
     * port as before. */
    assert_true(e2e_udp_probe_sport(ns_out, ns_vm1, "203.0.113.10", udp_port,
                                    FIXED_SPORT, src));
    router.n_fips = 0;
    apply_ok(&router);
    e2e_run(out, sizeof out, "ip -n %s addr show", qrouter);
    assert_null(strstr(out, "203.0.113.10"));
    /* Neither the old flow nor a new one gets through. */
    assert_false(e2e_udp_probe_sport(ns_out, ns_vm1, "203.0.113.10",
                                     udp_port, FIXED_SPORT, src));
    assert_true(e2e_ping_fails(ns_out, "203.0.113.10"));
    /* VM1 now leaves through the gateway IP. */
    assert_true(e2e_udp_probe(ns_vm1, ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, "203.0.113.5");

    /* And it comes back. */
    router.n_fips = 1;
    apply_ok(&router);
    assert_true(e2e_ping_ok(ns_out, "203.0.113.10"));
}

static void
test_destroy(void **state UNUSED)
{
    char err[NETNS_ERR_LEN], path[128], ifn[NETNS_IFNAME_LEN];
    struct netns_router *all;
    size_t n;

    assert_int_equal(netns_bridge_remove(br_1, false, err, sizeof err),
                     EBUSY);
    assert_non_null(strstr(err, "still attached"));

    assert_int_equal(netns_router_destroy(router.id, err, sizeof err), 0);
    snprintf(path, sizeof path, "/run/netns/%s", qrouter);
    assert_int_equal(access(path, F_OK), -1);
    for (size_t i = 0; i < 3; i++) {
        netns_port_ifname("tap", i < 2 ? ports[i].id : gw.port.id, ifn);
        assert_int_equal(if_nametoindex(ifn), 0);
    }
    assert_int_equal(netns_list_routers(&all, &n, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(all[i].id, router.id);
    }
    netns_routers_free(all, n);
    assert_true(e2e_ping_fails(ns_vm1, "10.0.2.5"));
    /* Again: nothing to do. */
    assert_int_equal(netns_router_destroy(router.id, err, sizeof err), 0);
}

/* ---- VXLAN: two "hypervisors" as namespaces. ---- */

struct l2_call {
    struct netns_network net;
    struct netns_vxlan_remote remote;
    bool remove;
    int error;
    char err[NETNS_ERR_LEN];
};

static void
l2_call_main(void *c_)
{
    struct l2_call *c = c_;

    c->error = c->remove
               ? netns_bridge_remove(c->net.bridge, true, c->err,
                                     sizeof c->err)
               : netns_bridge_ensure(&c->net, c->err, sizeof c->err);
}

static void
test_vxlan(void **state UNUSED)
{
    char ha[32], hb[32], va[32], vb[32], out[2048], before[2048];
    char vx[NETNS_IFNAME_LEN];
    struct l2_call a, b;
    uint32_t vni = 4000 + pid % 1000;

    snprintf(ha, sizeof ha, "hx%uha", pid);
    snprintf(hb, sizeof hb, "hx%uhb", pid);
    snprintf(va, sizeof va, "hx%uva", pid);
    snprintf(vb, sizeof vb, "hx%uvb", pid);
    netns_vxlan_ifname(vni, vx);

    /* Underlay: ha 192.0.2.1 <-> hb 192.0.2.2. */
    E2E_RUN("ip netns add %s", ha);
    E2E_RUN("ip netns add %s", hb);
    E2E_RUN("ip -n %s link add u0 type veth peer name u0 netns %s", ha, hb);
    E2E_RUN("ip -n %s addr add 192.0.2.1/24 dev u0", ha);
    E2E_RUN("ip -n %s addr add 192.0.2.2/24 dev u0", hb);
    E2E_RUN("ip -n %s link set u0 up", ha);
    E2E_RUN("ip -n %s link set u0 up", hb);
    E2E_RUN("ip -n %s link set lo up", ha);
    E2E_RUN("ip -n %s link set lo up", hb);
    /* VMs, plugged into the hosts. */
    E2E_RUN("ip netns add %s", va);
    E2E_RUN("ip netns add %s", vb);
    E2E_RUN("ip -n %s link add tapvm type veth peer name eth0 netns %s", ha,
            va);
    E2E_RUN("ip -n %s link add tapvm type veth peer name eth0 netns %s", hb,
            vb);
    E2E_RUN("ip -n %s addr add 10.50.0.1/24 dev eth0", va);
    E2E_RUN("ip -n %s addr add 10.50.0.2/24 dev eth0", vb);
    E2E_RUN("ip -n %s link set eth0 up", va);
    E2E_RUN("ip -n %s link set eth0 up", vb);

    /* Host A floods to B by an FDB entry (learning off); host B sends to
     * A as its unicast "group" (learning on). */
    memset(&a, 0, sizeof a);
    a.net.type = NETNS_NET_VXLAN;
    snprintf(a.net.bridge, sizeof a.net.bridge, "brqvx");
    a.net.vni = vni;
    a.net.local_ip = A("192.0.2.1");
    a.remote.ip = A("192.0.2.2");
    a.net.remotes = &a.remote;
    a.net.n_remotes = 1;
    b = a;
    b.net.local_ip = A("192.0.2.2");
    b.net.group = A("192.0.2.1");
    b.net.remotes = NULL;
    b.net.n_remotes = 0;
    assert_int_equal(e2e_in_ns(ha, l2_call_main, &a), 0);
    if (a.error) {
        fail_msg("host A: %s", a.err);
    }
    assert_int_equal(e2e_in_ns(hb, l2_call_main, &b), 0);
    if (b.error) {
        fail_msg("host B: %s", b.err);
    }
    E2E_RUN("ip -n %s link set tapvm master brqvx up", ha);
    E2E_RUN("ip -n %s link set tapvm master brqvx up", hb);

    e2e_run(out, sizeof out, "ip -n %s -d link show %s", ha, vx);
    assert_non_null(strstr(out, "master brqvx"));
    assert_non_null(strstr(out, "local 192.0.2.1"));
    e2e_run(out, sizeof out, "bridge -n %s fdb show dev %s", ha, vx);
    assert_non_null(strstr(out, "00:00:00:00:00:00 dst 192.0.2.2"));

    assert_true(e2e_ping_ok(va, "10.50.0.2"));
    assert_true(e2e_ping_ok(vb, "10.50.0.1"));

    /* Ensuring again changes nothing (same device, same index, same
     * settings; the bridge port timers that follow do tick). */
    e2e_run(before, sizeof before, "ip -n %s -d link show %s", ha, vx);
    assert_int_equal(e2e_in_ns(ha, l2_call_main, &a), 0);
    assert_int_equal(a.error, 0);
    e2e_run(out, sizeof out, "ip -n %s -d link show %s", ha, vx);
    assert_non_null(strstr(before, "bridge_slave"));
    *strstr(before, "bridge_slave") = '\0';
    assert_non_null(strstr(out, "bridge_slave"));
    *strstr(out, "bridge_slave") = '\0';
    assert_string_equal(before, out);

    /* Removal takes the VXLAN device with the bridge. */
    a.remove = true;
    assert_int_equal(e2e_in_ns(ha, l2_call_main, &a), 0);
    assert_int_equal(a.error, 0);
    assert_int_not_equal(e2e_run(NULL, 0, "ip -n %s link show %s", ha, vx), 0);
    assert_int_not_equal(e2e_run(NULL, 0, "ip -n %s link show brqvx", ha), 0);
    assert_true(e2e_ping_fails(va, "10.50.0.2"));

    e2e_run(NULL, 0, "ip netns del %s", va);
    e2e_run(NULL, 0, "ip netns del %s", vb);
    e2e_run(NULL, 0, "ip netns del %s", ha);
    e2e_run(NULL, 0, "ip netns del %s", hb);
}

static int
vxlan_teardown(void **state UNUSED)
{
    const char *sfx[] = { "ha", "hb", "va", "vb" };

    for (size_t i = 0; i < 4; i++) {
        e2e_run(NULL, 0, "ip netns del hx%u%s", pid, sfx[i]);
    }
    return 0;
}

/* ---- VLAN. ---- */

static void
test_vlan(void **state UNUSED)
{
    char phys[NETNS_IFNAME_LEN], peer[NETNS_IFNAME_LEN], vl[NETNS_IFNAME_LEN];
    char err[NETNS_ERR_LEN], out[2048];
    struct netns_network net;
    int error;

    snprintf(phys, sizeof phys, "hxv%ua", pid);
    snprintf(peer, sizeof peer, "hxv%ub", pid);
    E2E_RUN("ip link add %s type veth peer name %s", phys, peer);

    memset(&net, 0, sizeof net);
    net.type = NETNS_NET_VLAN;
    snprintf(net.bridge, sizeof net.bridge, "hxb%uv", pid);
    snprintf(net.physical_interface, sizeof net.physical_interface, "%s",
             phys);
    net.vlan_id = 100;
    netns_vlan_ifname(phys, 100, vl);
    error = netns_bridge_ensure(&net, err, sizeof err);
    if (error == EOPNOTSUPP) {
        assert_non_null(strstr(err, "8021q"));
        /* The bridge made for it is not left behind. */
        assert_int_equal(if_nametoindex(net.bridge), 0);
        e2e_run(NULL, 0, "ip link del %s", phys);
        printf("[  SKIP    ] test_vlan: this kernel cannot create VLAN "
               "devices: %s\n", err);
        fflush(stdout);
        skip();
    }
    if (error) {
        fail_msg("VLAN bridge: %s", err);
    }
    e2e_run(out, sizeof out, "ip -d link show %s", vl);
    assert_non_null(strstr(out, "vlan protocol 802.1Q id 100"));
    assert_non_null(strstr(out, net.bridge));
    assert_int_equal(netns_bridge_remove(net.bridge, false, err, sizeof err),
                     0);
    assert_int_equal(if_nametoindex(vl), 0);
    e2e_run(NULL, 0, "ip link del %s", phys);
}

static int
vlan_teardown(void **state UNUSED)
{
    e2e_run(NULL, 0, "ip link del hxv%ua", pid);
    e2e_run(NULL, 0, "ip link del hxb%uv", pid);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_east_west),
        cmocka_unit_test(test_snat_to_gateway_ip),
        cmocka_unit_test(test_fip_inbound),
        cmocka_unit_test(test_apply_twice_changes_nothing),
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_admin_down),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_extra_routes),
        cmocka_unit_test(test_gateway_removed),
        cmocka_unit_test(test_fip_removed),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test_teardown(test_vxlan, vxlan_teardown),
        cmocka_unit_test_teardown(test_vlan, vlan_teardown),
    };

    return cmocka_run_group_tests_name("netns_router", tests, group_setup,
                                       group_teardown);
}
