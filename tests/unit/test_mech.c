/* tests/unit/test_mech.c: the mechanism driver manager and the built-in
 * drivers, driven through l2/l2-internal.h with fake drivers that record
 * their calls.  No database. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/util.h"
#include "l2/l2-internal.h"

/* ---- A resource to hand drivers ---- */

static const struct attr_def fake_attrs[] = {
    { "id", AT_UUID, 0, "id", NULL, 0, 0, NULL },
    { "network_id", AT_UUID, 0, "network_id", NULL, 0, 0, NULL },
};
static const struct resource_def fake_def = {
    .singular = "port",
    .plural = "ports",
    .table = "ports",
    .not_found = "PortNotFound",
    .display = "Port",
    .attrs = fake_attrs,
    .n_attrs = 2,
};

#define PORT_ID "11111111-2222-3333-4444-555555555555"
#define NET_ID "abcdef01-2345-6789-abcd-ef0123456789"

static struct res_obj *
fake_port(void)
{
    struct res_obj *obj = res_obj_create(&fake_def);
    value_set_str(&obj->v[0], PORT_ID);
    value_set_str(&obj->v[1], NET_ID);
    return obj;
}

/* ---- Fake drivers ---- */

static char calls[1024];            /* "a:pre b:pre ..." */
static bool fail_pre[2], fail_post[2];
static const char *bind_host[2];    /* binds on this host ("*" any) */
static int bind_segment[2];

static void
record(int who, const char *what)
{
    size_t len = strlen(calls);
    snprintf(calls + len, sizeof calls - len, "%s%c:%s", len ? " " : "",
             'a' + who, what);
}

static struct neutron_error *
fake_op(int who, bool post)
{
    record(who, post ? "post" : "pre");
    if (post ? fail_post[who] : fail_pre[who]) {
        return neutron_error_create(NE_CONFLICT, "FakeError", "fake %c "
                                    "failed", 'a' + who);
    }
    return NULL;
}

static struct neutron_error *
a_pre(const struct l2_mech_context *mc)
{
    (void) mc;
    return fake_op(0, false);
}

static struct neutron_error *
a_post(const struct l2_mech_context *mc)
{
    (void) mc;
    return fake_op(0, true);
}

static struct neutron_error *
b_pre(const struct l2_mech_context *mc)
{
    (void) mc;
    return fake_op(1, false);
}

static struct neutron_error *
b_post(const struct l2_mech_context *mc)
{
    (void) mc;
    return fake_op(1, true);
}

static bool
fake_bind(int who, const char *host, struct l2_binding *out)
{
    record(who, "bind");
    if (!bind_host[who]
        || (strcmp(bind_host[who], "*") && strcmp(bind_host[who], host))) {
        return false;
    }
    snprintf(out->vif_type, sizeof out->vif_type, "fake%c", 'a' + who);
    out->vif_details = xasprintf("{\"who\": \"%c\"}", 'a' + who);
    out->segment = bind_segment[who];
    return true;
}

static bool
a_bind(const struct l2_mech_context *mc, const char *host,
       const char *vnic_type, struct l2_binding *out)
{
    (void) mc;
    (void) vnic_type;
    return fake_bind(0, host, out);
}

static bool
b_bind(const struct l2_mech_context *mc, const char *host,
       const char *vnic_type, struct l2_binding *out)
{
    (void) mc;
    (void) vnic_type;
    return fake_bind(1, host, out);
}

static const struct l2_mech_class fake_a = {
    .name = "fake_a",
    .network_precommit = a_pre, .network_postcommit = a_post,
    .port_precommit = a_pre, .port_postcommit = a_post,
    .bind_port = a_bind,
};

static const struct l2_mech_class fake_b = {
    .name = "fake_b",
    .network_precommit = b_pre, .network_postcommit = b_post,
    .subnet_precommit = b_pre,
    .port_precommit = b_pre, .port_postcommit = b_post,
    .bind_port = b_bind,
};

/* ---- Helpers ---- */

static char log_path[64];

