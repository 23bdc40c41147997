/* tests/unit/dpdk/test_control.c: the hadron-dpdk control protocol.
 *
 * Drives ctl_handle() with JSON text as the flavor driver would, over a real
 * dp and a fake port class (no devices), and checks the replies: every
 * command, idempotency, and bad input, which must get an error reply and
 * never a crash.  One EAL per process (--no-huge --no-pci). */
#include "backends/dpdk/control.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>
#include <yajl/yajl_tree.h>

#include "backends/dpdk/dataplane.h"

/* RTE_IPV4() shifts an int: undefined for a first octet above 127. */
#define IPV4(A, B, C, D)                                                    \
    ((uint32_t) (A) << 24 | (uint32_t) (B) << 16 | (uint32_t) (C) << 8      \
     | (uint32_t) (D))

static struct rte_mempool *pool;
static unsigned int mbufs_at_setup;     /* a failed test's leaks stay its */
static struct dp *dp;
static struct ctl *ctl;
static yajl_val reply;
static char *reply_text;

/* --- A fake port class: "fake:N" opens DPDK port N, "fail" fails. --- */

static unsigned int n_open, n_close;
static bool is_open[DP_MAX_PORTS];

static int
fake_open(void *aux, const char *devspec, const struct rte_ether_addr *mac,
          uint16_t mtu, uint16_t *port, char *err, size_t err_size)
{
    unsigned int n;

    if (sscanf(devspec, "fake:%u", &n) != 1 || n >= DP_MAX_PORTS) {
        snprintf(err, err_size, "no such device");
        return EINVAL;
    }
    assert_false(is_open[n]);
    is_open[n] = true;
    n_open++;
    *port = n;
    return 0;
}

static void
fake_close(void *aux, uint16_t port)
{
    assert_true(is_open[port]);
    is_open[port] = false;
    n_close++;
}

static const struct ctl_port_class fake_class = {
    .type = "fake",
    .open = fake_open,
    .close = fake_close,
};

/* The same with bridges: "br-bad" cannot be attached to. */
static char attached[DP_MAX_PORTS][16];
static unsigned int n_attach;

static int
fake_attach(void *aux, uint16_t port, const char *bridge, char *err,
            size_t err_size)
{
    assert_true(is_open[port]);
    n_attach++;
    if (!strcmp(bridge, "br-bad")) {
        snprintf(err, err_size, "no such bridge");
        return ENOENT;
    }
    snprintf(attached[port], sizeof attached[port], "%s", bridge);
    return 0;
}

static const struct ctl_port_class fake_bridge_class = {
    .type = "fake-bridge",
    .open = fake_open,
    .close = fake_close,
    .attach = fake_attach,
};

/* --- Calling. --- */

static void
reply_free(void)
{
    yajl_tree_free(reply);
    free(reply_text);
    reply = NULL;
    reply_text = NULL;
}

/* Sends 'len' bytes of 'req'; the reply must be one line of valid JSON. */
static yajl_val
call_n(const char *req, size_t len)
{
    char err[128];

    reply_free();
    reply_text = ctl_handle(ctl, req, len);
    assert_non_null(reply_text);
    assert_null(strchr(reply_text, '\n'));
    reply = yajl_tree_parse(reply_text, err, sizeof err);
    if (!reply) {
        fail_msg("reply is not JSON: %s", reply_text);
    }
    return reply;
}

static yajl_val
call(const char *req)
{
    return call_n(req, strlen(req));
}

static yajl_val
get(yajl_val v, const char *k1, const char *k2, const char *k3)
{
    const char *path[] = { k1, k2, k3, NULL };
    return yajl_tree_get(v, path, yajl_t_any);
}

static void
assert_ok(const char *req)
{
    call(req);
    if (!YAJL_IS_TRUE(get(reply, "ok", NULL, NULL))) {
        fail_msg("%s -> %s", req, reply_text);
    }
}

static void
assert_err_n(const char *req, size_t len, const char *type)
{
    call_n(req, len);
    yajl_val t = get(reply, "error", "type", NULL);
    if (!YAJL_IS_FALSE(get(reply, "ok", NULL, NULL)) || !YAJL_IS_STRING(t)
        || strcmp(t->u.string, type)) {
        fail_msg("%.80s -> %s (wanted %s)", req, reply_text, type);
    }
    assert_true(YAJL_IS_STRING(get(reply, "error", "message", NULL)));
}

