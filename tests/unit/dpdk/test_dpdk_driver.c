/* tests/unit/dpdk/test_dpdk_driver.c: the `dpdk` flavor driver
 * (dpdk_driver.h) against a real hadron-dpdk process.
 *
 * The test moves itself into a new network namespace (so the bridges and
 * TAP devices it makes vanish with it; with a mount namespace of its own
 * for a sysfs that shows them), starts hadron-dpdk there, and
 * drives the driver class directly, as the journal would: router
 * documents in, the dataplane's own dump (dpdk_l3_dump()) and the kernel's
 * bridge ports checked.  It covers converging a router from its document
 * and back to less, idempotency, admin down, deletion, validate(), bad
 * options, RETRY while the dataplane is unreachable, and a restart of
 * hadron-dpdk: health() reports the lost state and sync_all() rebuilds
 * every router and removes the ones no document names.  Needs root (the
 * namespace, TAP devices); exits 77 (skipped) without it. */
#include "backends/dpdk/dpdk_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

static char sock_path[64], log_path[64], prefix[32];
static pid_t dp_pid;
static void *drv;

#define R1 "11111111-0000-4000-8000-000000000001"
#define R2 "22222222-0000-4000-8000-000000000002"
/* Port ids are PORT_BASE + two characters: the interface (1, 2) or "a"
 * for the gateway, then the router (1, 2). */
#define PORT_BASE "11111111-0000-4000-8000-0000000000"
#define NET_EXT "eeeeeeee-0000-4000-8000-000000000001"
#define NET_A "aaaaaaaa-0000-4000-8000-000000000001"
#define NET_B "bbbbbbbb-0000-4000-8000-000000000001"

/* ---- The dataplane process ---- */

static void
dp_start(void)
{
    char *argv[] = {
        HADRON_DPDK_BIN, "--socket", sock_path, "--log", log_path, "--",
        "-l", "0", "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
        prefix, "--log-level=crit", NULL,
    };
    struct stat st;

    unlink(sock_path);
    assert_int_equal(posix_spawn(&dp_pid, argv[0], NULL, NULL, argv,
                                 environ), 0);
    for (int i = 0; i < 200 && stat(sock_path, &st); i++) {
        usleep(50 * 1000);
    }
    assert_int_equal(stat(sock_path, &st), 0);
}

