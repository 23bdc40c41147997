/* tests/bench/netns/bench_netns_api.c: routers of flavor `netns` through
 * the API, timed from the first API call to the kernel holding them.
 *
 * Starts a real hadron-server (SQLite) whose default flavor is `netns`,
 * with an external flat network on a veth of its own and VXLAN tenant
 * networks (local_ip 127.0.0.1).  A "router" here is what Neutron's L3
 * agent takes seconds to build: a router with a gateway (SNAT), two
 * interfaces on two tenant networks and a floating IP associated with a
 * port behind it: four API calls (router create with its gateway, two
 * add_router_interface, floating IP create with port_id).  The networks,
 * subnets and the FIP's target port are made beforehand (bulk, untimed).
 *
 *   1. latency: K routers one after the other, each timed from its first
 *      call until the router and its floating IP are ACTIVE (the `netns`
 *      driver applied every entry: namespace, veths, bridges and VXLAN
 *      devices, addresses, routes, NAT);
 *   2. bring-up: N routers' calls sent back to back, timed until the
 *      journal is idle and every FIP is ACTIVE; the namespaces are then
 *      checked;
 *   3. tear-down: FIP delete, two remove_router_interface, router delete
 *      for each, timed until the journal is idle; no namespace may be
 *      left.
 * Targets (issue 5): under 50 ms per router, 100 routers in under 10 s.
 * Needs root.  Cleans up its kernel objects (names carry the pid).
 *
 *   bench_netns_api [N [K]]     (default N = 100, K = 20) */
#include <errno.h>
#include <net/if.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "backends/netns/netns.h"
#include "core/util.h"
#include "tests/bench/benchlib.h"
#include "tests/lib/apitest.h"

#define PROJECT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define BULK 100

extern char **environ;

struct brouter {
    char nets[2][UUID_STR_LEN];
    char subnets[2][UUID_STR_LEN];
    char vm[UUID_STR_LEN];              /* the FIP's target port */
    char id[UUID_STR_LEN];
    char fip[UUID_STR_LEN];
};

static unsigned int pid;
static char phys[NETNS_IFNAME_LEN], peer[NETNS_IFNAME_LEN];
static char ext[UUID_STR_LEN];
static struct apitest_server *srv;
static struct brouter *routers;
static size_t n_routers;

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void cleanup(void);

static void
die(const struct bench_client *c, const char *what)
{
    fprintf(stderr, "bench_netns_api: %s failed: %.500s\n", what,
            c ? c->buf : "");
    if (srv) {
        srv->allow_errors = true;
        apitest_server_stop(srv);
        srv = NULL;
    }
    cleanup();
    exit(1);
}

static int
cmp_double(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

static void
print_latency(const char *name, double *ms, size_t n)
{
    double sum = 0;

    qsort(ms, n, sizeof *ms, cmp_double);
    for (size_t i = 0; i < n; i++) {
        sum += ms[i];
    }
    printf("%-44s n=%-4zu mean %7.1f ms  p50 %7.1f ms  p99 %7.1f ms  "
           "max %7.1f ms\n", name, n, sum / n, ms[n / 2],
           ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], ms[n - 1]);
}

/* The id of each object of a bulk answer {"<plural>": [...]}, in order:
 * object 'a' belongs to router start + a / per, slot a % per. */
static void
bulk_ids(const struct bench_client *c, const char *plural, int kind,
         size_t start, size_t per, size_t n)
{
    yajl_val v = yajl_tree_parse(c->buf, NULL, 0);
    yajl_val list = jpath(v, plural);

    if (!YAJL_IS_ARRAY(list) || list->u.array.len != n) {
        die(c, plural);
    }
    for (size_t a = 0; a < n; a++) {
        struct brouter *r = &routers[start + a / per];
        char *dst = kind == 0 ? r->nets[a % per]
                    : kind == 1 ? r->subnets[a % per] : r->vm;
        str_copy(dst, jstr(list->u.array.values[a], "id"), UUID_STR_LEN);
    }
    yajl_tree_free(v);
}