static void
assert_err(const char *req, const char *type)
{
    assert_err_n(req, strlen(req), type);
}

static bool
reply_bool(const char *key)
{
    yajl_val v = get(reply, key, NULL, NULL);
    assert_true(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v));
    return YAJL_IS_TRUE(v);
}

static long long
reply_int(const char *k1, const char *k2, const char *k3)
{
    yajl_val v = get(reply, k1, k2, k3);
    if (!YAJL_IS_INTEGER(v)) {
        fail_msg("%s/%s/%s not an integer in %s", k1, k2 ? k2 : "",
                 k3 ? k3 : "", reply_text);
    }
    return YAJL_GET_INTEGER(v);
}

#define R1 "\"router\":\"r1\""
#define PORT_INT "{\"op\":\"port_add\"," R1 ",\"port\":\"qr-1\"," \
    "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:01\"," \
    "\"ip\":\"10.0.0.1/24\"}"
#define PORT_EXT "{\"op\":\"port_add\"," R1 ",\"port\":\"qg-1\"," \
    "\"device\":\"fake:1\",\"mac\":\"fa:16:3e:00:00:02\"," \
    "\"ip\":\"203.0.113.2/24\",\"external\":true}"

static int
setup(void **state)
{
    struct dp_config c;

    dp_config_default(&c);
    c.name = "c";
    c.max_routers = 4;
    c.max_flows = 256;
    c.max_neighbours = 64;
    c.max_fips = 16;
    c.lpm_rules = 32;
    mbufs_at_setup = rte_mempool_in_use_count(pool);
    dp = dp_create(&c, pool);
    assert_non_null(dp);
    ctl = ctl_create(dp, &fake_class, NULL);
    n_open = n_close = 0;
    return 0;
}

static int
teardown(void **state)
{
    reply_free();
    ctl_destroy(ctl);
    dp_destroy(dp);
    for (int i = 0; i < DP_MAX_PORTS; i++) {
        assert_false(is_open[i]);
    }
    assert_int_equal(n_open, n_close);
    assert_int_equal(rte_mempool_in_use_count(pool), mbufs_at_setup);
    return 0;
}

/* --- Commands. --- */

static void
test_ping_echoes_id(void **state)
{
    assert_ok("{\"op\":\"ping\",\"id\":\"abc\"}");
    assert_string_equal(YAJL_GET_STRING(get(reply, "id", NULL, NULL)), "abc");
    assert_true(YAJL_IS_STRING(get(reply, "version", NULL, NULL)));
    assert_ok("{\"id\":42,\"op\":\"ping\"}");
    assert_int_equal(reply_int("id", NULL, NULL), 42);
    assert_string_equal(YAJL_GET_STRING(get(reply, "op", NULL, NULL)),
                        "ping");
}

/* Each ctl has its own instance id, which ping answers, so that a driver
 * sees when the process it configured was replaced by an empty one. */
static void
test_ping_instance(void **state)
{
    char first[32];

    assert_ok("{\"op\":\"ping\"}");
    yajl_val v = get(reply, "instance", NULL, NULL);
    assert_true(YAJL_IS_STRING(v));
    assert_int_equal(strlen(v->u.string), 16);
    snprintf(first, sizeof first, "%s", v->u.string);
    assert_ok("{\"op\":\"ping\"}");
    assert_string_equal(get(reply, "instance", NULL, NULL)->u.string, first);

    struct ctl *other = ctl_create(dp, &fake_class, NULL);
    char *text = ctl_handle(other, "{\"op\":\"ping\"}", 13);
    assert_null(strstr(text, first));
    free(text);
    ctl_destroy(other);
}