static void
dp_stop(void)
{
    int status;

    if (dp_pid > 0) {
        kill(dp_pid, SIGTERM);
        assert_int_equal(waitpid(dp_pid, &status, 0), dp_pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        dp_pid = 0;
    }
}

/* ---- Driver calls ---- */

static void *
driver_create(const char *socket)
{
    struct hadron_l3_option opts[] = {
        { "control_socket", socket },
        { "create_missing_bridges", "true" },
        { "timeout_ms", "10000" },
    };
    struct hadron_l3_config cfg = { .host = "test", .options = opts,
                                    .n_options = 3 };
    char err[256] = "";
    void *state = NULL;

    assert_int_equal(dpdk_l3_class.init(&cfg, &state, err, sizeof err), 0);
    return state;
}

static enum hadron_l3_result
apply_doc(const char *resource, const char *operation, const char *router_id,
          const char *doc, char *msg, size_t size)
{
    struct hadron_l3_entry e = {
        .seq = 1, .resource = resource, .operation = operation,
        .resource_id = router_id, .router_id = router_id, .revision = 1,
        .data = doc ? doc : "{}", .router = doc,
    };
    msg[0] = '\0';
    return dpdk_l3_class.apply(drv, &e, msg, size);
}

static void
apply_ok(const char *router_id, const char *doc)
{
    char msg[512];
    enum hadron_l3_result r = apply_doc("router", doc ? "update" : "delete",
                                        router_id, doc, msg, sizeof msg);
    if (r != HADRON_L3_OK) {
        fail_msg("apply: %d: %s", r, msg);
    }
}

/* A router document: 'n_ifaces' interfaces (0-2), a gateway (SNAT or not)
 * when 'gateway', the floating IP 203.0.113.50 on 'fip_fixed' (NULL:
 * none), an extra route when 'route'. */
static char *
doc(const char *id, bool admin_up, bool gateway, bool snat, int n_ifaces,
    const char *fip_fixed, bool route)
{
    char gw[1024] = "null", ifaces[1024] = "", fips[512] = "";
    const char *r2 = strcmp(id, R1) ? "2" : "1";

    if (gateway) {
        snprintf(gw, sizeof gw,
                 "{\"network_id\": \"" NET_EXT "\", \"enable_snat\": %s, "
                 "\"external_fixed_ips\": [{\"subnet_id\": \"s\", "
                 "\"ip_address\": \"203.0.113.1%s\"}, {\"subnet_id\": \"s6\", "
                 "\"ip_address\": \"2001:db8::%s\"}], "
                 "\"port\": {\"id\": \"" PORT_BASE "a%s\", \"mac_address\": "
                 "\"FA:16:3E:00:0%s:01\", \"network_id\": \"" NET_EXT "\", "
                 "\"cidrs\": [\"2001:db8::/64\", \"203.0.113.0/24\"], "
                 "\"gateway_ip\": \"203.0.113.1\", \"vif_details\": "
                 "{\"bridge_name\": \"brext\"}}}",
                 snat ? "true" : "false", r2, r2, r2, r2);
    }
    for (int i = 1; i <= n_ifaces; i++) {
        snprintf(ifaces + strlen(ifaces), sizeof ifaces - strlen(ifaces),
                 "%s{\"port_id\": \"" PORT_BASE "%d%s\", \"mac_address\": "
                 "\"fa:16:3e:00:%s%d:02\", \"network_id\": \"%s\", "
                 "\"subnet_id\": \"x\", \"ip_address\": \"10.%s.%d.1\", "
                 "\"cidr\": \"10.%s.%d.0/24\", \"vif_details\": {}, "
                 "\"network_type\": \"vxlan\", \"segmentation_id\": 7}",
                 i > 1 ? ", " : "", i, r2, r2, i,
                 i == 1 ? NET_A : NET_B, r2, i, r2, i);
    }
    if (fip_fixed) {
        snprintf(fips, sizeof fips,
                 "{\"id\": \"ffffffff-0000-4000-8000-00000000000%s\", "
                 "\"floating_ip_address\": \"203.0.113.5%s\", "
                 "\"fixed_ip_address\": \"%s\", \"port_id\": \"p\", "
                 "\"floating_network_id\": \"" NET_EXT "\"}, "
                 "{\"id\": \"unassociated\", \"floating_ip_address\": "
                 "\"203.0.113.99\", \"fixed_ip_address\": null, "
                 "\"port_id\": null}", r2, r2, fip_fixed);
    }
    char *text = NULL;
    assert_true(asprintf(&text,
                         "{\"id\": \"%s\", \"name\": \"r\", \"project_id\": "
                         "\"p\", \"admin_state_up\": %s, \"flavor_id\": null, "
                         "\"external_gateway_info\": %s, \"routes\": [%s], "
                         "\"interfaces\": [%s], \"floatingips\": [%s]}",
                         id, admin_up ? "true" : "false", gw,
                         route ? "{\"destination\": \"192.168.7.0/24\", "
                                 "\"nexthop\": \"10.1.1.254\"}" : "",
                         ifaces, fips) > 0);
    return text;
}

static char *
dump(void)
{
    char *text = dpdk_l3_dump(drv);
    assert_non_null(text);
    return text;
}

static void
assert_contains(const char *text, const char *what)
{
    if (!strstr(text, what)) {
        fail_msg("'%s' not in:\n%s", what, text);
    }
}

static void
assert_lacks(const char *text, const char *what)
{
    if (strstr(text, what)) {
        fail_msg("'%s' unexpectedly in:\n%s", what, text);
    }
}

/* The bridge the kernel interface 'ifname' is a port of, or "". */
static const char *
master_of(const char *ifname)
{
    static char master[PATH_MAX];
    char path[128];

    snprintf(path, sizeof path, "/sys/class/net/%s/master", ifname);
    ssize_t n = readlink(path, master, sizeof master - 1);
    master[n > 0 ? n : 0] = '\0';
    const char *slash = strrchr(master, '/');
    return slash ? slash + 1 : "";
}

/* The "tap..." interface of port 'port_id' in dump 'text'. */
static void
iface_of(const char *text, const char *port_id, char ifname[16])
{
    char key[64];

    snprintf(key, sizeof key, " port %s ", port_id);
    const char *p = strstr(text, key);
    assert_non_null(p);
    p = strstr(p, "iface=");
    assert_non_null(p);
    snprintf(ifname, 16, "%.15s", p + 6);
}

static int
setup(void **state)
{
    dp_start();
    drv = driver_create(sock_path);
    return 0;
}

static int
teardown(void **state)
{
    dpdk_l3_class.destroy(drv);
    drv = NULL;
    dp_stop();
    return 0;
}

/* ---- Tests ---- */

static void
test_converge(void **state)
{
    char *d = doc(R1, true, true, true, 2, "10.1.1.10", true);
    apply_ok(R1, d);
    char *t = dump();
    assert_contains(t, "router " R1 "\n");
    assert_contains(t, " port " PORT_BASE "a1 ");
    assert_contains(t, "fa:16:3e:00:01:01 203.0.113.11/24 mtu 1500 external "
                       "brext");
    assert_contains(t, " port " PORT_BASE "11 ");
    assert_contains(t, " port " PORT_BASE "21 ");
    assert_contains(t, "10.1.1.1/24 mtu 1500 brqaaaaaaaa-00");
    assert_contains(t, "10.1.2.1/24 mtu 1500 brqbbbbbbbb-00");
    assert_contains(t, " route 0.0.0.0/0 via 203.0.113.1\n");
    assert_contains(t, " route 192.168.7.0/24 via 10.1.1.254\n");
    assert_contains(t, " snat 203.0.113.11\n");
    assert_contains(t, " fip 203.0.113.51 10.1.1.10\n");
    assert_lacks(t, "203.0.113.99");
    assert_true(dpdk_l3_has(drv, "router", R1, R1));
    assert_true(dpdk_l3_has(drv, "floatingip", R1,
                            "ffffffff-0000-4000-8000-000000000001"));
    assert_false(dpdk_l3_has(drv, "floatingip", R1, "unassociated"));

    /* The TAP devices are ports of the bridges, which the driver made. */
    char ifname[16];
    assert_true(dpdk_l3_has(drv, "router_interface", R1, PORT_BASE "11"));
    assert_false(dpdk_l3_has(drv, "router_interface", R1, PORT_BASE "12"));
    iface_of(t, PORT_BASE "11", ifname);
    assert_string_equal(master_of(ifname), "brqaaaaaaaa-00");
    iface_of(t, PORT_BASE "a1", ifname);
    assert_string_equal(master_of(ifname), "brext");

    /* Applying again changes nothing. */
    apply_ok(R1, d);
    char *t2 = dump();
    assert_string_equal(t, t2);
    free(t2);
    free(t);
    free(d);

    /* Less: one interface, no SNAT, the FIP moved, no extra route. */
    d = doc(R1, true, true, false, 1, "10.1.1.20", false);
    apply_ok(R1, d);
    t = dump();
    assert_lacks(t, "10.1.2.1/24");
    assert_lacks(t, " snat ");
    assert_lacks(t, "192.168.7.0");
    assert_contains(t, " fip 203.0.113.51 10.1.1.20\n");
    assert_lacks(t, "10.1.1.10");
    free(t);
    free(d);

    /* Admin down: the router stays, empty. */
    d = doc(R1, false, true, true, 2, "10.1.1.10", true);
    apply_ok(R1, d);
    t = dump();
    assert_string_equal(t, "router " R1 "\n");
    free(t);
    free(d);

    /* Deleted. */
    apply_ok(R1, NULL);
    t = dump();
    assert_string_equal(t, "");
    free(t);
    apply_ok(R1, NULL);
}

static void
test_validate(void **state)
{
    char err[256];
    struct hadron_l3_entry e = {
        .seq = 1, .resource = "router", .operation = "update",
        .resource_id = R1, .router_id = R1,
        .data = "{\"id\": \"" R1 "\", \"routes\": [{\"destination\": "
                "\"2001:db8:1::/64\", \"nexthop\": \"2001:db8::1\"}]}",
    };

    assert_false(dpdk_l3_class.validate(drv, &e, err, sizeof err));
    assert_non_null(strstr(err, "IPv6"));
    e.data = "{\"external_gateway_info\": {\"external_fixed_ips\": ["
             "{\"ip_address\": \"203.0.113.5\"}, {\"ip_address\": "
             "\"203.0.113.6\"}]}}";
    assert_false(dpdk_l3_class.validate(drv, &e, err, sizeof err));
    assert_non_null(strstr(err, "one IPv4 address"));
    e.data = "{\"external_gateway_info\": {\"external_fixed_ips\": ["
             "{\"ip_address\": \"203.0.113.5\"}, {\"ip_address\": "
             "\"2001:db8::5\"}]}, \"routes\": [{\"destination\": "
             "\"10.9.0.0/16\", \"nexthop\": \"10.1.1.9\"}]}";
    assert_true(dpdk_l3_class.validate(drv, &e, err, sizeof err));
    e.resource = "floatingip";
    e.data = "{}";
    assert_true(dpdk_l3_class.validate(drv, &e, err, sizeof err));
    unsigned int caps = dpdk_l3_class.capabilities(drv);
    assert_false(caps & HADRON_L3_CAP_IPV6);
    assert_true(caps & HADRON_L3_CAP_SNAT);
    assert_true(caps & HADRON_L3_CAP_FLOATINGIP);
}

static void
test_bad_options(void **state)
{
    static const struct {
        const char *key, *value, *message;
    } cases[] = {
        { "nosuch", "1", "unknown option [dpdk] nosuch" },
        { "timeout_ms", "0", "timeout_ms" },
        { "mtu", "20000", "mtu" },
        { "create_missing_bridges", "maybe", "not a boolean" },
        { "control_socket", "", "control_socket" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hadron_l3_option opt = { cases[i].key, cases[i].value };
        struct hadron_l3_config cfg = { .options = &opt, .n_options = 1 };
        char err[256] = "";
        void *state2 = NULL;
        assert_int_equal(dpdk_l3_class.init(&cfg, &state2, err, sizeof err),
                         EINVAL);
        assert_null(state2);
        assert_non_null(strstr(err, cases[i].message));
    }
}

/* Without the dataplane: unhealthy, apply and sync_all RETRY. */
static void
test_unreachable(void **state)
{
    char msg[512];
    bool lost = false;
    void *saved = drv;

    drv = driver_create("/tmp/hadron-dpdk-test-nosuch.sock");
    assert_false(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    assert_non_null(strstr(msg, "nosuch.sock"));
    char *d = doc(R1, true, false, false, 0, NULL, false);
    assert_int_equal(apply_doc("router", "create", R1, d, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_non_null(strstr(msg, "nosuch.sock"));
    const char *docs[] = { d };
    assert_int_equal(dpdk_l3_class.sync_all(drv, docs, 1, msg, sizeof msg),
                     HADRON_L3_RETRY);
    free(d);
    dpdk_l3_class.destroy(drv);
    drv = saved;

    /* The connection comes back after the process restarts. */
    dp_stop();
    assert_false(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    dp_start();
    assert_true(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
}

/* A restart of hadron-dpdk is seen by health(), and sync_all() rebuilds
 * every router, removing those no document names. */
/* Router ports on one bridge share one TAP (hadron-dpdk demultiplexes by
 * MAC), so that many routers fit in DPDK's 32 ports; a port takes its
 * network's MTU from the document's l2 networks. */
static void
test_shared_tap_and_mtu(void **state)
{
    char *d1 = doc(R1, true, true, true, 1, NULL, false);
    char *d2 = doc(R2, true, true, true, 1, NULL, false);
    char *with_l2 = NULL;

    /* R2's interface is on NET_A too, with MTU 1450. */
    assert_true(asprintf(&with_l2, "{\"l2\": {\"networks\": [{\"id\": \""
                         NET_A "\", \"mtu\": 1450}]}, %s", d2 + 1) > 0);
    apply_ok(R1, d1);
    apply_ok(R2, with_l2);
    char *t = dump();
    char g1[16], g2[16], i1[16], i2[16];
    iface_of(t, PORT_BASE "a1", g1);
    iface_of(t, "11111111-0000-4000-8000-000000000012", i2);
    iface_of(t, PORT_BASE "11", i1);
    /* R2's gateway port id is PORT_BASE "a2". */
    iface_of(t, PORT_BASE "a2", g2);
    assert_string_equal(g1, g2);
    assert_string_equal(i1, i2);
    assert_string_not_equal(g1, i1);
    assert_string_equal(master_of(g1), "brext");
    assert_contains(t, "10.2.1.1/24 mtu 1450 ");
    assert_contains(t, "10.1.1.1/24 mtu 1500 ");
    free(t);

    /* The TAP stays while a router still uses it. */
    apply_ok(R1, NULL);
    assert_string_equal(master_of(g2), "brext");
    apply_ok(R2, NULL);
    assert_string_equal(master_of(g2), "");
    free(d1);
    free(d2);
    free(with_l2);
}

static void
test_restart_and_sync(void **state)
{
    char msg[512];
    bool lost = false;
    char *d1 = doc(R1, true, true, true, 2, "10.1.1.10", true);
    char *d2 = doc(R2, true, true, false, 1, "10.2.1.7", false);
    const char *docs[] = { d1, d2 };

    /* First contact: never synced, so a sync is asked for. */
    assert_true(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    assert_true(lost);
    apply_ok("33333333-0000-4000-8000-000000000003",
             "{\"id\": \"33333333-0000-4000-8000-000000000003\"}");
    assert_int_equal(dpdk_l3_class.sync_all(drv, docs, 2, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_true(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    assert_false(lost);
    char *before = dump();
    assert_lacks(before, "33333333");
    assert_contains(before, "router " R1);
    assert_contains(before, "router " R2);
    assert_contains(before, " fip 203.0.113.52 10.2.1.7\n");
    /* A sync of what is there changes nothing. */
    assert_int_equal(dpdk_l3_class.sync_all(drv, docs, 2, msg, sizeof msg),
                     HADRON_L3_OK);
    char *again = dump();
    assert_string_equal(before, again);
    free(again);

    /* The process restarts empty. */
    dp_stop();
    dp_start();
    assert_true(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    assert_true(lost);
    /* An entry applied meanwhile converges its own router... */
    apply_ok(R2, d2);
    assert_true(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    assert_true(lost);
    /* ...and the sync brings back everything. */
    assert_int_equal(dpdk_l3_class.sync_all(drv, docs, 2, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_true(dpdk_l3_class.health(drv, &lost, msg, sizeof msg));
    assert_false(lost);
    char *after = dump();
    assert_string_equal(before, after);
    free(after);

    /* Bridge attachments come back too. */
    char ifname[16];
    iface_of(before, PORT_BASE "11", ifname);
    assert_string_equal(master_of(ifname), "brqaaaaaaaa-00");

    /* A document it cannot hold does not keep the others from syncing. */
    const char *bad[] = { "{\"no\": \"id\"}", d1 };
    assert_int_equal(dpdk_l3_class.sync_all(drv, bad, 2, msg, sizeof msg),
                     HADRON_L3_OK);
    char *t = dump();
    assert_lacks(t, "router " R2);
    assert_contains(t, "router " R1);
    free(t);
    free(before);
    free(d1);
    free(d2);
}

int
main(int argc, char **argv)
{
    /* A network namespace of our own, and a mount namespace with its
     * sysfs, as `ip netns exec` makes them. */
    if (geteuid() != 0 || unshare(CLONE_NEWNET | CLONE_NEWNS)
        || mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL)
        || umount2("/sys", MNT_DETACH)
        || mount("sysfs", "/sys", "sysfs", 0, NULL)) {
        printf("SKIP: needs root (network and mount namespaces)\n");
        return 77;
    }
    snprintf(sock_path, sizeof sock_path, "/tmp/tdd%d.sock", (int) getpid());
    snprintf(log_path, sizeof log_path, "/tmp/tdd%d.log", (int) getpid());
    snprintf(prefix, sizeof prefix, "tdd%d", (int) getpid());

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_converge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_tap_and_mtu, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_sync, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc) {
        char line[512];
        FILE *f = fopen(log_path, "r");
        fprintf(stderr, "--- hadron-dpdk log:\n");
        while (f && fgets(line, sizeof line, f)) {
            fputs(line, stderr);
        }
        if (f) {
            fclose(f);
        }
    }
    unlink(log_path);
    return rc;
}
