/* tests/dataplane/dpdk/test_e2e_dpdk.c: routers of flavor `dpdk` built
 * through the REST API of a real hadron-server and realized by a real
 * hadron-dpdk process, proved with real packets; then a `netns` router
 * beside it on the same external network.
 *
 * Topology (names carry this process's pid; the group teardown removes
 * everything, also after a failure):
 *
 *   "outside host" ns hd<pid>o, eth0 203.0.113.1/24
 *        | veth; host end hdp<pid>e = [linux_bridge] physical_interface_
 *        |                            mappings = extnet:hdp<pid>e
 *   brq<ext>  (flat "extnet", router:external, 203.0.113.0/24)
 *        | TAP tap<hash> (hadron-dpdk)         | qg- (netns router r2)
 *   r1: a VRF in hadron-dpdk (flavor dpdk,   qrouter-<r2> (flavor "kernel"
 *       default, SNAT)                         = driver netns, SNAT)
 *        | TAP 10.0.1.1    | TAP 10.0.2.1        | qr- 10.0.3.1
 *   brq<net1>+vxlan  brq<net2>+vxlan          brq<net3>+vxlan
 *        | tap<vm port> (contrib/hadron-plug-vif)
 *   VM ns hd<pid>v1  VM ns hd<pid>v2          VM ns hd<pid>v3
 *
 * hadron-dpdk runs in this (the host's) namespace, as the server does:
 * its TAP ports appear here and it attaches them to the networks' bridges.
 * The server runs with [linux_bridge] realize = true, so the tenant
 * bridges exist as soon as the VM ports are bound to its host; the flavor
 * drivers make the external bridge from the router documents' segments.
 * The tests run in order, each building on the previous one's state:
 * east-west, SNAT, a floating IP both ways, its disassociation, admin
 * down, a restart of hadron-dpdk (the driver resyncs it), kill -9 of the
 * server with entries pending and a stale router planted in the dataplane
 * (sync_all at start repairs both ways), the mixed netns + dpdk test, and
 * deletion of everything.
 *
 * Needs root, iputils ping and the `ip` command (only for the VMs' and the
 * outside host's namespaces and the physical veth, as a host would have
 * them; everything Hadron does goes through the API; the dataplane's own
 * dump is read to compare it with the API). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "backends/netns/netns.h"
#include "core/util.h"
#include "tests/dataplane/e2e-lib.h"
#include "tests/lib/apitest.h"

#define UNUSED __attribute__((unused))

extern char **environ;

enum { N_NETS = 4, N_VMS = 3 };

/* ---- What the tests share ---- */

static unsigned int pid;
static char host[32];
static char ns_out[32], ns_vm[N_VMS][32];
static char phys[NETNS_IFNAME_LEN];
static char dp_sock[64], dp_log[64], dp_prefix[32];
static uint16_t udp_port;
static unsigned int vni_base;
static pid_t dp_pid;

static char *conf;
static char *ext_net, *ext_subnet;
static char *net[N_NETS], *subnet[N_NETS];
static char *router, *router2;     /* dpdk, netns */
static char *kernel_flavor;
static char *vm_port[N_VMS];
static char vm_ip[N_VMS][64];
static char *fip, *fip_addr;
static char gw_ip[64], gw_ip2[64];

/* ---- hadron-dpdk ---- */

/* Member 'key' of JSON object 'obj', or NULL. */
static yajl_val
member(yajl_val obj, const char *key)
{
    for (size_t i = 0; YAJL_IS_OBJECT(obj) && key
                       && i < obj->u.object.len; i++) {
        if (!strcmp(obj->u.object.keys[i], key)) {
            return obj->u.object.values[i];
        }
    }
    return NULL;
}