/* Networks, subnets and FIP target ports for routers [first, first+n). */
static void
setup_l2(struct bench_client *c, size_t first, size_t n)
{
    static const char *const plurals[] = { "networks", "subnets", "ports" };
    char *body = xmalloc(BULK * 300 + 64);

    for (int kind = 0; kind < 3; kind++) {
        size_t per = kind == 2 ? 1 : 2;
        char path[64];

        snprintf(path, sizeof path, "/v2.0/%s", plurals[kind]);
        for (size_t start = first; start < first + n; start += BULK / 2) {
            size_t m = first + n - start < BULK / 2 ? first + n - start
                                                    : BULK / 2;
            size_t len = snprintf(body, 64, "{\"%s\": [", plurals[kind]);
            for (size_t i = start; i < start + m; i++) {
                for (size_t j = 0; j < per; j++) {
                    const char *sep = i > start || j ? "," : "";
                    if (kind == 0) {
                        len += snprintf(body + len, 300, "%s{\"name\": "
                                        "\"bn-%zu-%zu\"}", sep, i, j);
                    } else if (kind == 1) {
                        len += snprintf(body + len, 300,
                                        "%s{\"network_id\": \"%s\", "
                                        "\"ip_version\": 4, "
                                        "\"enable_dhcp\": false, "
                                        "\"cidr\": \"10.%zu.%zu.0/24\"}",
                                        sep, routers[i].nets[j],
                                        1 + j + 2 * (i / 250), i % 250);
                    } else {
                        len += snprintf(body + len, 300,
                                        "%s{\"network_id\": \"%s\", "
                                        "\"device_id\": \"vm-%zu\"}", sep,
                                        routers[i].nets[0], i);
                    }
                }
            }
            snprintf(body + len, 8, "]}");
            if (bench_client_do(c, "POST", path, body) != 201) {
                die(c, plurals[kind]);
            }
            bulk_ids(c, plurals[kind], kind, start, per, m * per);
        }
    }
    free(body);
}

/* The four calls that build router 'r'. */
static void
build_router(struct bench_client *c, struct brouter *r)
{
    char body[512], path[160];

    snprintf(body, sizeof body, "{\"router\": {\"name\": \"br\", "
             "\"external_gateway_info\": {\"network_id\": \"%s\"}}}", ext);
    if (bench_client_do(c, "POST", "/v2.0/routers", body) != 201
        || !bench_answer_id(c, "router", r->id)) {
        die(c, "router create");
    }
    snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface",
             r->id);
    for (int j = 0; j < 2; j++) {
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}",
                 r->subnets[j]);
        if (bench_client_do(c, "PUT", path, body) != 200) {
            die(c, "add_router_interface");
        }
    }
    snprintf(body, sizeof body, "{\"floatingip\": {\"floating_network_id\": "
             "\"%s\", \"port_id\": \"%s\"}}", ext, r->vm);
    if (bench_client_do(c, "POST", "/v2.0/floatingips", body) != 201
        || !bench_answer_id(c, "floatingip", r->fip)) {
        die(c, "floating IP create");
    }
}

static void
destroy_router(struct bench_client *c, struct brouter *r)
{
    char body[256], path[160];

    snprintf(path, sizeof path, "/v2.0/floatingips/%s", r->fip);
    if (bench_client_do(c, "DELETE", path, NULL) != 204) {
        die(c, "floating IP delete");
    }
    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             r->id);
    for (int j = 0; j < 2; j++) {
        snprintf(body, sizeof body, "{\"subnet_id\": \"%s\"}",
                 r->subnets[j]);
        if (bench_client_do(c, "PUT", path, body) != 200) {
            die(c, "remove_router_interface");
        }
    }
    snprintf(path, sizeof path, "/v2.0/routers/%s", r->id);
    if (bench_client_do(c, "DELETE", path, NULL) != 204) {
        die(c, "router delete");
    }
}

/* True if "<key>/status" of the last answer is ACTIVE. */
static bool
answer_active(const struct bench_client *c, const char *key)
{
    char path[32];
    yajl_val v = yajl_tree_parse(c->buf, NULL, 0);

    snprintf(path, sizeof path, "%s/status", key);
    const char *s = jstr(v, path);
    bool active = s && !strcmp(s, "ACTIVE");
    yajl_tree_free(v);
    return active;
}

/* Waits until router 'r' and its FIP are ACTIVE (the FIP's entry is the
 * router's last, and a router's entries are applied in order). */