/* dump reads back everything a driver configured, per router. */
static void
test_dump_reads_back(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok("{\"op\":\"router_add\",\"router\":\"r2\"}");
    assert_ok(PORT_INT);
    assert_ok(PORT_EXT);
    assert_ok("{\"op\":\"route_add\"," R1 ",\"destination\":\"0.0.0.0/0\","
              "\"nexthop\":\"203.0.113.1\"}");
    assert_ok("{\"op\":\"route_add\"," R1 ",\"destination\":"
              "\"192.168.0.0/16\",\"nexthop\":\"10.0.0.254\"}");
    assert_ok("{\"op\":\"snat_set\"," R1 "}");
    assert_ok("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.50\","
              "\"fixed_ip\":\"10.0.0.10\"}");

    assert_ok("{\"op\":\"dump\"}");
    yajl_val r1 = get(reply, "routers", "r1", NULL);
    assert_non_null(r1);
    assert_non_null(get(reply, "routers", "r2", NULL));
    const char *p_routes[] = { "routes", NULL };
    yajl_val routes = yajl_tree_get(r1, p_routes, yajl_t_array);
    assert_non_null(routes);
    assert_int_equal(routes->u.array.len, 2);
    const char *p_dest[] = { "destination", NULL };
    const char *p_nh[] = { "nexthop", NULL };
    assert_string_equal(yajl_tree_get(routes->u.array.values[0], p_dest,
                                      yajl_t_string)->u.string, "0.0.0.0/0");
    assert_string_equal(yajl_tree_get(routes->u.array.values[1], p_nh,
                                      yajl_t_string)->u.string, "10.0.0.254");
    const char *p_snat[] = { "snat", NULL };
    assert_string_equal(yajl_tree_get(r1, p_snat, yajl_t_string)->u.string,
                        "203.0.113.2");
    const char *p_fips[] = { "fips", NULL };
    yajl_val fips = yajl_tree_get(r1, p_fips, yajl_t_array);
    assert_int_equal(fips->u.array.len, 1);
    const char *p_fixed[] = { "fixed_ip", NULL };
    assert_string_equal(yajl_tree_get(fips->u.array.values[0], p_fixed,
                                      yajl_t_string)->u.string, "10.0.0.10");
    const char *p_mem[] = { "memory", NULL };
    yajl_val mem = yajl_tree_get(r1, p_mem, yajl_t_number);
    assert_true(YAJL_IS_INTEGER(mem));
    assert_true(mem->u.number.i > 0 && mem->u.number.i < 1024 * 1024);

    /* One router only; an unknown one is simply absent. */
    assert_ok("{\"op\":\"dump\",\"router\":\"r2\"}");
    assert_null(get(reply, "routers", "r1", NULL));
    yajl_val r2 = get(reply, "routers", "r2", NULL);
    assert_non_null(r2);
    assert_true(YAJL_IS_NULL(yajl_tree_get(r2, p_snat, yajl_t_any)));
    assert_int_equal(yajl_tree_get(r2, p_routes, yajl_t_array)->u.array.len,
                     0);
    assert_ok("{\"op\":\"dump\",\"router\":\"nosuch\"}");
    assert_int_equal(get(reply, "routers", NULL, NULL)->u.object.len, 0);
}

/* "bridge" needs a class that can attach; attaching is redone (repaired)
 * on every port_add, and a failed attach leaves no port behind. */
static void
test_port_bridge(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-1\","
               "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:01\","
               "\"ip\":\"10.0.0.1/24\",\"bridge\":\"br-a\"}", "BadRequest");
    assert_int_equal(n_open, 0);
    ctl_destroy(ctl);
    ctl = ctl_create(dp, &fake_bridge_class, NULL);
    n_attach = 0;
    memset(attached, 0, sizeof attached);

    assert_ok("{\"op\":\"router_add\"," R1 "}");
    const char *req = "{\"op\":\"port_add\"," R1 ",\"port\":\"qr-1\","
        "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:01\","
        "\"ip\":\"10.0.0.1/24\",\"bridge\":\"br-a\"}";
    assert_ok(req);
    assert_string_equal(attached[0], "br-a");
    assert_ok(req);
    assert_int_equal(n_attach, 2);
    assert_int_equal(n_open, 1);
    assert_ok("{\"op\":\"dump\"}");
    assert_string_equal(get(reply, "routers", "r1", "ports")
                        ->u.object.values[0]->u.object.values[0]->u.string,
                        "fake:0");
    assert_non_null(strstr(reply_text, "\"bridge\":\"br-a\""));

    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-2\","
               "\"device\":\"fake:3\",\"mac\":\"fa:16:3e:00:00:03\","
               "\"ip\":\"10.0.3.1/24\",\"bridge\":\"br-bad\"}",
               "Unavailable");
    assert_false(is_open[3]);
    assert_ok("{\"op\":\"dump\"}");
    assert_null(strstr(reply_text, "qr-2"));
    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-1\","
               "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:01\","
               "\"ip\":\"10.0.0.1/24\",\"bridge\":"
               "\"much-too-long-name\"}", "BadRequest");
}