static void
dp_start(void)
{
    /* HADRON_E2E_DPDK_WORKERS=N runs it with N worker lcores. */
    const char *env = getenv("HADRON_E2E_DPDK_WORKERS");
    unsigned int workers = env ? (unsigned int) atoi(env) : 1;
    char n[16], lcores[16];
    workers = workers ? workers : 1;
    snprintf(n, sizeof n, "%u", workers);
    snprintf(lcores, sizeof lcores, "0-%u", workers - 1);
    char *argv[] = {
        HADRON_DPDK_BIN, "--socket", dp_sock, "--log", dp_log, "--workers",
        n, "--", "-l", lcores, "--no-huge", "-m", "256", "--no-pci",
        "--file-prefix", dp_prefix, "--log-level=crit", NULL,
    };
    struct stat st;

    unlink(dp_sock);
    assert_int_equal(posix_spawn(&dp_pid, argv[0], NULL, NULL, argv,
                                 environ), 0);
    for (int i = 0; i < 200 && stat(dp_sock, &st); i++) {
        e2e_sleep_ms(50);
    }
    assert_int_equal(stat(dp_sock, &st), 0);
}

/* Stops hadron-dpdk with 'sig'; returns its wait status. */
static int
dp_stop(int sig)
{
    int status = 0;

    if (dp_pid > 0) {
        kill(dp_pid, sig);
        waitpid(dp_pid, &status, 0);
        dp_pid = 0;
    }
    return status;
}

/* Sends one control request and returns the parsed reply (caller frees),
 * failing the test unless it is "ok". */
static yajl_val
dp_call(const char *req)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char buf[1 << 16];
    size_t len = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    str_copy(sa.sun_path, dp_sock, sizeof sa.sun_path);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t) strlen(req));
    assert_int_equal(write(fd, "\n", 1), 1);
    while (len + 1 < sizeof buf && (len == 0 || buf[len - 1] != '\n')) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&pfd, 1, 5000), 1);
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        assert_true(n > 0);
        len += (size_t) n;
    }
    buf[len] = '\0';
    close(fd);
    yajl_val reply = yajl_tree_parse(buf, NULL, 0);
    assert_non_null(reply);
    if (!YAJL_IS_TRUE(jpath(reply, "ok"))) {
        fail_msg("%s -> %s", req, buf);
    }
    return reply;
}

/* The dataplane's router 'id' (a "dump" reply and its member), or NULL
 * in '*router_obj' when it holds no such router. */
static yajl_val
dp_dump(const char *id, yajl_val *router_obj)
{
    char req[128];

    snprintf(req, sizeof req, "{\"op\":\"dump\",\"router\":\"%s\"}", id);
    yajl_val reply = dp_call(req);
    *router_obj = member(jpath(reply, "routers"), id);
    return reply;
}

static size_t
dp_router_count(void)
{
    yajl_val reply = dp_call("{\"op\":\"dump\"}");
    yajl_val routers = jpath(reply, "routers");
    size_t n = YAJL_IS_OBJECT(routers) ? routers->u.object.len : 0;
    yajl_tree_free(reply);
    return n;
}

/* The kernel interface of dataplane port 'port' of router 'obj'. */
static bool
dp_port_iface(yajl_val obj, const char *port, char ifname[16])
{
    yajl_val ports = jpath(obj, "ports");
    for (size_t i = 0; YAJL_IS_OBJECT(ports) && i < ports->u.object.len;
         i++) {
        if (!strcmp(ports->u.object.keys[i], port)) {
            const char *dev = jstr(ports->u.object.values[i], "device");
            const char *iface = dev ? strstr(dev, "iface=") : NULL;
            if (iface) {
                snprintf(ifname, 16, "%.15s", iface + 6);
                return true;
            }
        }
    }
    return false;
}

/* Asserts that hadron-dpdk holds router 'id' exactly as the API shows it:
 * ports (gateway and interfaces: MAC, address, bridge), routes (the
 * default via the external subnet's gateway and the extra routes), SNAT
 * and the associated floating IPs. */