static char *
read_log(void)
{
    FILE *f = fopen(log_path, "r");
    char *buf = xzalloc(1 << 16);

    assert_non_null(f);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Loads 'drivers' with the given extra options set on a default config. */
static char *
init_with(const char *drivers, struct config **cfgp)
{
    struct config *cfg = config_create();

    free(cfg->ml2_mechanism_drivers);
    cfg->ml2_mechanism_drivers = xstrdup(drivers);
    free(cfg->host);
    cfg->host = xstrdup("compute1");
    char *error = l2_mech_init__(cfg);
    if (cfgp) {
        *cfgp = cfg;
    } else {
        config_destroy(cfg);
    }
    return error;
}

static void
load(const char *drivers)
{
    char *error = init_with(drivers, NULL);
    if (error) {
        fail_msg("init %s: %s", drivers, error);
    }
}

static int
reset(void **state)
{
    (void) state;
    calls[0] = '\0';
    memset(fail_pre, 0, sizeof fail_pre);
    memset(fail_post, 0, sizeof fail_post);
    memset(bind_host, 0, sizeof bind_host);
    memset(bind_segment, 0, sizeof bind_segment);
    return 0;
}

static struct op_ctx test_ctx = { .request_id = "req-test" };

/* ---- Tests ---- */

static void
test_unknown_driver_refused(void **state)
{
    (void) state;
    char *error = init_with("logger,nosuch", NULL);
    assert_non_null(error);
    assert_non_null(strstr(error, "unknown mechanism driver 'nosuch'"));
    free(error);

    error = init_with("logger, logger", NULL);
    assert_non_null(error);
    assert_non_null(strstr(error, "'logger' is listed twice"));
    free(error);

    assert_int_equal(l2_mech_register__(&fake_a), EEXIST);

    /* Spaces and empty items are fine; none at all loads nothing. */
    assert_null(init_with(" fake_a ,, fake_b ", NULL));
    assert_true(l2_mech_has_ops__("port", false));
    assert_null(init_with("", NULL));
    assert_false(l2_mech_has_ops__("port", false));
    assert_false(l2_mech_has_ops__("network", true));
}

static void
test_order_and_reverse_delete(void **state)
{
    (void) state;
    struct res_obj *port = fake_port();
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_CREATE,
                                  .cur = port };

    load("fake_a,fake_b");
    assert_null(l2_mech_precommit__("port", &mc));
    assert_null(l2_mech_postcommit__("port", &mc));
    assert_string_equal(calls, "a:pre b:pre a:post b:post");

    reset(NULL);
    mc.op = L2_MECH_UPDATE;
    mc.orig = port;
    assert_null(l2_mech_precommit__("network", &mc));
    assert_null(l2_mech_postcommit__("network", &mc));
    assert_string_equal(calls, "a:pre b:pre a:post b:post");

    reset(NULL);
    mc.op = L2_MECH_DELETE;
    mc.cur = NULL;
    assert_null(l2_mech_precommit__("port", &mc));
    assert_null(l2_mech_postcommit__("port", &mc));
    assert_string_equal(calls, "b:pre a:pre b:post a:post");

    /* NULL ops are skipped: only fake_b has subnet_precommit. */
    reset(NULL);
    mc.op = L2_MECH_CREATE;
    mc.cur = port;
    assert_null(l2_mech_precommit__("subnet", &mc));
    assert_null(l2_mech_postcommit__("subnet", &mc));
    assert_string_equal(calls, "b:pre");
    assert_true(l2_mech_has_ops__("subnet", false));
    assert_false(l2_mech_has_ops__("subnet", true));

    /* The configured order decides, not the registration order. */
    reset(NULL);
    load("fake_b,fake_a");
    assert_null(l2_mech_precommit__("port", &mc));
    assert_string_equal(calls, "b:pre a:pre");
    res_obj_destroy(port);
}

static void
test_precommit_error_stops(void **state)
{
    (void) state;
    struct res_obj *port = fake_port();
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_CREATE,
                                  .cur = port };

    load("fake_a,fake_b");
    fail_pre[0] = true;
    struct neutron_error *e = l2_mech_precommit__("port", &mc);
    assert_non_null(e);
    assert_int_equal(neutron_error_http_status(e), 409);
    assert_string_equal(e->type, "FakeError");
    assert_string_equal(e->message, "fake a failed");
    assert_string_equal(calls, "a:pre");
    neutron_error_destroy(e);

    /* On delete the walk is reversed, so b's error stops before a. */
    reset(NULL);
    fail_pre[1] = true;
    mc.op = L2_MECH_DELETE;
    e = l2_mech_precommit__("port", &mc);
    assert_non_null(e);
    assert_string_equal(e->message, "fake b failed");
    assert_string_equal(calls, "b:pre");
    neutron_error_destroy(e);
    res_obj_destroy(port);
}

