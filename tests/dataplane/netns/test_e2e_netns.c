/* tests/dataplane/netns/test_e2e_netns.c: routers of flavor `netns` and the
 * L2 under them, built through the REST API of a real hadron-server and
 * proved with real packets.
 *
 * Topology (names carry this process's pid; the group teardown removes
 * everything, also after a failure):
 *
 *   "outside host" ns hx<pid>o, eth0 203.0.113.1/24
 *        | veth; host end hxp<pid>e = [linux_bridge] physical_interface_
 *        |                            mappings = extnet:hxp<pid>e
 *   brq<ext>  (flat "extnet", router:external, 203.0.113.0/24)
 *        | qg- of the router: gateway IP, FIPs
 *   qrouter-<r1> (flavor netns, SNAT)
 *        | qr- 10.0.1.1          | qr- 10.0.2.1
 *   brq<net1> + vxlan-<vni>    brq<net2> + vxlan-<vni>   (tenant VXLAN)
 *        | tap<vm port>            | tap<vm port>   (contrib/hadron-plug-vif)
 *   VM ns hx<pid>v1              VM ns hx<pid>v2
 *
 * The server runs with [linux_bridge] realize = true, so the tenant
 * bridges exist as soon as the VM ports are bound to its host; the `netns`
 * driver makes the bridges its own interfaces need (the external one).
 * A second router of flavor `noop` sits on the same external network.
 * The tests run in order, each building on the previous one's state.
 *
 * Needs root, iputils ping and the `ip` command (only for the VMs' and the
 * outside host's namespaces and the physical veth, as a host would have
 * them; everything Hadron does goes through the API). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/netns/netns.h"
#include "core/util.h"
#include "tests/dataplane/e2e-lib.h"
#include "tests/lib/apitest.h"

#define UNUSED __attribute__((unused))

enum { N_NETS = 5, N_VMS = 2 };

/* ---- What the tests share ---- */

static unsigned int pid;
static char host[32];               /* [DEFAULT] host of the server */
static char ns_out[32], ns_vm[N_VMS][32];
static char phys[NETNS_IFNAME_LEN];
static char state_dir[128];
static uint16_t udp_port;
static unsigned int vni_base;

static struct apitest_server *main_srv;    /* while test_vlan runs its own */
static char *conf;
static char *ext_net, *ext_subnet;
static char *net[N_NETS], *subnet[N_NETS];
static char *router, *router2;
static char *vm_port[N_VMS];
static char vm_ip[N_VMS][64];
static char *fip, *fip_addr;
static char gw_ip[64];

/* Namespaces a test made itself and must remove. */
static char stale_id[NETNS_ID_LEN], foreign_id[NETNS_ID_LEN];

/* ---- Kernel against database ---- */

static bool
addr_in(const struct netns_addr *a, size_t n, const char *text)
{
    char buf[NETNS_ADDR_STR_LEN];

    for (size_t i = 0; i < n; i++) {
        netns_addr_format(&a[i], false, buf);
        if (!strcmp(buf, text)) {
            return true;
        }
    }
    return false;
}

static const struct netns_port *
find_port(const struct netns_router *k, const char *port_id)
{
    for (size_t i = 0; i < k->n_ports; i++) {
        if (!strncmp(k->ports[i].id, port_id, NETNS_ID_PREFIX_LEN)) {
            return &k->ports[i];
        }
    }
    return NULL;
}

/* Asserts that the kernel holds router 'id' exactly as the API shows it:
 * interfaces (port, MAC, addresses, bridge), gateway (port, addresses),
 * extra routes, SNAT and the associated floating IPs. */