static void
assert_dataplane_matches(const char *id)
{
    char path[200], key[96];
    yajl_val obj;
    yajl_val dump = dp_dump(id, &obj);

    if (!obj) {
        fail_msg("router %s is not in the dataplane", id);
    }
    snprintf(path, sizeof path, "/v2.0/routers/%s", id);
    struct apitest_resp *r = api_get(e2e_srv, path);
    assert_status(r, 200);
    bool up = YAJL_IS_TRUE(jpath(r->json, "router/admin_state_up"));
    yajl_val gwi = jpath(r->json, "router/external_gateway_info");
    size_t n_ports = 0, n_routes = 0, n_fips = 0;

    if (up && YAJL_IS_OBJECT(gwi)) {
        const char *ip = jstr(gwi, "external_fixed_ips/0/ip_address");
        const char *snat = jstr(obj, "snat");
        if (YAJL_IS_TRUE(jpath(gwi, "enable_snat"))) {
            assert_non_null(snat);
            assert_string_equal(snat, ip);
        } else {
            assert_null(snat);
        }
        n_routes++;             /* the default route */
        bool found = false;
        yajl_val routes = jpath(obj, "routes");
        for (size_t i = 0; i < jlen(obj, "routes"); i++) {
            yajl_val rt = routes->u.array.values[i];
            found |= !strcmp(jstr(rt, "destination"), "0.0.0.0/0")
                     && !strcmp(jstr(rt, "nexthop"), "203.0.113.1");
        }
        assert_true(found);
    } else {
        assert_null(jstr(obj, "snat"));
    }
    if (up) {
        yajl_val routes = jpath(r->json, "router/routes");
        for (size_t i = 0; i < jlen(r->json, "router/routes"); i++) {
            yajl_val want = routes->u.array.values[i];
            bool found = false;
            yajl_val have = jpath(obj, "routes");
            for (size_t k = 0; k < jlen(obj, "routes"); k++) {
                yajl_val rt = have->u.array.values[k];
                found |= !strcmp(jstr(rt, "destination"),
                                 jstr(want, "destination"))
                         && !strcmp(jstr(rt, "nexthop"),
                                    jstr(want, "nexthop"));
            }
            if (!found) {
                fail_msg("route %s via %s missing in the dataplane",
                         jstr(want, "destination"), jstr(want, "nexthop"));
            }
            n_routes++;
        }
    }
    assert_int_equal(jlen(obj, "routes"), n_routes);
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s", id);
    r = api_get(e2e_srv, path);
    assert_status(r, 200);
    for (size_t i = 0; up && i < jlen(r->json, "ports"); i++) {
        snprintf(key, sizeof key, "ports/%zu", i);
        yajl_val p = jpath(r->json, key);
        const char *owner = jstr(p, "device_owner");
        if (strcmp(owner, "network:router_gateway")
            && strcmp(owner, "network:router_interface")) {
            continue;
        }
        n_ports++;
        yajl_val dpp = member(jpath(obj, "ports"), jstr(p, "id"));
        if (!dpp) {
            fail_msg("port %s (%s) missing in the dataplane", jstr(p, "id"),
                     owner);
        }
        assert_int_equal(strcasecmp(jstr(dpp, "mac"),
                                    jstr(p, "mac_address")), 0);
        char want_ip[64];
        snprintf(want_ip, sizeof want_ip, "%s/", jstr(p,
                 "fixed_ips/0/ip_address"));
        assert_int_equal(strncmp(jstr(dpp, "ip"), want_ip, strlen(want_ip)),
                         0);
        assert_true(YAJL_IS_TRUE(jpath(dpp, "external"))
                    == !strcmp(owner, "network:router_gateway"));
        char bridge[NETNS_IFNAME_LEN];
        netns_bridge_name(jstr(p, "network_id"), bridge);
        assert_string_equal(jstr(dpp, "bridge"), bridge);
        /* And the kernel agrees: the TAP is a port of that bridge. */
        char ifname[16], out[512], want[64];
        assert_true(dp_port_iface(obj, jstr(p, "id"), ifname));
        e2e_run(out, sizeof out, "ip -o link show %s", ifname);
        snprintf(want, sizeof want, "master %s ", bridge);
        if (!strstr(out, want)) {
            fail_msg("%s is not in %s: %s", ifname, bridge, out);
        }
    }
    yajl_val dp_ports = jpath(obj, "ports");
    assert_int_equal(YAJL_IS_OBJECT(dp_ports) ? dp_ports->u.object.len : 0,
                     n_ports);
    apitest_resp_free(r);

    snprintf(path, sizeof path, "/v2.0/floatingips?router_id=%s", id);
    r = api_get(e2e_srv, path);
    assert_status(r, 200);
    for (size_t i = 0; up && i < jlen(r->json, "floatingips"); i++) {
        snprintf(key, sizeof key, "floatingips/%zu", i);
        yajl_val f = jpath(r->json, key);
        const char *fixed = jstr(f, "fixed_ip_address");
        const char *floating = jstr(f, "floating_ip_address");
        if (!fixed) {
            continue;
        }
        n_fips++;
        bool found = false;
        yajl_val fips = jpath(obj, "fips");
        for (size_t k = 0; k < jlen(obj, "fips"); k++) {
            yajl_val x = fips->u.array.values[k];
            found |= !strcmp(jstr(x, "floating_ip"), floating)
                     && !strcmp(jstr(x, "fixed_ip"), fixed);
        }
        if (!found) {
            fail_msg("floating IP %s -> %s missing in the dataplane",
                     floating, fixed);
        }
    }
    assert_int_equal(jlen(obj, "fips"), n_fips);
    apitest_resp_free(r);
    yajl_tree_free(dump);
}

