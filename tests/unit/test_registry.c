/* tests/unit/test_registry.c: the flavor driver registry (flavors/
 * registry.h) and the router's provider choice (flavors_resolve()):
 * service_provider lines good and bad, the default, the drivers' option
 * sections, built-in and added classes, vendor shared objects (loaded,
 * refused for a wrong api_version, a missing symbol or a taken name), the
 * wrappers' argument checks, NULL ops and counters, the noop driver's
 * knobs, and every answer of flavors_resolve() on a real database. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/noop/noop.h"
#include "core/config.h"
#include "core/neutron_error.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/flavors.h"
#include "flavors/registry.h"
#include "tests/lib/testdb.h"
#include "tests/unit/vendor_driver.h"

/* Loads 'text' as a configuration file. */
static struct config *
load(const char *text)
{
    char path[] = "/tmp/test_registry_XXXXXX";
    int fd = mkstemp(path);
    struct config *cfg = config_create();

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    char *error = config_load_file(cfg, path);
    unlink(path);
    assert_null(error);
    free(cfg->host);
    cfg->host = xstrdup("testhost");
    return cfg;
}

/* Initialises the registry from 'text'; returns the error (malloc'd) or
 * NULL. */
static char *
init_from(const char *text)
{
    struct config *cfg = load(text);
    char *error = l3_registry_init(cfg);

    config_destroy(cfg);
    return error;
}

static void
init_ok(const char *text)
{
    char *error = init_from(text);

    if (error) {
        fprintf(stderr, "unexpected: %s\n", error);
        free(error);
        fail();
    }
}

static void
init_fails(const char *text, const char *why)
{
    char *error = init_from(text);

    assert_non_null(error);
    if (!strstr(error, why)) {
        fprintf(stderr, "expected '%s' in '%s'\n", why, error);
        fail();
    }
    free(error);
    /* A failed init leaves nothing behind, and may be run again. */
    assert_int_equal(l3_provider_count(), 0);
}

static int
teardown(void **state)
{
    l3_registry_destroy();
    return 0;
}

static struct hadron_l3_entry
entry(const char *resource, const char *operation, const char *id)
{
    return (struct hadron_l3_entry) {
        .seq = 1, .resource = resource, .operation = operation,
        .resource_id = id, .router_id = "r1", .revision = 1,
        .data = "{\"name\": \"x\"}", .router = NULL,
    };
}

/* ---- Lines ---- */

static void
test_default_provider(void **state)
{
    init_ok("[DEFAULT]\n");
    assert_int_equal(l3_provider_count(), 1);
    const struct l3_provider *p = l3_provider_at(0);
    assert_string_equal(l3_provider_name(p), "noop");
    assert_string_equal(l3_provider_driver_name(p), "noop");
    assert_true(l3_provider_is_default(p));
    assert_ptr_equal(l3_provider_default(), p);
    assert_ptr_equal(l3_provider_find("noop"), p);
    assert_ptr_equal(l3_provider_find_driver("noop"), p);
    assert_null(l3_provider_at(1));
    assert_int_equal(l3_provider_capabilities(p),
                     HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY
                     | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES
                     | HADRON_L3_CAP_IPV6 | HADRON_L3_CAP_ADMIN_DOWN);
    /* Twice is an error until destroyed. */
    char *error = init_from("[DEFAULT]\n");
    assert_non_null(strstr(error, "already initialised"));
    free(error);
}