static void
assert_kernel_matches(const char *id)
{
    struct netns_router k;
    char err[NETNS_ERR_LEN], path[200], buf[NETNS_ADDR_STR_LEN];
    size_t n_ifaces = 0, n_fips = 0;

    memset(&k, 0, sizeof k);
    if (netns_router_read(id, &k, err, sizeof err)) {
        fail_msg("reading router %s: %s", id, err);
    }

    snprintf(path, sizeof path, "/v2.0/routers/%s", id);
    struct apitest_resp *r = api_get(e2e_srv, path);
    assert_status(r, 200);
    yajl_val gwi = jpath(r->json, "router/external_gateway_info");
    assert_true(k.admin_up == YAJL_IS_TRUE(jpath(r->json,
                                                 "router/admin_state_up")));
    if (YAJL_IS_OBJECT(gwi)) {
        assert_non_null(k.gw);
        assert_true(k.enable_snat
                    == YAJL_IS_TRUE(jpath(gwi, "enable_snat")));
        size_t n = jlen(gwi, "external_fixed_ips");
        assert_int_equal(k.gw->port.n_ips, n);
        for (size_t i = 0; i < n; i++) {
            char key[64];
            snprintf(key, sizeof key, "external_fixed_ips/%zu/ip_address", i);
            assert_true(addr_in(k.gw->port.ips, k.gw->port.n_ips,
                                jstr(gwi, key)));
        }
    } else {
        assert_null(k.gw);
    }
    size_t n_routes = jlen(r->json, "router/routes");
    assert_int_equal(k.n_routes, n_routes);
    for (size_t i = 0; i < n_routes; i++) {
        char key[64];
        bool found = false;
        snprintf(key, sizeof key, "router/routes/%zu/destination", i);
        const char *dst = jstr(r->json, key);
        snprintf(key, sizeof key, "router/routes/%zu/nexthop", i);
        const char *nh = jstr(r->json, key);
        for (size_t j = 0; j < k.n_routes && !found; j++) {
            char d[NETNS_ADDR_STR_LEN], h[NETNS_ADDR_STR_LEN];
            netns_addr_format(&k.routes[j].destination, true, d);
            netns_addr_format(&k.routes[j].nexthop, false, h);
            found = !strcmp(d, dst) && !strcmp(h, nh);
        }
        if (!found) {
            fail_msg("route %s via %s missing in the kernel", dst, nh);
        }
    }
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s", id);
    r = api_get(e2e_srv, path);
    assert_status(r, 200);
    for (size_t i = 0; i < jlen(r->json, "ports"); i++) {
        char key[64];
        snprintf(key, sizeof key, "ports/%zu", i);
        yajl_val p = jpath(r->json, key);
        const char *owner = jstr(p, "device_owner");
        const char *pid_ = jstr(p, "id");
        if (!strcmp(owner, "network:router_gateway")) {
            assert_non_null(k.gw);
            assert_int_equal(strncmp(k.gw->port.id, pid_,
                                     NETNS_ID_PREFIX_LEN), 0);
            continue;
        }
        if (strcmp(owner, "network:router_interface")) {
            continue;
        }
        n_ifaces++;
        const struct netns_port *kp = find_port(&k, pid_);
        if (!kp) {
            fail_msg("interface %s missing in the kernel", pid_);
        }
        uint8_t mac[6];
        assert_int_equal(netns_mac_parse(jstr(p, "mac_address"), mac), 0);
        assert_memory_equal(kp->mac, mac, 6);
        assert_int_equal(kp->n_ips, jlen(p, "fixed_ips"));
        for (size_t j = 0; j < jlen(p, "fixed_ips"); j++) {
            snprintf(key, sizeof key, "fixed_ips/%zu/ip_address", j);
            assert_true(addr_in(kp->ips, kp->n_ips, jstr(p, key)));
        }
        char bridge[NETNS_IFNAME_LEN];
        netns_bridge_name(jstr(p, "network_id"), bridge);
        assert_string_equal(kp->bridge, bridge);
    }
    assert_int_equal(k.n_ports, n_ifaces);
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/floatingips?router_id=%s", id);
    r = api_get(e2e_srv, path);
    assert_status(r, 200);
    for (size_t i = 0; i < jlen(r->json, "floatingips"); i++) {
        char key[64];
        snprintf(key, sizeof key, "floatingips/%zu", i);
        yajl_val f = jpath(r->json, key);
        const char *fixed = jstr(f, "fixed_ip_address");
        const char *floating = jstr(f, "floating_ip_address");
        if (!fixed) {
            continue;
        }
        n_fips++;
        bool found = false;
        for (size_t j = 0; j < k.n_fips && !found; j++) {
            char fx[NETNS_ADDR_STR_LEN];
            netns_addr_format(&k.fips[j].floating_ip, false, buf);
            netns_addr_format(&k.fips[j].fixed_ip, false, fx);
            found = !strcmp(buf, floating) && !strcmp(fx, fixed);
        }
        if (!found) {
            fail_msg("floating IP %s -> %s missing in the kernel", floating,
                     fixed);
        }
    }
    assert_int_equal(k.n_fips, n_fips);
    apitest_resp_free(r);
    netns_router_clear(&k);
}

