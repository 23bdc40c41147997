/* tests/dataplane/odl/test_mixed_netns_odl.c: a mixed-backend cloud.  A
 * router of flavor `netns` (realized in this host's kernel) and a router
 * of flavor `odl` (kept on an OpenDaylight-style controller, the test's
 * hadron-odl-peer) side by side on one external flat network, each with an
 * interface on a private network of its own; each backend receives only
 * its own router:
 *
 *   - the controller holds the odl router, its gateway and interface
 *     ports, their networks and subnets, and never hears of the netns
 *     router, its ports or its private network (not even in its request
 *     log);
 *   - the kernel holds qrouter-<netns router> (whose gateway answers pings
 *     from the outside host) and no namespace for the odl router;
 *   - both routers go ACTIVE; the journal rows of each provider are its
 *     own router's;
 *   - taking both down (interfaces, routers) empties both backends.
 *
 * Topology (names carry this process's pid; the group teardown removes
 * everything, also after a failure):
 *
 *   "outside host" ns hxm<pid>o, eth0 198.51.100.1/24
 *        | veth; host end hxm<pid>e = [linux_bridge] physical_interface_
 *        |                            mappings = extnet:hxm<pid>e
 *   brq<ext>  (flat "extnet", router:external, 198.51.100.0/24)
 *        | qg- (netns router)             . gateway port of the odl router
 *   qrouter-<netns router>                . (on the controller only)
 *        | qr- 10.0.1.1                   . interface 10.0.2.1
 *   brq<net1> + vxlan                     . net2
 *
 * Needs root, iputils ping and the `ip` command; label "dataplane". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "backends/netns/netns.h"
#include "core/util.h"
#include "tests/dataplane/e2e-lib.h"

#define UNUSED __attribute__((unused))
#define NB "/controller/nb/v2/neutron"

extern char **environ;

/* ---- What the tests share ---- */

static unsigned int pid;
static char host[32];               /* [DEFAULT] host of the server */
static char ns_out[32];
static char phys[NETNS_IFNAME_LEN];
static char state_dir[128];
static unsigned int vni_base;

static pid_t peer_pid;
static int peer_port;
static char peer_out[64];

static char *conf;
static char *odl_flavor, *netns_flavor;
static char *ext_net, *ext_subnet;
static char *net[2], *subnet[2];
static char *router_netns, *router_odl;
static char *if_netns, *if_odl;     /* interface port ids */

/* ---- The controller peer ---- */

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = xzalloc(4096);

    if (f) {
        size_t n = fread(buf, 1, 4095, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static int
peer_start(void)
{
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *) ODL_PEER_BIN, (char *) "--port", (char *) "0",
                     NULL };

    snprintf(peer_out, sizeof peer_out, "/tmp/hxm%u-peer.out", pid);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, peer_out,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int error = posix_spawn(&peer_pid, ODL_PEER_BIN, &fa, NULL, argv,
                            environ);
    posix_spawn_file_actions_destroy(&fa);
    if (error) {
        peer_pid = 0;
        return -1;
    }
    for (int i = 0; i < 1000 && !peer_port; i++) {
        char *out = slurp(peer_out);
        const char *p = strstr(out, "listening on http://127.0.0.1:");
        if (p) {
            peer_port = atoi(p + strlen("listening on http://127.0.0.1:"));
        }
        free(out);
        e2e_sleep_ms(10);
    }
    return peer_port > 0 ? 0 : -1;
}