/* Waits (10 s at most) until the dataplane holds router 'id' with
 * 'n_ports' ports. */
static void
wait_dataplane_ports(const char *id, size_t n_ports)
{
    size_t have = 0;

    for (int i = 0; i < 1000; i++) {
        yajl_val obj;
        yajl_val dump = dp_dump(id, &obj);
        yajl_val ports = obj ? jpath(obj, "ports") : NULL;
        have = YAJL_IS_OBJECT(ports) ? ports->u.object.len : 0;
        yajl_tree_free(dump);
        if (have == n_ports) {
            return;
        }
        e2e_sleep_ms(10);
    }
    fail_msg("router %s has %zu ports in the dataplane, not %zu", id, have,
             n_ports);
}

/* ---- Setup and teardown ---- */

static char *
server_config(void)
{
    return xasprintf(
        "[DEFAULT]\nhost = %s\n"
        "[ml2]\ntype_drivers = flat,vxlan,local\n"
        "tenant_network_types = vxlan\nmechanism_drivers = linuxbridge\n"
        "[ml2_type_flat]\nflat_networks = extnet\n"
        "[ml2_type_vxlan]\nvni_ranges = %u:%u\n"
        "[linux_bridge]\nphysical_interface_mappings = extnet:%s\n"
        "realize = true\n"
        "[vxlan]\nenable_vxlan = true\nlocal_ip = 127.0.0.1\n"
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:dpdk:dpdk:default\n"
        "service_provider = L3_ROUTER_NAT:netns:netns\n"
        "[dpdk]\ncontrol_socket = %s\n"
        "[netns]\nstate_dir = /run/hadron/netns/%s\n"
        "[journal]\nretry_backoff_initial_ms = 10\nretry_backoff_max = 1\n"
        "poll_interval_ms = 50\nhealth_interval_ms = 200\n",
        host, vni_base, vni_base + 99, phys, dp_sock, host);
}