/* ---- Setup and teardown ---- */

static char *
server_config(void)
{
    return xasprintf(
        "[DEFAULT]\nhost = %s\n"
        "[ml2]\ntype_drivers = flat,vlan,vxlan,local\n"
        "tenant_network_types = vxlan\nmechanism_drivers = linuxbridge\n"
        "[ml2_type_flat]\nflat_networks = extnet\n"
        "[ml2_type_vlan]\nnetwork_vlan_ranges = extnet:100:199\n"
        "[ml2_type_vxlan]\nvni_ranges = %u:%u\n"
        "[linux_bridge]\nphysical_interface_mappings = extnet:%s\n"
        "realize = true\n"
        "[vxlan]\nenable_vxlan = true\nlocal_ip = 127.0.0.1\n"
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:netns:netns:default\n"
        "service_provider = L3_ROUTER_NAT:noop:noop\n"
        "[journal]\nretry_backoff_initial_ms = 10\nretry_backoff_max = 1\n"
        "poll_interval_ms = 50\nhealth_interval_ms = 200\n",
        host, vni_base, vni_base + 99, phys);
}

/* Removes everything of ours from the kernel (idempotent). */
static void
cleanup_kernel(void)
{
    char err[NETNS_ERR_LEN];
    const char *ids[4];
    size_t n = 0;

    if (router) {
        ids[n++] = router;
    }
    if (router2) {
        ids[n++] = router2;
    }
    if (stale_id[0]) {
        ids[n++] = stale_id;
    }
    if (foreign_id[0]) {
        ids[n++] = foreign_id;
    }
    netns_routers_destroy(ids, n, err, sizeof err);
    for (int i = 0; i < N_VMS; i++) {
        e2e_run(NULL, 0, "ip netns del %s", ns_vm[i]);
    }
    for (int i = 0; i < N_NETS; i++) {
        e2e_remove_bridge_of(net[i]);
    }
    e2e_remove_bridge_of(ext_net);
    e2e_outside_destroy(ns_out, phys);
    e2e_remove_dir(state_dir);
    netns_wait_idle();
}

static int
group_setup(void **state UNUSED)
{
    pid = (unsigned int) getpid();
    snprintf(host, sizeof host, "hx%u", pid);
    snprintf(ns_out, sizeof ns_out, "hx%uo", pid);
    for (int i = 0; i < N_VMS; i++) {
        snprintf(ns_vm[i], sizeof ns_vm[i], "hx%uv%d", pid, i + 1);
    }
    snprintf(phys, sizeof phys, "hxp%ue", pid);
    snprintf(state_dir, sizeof state_dir, "/run/hadron/netns/%s", host);
    udp_port = (uint16_t) (20000 + pid % 20000);
    vni_base = 1000 + (pid % 1000000) * 100;

    if (geteuid() != 0) {
        fprintf(stderr, "test_e2e_netns: needs root\n");
        return -1;
    }
    if (e2e_run(NULL, 0, "ping -V") != 0) {
        fprintf(stderr, "test_e2e_netns: needs ping (iputils-ping)\n");
        return -1;
    }

    /* The outside host, behind the "physical" interface of extnet. */
    if (e2e_outside_create(ns_out, phys, "203.0.113.1/24")) {
        fprintf(stderr, "test_e2e_netns: cannot make the outside host\n");
        cleanup_kernel();
        return -1;
    }
    conf = server_config();
    e2e_srv = apitest_server_start(conf);
    return 0;
}

static int
group_teardown(void **state UNUSED)
{
    int rc = 0;

    if (main_srv) {
        /* test_vlan failed with its own server up. */
        apitest_server_stop(e2e_srv);
        e2e_srv = main_srv;
        main_srv = NULL;
    }
    if (e2e_srv) {
        rc = apitest_server_stop(e2e_srv) ? -1 : 0;
        e2e_srv = NULL;
    }
    cleanup_kernel();
    if (router && e2e_router_ns_exists(router)) {
        fprintf(stderr, "left behind: namespace of %s\n", router);
        rc = -1;
    }
    if (e2e_link_exists(phys) || e2e_ns_exists(ns_out)) {
        fprintf(stderr, "left behind: %s or %s\n", phys, ns_out);
        rc = -1;
    }
    free(conf);
    free(ext_net);
    free(ext_subnet);
    for (int i = 0; i < N_NETS; i++) {
        free(net[i]);
        free(subnet[i]);
    }
    for (int i = 0; i < N_VMS; i++) {
        free(vm_port[i]);
    }
    free(router);
    free(router2);
    free(fip);
    free(fip_addr);
    return rc;
}