static void
wait_active(struct bench_client *c, const struct brouter *r)
{
    char path[160];

    for (int i = 0; i < 200000; i++) {
        snprintf(path, sizeof path, "/v2.0/floatingips/%s", r->fip);
        if (bench_client_do(c, "GET", path, NULL) == 200
            && answer_active(c, "floatingip")) {
            snprintf(path, sizeof path, "/v2.0/routers/%s", r->id);
            if (bench_client_do(c, "GET", path, NULL) == 200
                && answer_active(c, "router")) {
                return;
            }
        }
        usleep(200);
    }
    die(c, "waiting for ACTIVE");
}

static void
wait_idle(struct bench_client *admin)
{
    for (int i = 0; i < 200000; i++) {
        if (bench_client_do(admin, "GET", "/v2.0/journal_entries?"
                            "state=pending&state=processing&limit=1", NULL)
            != 200) {
            die(admin, "journal_entries");
        }
        if (strstr(admin->buf, "\"journal_entries\":[]")
            || strstr(admin->buf, "\"journal_entries\": []")) {
            return;
        }
        usleep(500);
    }
    die(admin, "waiting for the journal");
}

static size_t
count_namespaces(size_t first, size_t n)
{
    size_t count = 0;

    for (size_t i = first; i < first + n; i++) {
        char ns[NETNS_NSNAME_LEN], path[128];
        netns_router_ns_name(routers[i].id, ns);
        snprintf(path, sizeof path, "/run/netns/%s", ns);
        count += access(path, F_OK) == 0;
    }
    return count;
}