static void
test_router_add_del_idempotent(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_true(reply_bool("created"));
    long long idx = reply_int("index", NULL, NULL);
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_false(reply_bool("created"));
    assert_int_equal(reply_int("index", NULL, NULL), idx);
    assert_ok("{\"op\":\"router_add\",\"router\":\"r2\"}");
    assert_int_not_equal(reply_int("index", NULL, NULL), idx);

    assert_ok("{\"op\":\"router_del\"," R1 "}");
    assert_true(reply_bool("existed"));
    assert_ok("{\"op\":\"router_del\"," R1 "}");
    assert_false(reply_bool("existed"));
    assert_err("{\"op\":\"route_add\"," R1 ",\"destination\":\"0.0.0.0/0\","
               "\"nexthop\":\"1.2.3.4\"}", "NotFound");
}

static void
test_router_table_full(void **state)
{
    char req[64];
    for (int i = 0; i < 4; i++) {
        snprintf(req, sizeof req, "{\"op\":\"router_add\",\"router\":\"r%d\"}",
                 i);
        assert_ok(req);
    }
    assert_err("{\"op\":\"router_add\",\"router\":\"r9\"}", "Unavailable");
}

static void
test_port_add_del(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_INT);
    assert_true(reply_bool("created"));
    assert_int_equal(reply_int("dpdk_port", NULL, NULL), 0);
    assert_int_equal(n_open, 1);

    /* Same again: fine, no second device. */
    assert_ok(PORT_INT);
    assert_false(reply_bool("created"));
    assert_int_equal(n_open, 1);

    /* Changing address and MTU updates in place. */
    assert_ok("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-1\","
              "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:09\","
              "\"ip\":\"10.0.5.1/24\",\"mtu\":1450}");
    assert_int_equal(n_open, 1);
    assert_ok("{\"op\":\"dump\"}");
    yajl_val p = get(reply, "routers", "r1", "ports");
    const char *path[] = { "qr-1", "mtu", NULL };
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p, path, yajl_t_number)),
                     1450);
    path[1] = "ip";
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(p, path,
                                                      yajl_t_string)),
                        "10.0.5.1/24");
    path[1] = "mac";
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(p, path,
                                                      yajl_t_string)),
                        "FA:16:3E:00:00:09");

    /* Another device under the same name, or the same device twice with
     * one MAC (the dataplane could not tell the ports apart). */
    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-1\","
               "\"device\":\"fake:3\",\"mac\":\"fa:16:3e:00:00:01\","
               "\"ip\":\"10.0.0.1/24\"}", "Conflict");
    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-2\","
               "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:09\","
               "\"ip\":\"10.0.9.1/24\"}", "Conflict");
    assert_int_equal(n_open, 1);
    /* Overlapping subnet: refused by the dp, device closed again. */
    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-3\","
               "\"device\":\"fake:4\",\"mac\":\"fa:16:3e:00:00:01\","
               "\"ip\":\"10.0.5.9/16\"}", "Conflict");
    assert_false(is_open[4]);
    /* The device cannot be opened. */
    assert_err("{\"op\":\"port_add\"," R1 ",\"port\":\"qr-4\","
               "\"device\":\"bogus\",\"mac\":\"fa:16:3e:00:00:01\","
               "\"ip\":\"10.0.7.1/24\"}", "BadRequest");
    /* Unknown router. */
    assert_err("{\"op\":\"port_add\",\"router\":\"nope\",\"port\":\"x\","
               "\"device\":\"fake:5\",\"mac\":\"fa:16:3e:00:00:01\","
               "\"ip\":\"10.0.7.1/24\"}", "NotFound");

    assert_ok("{\"op\":\"port_del\",\"port\":\"qr-1\"}");
    assert_true(reply_bool("existed"));
    assert_ok("{\"op\":\"port_del\",\"port\":\"qr-1\"}");
    assert_false(reply_bool("existed"));
    assert_int_equal(n_close, n_open);
}