static void
test_postcommit_create_error_returned(void **state)
{
    (void) state;
    struct res_obj *port = fake_port();
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_CREATE,
                                  .cur = port };

    load("fake_a,fake_b");
    fail_post[1] = true;
    struct neutron_error *e = l2_mech_postcommit__("port", &mc);
    assert_non_null(e);
    assert_string_equal(e->message, "fake b failed");
    assert_string_equal(calls, "a:post b:post");
    neutron_error_destroy(e);

    reset(NULL);
    fail_post[0] = true;
    e = l2_mech_postcommit__("network", &mc);
    assert_non_null(e);
    assert_string_equal(e->message, "fake a failed");
    assert_string_equal(calls, "a:post");
    neutron_error_destroy(e);
    res_obj_destroy(port);
}

static void
test_postcommit_update_delete_errors_logged(void **state)
{
    (void) state;
    struct res_obj *port = fake_port();
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_UPDATE,
                                  .cur = port, .orig = port };

    load("fake_a,fake_b");
    fail_post[0] = true;
    fail_post[1] = true;
    assert_null(l2_mech_postcommit__("port", &mc));
    assert_string_equal(calls, "a:post b:post");

    reset(NULL);
    fail_post[0] = true;
    mc.op = L2_MECH_DELETE;
    mc.cur = NULL;
    assert_null(l2_mech_postcommit__("port", &mc));
    assert_string_equal(calls, "b:post a:post");

    char *log = read_log();
    assert_non_null(strstr(log, "WARN l2: req-test: mechanism driver "
                                "'fake_a' failed in update_port_postcommit: "
                                "fake a failed"));
    assert_non_null(strstr(log, "mechanism driver 'fake_b' failed in "
                                "update_port_postcommit: fake b failed"));
    assert_non_null(strstr(log, "mechanism driver 'fake_a' failed in "
                                "delete_port_postcommit: fake a failed"));
    free(log);
    res_obj_destroy(port);
}

static void
test_binding_choice(void **state)
{
    (void) state;
    struct res_obj *port = fake_port();
    struct l2_segment segs[2] = {
        { .network_type = "vlan", .physical_network = "physnet1",
          .segmentation_id = 100 },
        { .network_type = "local", .segmentation_id = -1 },
    };
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_CREATE,
                                  .cur = port, .segments = segs,
                                  .n_segments = 2 };
    struct l2_binding b;
    const char *driver = NULL;

    load("fake_a,fake_b");
    bind_host[0] = "hostA";
    bind_host[1] = "*";
    bind_segment[1] = 1;

    /* The first driver that binds wins; later ones are not asked. */
    assert_true(l2_mech_bind_port__(&mc, "hostA", "normal", &b, &driver));
    assert_string_equal(driver, "fake_a");
    assert_string_equal(b.vif_type, "fakea");
    assert_string_equal(b.vif_details, "{\"who\": \"a\"}");
    assert_int_equal(b.segment, 0);
    assert_string_equal(calls, "a:bind");
    free(b.vif_details);

    reset(NULL);
    bind_host[0] = "hostA";
    bind_host[1] = "*";
    bind_segment[1] = 1;
    assert_true(l2_mech_bind_port__(&mc, "hostB", "normal", &b, &driver));
    assert_string_equal(driver, "fake_b");
    assert_int_equal(b.segment, 1);
    assert_string_equal(calls, "a:bind b:bind");
    free(b.vif_details);

    /* In the other order b binds first. */
    load("fake_b,fake_a");
    assert_true(l2_mech_bind_port__(&mc, "hostA", "normal", &b, NULL));
    assert_string_equal(b.vif_type, "fakeb");
    free(b.vif_details);

    /* Nobody binds. */
    reset(NULL);
    load("fake_a,fake_b");
    assert_false(l2_mech_bind_port__(&mc, "hostA", "normal", &b, NULL));
    assert_string_equal(calls, "a:bind b:bind");

    /* A binding to a segment the port's network does not have is
     * ignored and the next driver is asked. */
    reset(NULL);
    bind_host[0] = "*";
    bind_segment[0] = 5;
    bind_host[1] = "*";
    assert_true(l2_mech_bind_port__(&mc, "hostA", "normal", &b, &driver));
    assert_string_equal(driver, "fake_b");
    free(b.vif_details);
    res_obj_destroy(port);
}