/* Removes everything of ours (idempotent). */
static void
cleanup(void)
{
    char err[NETNS_ERR_LEN], dir[128];

    dp_stop(SIGTERM);
    unlink(dp_sock);
    if (router2) {
        netns_router_destroy(router2, err, sizeof err);
    }
    for (int i = 0; i < N_VMS; i++) {
        e2e_run(NULL, 0, "ip netns del %s", ns_vm[i]);
        if (vm_port[i]) {
            char tap[NETNS_IFNAME_LEN];
            netns_port_ifname("tap", vm_port[i], tap);
            e2e_run(NULL, 0, "ip link del %s", tap);
        }
    }
    for (int i = 0; i < N_NETS; i++) {
        e2e_remove_bridge_of(net[i]);
    }
    e2e_remove_bridge_of(ext_net);
    e2e_outside_destroy(ns_out, phys);
    snprintf(dir, sizeof dir, "/run/hadron/netns/%s", host);
    e2e_remove_dir(dir);
    e2e_run(NULL, 0, "rm -rf /var/run/dpdk/%s", dp_prefix);
    netns_wait_idle();
}

static int
group_setup(void **state UNUSED)
{
    pid = (unsigned int) getpid();
    snprintf(host, sizeof host, "hd%u", pid);
    snprintf(ns_out, sizeof ns_out, "hd%uo", pid);
    for (int i = 0; i < N_VMS; i++) {
        snprintf(ns_vm[i], sizeof ns_vm[i], "hd%uv%d", pid, i + 1);
    }
    snprintf(phys, sizeof phys, "hdp%ue", pid);
    snprintf(dp_sock, sizeof dp_sock, "/tmp/hd%u-dp.sock", pid);
    snprintf(dp_log, sizeof dp_log, "/tmp/hd%u-dp.log", pid);
    snprintf(dp_prefix, sizeof dp_prefix, "hd%u", pid);
    udp_port = (uint16_t) (20000 + (pid + 7) % 20000);
    vni_base = 2000 + (pid % 100000) * 100;

    if (geteuid() != 0) {
        fprintf(stderr, "test_e2e_dpdk: needs root\n");
        return -1;
    }
    if (e2e_run(NULL, 0, "ping -V") != 0) {
        fprintf(stderr, "test_e2e_dpdk: needs ping (iputils-ping)\n");
        return -1;
    }
    if (e2e_outside_create(ns_out, phys, "203.0.113.1/24")) {
        fprintf(stderr, "test_e2e_dpdk: cannot make the outside host\n");
        return -1;
    }
    dp_start();
    conf = server_config();
    e2e_srv = apitest_server_start(conf);
    return 0;
}

static int
group_teardown(void **state UNUSED)
{
    int rc = 0;

    if (e2e_srv) {
        rc = apitest_server_stop(e2e_srv) ? -1 : 0;
        e2e_srv = NULL;
    }
    if (dp_pid) {
        int status = dp_stop(SIGTERM);
        if (!WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "hadron-dpdk exited with status %d\n", status);
            rc = -1;
        }
    }
    char line[512];
    FILE *f = fopen(dp_log, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, " ERR ") || strstr(line, "Sanitizer")) {
            fprintf(stderr, "hadron-dpdk log: %s", line);
            rc = -1;
        }
    }
    if (f) {
        fclose(f);
    }
    if (!rc) {
        unlink(dp_log);
    }
    cleanup();
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
    free(kernel_flavor);
    free(fip);
    free(fip_addr);
    return rc;
}

/* ---- The tests ---- */

/* Builds everything through the API and proves east-west forwarding
 * through hadron-dpdk: VM1 pings VM2 across router r1. */
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

    /* No flavor: the default provider, dpdk. */
    router = e2e_expect(201, "router/id", "POST", "/v2.0/routers", "p1",
                        "{\"router\": {\"name\": \"r1\", "
                        "\"external_gateway_info\": {\"network_id\": "
                        "\"%s\"}}}", ext_net);
    free(e2e_add_interface("p1", router, subnet[0]));
    free(e2e_add_interface("p1", router, subnet[1]));

    for (int i = 0; i < 2; i++) {
        vm_port[i] = e2e_make_vm_port("p1", net[i], host, vm_ip[i]);
        e2e_plug_vm(PLUG_VIF_BIN, ns_vm[i], vm_port[i]);
    }

    e2e_wait_idle();
    e2e_wait_status("routers", "router", router, "ACTIVE");
    assert_dataplane_matches(router);
    str_copy(gw_ip, e2e_router_gateway_ip(router), sizeof gw_ip);

    assert_true(e2e_ping_ok(ns_vm[0], "10.0.1.1"));
    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
    assert_true(e2e_ping_ok(ns_vm[1], vm_ip[0]));
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
    /* The outside host cannot reach a VM without a floating IP. */
    assert_true(e2e_ping_fails(ns_out, vm_ip[0]));
}