/* Ports naming one device share it: opened once, closed with the last. */
static void
test_port_shared_device(void **state)
{
    assert_ok("{\"op\":\"router_add\",\"router\":\"ra\"}");
    assert_ok("{\"op\":\"router_add\",\"router\":\"rb\"}");
    assert_ok("{\"op\":\"port_add\",\"router\":\"ra\",\"port\":\"ga\","
              "\"device\":\"fake:2\",\"mac\":\"fa:16:3e:00:00:0a\","
              "\"ip\":\"203.0.113.10/24\",\"external\":true}");
    assert_int_equal(reply_int("dpdk_port", NULL, NULL), 2);
    assert_ok("{\"op\":\"port_add\",\"router\":\"rb\",\"port\":\"gb\","
              "\"device\":\"fake:2\",\"mac\":\"fa:16:3e:00:00:0b\","
              "\"ip\":\"203.0.113.11/24\",\"external\":true}");
    assert_true(reply_bool("created"));
    assert_int_equal(reply_int("dpdk_port", NULL, NULL), 2);
    assert_int_equal(n_open, 1);
    /* Re-sending either updates in place. */
    assert_ok("{\"op\":\"port_add\",\"router\":\"rb\",\"port\":\"gb\","
              "\"device\":\"fake:2\",\"mac\":\"fa:16:3e:00:00:0b\","
              "\"ip\":\"203.0.113.11/24\",\"external\":true}");
    assert_false(reply_bool("created"));
    assert_ok("{\"op\":\"dump\",\"router\":\"rb\"}");
    yajl_val p = get(reply, "routers", "rb", "ports");
    const char *path[] = { "gb", "device", NULL };
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(p, path,
                                                      yajl_t_string)),
                        "fake:2");
    path[1] = "dpdk_port";
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p, path, yajl_t_number)),
                     2);
    assert_ok("{\"op\":\"counters\",\"port\":\"gb\"}");

    assert_ok("{\"op\":\"port_del\",\"port\":\"ga\"}");
    assert_true(is_open[2]);
    assert_int_equal(n_close, 0);
    assert_ok("{\"op\":\"router_del\",\"router\":\"rb\"}");
    assert_false(is_open[2]);
    assert_int_equal(n_close, 1);
}

static void
test_port_add_bad_values(void **state)
{
    static const char *const bad[] = {
        "\"mac\":\"fa:16:3e:00:00\",\"ip\":\"10.0.0.1/24\"",
        "\"mac\":\"ff:ff:ff:ff:ff:ff\",\"ip\":\"10.0.0.1/24\"",
        "\"mac\":\"00:00:00:00:00:00\",\"ip\":\"10.0.0.1/24\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/33\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.256/24\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/2x\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/0\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"127.0.0.1/8\"",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/24\",\"mtu\":10",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/24\",\"mtu\":1e3",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/24\","
            "\"mtu\":99999999999999999999999",
        "\"mac\":\"fa:16:3e:00:00:01\",\"ip\":\"10.0.0.1/24\","
            "\"external\":\"yes\"",
        "\"mac\":7,\"ip\":\"10.0.0.1/24\"",
        "\"ip\":\"10.0.0.1/24\"",
    };
    char req[512];

    assert_ok("{\"op\":\"router_add\"," R1 "}");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(req, sizeof req, "{\"op\":\"port_add\"," R1 ",\"port\":\"p\","
                 "\"device\":\"fake:2\",%s}", bad[i]);
        assert_err(req, "BadRequest");
        assert_false(is_open[2]);
    }
}

static void
test_routes(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_EXT);
    const char *add = "{\"op\":\"route_add\"," R1 ",\"destination\":"
                      "\"0.0.0.0/0\",\"nexthop\":\"203.0.113.1\"}";
    assert_ok(add);
    assert_ok(add);
    assert_ok("{\"op\":\"route_add\"," R1 ",\"destination\":\"10.20.0.0/16\","
              "\"nexthop\":\"203.0.113.9\"}");
    const char *del = "{\"op\":\"route_del\"," R1 ",\"destination\":"
                      "\"0.0.0.0/0\",\"nexthop\":\"203.0.113.1\"}";
    assert_ok(del);
    assert_true(reply_bool("existed"));
    assert_ok(del);
    assert_false(reply_bool("existed"));
    assert_err("{\"op\":\"route_add\"," R1 ",\"destination\":\"10.0.0.0\","
               "\"nexthop\":\"203.0.113.1\"}", "BadRequest");
    assert_err("{\"op\":\"route_add\"," R1 ",\"destination\":\"10.0.0.0/8\"}",
               "BadRequest");
    assert_err("{\"op\":\"route_add\"," R1 ",\"destination\":\"10.0.0.0/8\","
               "\"nexthop\":\"0.0.0.0\"}", "BadRequest");
}