/* Binds with linuxbridge on 'segs' and returns the vif_details (or NULL
 * when it does not bind). */
static char *
lb_bind(const char *host, const char *vnic_type,
        const struct l2_segment *segs, size_t n, int *segment)
{
    struct res_obj *port = fake_port();
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_CREATE,
                                  .cur = port, .segments = segs,
                                  .n_segments = n };
    struct l2_binding b = { .segment = -1 };
    char *details = NULL;

    if (l2_mech_bind_port__(&mc, host, vnic_type, &b, NULL)) {
        assert_string_equal(b.vif_type, "bridge");
        details = b.vif_details;
        if (segment) {
            *segment = b.segment;
        }
    }
    res_obj_destroy(port);
    return details;
}

static void
test_linuxbridge(void **state)
{
    (void) state;
    struct config *cfg = config_create();
    const struct l2_segment vlan1 = { .network_type = "vlan",
                                      .physical_network = "physnet1",
                                      .segmentation_id = 100 };
    const struct l2_segment flat2 = { .network_type = "flat",
                                      .physical_network = "physnet2",
                                      .segmentation_id = -1 };
    const struct l2_segment flat3 = { .network_type = "flat",
                                      .physical_network = "physnet3",
                                      .segmentation_id = -1 };
    const struct l2_segment vxlan = { .network_type = "vxlan",
                                      .segmentation_id = 1001 };
    const struct l2_segment gre = { .network_type = "gre",
                                    .segmentation_id = 5 };
    const struct l2_segment local = { .network_type = "local",
                                      .segmentation_id = -1 };
    char *d;
    int seg = -1;

    free(cfg->ml2_mechanism_drivers);
    cfg->ml2_mechanism_drivers = xstrdup("linuxbridge");
    free(cfg->host);
    cfg->host = xstrdup("compute1");
    free(cfg->lb_physical_interface_mappings);
    cfg->lb_physical_interface_mappings = xstrdup("physnet1:eth1");
    free(cfg->lb_bridge_mappings);
    cfg->lb_bridge_mappings = xstrdup(" physnet2 : br-ex ");
    free(cfg->vxlan_local_ip);
    cfg->vxlan_local_ip = xstrdup("");
    assert_null(l2_mech_init__(cfg));
    assert_false(l2_mech_has_ops__("port", false));

    d = lb_bind("compute1", "normal", &vlan1, 1, &seg);
    assert_string_equal(d, "{\"port_filter\": true, \"bridge_name\": "
                        "\"brqabcdef01-23\", \"connectivity\": \"l2\"}");
    assert_int_equal(seg, 0);
    free(d);
    d = lb_bind("compute1", "normal", &flat2, 1, NULL);
    assert_string_equal(d, "{\"port_filter\": true, \"bridge_name\": "
                        "\"br-ex\", \"connectivity\": \"l2\"}");
    free(d);
    d = lb_bind("compute1", "normal", &local, 1, NULL);
    assert_non_null(strstr(d, "\"brqabcdef01-23\""));
    free(d);

    /* Unmappable segments, other hosts and other vnic types. */
    assert_null(lb_bind("compute1", "normal", &flat3, 1, NULL));
    assert_null(lb_bind("compute1", "normal", &vxlan, 1, NULL));
    assert_null(lb_bind("compute1", "normal", &gre, 1, NULL));
    assert_null(lb_bind("compute2", "normal", &vlan1, 1, NULL));
    assert_null(lb_bind("compute1", "direct", &vlan1, 1, NULL));

    /* The first segment it can reach. */
    struct l2_segment two[2] = { flat3, vlan1 };
    d = lb_bind("compute1", "normal", two, 2, &seg);
    assert_non_null(d);
    assert_int_equal(seg, 1);
    free(d);

    /* vxlan needs enable_vxlan and a local_ip. */
    free(cfg->vxlan_local_ip);
    cfg->vxlan_local_ip = xstrdup("192.0.2.10");
    assert_null(l2_mech_init__(cfg));
    d = lb_bind("compute1", "normal", &vxlan, 1, NULL);
    assert_non_null(strstr(d, "\"brqabcdef01-23\""));
    free(d);
    cfg->vxlan_enable = false;
    assert_null(l2_mech_init__(cfg));
    assert_null(lb_bind("compute1", "normal", &vxlan, 1, NULL));

    /* Bad mappings stop the start. */
    free(cfg->lb_physical_interface_mappings);
    cfg->lb_physical_interface_mappings = xstrdup("physnet1");
    char *error = l2_mech_init__(cfg);
    assert_non_null(error);
    assert_non_null(strstr(error, "mechanism driver 'linuxbridge': "
                                  "[linux_bridge] "
                                  "physical_interface_mappings: invalid "
                                  "mapping 'physnet1'"));
    free(error);
    free(cfg->lb_physical_interface_mappings);
    cfg->lb_physical_interface_mappings = xstrdup("physnet1:eth1,"
                                                  "physnet1:eth2");
    error = l2_mech_init__(cfg);
    assert_non_null(strstr(error, "not unique"));
    free(error);

    /* Without [DEFAULT] host it binds on the machine's host name. */
    free(cfg->lb_physical_interface_mappings);
    cfg->lb_physical_interface_mappings = xstrdup("physnet1:eth1");
    free(cfg->host);
    cfg->host = xstrdup("");
    assert_null(l2_mech_init__(cfg));
    char name[256] = "";
    assert_int_equal(gethostname(name, sizeof name - 1), 0);
    d = lb_bind(name, "normal", &vlan1, 1, NULL);
    assert_non_null(d);
    free(d);
    config_destroy(cfg);
}