/* Runs 'argv' (no shell); returns its exit status or -1. */
static int
run(const char *const argv[])
{
    pid_t child;
    int status;

    if (posix_spawnp(&child, argv[0], NULL, NULL, (char *const *) argv,
                     environ)
        || waitpid(child, &status, 0) != child) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
cleanup(void)
{
    char br[NETNS_IFNAME_LEN], err[NETNS_ERR_LEN], dir[128];

    for (size_t i = 0; i < n_routers; i++) {
        if (routers[i].id[0]) {
            netns_router_destroy(routers[i].id, err, sizeof err);
        }
        for (int j = 0; j < 2; j++) {
            if (routers[i].nets[j][0]) {
                netns_bridge_name(routers[i].nets[j], br);
                netns_bridge_remove(br, true, err, sizeof err);
            }
        }
    }
    if (ext[0]) {
        netns_bridge_name(ext, br);
        netns_bridge_remove(br, true, err, sizeof err);
    }
    run((const char *const[]) { "ip", "link", "del", phys, NULL });
    snprintf(dir, sizeof dir, "/run/hadron/netns/hb%u", pid);
    rmdir(dir);
    netns_wait_idle();
}

int
main(int argc, char *argv[])
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    size_t k = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
    struct bench_client c, admin;
    char body[1024];
    double t0, t1;

    if (geteuid() != 0) {
        fprintf(stderr, "bench_netns_api: needs root\n");
        return 1;
    }
    if (!n || !k || n + k > 1000) {
        fprintf(stderr, "usage: bench_netns_api [N [K]] (N + K <= 1000)\n");
        return 2;
    }
    pid = (unsigned int) getpid();
    snprintf(phys, sizeof phys, "hbp%u", pid);
    snprintf(peer, sizeof peer, "hbq%u", pid);
    n_routers = n + k;
    routers = xcalloc(n_routers, sizeof *routers);
    if (run((const char *const[]) { "ip", "link", "add", phys, "type",
                                     "veth", "peer", "name", peer, NULL })
        || run((const char *const[]) { "ip", "link", "set", phys, "up",
                                       NULL })
        || run((const char *const[]) { "ip", "link", "set", peer, "up",
                                       NULL })) {
        fprintf(stderr, "bench_netns_api: cannot make veth %s\n", phys);
        cleanup();
        return 1;
    }

    char *conf = xasprintf(
        "[DEFAULT]\nhost = hb%u\ndebug = false\n"
        "[ml2]\ntype_drivers = flat,vxlan,local\n"
        "tenant_network_types = vxlan\nmechanism_drivers = linuxbridge\n"
        "[ml2_type_flat]\nflat_networks = extnet\n"
        "[ml2_type_vxlan]\nvni_ranges = %u:%u\n"
        "[linux_bridge]\nphysical_interface_mappings = extnet:%s\n"
        "[vxlan]\nenable_vxlan = true\nlocal_ip = 127.0.0.1\n"
        "[service_providers]\n"
        "service_provider = L3_ROUTER_NAT:netns:netns:default\n"
        "[journal]\npoll_interval_ms = 50\n",
        pid, 2000000 + (pid % 1000) * 4000,
        2000000 + (pid % 1000) * 4000 + 3999, phys);
    srv = apitest_server_start(conf);
    bench_client_init(&c, srv->port, PROJECT);
    bench_client_init(&admin, srv->port, NULL);

    snprintf(body, sizeof body, "{\"network\": {\"name\": \"bench-ext\", "
             "\"project_id\": \"admin\", \"router:external\": true, "
             "\"provider:network_type\": \"flat\", "
             "\"provider:physical_network\": \"extnet\"}}");
    if (bench_client_do(&admin, "POST", "/v2.0/networks", body) != 201
        || !bench_answer_id(&admin, "network", ext)) {
        die(&admin, "external network");
    }
    snprintf(body, sizeof body, "{\"subnet\": {\"network_id\": \"%s\", "
             "\"cidr\": \"100.64.0.0/16\", \"ip_version\": 4, "
             "\"enable_dhcp\": false, \"gateway_ip\": \"100.64.0.1\", "
             "\"project_id\": \"admin\"}}", ext);
    if (bench_client_do(&admin, "POST", "/v2.0/subnets", body) != 201) {
        die(&admin, "external subnet");
    }
    setup_l2(&c, 0, n_routers);

    printf("bench_netns_api: netns routers through the API (2 interfaces, "
           "gateway with SNAT, 1 FIP each)\n");

    /* 1. One router at a time. */
    double *lat = xcalloc(k, sizeof *lat), *api = xcalloc(k, sizeof *api);
    for (size_t i = 0; i < k; i++) {
        struct brouter *r = &routers[n + i];
        t0 = now_ms();
        build_router(&c, r);
        api[i] = now_ms() - t0;
        wait_active(&c, r);
        lat[i] = now_ms() - t0;
    }
    print_latency("one router: 4 API calls", api, k);
    print_latency("one router: first call to ACTIVE", lat, k);
    t0 = now_ms();
    for (size_t i = 0; i < k; i++) {
        destroy_router(&c, &routers[n + i]);
    }
    wait_idle(&admin);
    printf("%-44s %zu routers in %.1f ms\n", "tear-down (latency set)", k,
           now_ms() - t0);

    /* 2. N routers back to back. */
    t0 = now_ms();
    for (size_t i = 0; i < n; i++) {
        build_router(&c, &routers[i]);
    }
    t1 = now_ms();
    wait_idle(&admin);
    for (size_t i = 0; i < n; i++) {
        wait_active(&c, &routers[i]);
    }
    double up = now_ms() - t0;
    size_t ns_up = count_namespaces(0, n);
    printf("%-44s %zu routers in %.1f ms (API calls %.1f ms), %.1f ms per "
           "router; %zu namespaces\n", "bring-up", n, up, t1 - t0, up / n,
           ns_up);

    /* 3. And down. */
    t0 = now_ms();
    for (size_t i = 0; i < n; i++) {
        destroy_router(&c, &routers[i]);
    }
    t1 = now_ms();
    wait_idle(&admin);
    double down = now_ms() - t0;
    size_t ns_left = count_namespaces(0, n) + count_namespaces(n, k);
    printf("%-44s %zu routers in %.1f ms (API calls %.1f ms), %.1f ms per "
           "router; %zu namespaces left\n", "tear-down", n, down, t1 - t0,
           down / n, ns_left);
    printf("targets: < 50 ms per router (p50 %s), %zu routers up in < 10 s "
           "(%s)\n", lat[k / 2] < 50 ? "met" : "MISSED", n,
           up < 10000 ? "met" : "MISSED");

    bench_client_destroy(&c);
    bench_client_destroy(&admin);
    apitest_server_stop(srv);
    srv = NULL;
    cleanup();
    free(lat);
    free(api);
    free(routers);
    free(conf);
    return ns_up == n && !ns_left ? 0 : 1;
}