/* ---- The tests ---- */

/* Builds everything through the API and proves east-west forwarding:
 * VM1 pings VM2 across the router. */
static void
test_build_and_east_west(void **state UNUSED)
{
    ext_net = e2e_make_net("admin", "\"router:external\": true, "
                           "\"provider:network_type\": \"flat\", "
                           "\"provider:physical_network\": \"extnet\"");
    ext_subnet = e2e_make_subnet("admin", ext_net, "203.0.113.0/24",
                                 "\"gateway_ip\": \"203.0.113.1\", "
                                 "\"allocation_pools\": [{\"start\": "
                                 "\"203.0.113.10\", \"end\": "
                                 "\"203.0.113.99\"}]");
    for (int i = 0; i < 2; i++) {
        char cidr[32];
        snprintf(cidr, sizeof cidr, "10.0.%d.0/24", i + 1);
        net[i] = e2e_make_net("p1", NULL);
        subnet[i] = e2e_make_subnet("p1", net[i], cidr, NULL);
    }

    router = e2e_expect(201, "router/id", "POST", "/v2.0/routers", "p1",
                        "{\"router\": {\"name\": \"r1\", "
                        "\"external_gateway_info\": {\"network_id\": "
                        "\"%s\"}}}", ext_net);
    free(e2e_add_interface("p1", router, subnet[0]));
    free(e2e_add_interface("p1", router, subnet[1]));

    /* VMs: ports bound to this host, realized by linuxbridge, plugged by
     * the contrib tool. */
    for (int i = 0; i < N_VMS; i++) {
        char bridge[NETNS_IFNAME_LEN];
        vm_port[i] = e2e_make_vm_port("p1", net[i], host, vm_ip[i]);
        netns_bridge_name(net[i], bridge);
        assert_true(e2e_link_exists(bridge));
        e2e_plug_vm(PLUG_VIF_BIN, ns_vm[i], vm_port[i]);
    }

    e2e_wait_idle();
    e2e_wait_status("routers", "router", router, "ACTIVE");
    assert_true(e2e_router_ns_exists(router));
    assert_kernel_matches(router);

    str_copy(gw_ip, e2e_router_gateway_ip(router), sizeof gw_ip);

    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
    assert_true(e2e_ping_ok(ns_vm[1], vm_ip[0]));

    /* The first start's full sync is no lost state. */
    char *log = apitest_read_log(e2e_srv);
    bool warned = strstr(log, "lost its state");
    bool synced = strstr(log, "provider netns: full sync of");
    free(log);
    assert_false(warned);
    assert_true(synced);
}

/* A VM reaches the outside host, which sees the router's gateway IP. */
static void
test_snat(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN];

    assert_true(gw_ip[0]);
    assert_true(e2e_ping_ok(ns_vm[0], "203.0.113.1"));
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, gw_ip);
}

/* The outside host reaches VM1 by its floating IP; VM1 sees the outside
 * host's own address; VM1's own traffic now leaves as the FIP. */
static void
test_fip_inbound(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN];
    struct apitest_resp *r;

    r = e2e_call("POST", "/v2.0/floatingips", "p1",
                 "{\"floatingip\": {\"floating_network_id\": \"%s\", "
                 "\"port_id\": \"%s\"}}", ext_net, vm_port[0]);
    assert_status(r, 201);
    fip = xstrdup(jstr(r->json, "floatingip/id"));
    fip_addr = xstrdup(jstr(r->json, "floatingip/floating_ip_address"));
    apitest_resp_free(r);
    e2e_wait_idle();
    e2e_wait_status("floatingips", "floatingip", fip, "ACTIVE");
    assert_kernel_matches(router);

    assert_true(e2e_ping_ok(ns_out, fip_addr));
    assert_true(e2e_udp_probe(ns_out, ns_vm[0], fip_addr, udp_port, src));
    assert_string_equal(src, "203.0.113.1");
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, fip_addr);
}

/* Reads router 'id' back and says whether the gateway holds 'ip' and
 * 'n_fips' floating IPs are in its NAT table. */