/* Stops the peer; returns 0 if it exited 0. */
static int
peer_stop(void)
{
    int status = 0;

    if (peer_pid <= 0) {
        return 0;
    }
    kill(peer_pid, SIGTERM);
    waitpid(peer_pid, &status, 0);
    peer_pid = 0;
    unlink(peer_out);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

struct buffer {
    char *data;
    size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
    struct buffer *b = arg;
    size_t len = size * n;

    b->data = xrealloc(b->data, b->len + len + 1);
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* GETs 'path' of the peer; returns the body text (caller frees). */
static char *
peer_get_text(const char *path)
{
    struct buffer b = { xzalloc(1), 0 };
    char *url = xasprintf("http://127.0.0.1:%d%s", peer_port, path);
    CURL *c = curl_easy_init();
    long status = 0;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_cleanup(c);
    free(url);
    return b.data;
}

/* Whether the controller holds object 'id' in collection 'plural'. */
static bool
peer_holds(yajl_val state, const char *plural, const char *id)
{
    const char *path[] = { plural, id, NULL };
    return yajl_tree_get(state, path, yajl_t_object) != NULL;
}

static size_t
peer_count(yajl_val state, const char *plural)
{
    const char *path[] = { plural, NULL };
    yajl_val v = yajl_tree_get(state, path, yajl_t_object);
    return v ? v->u.object.len : 0;
}

/* ---- Setup and teardown ---- */

static char *
server_config(void)
{
    return xasprintf(
        "[DEFAULT]\nhost = %s\n"
        "[ml2]\ntype_drivers = flat,vxlan\n"
        "tenant_network_types = vxlan\nmechanism_drivers = linuxbridge\n"
        "[ml2_type_flat]\nflat_networks = extnet\n"
        "[ml2_type_vxlan]\nvni_ranges = %u:%u\n"
        "[linux_bridge]\nphysical_interface_mappings = extnet:%s\n"
        "realize = true\n"
        "[vxlan]\nenable_vxlan = true\nlocal_ip = 127.0.0.1\n"
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:netns:netns:default\n"
        "service_provider = L3_ROUTER_NAT:odl:odl\n"
        "[ml2_odl]\nurl = http://127.0.0.1:%d" NB "\n"
        "username = admin\npassword = admin\ntimeout = 2\n"
        "[journal]\nretry_backoff_initial_ms = 10\nretry_backoff_max = 1\n"
        "poll_interval_ms = 50\nhealth_interval_ms = 200\n",
        host, vni_base, vni_base + 9, phys, peer_port);
}

static void
remove_state_dir(void)
{
    DIR *d = opendir(state_dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (de->d_name[0] != '.') {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", state_dir, de->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(state_dir);
}

static bool
router_ns_exists(const char *router_id)
{
    char name[NETNS_NSNAME_LEN];

    snprintf(name, sizeof name, "qrouter-%s", router_id);
    return e2e_ns_exists(name);
}

/* Removes everything of ours from the kernel (idempotent). */
static void
cleanup_kernel(void)
{
    char err[NETNS_ERR_LEN];
    const char *ids[2];
    size_t n = 0;

    if (router_netns) {
        ids[n++] = router_netns;
    }
    if (router_odl) {
        ids[n++] = router_odl;
    }
    netns_routers_destroy(ids, n, err, sizeof err);
    for (int i = 0; i < 2; i++) {
        e2e_remove_bridge_of(net[i]);
    }
    e2e_remove_bridge_of(ext_net);
    e2e_outside_destroy(ns_out, phys);
    remove_state_dir();
    netns_wait_idle();
}

static int
group_setup(void **state UNUSED)
{
    pid = (unsigned int) getpid();
    snprintf(host, sizeof host, "hxm%u", pid);
    snprintf(ns_out, sizeof ns_out, "hxm%uo", pid);
    snprintf(phys, sizeof phys, "hxm%ue", pid);
    snprintf(state_dir, sizeof state_dir, "/run/hadron/netns/%s", host);
    vni_base = 500000 + (pid % 1000000) * 10;

    if (geteuid() != 0) {
        fprintf(stderr, "test_mixed_netns_odl: needs root\n");
        return -1;
    }
    if (e2e_run(NULL, 0, "ping -V") != 0) {
        fprintf(stderr, "test_mixed_netns_odl: needs ping (iputils-ping)\n");
        return -1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (peer_start()) {
        fprintf(stderr, "test_mixed_netns_odl: cannot start %s\n",
                ODL_PEER_BIN);
        peer_stop();
        return -1;
    }
    if (e2e_outside_create(ns_out, phys, "198.51.100.1/24")) {
        fprintf(stderr, "test_mixed_netns_odl: cannot make the outside "
                "host\n");
        peer_stop();
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

    if (e2e_srv) {
        rc = apitest_server_stop(e2e_srv) ? -1 : 0;
        e2e_srv = NULL;
    }
    cleanup_kernel();
    if (peer_stop()) {
        fprintf(stderr, "hadron-odl-peer did not exit 0\n");
        rc = -1;
    }
    if ((router_netns && router_ns_exists(router_netns))
        || (router_odl && router_ns_exists(router_odl))) {
        fprintf(stderr, "left behind: a router namespace\n");
        rc = -1;
    }
    if (e2e_link_exists(phys) || e2e_ns_exists(ns_out)) {
        fprintf(stderr, "left behind: %s or %s\n", phys, ns_out);
        rc = -1;
    }
    curl_global_cleanup();
    free(conf);
    free(odl_flavor);
    free(netns_flavor);
    free(ext_net);
    free(ext_subnet);
    for (int i = 0; i < 2; i++) {
        free(net[i]);
        free(subnet[i]);
    }
    free(router_netns);
    free(router_odl);
    free(if_netns);
    free(if_odl);
    return rc;
}

/* ---- Helpers ---- */

static char *
make_router(const char *name, const char *flavor)
{
    return e2e_expect(201, "router/id", "POST", "/v2.0/routers", "p1",
                      "{\"router\": {\"name\": \"%s\", \"flavor_id\": "
                      "\"%s\", \"external_gateway_info\": {\"network_id\": "
                      "\"%s\"}}}", name, flavor, ext_net);
}

/* The gateway port id of 'router' (malloc'd). */
static char *
gateway_port(const char *router)
{
    char path[200];

    snprintf(path, sizeof path, "/v2.0/ports?device_id=%s&device_owner="
             "network:router_gateway", router);
    return e2e_expect(200, "ports/0/id", "GET", path, NULL, NULL);
}

/* The provider ("driver") of each journal row is the one of its router. */
static void
check_journal_rows(void)
{
    struct apitest_resp *r = api_get(e2e_srv, "/v2.0/journal_entries");
    size_t n_netns = 0, n_odl = 0;

    assert_status(r, 200);
    yajl_val list = jpath(r->json, "journal_entries");
    assert_non_null(list);
    for (size_t i = 0; i < list->u.array.len; i++) {
        yajl_val e = list->u.array.values[i];
        const char *driver = jstr(e, "driver");
        const char *rid = jstr(e, "router_id");
        if (driver && !strcmp(driver, "odl")) {
            assert_string_equal(rid, router_odl);
            n_odl++;
        } else {
            assert_string_equal(driver, "netns");
            assert_string_equal(rid, router_netns);
            n_netns++;
        }
    }
    assert_true(n_netns > 0 && n_odl > 0);
    apitest_resp_free(r);
}

/* ---- The tests ---- */

/* Both routers built through the API; each backend holds its own. */
static void
test_side_by_side(void **state UNUSED)
{
    ext_net = e2e_make_net("admin", "\"router:external\": true, "
                           "\"provider:network_type\": \"flat\", "
                           "\"provider:physical_network\": \"extnet\"");
    ext_subnet = e2e_make_subnet("admin", ext_net, "198.51.100.0/24",
                                 "\"gateway_ip\": \"198.51.100.1\", "
                                 "\"allocation_pools\": [{\"start\": "
                                 "\"198.51.100.10\", \"end\": "
                                 "\"198.51.100.99\"}]");
    for (int i = 0; i < 2; i++) {
        char cidr[32];
        snprintf(cidr, sizeof cidr, "10.0.%d.0/24", i + 1);
        net[i] = e2e_make_net("p1", NULL);
        subnet[i] = e2e_make_subnet("p1", net[i], cidr, NULL);
    }
    netns_flavor = e2e_make_flavor("kernel", "netns");
    odl_flavor = e2e_make_flavor("controller", "odl");

    router_netns = make_router("r-netns", netns_flavor);
    router_odl = make_router("r-odl", odl_flavor);
    if_netns = e2e_add_interface("p1", router_netns, subnet[0]);
    if_odl = e2e_add_interface("p1", router_odl, subnet[1]);
    e2e_wait_idle();
    e2e_wait_status("routers", "router", router_netns, "ACTIVE");
    e2e_wait_status("routers", "router", router_odl, "ACTIVE");
    check_journal_rows();

    char *gw_netns = gateway_port(router_netns);
    char *gw_odl = gateway_port(router_odl);

    /* The controller: the odl router and what it touches, only. */
    char *text = peer_get_text("/_peer/state");
    yajl_val st = yajl_tree_parse(text, NULL, 0);
    assert_non_null(st);
    assert_true(peer_holds(st, "routers", router_odl));
    assert_int_equal(peer_count(st, "routers"), 1);
    assert_true(peer_holds(st, "ports", gw_odl));
    assert_true(peer_holds(st, "ports", if_odl));
    assert_int_equal(peer_count(st, "ports"), 2);
    assert_true(peer_holds(st, "networks", ext_net));
    assert_true(peer_holds(st, "networks", net[1]));
    assert_false(peer_holds(st, "networks", net[0]));
    assert_true(peer_holds(st, "subnets", ext_subnet));
    assert_true(peer_holds(st, "subnets", subnet[1]));
    assert_int_equal(peer_count(st, "subnets"), 2);
    assert_int_equal(peer_count(st, "floatingips"), 0);
    yajl_tree_free(st);
    free(text);

    /* ... and never heard of the netns router, its ports or its private
     * network. */
    text = peer_get_text("/_peer/requests");
    const char *never[] = { router_netns, gw_netns, if_netns, net[0],
                            subnet[0] };
    for (size_t i = 0; i < ARRAY_SIZE(never); i++) {
        if (strstr(text, never[i])) {
            fail_msg("the controller heard of %s", never[i]);
        }
    }
    assert_non_null(strstr(text, router_odl));
    free(text);

    /* The kernel: the netns router's namespace only, and it answers on
     * the external network. */
    assert_true(router_ns_exists(router_netns));
    assert_false(router_ns_exists(router_odl));
    const char *gw_ip = e2e_router_gateway_ip(router_netns);
    assert_true(e2e_ping_ok(ns_out, gw_ip));
    const char *odl_gw_ip = e2e_router_gateway_ip(router_odl);
    assert_true(e2e_ping_fails(ns_out, odl_gw_ip));

    free(gw_netns);
    free(gw_odl);
}

/* Taking both down empties both backends; neither touches the other's. */
static void
test_teardown_both(void **state UNUSED)
{
    char path[200];

    e2e_remove_interface("p1", router_odl, subnet[1]);
    e2e_wait_idle();
    assert_true(router_ns_exists(router_netns));

    e2e_remove_interface("p1", router_netns, subnet[0]);
    snprintf(path, sizeof path, "/v2.0/routers/%s", router_netns);
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    e2e_wait_idle();
    for (int i = 0; i < 500 && router_ns_exists(router_netns); i++) {
        e2e_sleep_ms(10);
    }
    assert_false(router_ns_exists(router_netns));
    char *text = peer_get_text("/_peer/state");
    yajl_val st = yajl_tree_parse(text, NULL, 0);
    assert_true(peer_holds(st, "routers", router_odl));
    yajl_tree_free(st);
    free(text);

    snprintf(path, sizeof path, "/v2.0/routers/%s", router_odl);
    free(e2e_expect(204, NULL, "DELETE", path, "p1", NULL));
    e2e_wait_idle();
    text = peer_get_text("/_peer/state");
    st = yajl_tree_parse(text, NULL, 0);
    assert_int_equal(peer_count(st, "routers"), 0);
    assert_int_equal(peer_count(st, "ports"), 0);
    assert_int_equal(peer_count(st, "subnets"), 0);
    yajl_tree_free(st);
    free(text);
    text = peer_get_text("/_peer/requests");
    assert_null(strstr(text, router_netns));
    free(text);
    assert_false(router_ns_exists(router_odl));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_by_side),
        cmocka_unit_test(test_teardown_both),
    };
    return cmocka_run_group_tests_name("mixed_netns_odl", tests, group_setup,
                                       group_teardown);
}