static void
test_snat(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_err("{\"op\":\"snat_set\"," R1 "}", "BadRequest");
    assert_ok(PORT_EXT);
    assert_ok("{\"op\":\"snat_set\"," R1 "}");
    assert_string_equal(YAJL_GET_STRING(get(reply, "ip", NULL, NULL)),
                        "203.0.113.2");
    assert_ok("{\"op\":\"snat_set\"," R1 ",\"ip\":\"203.0.113.2\"}");
    assert_ok("{\"op\":\"snat_set\"," R1 ",\"ip\":\"203.0.113.7\"}");
    assert_string_equal(YAJL_GET_STRING(get(reply, "ip", NULL, NULL)),
                        "203.0.113.7");
    assert_err("{\"op\":\"snat_set\"," R1 ",\"ip\":\"224.0.0.1\"}",
               "BadRequest");
    assert_ok("{\"op\":\"snat_clear\"," R1 "}");
    assert_true(reply_bool("existed"));
    assert_ok("{\"op\":\"snat_clear\"," R1 "}");
    assert_false(reply_bool("existed"));
}

static void
test_fips(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    const char *add = "{\"op\":\"fip_add\"," R1 ",\"floating_ip\":"
                      "\"203.0.113.50\",\"fixed_ip\":\"10.0.0.5\"}";
    assert_ok(add);
    assert_ok(add);
    assert_err("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.51\","
               "\"fixed_ip\":\"10.0.0.5\"}", "Conflict");
    assert_ok("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.50\","
              "\"fixed_ip\":\"10.0.0.6\"}");
    const char *del = "{\"op\":\"fip_del\"," R1 ",\"floating_ip\":"
                      "\"203.0.113.50\"}";
    assert_ok(del);
    assert_true(reply_bool("existed"));
    assert_ok(del);
    assert_false(reply_bool("existed"));
    assert_err("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.50\"}",
               "BadRequest");
}

static void
test_neighbours(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_INT);
    const char *add = "{\"op\":\"neigh_add\",\"port\":\"qr-1\",\"ip\":"
                      "\"10.0.0.5\",\"mac\":\"fa:16:3e:aa:bb:cc\"}";
    assert_ok(add);
    assert_ok(add);
    struct rte_ether_addr mac;
    assert_true(dp_neigh_lookup(dp, 0, IPV4(10, 0, 0, 5), &mac));
    assert_int_equal(mac.addr_bytes[5], 0xcc);
    assert_ok("{\"op\":\"neigh_add\",\"port\":\"qr-1\",\"ip\":\"10.0.0.5\","
              "\"mac\":\"fa:16:3e:aa:bb:dd\"}");
    assert_true(dp_neigh_lookup(dp, 0, IPV4(10, 0, 0, 5), &mac));
    assert_int_equal(mac.addr_bytes[5], 0xdd);
    const char *del = "{\"op\":\"neigh_del\",\"port\":\"qr-1\",\"ip\":"
                      "\"10.0.0.5\"}";
    assert_ok(del);
    assert_true(reply_bool("existed"));
    assert_ok(del);
    assert_false(reply_bool("existed"));
    assert_err("{\"op\":\"neigh_add\",\"port\":\"nope\",\"ip\":\"10.0.0.5\","
               "\"mac\":\"fa:16:3e:aa:bb:cc\"}", "NotFound");
}

static void
test_router_del_cascades(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_INT);
    assert_ok(PORT_EXT);
    assert_ok("{\"op\":\"snat_set\"," R1 "}");
    assert_ok("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.50\","
              "\"fixed_ip\":\"10.0.0.5\"}");
    assert_int_equal(n_open, 2);
    assert_ok("{\"op\":\"router_del\"," R1 "}");
    assert_int_equal(n_close, 2);
    assert_ok("{\"op\":\"dump\"}");
    assert_int_equal(YAJL_GET_OBJECT(get(reply, "routers", NULL, NULL))->len,
                     0);
    /* The names are free again. */
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_INT);
    assert_true(reply_bool("created"));
}