static bool
kernel_has(const char *id, const char *ip, size_t n_fips)
{
    struct netns_router k;
    char err[NETNS_ERR_LEN];
    bool ok;

    memset(&k, 0, sizeof k);
    if (netns_router_read(id, &k, err, sizeof err)) {
        return false;
    }
    ok = k.gw && addr_in(k.gw->port.ips, k.gw->port.n_ips, ip)
         && k.n_fips == n_fips;
    netns_router_clear(&k);
    return ok;
}

/* kernel_has() that waits for it (10 s at most). */
static bool
kernel_repaired(const char *id, const char *ip, size_t n_fips)
{
    for (int i = 0; i < 500; i++) {
        if (kernel_has(id, ip, n_fips)) {
            return true;
        }
        e2e_sleep_ms(20);
    }
    return false;
}

/* Changes made in the kernel behind the driver's back (the NAT table
 * flushed, the gateway's address removed by hand) are found by the
 * driver's health check and repaired without a restart or an API call. */
static void
test_drift(void **state UNUSED)
{
    char ns[NETNS_NSNAME_LEN], qg[NETNS_IFNAME_LEN], err[NETNS_ERR_LEN];
    struct netns_router k;

    assert_non_null(fip_addr);
    netns_router_ns_name(router, ns);
    memset(&k, 0, sizeof k);
    assert_int_equal(netns_router_read(router, &k, err, sizeof err), 0);
    assert_non_null(k.gw);
    netns_port_ifname("qg-", k.gw->port.id, qg);
    netns_router_clear(&k);
    assert_true(kernel_has(router, gw_ip, 1));

    /* Give the health check time to read the applied state first. */
    e2e_sleep_ms(600);
    E2E_RUN("ip netns exec %s nft flush table ip hadron", ns);
    assert_true(kernel_repaired(router, gw_ip, 1));
    assert_true(e2e_ping_ok(ns_out, fip_addr));

    e2e_sleep_ms(600);
    E2E_RUN("ip -n %s addr del %s/24 dev %s", ns, gw_ip, qg);
    assert_true(kernel_repaired(router, gw_ip, 1));
    e2e_wait_idle();
    assert_kernel_matches(router);
    assert_true(e2e_ping_ok(ns_vm[1], "203.0.113.1"));

    char *log = apitest_read_log(e2e_srv);
    bool logged = strstr(log, "changed behind the driver's back");
    free(log);
    assert_true(logged);
}

/* After disassociation the FIP is unreachable, and VM1 is back to SNAT. */
static void
test_fip_disassociate(void **state UNUSED)
{
    char path[200], src[INET_ADDRSTRLEN];

    assert_non_null(fip);
    snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"floatingip\": {\"port_id\": null}}"));
    e2e_wait_idle();
    assert_kernel_matches(router);
    assert_true(e2e_ping_fails(ns_out, fip_addr));
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, gw_ip);
}

/* admin_state_up = false takes the router's interfaces down (no
 * forwarding); true brings them back. */
static void
test_admin_down(void **state UNUSED)
{
    char path[200];

    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"admin_state_up\": false}}"));
    e2e_wait_idle();
    assert_kernel_matches(router);
    assert_true(e2e_ping_fails(ns_vm[0], vm_ip[1]));
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"admin_state_up\": true}}"));
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router, "ACTIVE");
    assert_kernel_matches(router);
    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
}

/* Asserts that driver 'driver' has at least 'min' journal entries, all of
 * router 'router_id'. */
static void
assert_journal_of(const char *driver, const char *router_id, size_t min)
{
    char path[128];

    snprintf(path, sizeof path, "/v2.0/journal_entries?driver=%s", driver);
    struct apitest_resp *r = api_get(e2e_srv, path);
    assert_status(r, 200);
    assert_true(jlen(r->json, "journal_entries") >= min);
    for (size_t i = 0; i < jlen(r->json, "journal_entries"); i++) {
        char key[64];
        snprintf(key, sizeof key, "journal_entries/%zu/router_id", i);
        assert_string_equal(jstr(r->json, key), router_id);
    }
    apitest_resp_free(r);
}

/* A router of flavor noop beside it on the same external network: each
 * driver gets only its own operations. */