static void
test_good_lines(void **state)
{
    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:first:noop\n"
            "service_provider =  L3_ROUTER_NAT : second : noop : default \n"
            "service_provider = L3_ROUTER_NAT:third.v-2_x:noop\n");
    assert_int_equal(l3_provider_count(), 3);
    assert_string_equal(l3_provider_name(l3_provider_at(0)), "first");
    assert_string_equal(l3_provider_name(l3_provider_at(1)), "second");
    assert_string_equal(l3_provider_name(l3_provider_at(2)), "third.v-2_x");
    assert_false(l3_provider_is_default(l3_provider_at(0)));
    assert_ptr_equal(l3_provider_default(), l3_provider_at(1));
    /* By name first, then the first provider of that driver. */
    assert_ptr_equal(l3_provider_find_driver("second"), l3_provider_at(1));
    assert_ptr_equal(l3_provider_find_driver("noop"), l3_provider_at(0));
    assert_null(l3_provider_find("noop"));
    assert_null(l3_provider_find(NULL));
    assert_null(l3_provider_find_driver("nosuch"));
}

static void
test_no_default(void **state)
{
    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:only:noop\n");
    assert_int_equal(l3_provider_count(), 1);
    assert_null(l3_provider_default());
}

static void
test_bad_lines(void **state)
{
    static const struct {
        const char *line;
        const char *why;
    } cases[] = {
        { "L3_ROUTER_NAT:x", "expected L3_ROUTER_NAT:<name>:<driver>" },
        { "L3_ROUTER_NAT", "expected L3_ROUTER_NAT:<name>:<driver>" },
        { "L3_ROUTER_NAT:x:noop:default:more", "expected L3_ROUTER_NAT" },
        { "FIREWALL_V2:x:noop", "service type 'FIREWALL_V2' is not" },
        { "L3_ROUTER_NAT::noop", "provider name '' is not" },
        { "L3_ROUTER_NAT:a b:noop", "provider name 'a b' is not" },
        { "L3_ROUTER_NAT:"
          "n123456789012345678901234567890123456789012345678901234567890"
          "12345:noop", "is not 1 to 64" },
        { "L3_ROUTER_NAT:x:", "the driver is empty" },
        { "L3_ROUTER_NAT:x:nosuch", "unknown driver 'nosuch' (drivers: noop" },
        { "L3_ROUTER_NAT:x:noop:yes", "must be 'default' or absent" },
        { "L3_ROUTER_NAT:x:/nonexistent/libx.so", "cannot load" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char text[512];
        snprintf(text, sizeof text, "[service_providers]\n"
                 "service_provider = %s\n", cases[i].line);
        init_fails(text, cases[i].why);
    }
    init_fails("[service_providers]\n"
               "service_provider = L3_ROUTER_NAT:a:noop\n"
               "service_provider = L3_ROUTER_NAT:a:noop:default\n",
               "provider name 'a' is used twice");
    init_fails("[service_providers]\n"
               "service_provider = L3_ROUTER_NAT:a:noop:default\n"
               "service_provider = L3_ROUTER_NAT:b:noop:default\n",
               "multiple default providers for service L3_ROUTER_NAT "
               "('a' and 'b')");
    /* After all that, a good configuration still loads. */
    init_ok("[DEFAULT]\n");
    assert_int_equal(l3_provider_count(), 1);
}

/* ---- Options and the noop driver ---- */

static void
test_driver_sections(void **state)
{
    /* [noop] applies to every noop provider; [<provider>] overrides. */
    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:a:noop:default\n"
            "service_provider = L3_ROUTER_NAT:b:noop\n"
            "[noop]\n"
            "capabilities = snat, gateway\n"
            "[b]\n"
            "capabilities = floatingip\n"
            "fail_first = 2\n");
    const struct l3_provider *a = l3_provider_find("a");
    const struct l3_provider *b = l3_provider_find("b");
    assert_int_equal(l3_provider_capabilities(a),
                     HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY);
    assert_int_equal(l3_provider_capabilities(b), HADRON_L3_CAP_FLOATINGIP);

    struct hadron_l3_entry e = entry("router", "create", "r1");
    char msg[128];
    assert_int_equal(l3_provider_apply(b, &e, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_non_null(strstr(msg, "injected failure"));
    assert_int_equal(l3_provider_apply(b, &e, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_int_equal(l3_provider_apply(b, &e, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_int_equal(l3_provider_apply(a, &e, msg, sizeof msg),
                     HADRON_L3_OK);

    struct l3_provider_stats s;
    l3_provider_get_stats(b, &s);
    assert_int_equal(s.apply_retry, 2);
    assert_int_equal(s.apply_ok, 1);
    assert_int_equal(s.apply_failed, 0);
}

static void
test_config_sections_reported(void **state)
{
    /* A driver's or provider's section is not an unknown one; others
     * are. */
    struct config *cfg = load("[service_providers]\n"
                              "service_provider = L3_ROUTER_NAT:a:noop\n"
                              "service_provider = L3_ROUTER_NAT:v:"
                              "/opt/x/libacme.so\n"
                              "[noop]\nk = 1\n[a]\nk = 2\n[acme]\nk = 3\n"
                              "[other]\nk = 4\n");
    assert_int_equal(cfg->warnings.n, 1);
    assert_non_null(strstr(cfg->warnings.items[0], "[other] k"));
    assert_int_equal(cfg->n_extra, 4);
    config_destroy(cfg);
}

static void
test_noop_idempotent(void **state)
{
    init_ok("[noop]\nfail_permanently_resource_id = bad1, bad2\n"
            "refuse_name = nope\n");
    const struct l3_provider *p = l3_provider_default();
    void *noop = l3_provider_state(p);
    char msg[128];
    struct hadron_l3_entry router = entry("router", "create", "r1");
    struct hadron_l3_entry iface = entry("router_interface", "create", "p1");
    struct hadron_l3_entry fip = entry("floatingip", "create", "f1");

    /* Every entry applied twice leaves the same state. */
    const struct hadron_l3_entry *all[] = { &router, &iface, &fip };
    for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
        assert_int_equal(l3_provider_apply(p, all[i], msg, sizeof msg),
                         HADRON_L3_OK);
    }
    char *once = noop_l3_dump(noop);
    for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
        assert_int_equal(l3_provider_apply(p, all[i], msg, sizeof msg),
                         HADRON_L3_OK);
    }
    char *twice = noop_l3_dump(noop);
    assert_string_equal(once, twice);
    assert_true(noop_l3_has(noop, "floatingip", "r1", "f1"));
    assert_true(noop_l3_has(noop, "router_interface", NULL, "p1"));
    free(once);
    free(twice);

    /* A stale update changes nothing. */
    struct hadron_l3_entry newer = entry("router", "update", "r1");
    newer.revision = 5;
    assert_int_equal(l3_provider_apply(p, &newer, msg, sizeof msg),
                     HADRON_L3_OK);
    once = noop_l3_dump(noop);
    struct hadron_l3_entry older = entry("router", "update", "r1");
    older.revision = 3;
    assert_int_equal(l3_provider_apply(p, &older, msg, sizeof msg),
                     HADRON_L3_OK);
    twice = noop_l3_dump(noop);
    assert_string_equal(once, twice);
    assert_non_null(strstr(once, "\"revision\":5"));
    free(once);
    free(twice);

    /* Deleting the router removes what it held; twice is fine. */
    struct hadron_l3_entry del = entry("router", "delete", "r1");
    assert_int_equal(l3_provider_apply(p, &del, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_int_equal(l3_provider_apply(p, &del, msg, sizeof msg),
                     HADRON_L3_OK);
    once = noop_l3_dump(noop);
    assert_string_equal(once, "[]");
    free(once);

    /* Permanent failures and validate refusals. */
    struct hadron_l3_entry bad = entry("router", "create", "bad2");
    assert_int_equal(l3_provider_apply(p, &bad, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_string_equal(msg, "noop: injected permanent failure for bad2");
    assert_int_equal(l3_provider_apply(p, &bad, msg, sizeof msg),
                     HADRON_L3_FAILED);
    struct hadron_l3_entry odd = entry("router", "rename", "r2");
    assert_int_equal(l3_provider_apply(p, &odd, msg, sizeof msg),
                     HADRON_L3_FAILED);
    struct hadron_l3_entry refused = entry("router", "create", "r3");
    refused.data = "{\"name\": \"nope\"}";
    assert_false(l3_provider_validate(p, &refused, msg, sizeof msg));
    assert_string_equal(msg, "noop: refused name nope");
    assert_true(l3_provider_validate(p, &router, msg, sizeof msg));

    struct noop_l3_counts c;
    noop_l3_get_counts(noop, &c);
    assert_int_equal(c.applies, 13);
    assert_int_equal(c.failed, 3);
    assert_int_equal(c.held, 0);
}

static void
test_noop_sync_and_loss(void **state)
{
    init_ok("[DEFAULT]\n");
    const struct l3_provider *p = l3_provider_default();
    void *noop = l3_provider_state(p);
    char msg[128];
    bool lost = true;

    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_false(lost);
    struct hadron_l3_entry e = entry("router", "create", "gone");
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_OK);
    noop_l3_simulate_loss(noop);
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_true(lost);

    const char *docs[] = {
        "{\"id\": \"r1\", \"interfaces\": [{\"port_id\": \"p1\"}], "
        "\"floatingips\": [{\"id\": \"f1\"}]}",
        "{\"id\": \"r2\", \"interfaces\": [], \"floatingips\": []}",
    };
    assert_int_equal(l3_provider_sync_all(p, docs, 2, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_false(lost);
    assert_true(noop_l3_has(noop, "router", "r1", "r1"));
    assert_true(noop_l3_has(noop, "router", "r2", "r2"));
    assert_true(noop_l3_has(noop, "router_interface", "r1", "p1"));
    assert_true(noop_l3_has(noop, "floatingip", "r1", "f1"));
    assert_false(noop_l3_has(noop, "router", NULL, "gone"));

    const char *bad[] = { "[1, 2]" };
    assert_int_equal(l3_provider_sync_all(p, bad, 1, msg, sizeof msg),
                     HADRON_L3_FAILED);
    struct l3_provider_stats s;
    l3_provider_get_stats(p, &s);
    assert_int_equal(s.sync_calls, 2);
    assert_int_equal(s.sync_failed, 1);
    assert_int_equal(s.health_calls, 3);
}

/* ---- Classes ---- */

static int fake_applies;

static enum hadron_l3_result
fake_apply(void *state, const struct hadron_l3_entry *e, char *msg,
           size_t msg_size)
{
    fake_applies++;
    assert_string_equal(e->resource, "router");
    assert_string_equal(e->operation, "create");
    return state ? HADRON_L3_FAILED : HADRON_L3_OK;
}

static unsigned int
fake_caps(void *state)
{
    return HADRON_L3_CAP_IPV6;
}

/* Only the required ops: every optional one is NULL. */
static const struct hadron_l3_driver_class fake_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "fake",
    .capabilities = fake_caps,
    .apply = fake_apply,
};

static enum hadron_l3_result
bogus_apply(void *state, const struct hadron_l3_entry *e, char *msg,
            size_t msg_size)
{
    return e->resource_id[0] == 'r' ? HADRON_L3_RETRY : (enum
                                                         hadron_l3_result) 9;
}

static bool
silent_validate(void *state, const struct hadron_l3_entry *e, char *err,
                size_t err_size)
{
    return false;
}

static bool
bad_health(void *state, bool *lost, char *msg, size_t msg_size)
{
    return false;
}

static const struct hadron_l3_driver_class odd_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "odd",
    .capabilities = fake_caps,
    .validate = silent_validate,
    .apply = bogus_apply,
    .health = bad_health,
};

static void
test_add_class(void **state)
{
    static const struct hadron_l3_driver_class old = {
        .api_version = HADRON_L3_DRIVER_API_VERSION + 1, .name = "old",
        .capabilities = fake_caps, .apply = fake_apply,
    };
    static const struct hadron_l3_driver_class no_apply = {
        .api_version = HADRON_L3_DRIVER_API_VERSION, .name = "noapply",
        .capabilities = fake_caps,
    };
    static const struct hadron_l3_driver_class no_name = {
        .api_version = HADRON_L3_DRIVER_API_VERSION, .name = "",
        .capabilities = fake_caps, .apply = fake_apply,
    };

    assert_int_equal(l3_registry_add_class(&fake_class), 0);
    assert_int_equal(l3_registry_add_class(&fake_class), EEXIST);
    assert_int_equal(l3_registry_add_class(&old), EPROTO);
    assert_int_equal(l3_registry_add_class(&no_apply), EINVAL);
    assert_int_equal(l3_registry_add_class(&no_name), EINVAL);
    assert_int_equal(l3_registry_add_class(NULL), EINVAL);
    assert_int_equal(l3_registry_add_class(&odd_class), 0);
    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:f:fake:default\n"
            "service_provider = L3_ROUTER_NAT:o:odd\n");
    assert_int_equal(l3_provider_count(), 2);
    assert_string_equal(l3_provider_driver_name(l3_provider_find("f")),
                        "fake");
    assert_null(l3_provider_state(l3_provider_find("f")));   /* no init */

    /* A test class named like a built-in conflicts with it. */
    l3_registry_destroy();
    static const struct hadron_l3_driver_class noop_again = {
        .api_version = HADRON_L3_DRIVER_API_VERSION, .name = "noop",
        .capabilities = fake_caps, .apply = fake_apply,
    };
    assert_int_equal(l3_registry_add_class(&noop_again), 0);
    init_fails("[DEFAULT]\n", "cannot register built-in driver 'noop'");
    /* destroy forgot the added classes: "fake" is unknown again. */
    init_fails("[service_providers]\n"
               "service_provider = L3_ROUTER_NAT:f:fake\n",
               "unknown driver 'fake'");
}

static void
test_wrappers_null_ops(void **state)
{
    char msg[128];
    bool lost = true;

    assert_int_equal(l3_registry_add_class(&fake_class), 0);
    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:f:fake:default\n");
    const struct l3_provider *p = l3_provider_default();
    struct hadron_l3_entry e = entry("router", "create", "r1");

    /* validate NULL: accepted; health NULL: healthy, nothing lost. */
    assert_true(l3_provider_validate(p, &e, msg, sizeof msg));
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_false(lost);
    assert_int_equal(l3_provider_capabilities(p), HADRON_L3_CAP_IPV6);

    /* sync_all NULL: one "router create" entry per document. */
    const char *docs[] = { "{\"id\": \"r1\"}", "{\"id\": \"r2\", "
                           "\"revision_number\": 4}" };
    fake_applies = 0;
    assert_int_equal(l3_provider_sync_all(p, docs, 2, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_int_equal(fake_applies, 2);
    const char *no_id[] = { "{\"name\": \"x\"}" };
    assert_int_equal(l3_provider_sync_all(p, no_id, 1, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_string_equal(msg, "router document 0 has no id");
    assert_int_equal(l3_provider_sync_all(p, NULL, 0, NULL, 0),
                     HADRON_L3_OK);

    /* Argument checks: nothing reaches the driver. */
    fake_applies = 0;
    struct hadron_l3_entry missing = e;
    missing.router_id = NULL;
    assert_int_equal(l3_provider_apply(p, &missing, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_string_equal(msg, "invalid journal entry");
    assert_int_equal(l3_provider_apply(p, NULL, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_int_equal(l3_provider_apply(NULL, &e, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_false(l3_provider_validate(p, &missing, msg, sizeof msg));
    assert_false(l3_provider_validate(NULL, &e, NULL, 0));
    assert_false(l3_provider_health(NULL, &lost, msg, sizeof msg));
    assert_int_equal(l3_provider_capabilities(NULL), 0);
    assert_int_equal(fake_applies, 0);
    /* A NULL message buffer is allowed. */
    assert_int_equal(l3_provider_apply(p, &e, NULL, 0), HADRON_L3_OK);
    assert_int_equal(fake_applies, 1);
}

static void
test_wrappers_results(void **state)
{
    char msg[128];
    bool lost = false;

    assert_int_equal(l3_registry_add_class(&odd_class), 0);
    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:o:odd\n");
    const struct l3_provider *p = l3_provider_find("o");
    struct hadron_l3_entry retry = entry("router", "create", "r1");
    struct hadron_l3_entry weird = entry("router", "create", "x1");

    /* Empty messages are filled in; unknown results count as FAILED. */
    assert_false(l3_provider_validate(p, &retry, msg, sizeof msg));
    assert_string_equal(msg, "refused by driver odd");
    assert_int_equal(l3_provider_apply(p, &retry, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_string_equal(msg, "driver odd asked to retry");
    assert_int_equal(l3_provider_apply(p, &weird, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_string_equal(msg, "driver odd returned an unknown result 9");
    assert_false(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_false(l3_provider_health(p, &lost, msg, sizeof msg));

    struct l3_provider_stats s;
    l3_provider_get_stats(p, &s);
    assert_int_equal(s.validate_calls, 1);
    assert_int_equal(s.validate_refused, 1);
    assert_int_equal(s.apply_retry, 1);
    assert_int_equal(s.apply_failed, 1);
    assert_int_equal(s.apply_ok, 0);
    assert_int_equal(s.health_calls, 2);
    assert_int_equal(s.health_bad, 2);
    l3_provider_get_stats(NULL, &s);
    assert_int_equal(s.apply_ok, 0);
}

/* ---- Vendor shared objects ---- */

static void
test_vendor_object(void **state)
{
    char text[1024];
    char msg[128];

    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:acme:%s:default\n"
             "service_provider = L3_ROUTER_NAT:acme2:%s\n"
             "[vendor]\ncaps = 4\nlabel = from-driver-section\n"
             "[acme2]\nlabel = own\nanswer = retry\n",
             VENDOR_SO, VENDOR_SO);
    init_ok(text);
    const struct l3_provider *p = l3_provider_find("acme");
    const struct l3_provider *p2 = l3_provider_find("acme2");
    assert_string_equal(l3_provider_driver_name(p), "vendor");
    assert_ptr_equal(l3_provider_find_driver("vendor"), p);
    assert_ptr_equal(l3_provider_find_driver(VENDOR_SO), p);
    assert_int_equal(l3_provider_capabilities(p), HADRON_L3_CAP_FLOATINGIP);

    struct vendor_state *vs = l3_provider_state(p);
    struct vendor_state *vs2 = l3_provider_state(p2);
    assert_ptr_not_equal(vs, vs2);
    assert_string_equal(vs->label, "from-driver-section");
    assert_string_equal(vs2->label, "own");

    struct hadron_l3_entry e = entry("floatingip", "update", "f9");
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_int_equal(vs->applies, 1);
    assert_string_equal(vs->last_resource, "floatingip");
    assert_string_equal(vs->last_operation, "update");
    assert_string_equal(vs->last_id, "f9");
    assert_int_equal(l3_provider_apply(p2, &e, msg, sizeof msg),
                     HADRON_L3_RETRY);
    struct hadron_l3_entry refuse = entry("router", "create", "refuse-me");
    assert_false(l3_provider_validate(p, &refuse, msg, sizeof msg));
    assert_string_equal(msg, "refused by driver vendor");
    const char *docs[] = { "{\"id\": \"r1\"}" };
    assert_int_equal(l3_provider_sync_all(p, docs, 1, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_int_equal(vs->syncs, 1);
    assert_int_equal(vs->last_sync_n, 1);
}

static void
test_vendor_refused(void **state)
{
    char text[1024];

    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:v:%s\n", VENDOR_SO_V99);
    init_fails(text, "built against driver API version 99, this hadron "
               "supports version 1");
    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:v:%s\n", VENDOR_SO_NOSYM);
    init_fails(text, "does not export hadron_l3_driver");
    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:v:%s\n", VENDOR_SO_NOOP);
    init_fails(text, "driver name 'noop' is already taken");
    /* Two objects whose drivers have one name. */
    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:a:%s\n"
             "service_provider = L3_ROUTER_NAT:b:%s\n", VENDOR_SO,
             VENDOR_SO_COPY);
    init_fails(text, "driver name 'vendor' is already taken by");
    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:v:%s\n"
             "[v]\ninit_fail = no license\n", VENDOR_SO);
    init_fails(text, "driver 'vendor' failed to start: no license");
}

static void
test_skeleton(void **state)
{
    char text[1024], msg[128];

    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:acme:%s:default\n"
             "[acme]\nendpoint = http://127.0.0.1:1\ntimeout_ms = 100\n",
             SKELETON_SO);
    init_ok(text);
    const struct l3_provider *p = l3_provider_default();
    assert_string_equal(l3_provider_driver_name(p), "skeleton");
    assert_int_equal(l3_provider_capabilities(p) & HADRON_L3_CAP_IPV6, 0);
    struct hadron_l3_entry e = entry("router", "create", "r1");
    struct hadron_l3_entry del = entry("router", "delete", "r1");
    for (int i = 0; i < 2; i++) {
        assert_true(l3_provider_validate(p, &e, msg, sizeof msg));
        assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                         HADRON_L3_OK);
        assert_int_equal(l3_provider_apply(p, &del, msg, sizeof msg),
                         HADRON_L3_OK);
    }
    assert_int_equal(l3_provider_sync_all(p, NULL, 0, msg, sizeof msg),
                     HADRON_L3_OK);
    l3_registry_destroy();
    snprintf(text, sizeof text, "[service_providers]\n"
             "service_provider = L3_ROUTER_NAT:acme:%s\n"
             "[skeleton]\ntimeout_ms = soon\n", SKELETON_SO);
    init_fails(text, "timeout_ms: 'soon' is not a positive number");
}

/* ---- flavors_resolve() ---- */

struct resolve_db {
    char *url;
    struct db *db;
};

static int
resolve_setup(void **state)
{
    struct resolve_db *r = xzalloc(sizeof *r);
    char err[256];

    r->url = testdb_create();
    assert_int_equal(db_open(r->url, &r->db, err, sizeof err), 0);
    assert_int_equal(db_upgrade(r->db, err, sizeof err), 0);
    static const char *const rows[] = {
        "INSERT INTO flavors (id, name, service_type, enabled) VALUES "
        "('f-ok', 'ok', 'L3_ROUTER_NAT', 1), "
        "('f-off', 'off', 'L3_ROUTER_NAT', 0), "
        "('f-lb', 'lb', 'LOADBALANCERV2', 1), "
        "('f-none', 'none', 'L3_ROUTER_NAT', 1), "
        "('f-spoff', 'spoff', 'L3_ROUTER_NAT', 1), "
        "('f-gone', 'gone', 'L3_ROUTER_NAT', 1), "
        "('f-mixed', 'mixed', 'L3_ROUTER_NAT', 1), "
        "('f-bydrv', 'bydrv', 'L3_ROUTER_NAT', 1)",
        "INSERT INTO serviceprofiles (id, driver, enabled) VALUES "
        "('sp-b', 'b', 1), ('sp-off', 'a', 0), ('sp-gone', 'nosuch', 1), "
        "('sp-0', 'a', 0), ('sp-1', 'b', 1), ('sp-drv', 'noop', 1)",
        "INSERT INTO flavorserviceprofilebindings VALUES "
        "('f-ok', 'sp-b'), ('f-off', 'sp-b'), ('f-lb', 'sp-b'), "
        "('f-spoff', 'sp-off'), ('f-gone', 'sp-gone'), "
        "('f-mixed', 'sp-0'), ('f-mixed', 'sp-1'), ('f-bydrv', 'sp-drv')",
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        assert_int_equal(db_exec(r->db, rows[i]), 0);
    }
    *state = r;
    return 0;
}

static int
resolve_teardown(void **state)
{
    struct resolve_db *r = *state;

    l3_registry_destroy();
    db_close(r->db);
    testdb_drop(r->url);
    free(r->url);
    free(r);
    return 0;
}

static void
expect_resolve(struct db *db, const char *flavor, const char *provider,
               int status, const char *type)
{
    const struct l3_provider *p = (void *) 1;
    struct neutron_error *e = flavors_resolve(db, flavor, &p);

    if (provider) {
        if (e) {
            fprintf(stderr, "%s: %s\n", flavor ? flavor : "(none)",
                    e->message);
        }
        assert_null(e);
        assert_string_equal(l3_provider_name(p), provider);
        return;
    }
    assert_non_null(e);
    assert_null(p);
    assert_int_equal(neutron_error_http_status(e), status);
    assert_string_equal(e->type, type);
    neutron_error_destroy(e);
}

static void
test_resolve(void **state)
{
    struct resolve_db *r = *state;

    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:a:noop:default\n"
            "service_provider = L3_ROUTER_NAT:b:noop\n");
    expect_resolve(r->db, NULL, "a", 0, NULL);
    expect_resolve(r->db, "f-ok", "b", 0, NULL);
    expect_resolve(r->db, "f-mixed", "b", 0, NULL);  /* first enabled */
    expect_resolve(r->db, "f-bydrv", "a", 0, NULL);  /* by driver name */
    expect_resolve(r->db, "f-nosuch", NULL, 404, "FlavorNotFound");
    expect_resolve(r->db, "f-off", NULL, 400, "FlavorDisabled");
    expect_resolve(r->db, "f-lb", NULL, 400, "InvalidFlavorServiceType");
    expect_resolve(r->db, "f-none", NULL, 404,
                   "FlavorServiceProfileBindingNotFound");
    expect_resolve(r->db, "f-spoff", NULL, 503, "ServiceProfileDisabled");
    expect_resolve(r->db, "f-gone", NULL, 404,
                   "ServiceProfileDriverNotFound");
    l3_registry_destroy();

    init_ok("[service_providers]\n"
            "service_provider = L3_ROUTER_NAT:b:noop\n");
    expect_resolve(r->db, NULL, NULL, 400, "DefaultServiceProviderNotFound");
    expect_resolve(r->db, "f-ok", "b", 0, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_default_provider, teardown),
        cmocka_unit_test_teardown(test_good_lines, teardown),
        cmocka_unit_test_teardown(test_no_default, teardown),
        cmocka_unit_test_teardown(test_bad_lines, teardown),
        cmocka_unit_test_teardown(test_driver_sections, teardown),
        cmocka_unit_test(test_config_sections_reported),
        cmocka_unit_test_teardown(test_noop_idempotent, teardown),
        cmocka_unit_test_teardown(test_noop_sync_and_loss, teardown),
        cmocka_unit_test_teardown(test_add_class, teardown),
        cmocka_unit_test_teardown(test_wrappers_null_ops, teardown),
        cmocka_unit_test_teardown(test_wrappers_results, teardown),
        cmocka_unit_test_teardown(test_vendor_object, teardown),
        cmocka_unit_test_teardown(test_vendor_refused, teardown),
        cmocka_unit_test_teardown(test_skeleton, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, resolve_setup,
                                        resolve_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