static void
test_logger(void **state)
{
    (void) state;
    struct res_obj *port = fake_port();
    struct l2_segment local = { .network_type = "local",
                                .segmentation_id = -1 };
    struct l2_mech_context mc = { .ctx = &test_ctx, .op = L2_MECH_CREATE,
                                  .cur = port, .segments = &local,
                                  .n_segments = 1 };
    struct l2_binding b;

    load("logger,linuxbridge");
    assert_true(l2_mech_has_ops__("port", true));
    assert_null(l2_mech_precommit__("port", &mc));
    assert_null(l2_mech_postcommit__("port", &mc));
    mc.op = L2_MECH_UPDATE;
    assert_null(l2_mech_precommit__("subnet", &mc));
    mc.op = L2_MECH_DELETE;
    mc.orig = port;
    mc.cur = NULL;
    assert_null(l2_mech_postcommit__("network", &mc));
    mc.cur = port;
    /* logger never binds; linuxbridge after it does. */
    const char *driver = NULL;
    assert_true(l2_mech_bind_port__(&mc, "compute1", "normal", &b, &driver));
    assert_string_equal(driver, "linuxbridge");
    free(b.vif_details);

    char *log = read_log();
    assert_non_null(strstr(log, "INFO logger: create_port_precommit "
                                PORT_ID "\n"));
    assert_non_null(strstr(log, "INFO logger: create_port_postcommit "
                                PORT_ID "\n"));
    assert_non_null(strstr(log, "INFO logger: update_subnet_precommit "
                                PORT_ID "\n"));
    assert_non_null(strstr(log, "INFO logger: delete_network_postcommit "
                                PORT_ID "\n"));
    assert_non_null(strstr(log, "INFO logger: bind_port " PORT_ID
                                " host compute1 vnic_type normal\n"));
    free(log);
    res_obj_destroy(port);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unknown_driver_refused, reset),
        cmocka_unit_test_setup(test_order_and_reverse_delete, reset),
        cmocka_unit_test_setup(test_precommit_error_stops, reset),
        cmocka_unit_test_setup(test_postcommit_create_error_returned, reset),
        cmocka_unit_test_setup(test_postcommit_update_delete_errors_logged,
                               reset),
        cmocka_unit_test_setup(test_binding_choice, reset),
        cmocka_unit_test_setup(test_linuxbridge, reset),
        cmocka_unit_test_setup(test_logger, reset),
    };

    snprintf(log_path, sizeof log_path, "/tmp/hadron-test-mech-%d.log",
             (int) getpid());
    if (log_open(log_path)) {
        fprintf(stderr, "cannot open %s\n", log_path);
        return 1;
    }
    if (l2_mech_register__(&fake_a) || l2_mech_register__(&fake_b)) {
        fprintf(stderr, "cannot register the fake drivers\n");
        return 1;
    }
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(log_path);
    return failed;
}