static void
test_mixed_backend(void **state UNUSED)
{
    char *flavor = e2e_make_flavor("bookkeeping", "noop");

    net[2] = e2e_make_net("p1", NULL);
    subnet[2] = e2e_make_subnet("p1", net[2], "10.0.3.0/24", NULL);
    router2 = e2e_expect(201, "router/id", "POST", "/v2.0/routers", "p1",
                         "{\"router\": {\"name\": \"r2\", \"flavor_id\": "
                         "\"%s\", \"external_gateway_info\": "
                         "{\"network_id\": \"%s\"}}}", flavor, ext_net);
    char *iface = e2e_add_interface("p1", router2, subnet[2]);
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router2, "ACTIVE");

    /* noop realized nothing in the kernel; netns's router is intact. */
    assert_false(e2e_router_ns_exists(router2));
    char bridge[NETNS_IFNAME_LEN];
    netns_bridge_name(net[2], bridge);
    assert_false(e2e_link_exists(bridge));
    assert_kernel_matches(router);

    /* The journal: each driver's entries are of its own router only. */
    assert_journal_of("noop", router2, 2);
    assert_journal_of("netns", router, 4);

    /* noop's log lines name r2's router and interface, never r1's. */
    char *log = apitest_read_log(e2e_srv);
    char want[200];
    snprintf(want, sizeof want, "router create %s", router2);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof want, "router_interface create %s", iface);
    assert_non_null(strstr(log, want));
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, " noop: ") && strstr(line, router)) {
            fail_msg("noop saw router %s: %s", router, line);
        }
    }
    free(log);
    free(iface);
    free(flavor);
}

/* kill -9 of the server in the middle of a batch of changes, kernel state
 * lost and strays left while it is down; after a restart on the same
 * database the kernel matches the database again, and packets flow. */
static void
test_kill9_restart(void **state UNUSED)
{
    char path[200], err[NETNS_ERR_LEN], src[INET_ADDRSTRLEN];

    /* The batch. */
    for (int i = 3; i < N_NETS; i++) {
        char cidr[32];
        snprintf(cidr, sizeof cidr, "10.0.%d.0/24", i + 1);
        net[i] = e2e_make_net("p1", NULL);
        subnet[i] = e2e_make_subnet("p1", net[i], cidr, NULL);
        free(e2e_add_interface("p1", router, subnet[i]));
    }
    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"routes\": [{\"destination\": "
                    "\"10.99.0.0/16\", \"nexthop\": \"10.0.2.50\"}]}}"));
    snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"floatingip\": {\"port_id\": \"%s\"}}", vm_port[1]));
    e2e_remove_interface("p1", router, subnet[4]);
    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"routes\": [{\"destination\": "
                    "\"10.98.0.0/16\", \"nexthop\": \"10.0.1.50\"}, "
                    "{\"destination\": \"10.97.0.0/16\", \"nexthop\": "
                    "\"10.0.4.50\"}]}}"));
    struct apitest_resp *r = api_get(e2e_srv, "/v2.0/journal_entries?"
                                     "state=pending&state=processing");
    size_t in_flight = jlen(r->json, "journal_entries");
    apitest_resp_free(r);

    assert_int_equal(kill(e2e_srv->pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(e2e_srv->pid, &status, 0), e2e_srv->pid);
    e2e_srv->pid = 0;
    print_message("killed with %zu entries pending or processing\n",
                  in_flight);
    char *url = xstrdup(e2e_srv->db_url);
    e2e_srv->keep_db = true;
    apitest_server_stop(e2e_srv);
    e2e_srv = NULL;

    /* While it is down: the router's namespace is lost (a reboot), a
     * stray of ours (marked) and someone else's namespace appear. */
    assert_int_equal(netns_router_destroy(router, err, sizeof err), 0);
    snprintf(stale_id, sizeof stale_id, "%08x-5a1e-4000-8000-000000000001",
             pid);
    snprintf(foreign_id, sizeof foreign_id,
             "%08x-f0e1-4000-8000-000000000002", pid);
    struct netns_router stray = { .admin_up = true };
    str_copy(stray.id, stale_id, sizeof stray.id);
    assert_int_equal(netns_router_apply(&stray, err, sizeof err), 0);
    str_copy(stray.id, foreign_id, sizeof stray.id);
    assert_int_equal(netns_router_apply(&stray, err, sizeof err), 0);
    char mark[300];
    snprintf(mark, sizeof mark, "%s/%s", state_dir, stale_id);
    int fd = open(mark, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);

    char *output = NULL;
    e2e_srv = apitest_server_try_start(url, conf, &status, &output);
    if (!e2e_srv) {
        fail_msg("restart failed: %s", output);
    }
    free(url);
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router, "ACTIVE");
    e2e_wait_status("floatingips", "floatingip", fip, "ACTIVE");

    /* Repaired both ways. */
    assert_true(e2e_router_ns_exists(router));
    assert_kernel_matches(router);
    assert_false(e2e_router_ns_exists(stale_id));
    assert_true(access(mark, F_OK) != 0);
    assert_true(e2e_router_ns_exists(foreign_id));
    assert_int_equal(netns_router_destroy(foreign_id, err, sizeof err), 0);
    foreign_id[0] = '\0';
    stale_id[0] = '\0';

    /* And packets flow again: east-west, and the FIP now on VM2. */
    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
    assert_true(e2e_udp_probe(ns_out, ns_vm[1], fip_addr, udp_port, src));
    assert_string_equal(src, "203.0.113.1");
    free(output);
}