/* The outside host reaches VM1 by its floating IP; VM1 sees the outside
 * host's own address; VM1's own traffic now leaves as the FIP. */
static void
test_fip_inbound(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN];
    struct apitest_resp *r;
    char *body = xasprintf("{\"floatingip\": {\"floating_network_id\": "
                           "\"%s\", \"port_id\": \"%s\"}}", ext_net,
                           vm_port[0]);

    r = api_call(e2e_srv, "POST", "/v2.0/floatingips", "p1", body);
    free(body);
    assert_status(r, 201);
    fip = xstrdup(jstr(r->json, "floatingip/id"));
    fip_addr = xstrdup(jstr(r->json, "floatingip/floating_ip_address"));
    apitest_resp_free(r);
    e2e_wait_idle();
    e2e_wait_status("floatingips", "floatingip", fip, "ACTIVE");
    assert_dataplane_matches(router);

    assert_true(e2e_ping_ok(ns_out, fip_addr));
    assert_true(e2e_udp_probe(ns_out, ns_vm[0], fip_addr, udp_port, src));
    assert_string_equal(src, "203.0.113.1");
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, fip_addr);
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
    assert_dataplane_matches(router);
    assert_true(e2e_ping_fails(ns_out, fip_addr));
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, gw_ip);
}

/* admin_state_up = false empties the router's VRF (no forwarding); true
 * brings it back. */
static void
test_admin_down(void **state UNUSED)
{
    char path[200];

    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"admin_state_up\": false}}"));
    e2e_wait_idle();
    assert_dataplane_matches(router);
    assert_true(e2e_ping_fails(ns_vm[0], vm_ip[1]));
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"admin_state_up\": true}}"));
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router, "ACTIVE");
    assert_dataplane_matches(router);
    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
}

/* hadron-dpdk dies and comes back empty: the driver sees the new
 * instance (health) and resyncs it from the database, FIP included. */
static void
test_dataplane_restart(void **state UNUSED)
{
    char path[200], src[INET_ADDRSTRLEN];

    /* The FIP now on VM2. */
    snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"floatingip\": {\"port_id\": \"%s\"}}", vm_port[1]));
    e2e_wait_idle();
    e2e_wait_status("floatingips", "floatingip", fip, "ACTIVE");
    assert_true(e2e_udp_probe(ns_out, ns_vm[1], fip_addr, udp_port, src));

    dp_stop(SIGKILL);
    assert_true(e2e_ping_fails(ns_vm[0], vm_ip[1]));
    /* It comes back empty (the driver may already be refilling it). */
    dp_start();
    wait_dataplane_ports(router, 3);
    e2e_wait_idle();
    assert_dataplane_matches(router);

    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, gw_ip);
    assert_true(e2e_udp_probe(ns_out, ns_vm[1], fip_addr, udp_port, src));
    assert_string_equal(src, "203.0.113.1");

    /* The server saw it: a lost state and a sync in its log. */
    char *log = apitest_read_log(e2e_srv);
    assert_non_null(strstr(log, "restarted"));
    assert_non_null(strstr(log, "synced"));
    free(log);
}

/* kill -9 of the server with entries pending, and a stale router planted
 * in the dataplane while it is down: after a restart on the same database
 * the dataplane matches the database again, and packets flow. */