/* Configures a router by protocol and checks that a packet follows it. */
static void
test_config_reaches_packet_path(void **state)
{
    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_INT);
    assert_ok(PORT_EXT);
    assert_ok("{\"op\":\"route_add\"," R1 ",\"destination\":\"0.0.0.0/0\","
              "\"nexthop\":\"203.0.113.1\"}");
    assert_ok("{\"op\":\"neigh_add\",\"port\":\"qg-1\",\"ip\":\"203.0.113.1\","
              "\"mac\":\"fa:16:3e:ff:00:01\"}");
    assert_ok("{\"op\":\"snat_set\"," R1 "}");

    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    uint8_t *d = (uint8_t *) rte_pktmbuf_append(m, 14 + 28);
    memset(d, 0, 14 + 28);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) d;
    rte_ether_unformat_addr("fa:16:3e:00:00:01", &eth->dst_addr);
    rte_ether_unformat_addr("fa:16:3e:00:00:99", &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(28);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(IPV4(10, 0, 0, 5));
    ip->dst_addr = rte_cpu_to_be_32(IPV4(8, 8, 8, 8));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    struct rte_udp_hdr *u = (struct rte_udp_hdr *) (ip + 1);
    u->src_port = rte_cpu_to_be_16(5555);
    u->dst_port = rte_cpu_to_be_16(53);
    u->dgram_len = rte_cpu_to_be_16(8);

    static struct dp_tx tx;
    dp_tx_reset(&tx);
    dp_process_burst(dp, 0, &m, 1, &tx);
    assert_int_equal(tx.n_ports, 1);
    assert_int_equal(tx.n[1], 1);
    m = tx.pkts[1][0];
    ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
    assert_int_equal(rte_be_to_cpu_32(ip->src_addr),
                     IPV4(203, 0, 113, 2));
    rte_pktmbuf_free(m);
    dp_tx_reset(&tx);

    assert_ok("{\"op\":\"counters\"}");
    assert_int_equal(reply_int("routers", "r1", "snat_out"), 1);
    assert_int_equal(reply_int("routers", "r1", "flows_active"), 1);
    assert_int_equal(reply_int("ports", "qr-1", "rx_packets"), 1);
    assert_int_equal(reply_int("ports", "qg-1", "tx_packets"), 1);
    assert_int_equal(reply_int("global", "rx_packets", NULL), 1);
    assert_ok("{\"op\":\"counters\",\"port\":\"qg-1\"}");
    assert_null(get(reply, "ports", "qr-1", NULL));
    assert_null(get(reply, "global", NULL, NULL));
    assert_int_equal(reply_int("ports", "qg-1", "dpdk_port"), 1);
    assert_ok("{\"op\":\"counters\"," R1 "}");
    assert_int_equal(reply_int("routers", "r1", "rx_packets"), 1);
    assert_err("{\"op\":\"counters\",\"router\":\"zz\"}", "NotFound");
}

/* --- Bad input. --- */

static void
test_bad_input(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "not json",
        "{",
        "{\"op\":\"ping\"",
        "{\"op\":\"ping\"} trailing",
        "[]",
        "\"ping\"",
        "42",
        "null",
        "{}",
        "{\"op\":5}",
        "{\"op\":\"\"}",
        "{\"op\":\"frobnicate\"}",
        "{\"op\":\"ping\",\"id\":{}}",
        "{\"op\":\"ping\",\"id\":1.5}",
        "{\"op\":\"router_add\"}",
        "{\"op\":\"router_add\",\"router\":null}",
        "{\"op\":\"router_add\",\"router\":[\"r1\"]}",
        "{\"op\":\"router_add\",\"router\":\"a\\u0001b\"}",
        "{\"op\":\"router_add\",\"router\":\""
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "\"}",
        "{\"op\":\"ping\",\"x\":\"\xff\xfe\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_err(bad[i], "BadRequest");
    }

    /* Deep nesting is refused before parsing. */
    char deep[4096];
    size_t n = 0;
    n += snprintf(deep, sizeof deep, "{\"op\":\"ping\",\"x\":");
    for (int i = 0; i < 1000; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 1000; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    assert_err_n(deep, n, "BadRequest");

    /* A NUL inside the request. */
    assert_err_n("{\"op\":\"ping\"}\0{}", 15, "BadRequest");

    /* Too large. */
    size_t big = CTL_REQUEST_MAX + 10;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    assert_err_n(huge, big, "BadRequest");
    free(huge);

    /* Braces inside strings do not count as nesting. */
    assert_ok("{\"op\":\"ping\","
              "\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{\"}");

    /* Still alive and well. */
    assert_ok("{\"op\":\"ping\"}");
}

/* --- Several workers (workers.h): one ctl over two dps. --- */

static struct dp *dp2;

/* The second dp holds one floating IP only, so that a change can succeed
 * on the first and fail on the second. */