/* Deleting the router takes its namespace, interfaces and rules; the last
 * VM port of a network bound here takes the network's bridge. */
static void
test_router_delete(void **state UNUSED)
{
    char path[200], ifname[NETNS_IFNAME_LEN], mark[300];
    char *ports[8];
    size_t n_ports = 0;

    /* Its ports, to check their tap ends go. */
    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s", router);
    struct apitest_resp *r = api_get(e2e_srv, path);
    for (size_t i = 0; i < jlen(r->json, "ports") && n_ports < 8; i++) {
        char key[64];
        snprintf(key, sizeof key, "ports/%zu/id", i);
        ports[n_ports++] = xstrdup(jstr(r->json, key));
    }
    apitest_resp_free(r);
    assert_true(n_ports >= 3);

    snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"routes\": []}}"));
    /* A network that only ever had router interfaces: its bridge goes
     * with the interface (net[4]'s went in test_kill9_restart). */
    char bridge3[NETNS_IFNAME_LEN], bridge4[NETNS_IFNAME_LEN];
    char ext_bridge[NETNS_IFNAME_LEN];
    netns_bridge_name(net[3], bridge3);
    netns_bridge_name(net[4], bridge4);
    netns_bridge_name(ext_net, ext_bridge);
    assert_true(e2e_link_exists(bridge3));
    assert_true(e2e_link_gone(bridge4));
    assert_true(e2e_link_exists(ext_bridge));
    e2e_remove_interface("p1", router, subnet[3]);
    e2e_wait_idle();
    assert_true(e2e_link_gone(bridge3));
    e2e_remove_interface("p1", router, subnet[0]);
    e2e_remove_interface("p1", router, subnet[1]);
    /* The external network's bridge goes with the gateway (the noop
     * router's gateway has nothing in the kernel). */
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"external_gateway_info\": null}}"));
    e2e_wait_idle();
    assert_true(e2e_link_gone(ext_bridge));
    assert_true(e2e_link_exists(phys));
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    e2e_wait_idle();

    assert_false(e2e_router_ns_exists(router));
    for (size_t i = 0; i < n_ports; i++) {
        netns_port_ifname("tap", ports[i], ifname);
        assert_false(e2e_link_exists(ifname));
        free(ports[i]);
    }
    snprintf(mark, sizeof mark, "%s/%s", state_dir, router);
    assert_true(access(mark, F_OK) != 0);

    /* The VMs go: unplugged, their ports deleted; the tenant bridges and
     * their VXLAN devices follow the last port bound here. */
    for (int i = 0; i < N_VMS; i++) {
        char bridge[NETNS_IFNAME_LEN];
        e2e_unplug_vm(PLUG_VIF_BIN, vm_port[i]);
        netns_bridge_name(net[i], bridge);
        assert_true(e2e_link_exists(bridge));
        snprintf(path, sizeof path, "/v2.0/ports/%s", vm_port[i]);
        free(e2e_expect(204, NULL, "DELETE", path, NULL, NULL));
        assert_false(e2e_link_exists(bridge));
    }
    /* No bridge of the test's networks is left. */
    for (int i = 0; i < N_NETS; i++) {
        char bridge[NETNS_IFNAME_LEN];
        netns_bridge_name(net[i], bridge);
        assert_true(e2e_link_gone(bridge));
    }
    assert_true(e2e_link_gone(ext_bridge));
    char vx[NETNS_IFNAME_LEN];
    r = api_get(e2e_srv, "/v2.0/networks?provider:network_type=vxlan");
    for (size_t i = 0; i < jlen(r->json, "networks"); i++) {
        char key[80];
        snprintf(key, sizeof key, "networks/%zu/provider:segmentation_id", i);
        long long vni = jint(r->json, key);
        snprintf(key, sizeof key, "networks/%zu/id", i);
        if (vni > 0 && (!strcmp(jstr(r->json, key), net[0])
                        || !strcmp(jstr(r->json, key), net[1]))) {
            netns_vxlan_ifname((uint32_t) vni, vx);
            assert_false(e2e_link_exists(vx));
        }
    }
    apitest_resp_free(r);
}