static void
test_server_restart(void **state UNUSED)
{
    char path[200], src[INET_ADDRSTRLEN], stale[64];
    int status;

    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"routes\": [{\"destination\": "
                    "\"10.99.0.0/16\", \"nexthop\": \"10.0.2.50\"}]}}"));
    assert_int_equal(kill(e2e_srv->pid, SIGKILL), 0);
    assert_int_equal(waitpid(e2e_srv->pid, &status, 0), e2e_srv->pid);
    e2e_srv->pid = 0;
    char *url = xstrdup(e2e_srv->db_url);
    e2e_srv->keep_db = true;
    apitest_server_stop(e2e_srv);
    e2e_srv = NULL;

    snprintf(stale, sizeof stale, "stale-%u", pid);
    char req[200];
    snprintf(req, sizeof req, "{\"op\":\"router_add\",\"router\":\"%s\"}",
             stale);
    yajl_tree_free(dp_call(req));

    char *output = NULL;
    e2e_srv = apitest_server_try_start(url, conf, &status, &output);
    if (!e2e_srv) {
        fail_msg("restart failed: %s", output);
    }
    free(url);
    free(output);
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router, "ACTIVE");

    /* sync_all at start removed the stray. */
    for (int i = 0; i < 500; i++) {
        yajl_val obj;
        yajl_val dump = dp_dump(stale, &obj);
        yajl_tree_free(dump);
        if (!obj) {
            break;
        }
        e2e_sleep_ms(10);
    }
    yajl_val obj;
    yajl_tree_free(dp_dump(stale, &obj));
    assert_null(obj);
    assert_dataplane_matches(router);

    assert_true(e2e_ping_ok(ns_vm[0], vm_ip[1]));
    assert_true(e2e_udp_probe(ns_out, ns_vm[1], fip_addr, udp_port, src));
    assert_string_equal(src, "203.0.113.1");
}

/* A `netns` router and the `dpdk` router on the same external network at
 * the same time: each SNATs its own VMs to its own gateway address, and
 * a VM behind the kernel router reaches a VM behind the dpdk router by
 * its floating IP, across the external network. */
static void
test_mixed_netns_and_dpdk(void **state UNUSED)
{
    char src[INET_ADDRSTRLEN];

    kernel_flavor = e2e_make_flavor("kernel", "netns");
    net[2] = e2e_make_net("p1", NULL);
    subnet[2] = e2e_make_subnet("p1", net[2], "10.0.3.0/24", NULL);
    router2 = e2e_expect(201, "router/id", "POST", "/v2.0/routers", "p1",
                         "{\"router\": {\"name\": \"r2\", \"flavor_id\": "
                         "\"%s\", \"external_gateway_info\": "
                         "{\"network_id\": \"%s\"}}}", kernel_flavor,
                         ext_net);
    free(e2e_add_interface("p1", router2, subnet[2]));
    vm_port[2] = e2e_make_vm_port("p1", net[2], host, vm_ip[2]);
    e2e_plug_vm(PLUG_VIF_BIN, ns_vm[2], vm_port[2]);
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router2, "ACTIVE");
    str_copy(gw_ip2, e2e_router_gateway_ip(router2), sizeof gw_ip2);

    /* Each router is where its flavor says. */
    char ns[NETNS_NSNAME_LEN];
    netns_router_ns_name(router2, ns);
    assert_true(e2e_ns_exists(ns));
    netns_router_ns_name(router, ns);
    assert_false(e2e_ns_exists(ns));
    yajl_val obj;
    yajl_tree_free(dp_dump(router2, &obj));
    assert_null(obj);
    assert_dataplane_matches(router);

    /* Both SNAT, each to its own address. */
    assert_true(e2e_udp_probe(ns_vm[2], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, gw_ip2);
    assert_true(e2e_udp_probe(ns_vm[0], ns_out, "203.0.113.1", udp_port,
                              src));
    assert_string_equal(src, gw_ip);

    /* VM3 (netns) -> r1's FIP (dpdk) -> VM2: VM2 sees r2's gateway IP;
     * and back: VM2 -> r2's gateway... is SNAT only, so VM2 answers the
     * way it came (the ping's replies). */
    assert_true(e2e_udp_probe(ns_vm[2], ns_vm[1], fip_addr, udp_port, src));
    assert_string_equal(src, gw_ip2);
    assert_true(e2e_ping_ok(ns_vm[2], fip_addr));
    /* The two gateways reach each other on the external network. */
    assert_true(e2e_ping_ok(ns_out, gw_ip));

    /* Each driver got only its own router's entries. */
    struct apitest_resp *r = api_get(e2e_srv, "/v2.0/journal_entries?"
                                     "driver=netns");
    assert_status(r, 200);
    assert_true(jlen(r->json, "journal_entries") >= 2);
    for (size_t i = 0; i < jlen(r->json, "journal_entries"); i++) {
        char key[64];
        snprintf(key, sizeof key, "journal_entries/%zu/router_id", i);
        assert_string_equal(jstr(r->json, key), router2);
    }
    apitest_resp_free(r);
}