static int
setup_workers(void **state)
{
    struct dp_config c;

    setup(state);
    ctl_destroy(ctl);
    dp_config_default(&c);
    c.name = "c2";
    c.max_routers = 4;
    c.max_flows = 256;
    c.max_neighbours = 64;
    c.max_fips = 1;
    c.lpm_rules = 32;
    dp2 = dp_create(&c, pool);
    assert_non_null(dp2);
    struct dp *dps[2] = { dp, dp2 };
    const unsigned int lcores[2] = { 3, 5 };
    ctl = ctl_create_workers(dps, lcores, 2, &fake_class, NULL);
    return 0;
}

static int
teardown_workers(void **state)
{
    reply_free();
    ctl_destroy(ctl);
    ctl = NULL;
    dp_destroy(dp2);
    return teardown(state);
}

/* Every change reaches both dps, at the same indices; a change that fails
 * on the second is undone on the first; counters come per worker and
 * summed. */
static void
test_workers_share_config(void **state)
{
    struct dp_router_stats rs;
    struct dp_fip_info fi[4];

    assert_ok("{\"op\":\"router_add\"," R1 "}");
    assert_ok(PORT_INT);
    assert_ok(PORT_EXT);
    assert_ok("{\"op\":\"route_add\"," R1 ",\"destination\":\"0.0.0.0/0\","
              "\"nexthop\":\"203.0.113.1\"}");
    assert_ok("{\"op\":\"snat_set\"," R1 "}");
    assert_ok("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.50\","
              "\"fixed_ip\":\"10.0.0.10\"}");
    for (int k = 0; k < 2; k++) {
        struct dp *d = k ? dp2 : dp;
        uint32_t ip;
        assert_int_equal(dp_router_stats_get(d, 0, &rs), 0);
        assert_true(dp_router_snat(d, 0, &ip));
        assert_int_equal(dp_router_routes(d, 0, NULL, 0), 1);
        assert_int_equal(dp_router_fips(d, 0, fi, 4), 1);
    }

    /* The second dp is full: the first takes the FIP back. */
    assert_err("{\"op\":\"fip_add\"," R1 ",\"floating_ip\":\"203.0.113.51\","
               "\"fixed_ip\":\"10.0.0.11\"}", "Unavailable");
    assert_int_equal(dp_router_fips(dp, 0, fi, 4), 1);
    assert_int_equal(dp_router_fips(dp2, 0, fi, 4), 1);

    assert_ok("{\"op\":\"counters\"}");
    yajl_val w = get(reply, "workers", NULL, NULL);
    assert_true(YAJL_IS_ARRAY(w));
    assert_int_equal(w->u.array.len, 2);
    const char *p_lcore[] = { "lcore", NULL };
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(w->u.array.values[1],
                                                    p_lcore,
                                                    yajl_t_number)), 5);
    assert_true(YAJL_IS_INTEGER(get(reply, "global", "handoff_dropped",
                                    NULL)));

    assert_ok("{\"op\":\"router_del\"," R1 "}");
    assert_int_equal(dp_router_stats_get(dp, 0, &rs), ENOENT);
    assert_int_equal(dp_router_stats_get(dp2, 0, &rs), ENOENT);
}

int
main(int argc, char **argv)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tctl%d", (int) getpid());
    char *eal[] = { argv[0], "--no-huge", "-m", "512", "--no-pci",
                    "--no-shconf", "--no-telemetry", "-l", "0",
                    "--log-level", "error", "--file-prefix", prefix };
    if (rte_eal_init((int) (sizeof eal / sizeof eal[0]), eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    pool = rte_pktmbuf_pool_create("test", 255, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) {
        fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(test_ping_echoes_id),
        T(test_ping_instance),
        T(test_dump_reads_back),
        T(test_port_bridge),
        T(test_router_add_del_idempotent),
        T(test_router_table_full),
        T(test_port_add_del),
        T(test_port_shared_device),
        T(test_port_add_bad_values),
        T(test_routes),
        T(test_snat),
        T(test_fips),
        T(test_neighbours),
        T(test_router_del_cascades),
        T(test_config_reaches_packet_path),
        T(test_bad_input),
        cmocka_unit_test_setup_teardown(test_workers_share_config,
                                        setup_workers, teardown_workers),
#undef T
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rte_mempool_free(pool);
    char rundir[256];                   /* empty with --no-shconf */
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return rc;
}