/* VLAN realization: this kernel has no 8021q, so binding a port of a VLAN
 * network here fails clearly, and the test reports itself skipped. */
static void
test_vlan(void **state UNUSED)
{
    char vhost[32], *vconf;

    /* A server of its own, on another host name and without netns (its
     * port create fails with a 500, which logs an ERR line). */
    snprintf(vhost, sizeof vhost, "hx%uvlan", pid);
    vconf = xasprintf(
        "[DEFAULT]\nhost = %s\n"
        "[ml2]\ntype_drivers = flat,vlan,vxlan,local\n"
        "tenant_network_types = vxlan\nmechanism_drivers = linuxbridge\n"
        "[ml2_type_vlan]\nnetwork_vlan_ranges = extnet:100:199\n"
        "[linux_bridge]\nphysical_interface_mappings = extnet:%s\n"
        "realize = true\n", vhost, phys);
    main_srv = e2e_srv;
    e2e_srv = apitest_server_start(vconf);
    e2e_srv->allow_errors = true;
    char *vnet = e2e_make_net("admin", "\"provider:network_type\": \"vlan\", "
                              "\"provider:physical_network\": \"extnet\", "
                              "\"provider:segmentation_id\": 150");
    free(e2e_make_subnet("admin", vnet, "10.150.0.0/24", NULL));
    struct apitest_resp *r = e2e_call("POST", "/v2.0/ports", NULL,
                                      "{\"port\": {\"network_id\": \"%s\", "
                                      "\"project_id\": \"admin\", "
                                      "\"binding:host_id\": \"%s\"}}", vnet,
                                      vhost);
    char bridge[NETNS_IFNAME_LEN], vlan_if[NETNS_IFNAME_LEN];
    netns_bridge_name(vnet, bridge);
    netns_vlan_ifname(phys, 150, vlan_if);
    bool supported = r->status == 201;
    if (supported) {
        /* A kernel with 8021q: the bridge holds the VLAN device. */
        assert_true(e2e_link_exists(bridge));
        assert_true(e2e_link_exists(vlan_if));
        char path[200];
        snprintf(path, sizeof path, "/v2.0/ports/%s",
                 jstr(r->json, "port/id"));
        free(e2e_expect(204, NULL, "DELETE", path, NULL, NULL));
        assert_false(e2e_link_exists(bridge));
    } else {
        assert_error_text(r, 500, NULL, "8021q");
        assert_false(e2e_link_exists(vlan_if));
        /* The port was not kept. */
        struct apitest_resp *l = api_get(e2e_srv, "/v2.0/ports");
        assert_int_equal(jlen(l->json, "ports"), 0);
        apitest_resp_free(l);
    }
    apitest_resp_free(r);
    char err[NETNS_ERR_LEN];
    netns_bridge_remove(bridge, true, err, sizeof err);
    apitest_server_stop(e2e_srv);
    e2e_srv = main_srv;
    main_srv = NULL;
    free(vnet);
    free(vconf);
    if (!supported) {
        print_message("VLAN realization skipped: this kernel has no 8021q "
                      "VLAN devices\n");
        skip();
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_east_west),
        cmocka_unit_test(test_snat),
        cmocka_unit_test(test_fip_inbound),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_fip_disassociate),
        cmocka_unit_test(test_admin_down),
        cmocka_unit_test(test_mixed_backend),
        cmocka_unit_test(test_kill9_restart),
        cmocka_unit_test(test_router_delete),
        cmocka_unit_test(test_vlan),
    };

    return cmocka_run_group_tests_name("e2e_netns", tests, group_setup,
                                       group_teardown);
}