/* Deleting everything through the API empties the dataplane: no router,
 * no TAP devices. */
static void
test_delete(void **state UNUSED)
{
    char path[200], ifnames[4][16];
    size_t n_if = 0;
    yajl_val obj;
    yajl_val dump = dp_dump(router, &obj);
    yajl_val ports = jpath(obj, "ports");

    for (size_t i = 0; YAJL_IS_OBJECT(ports) && i < ports->u.object.len
                       && n_if < 4; i++) {
        if (dp_port_iface(obj, ports->u.object.keys[i], ifnames[n_if])) {
            assert_true(e2e_link_exists(ifnames[n_if]));
            n_if++;
        }
    }
    yajl_tree_free(dump);
    assert_int_equal(n_if, 3);

    snprintf(path, sizeof path, "/v2.0/floatingips/%s", fip);
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    snprintf(path, sizeof path, "/v2.0/routers/%s", router);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"routes\": []}}"));
    e2e_remove_interface("p1", router, subnet[0]);
    e2e_wait_idle();
    assert_dataplane_matches(router);
    e2e_remove_interface("p1", router, subnet[1]);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"external_gateway_info\": null}}"));
    e2e_wait_idle();
    assert_dataplane_matches(router);
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    e2e_remove_interface("p1", router2, subnet[2]);
    snprintf(path, sizeof path, "/v2.0/routers/%s", router2);
    free(e2e_expect(200, NULL, "PUT", path, "p1",
                    "{\"router\": {\"external_gateway_info\": null}}"));
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    e2e_wait_idle();

    assert_int_equal(dp_router_count(), 0);
    for (size_t i = 0; i < n_if; i++) {
        assert_false(e2e_link_exists(ifnames[i]));
    }
    char ns[NETNS_NSNAME_LEN];
    netns_router_ns_name(router2, ns);
    assert_false(e2e_ns_exists(ns));

    for (int i = 0; i < N_VMS; i++) {
        e2e_unplug_vm(PLUG_VIF_BIN, vm_port[i]);
        snprintf(path, sizeof path, "/v2.0/ports/%s", vm_port[i]);
        free(e2e_expect(204, NULL, "DELETE", path, NULL, NULL));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_east_west),
        cmocka_unit_test(test_snat),
        cmocka_unit_test(test_fip_inbound),
        cmocka_unit_test(test_fip_disassociate),
        cmocka_unit_test(test_admin_down),
        cmocka_unit_test(test_dataplane_restart),
        cmocka_unit_test(test_server_restart),
        cmocka_unit_test(test_mixed_netns_and_dpdk),
        cmocka_unit_test(test_delete),
    };

    return cmocka_run_group_tests_name("e2e_dpdk", tests, group_setup,
                                       group_teardown);
}
