/* tests/unit/test_l2_types.c: the type drivers and their manager
 * (l2/types.c, l2/type_*.c): parsing the range options, syncing the
 * allocation tables, allocating, reserving and releasing segmentation ids
 * (prefilled and lazy pools), the spread of random allocation, MTUs, and
 * the network and segment operations that depend on them (segments in
 * use, un-sharing a used network).  Runs against a real database of the
 * engine named by HADRON_TEST_ENGINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "core/config.h"
#include "core/context.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/driver_api.h"
#include "l2/l2-internal.h"
#include "l2/l2-types.h"
#include "l2/l2.h"
#include "tests/lib/testdb.h"

struct fixture {
    char *url;
    struct db *db;
    struct config *cfg;
    struct op_ctx ctx;
};

static void
set_opt(char **field, const char *value)
{
    free(*field);
    *field = xstrdup(value);
}

static int
setup(void **state)
{
    struct fixture *f = xzalloc(sizeof *f);
    char errbuf[256] = "";

    f->url = testdb_create();
    if (db_open(f->url, &f->db, errbuf, sizeof errbuf) != DB_OK) {
        print_error("db_open(%s): %s\n", f->url, errbuf);
        fail();
    }
    assert_int_equal(db_upgrade(f->db, errbuf, sizeof errbuf), DB_OK);
    f->cfg = config_create();
    f->ctx.db = f->db;
    f->ctx.cfg = f->cfg;
    f->ctx.request_id = "test";
    f->ctx.auth.is_admin = true;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    db_rollback(f->db);
    db_close(f->db);
    testdb_drop(f->url);
    free(f->url);
    config_destroy(f->cfg);
    free(f);
    return 0;
}

/* (Re)initialises the type drivers from f->cfg; must succeed. */
static void
init_types(struct fixture *f)
{
    char *error = l2_types_init__(f->cfg);
    if (error) {
        fail_msg("l2_types_init__: %s", error);
    }
}

/* Syncs the allocation tables in a transaction of its own. */
static void
sync_types(struct fixture *f)
{
    assert_int_equal(db_begin(f->db, true), DB_OK);
    struct neutron_error *e = l2_types_sync__(f->db);
    if (e) {
        fail_msg("sync: %s", e->message);
    }
    assert_int_equal(db_commit(f->db), DB_OK);
}

static void
begin(struct fixture *f)
{
    assert_int_equal(db_begin(f->db, true), DB_OK);
}

static void
commit(struct fixture *f)
{
    assert_int_equal(db_commit(f->db), DB_OK);
}

/* One integer from 'sql' (with text params), e.g. a COUNT(*). */
static int64_t
query_int(struct fixture *f, const char *sql, const char *p1,
          const char *p2)
{
    struct db_stmt *stmt = db_prepare(f->db, sql);
    int64_t value = -1;

    assert_non_null(stmt);
    if (p1) {
        db_bind_text(stmt, 1, p1);
    }
    if (p2) {
        db_bind_text(stmt, 2, p2);
    }
    if (db_step(stmt) == DB_ROW) {
        value = db_col_int64(stmt, 0);
    }
    db_reset(stmt);
    return value;
}

static void
expect_no_error(struct neutron_error *e)
{
    if (e) {
        fail_msg("unexpected error %s: %s", e->type, e->message);
    }
}

static void
expect_error(struct neutron_error *e, const char *type, const char *text)
{
    if (!e) {
        fail_msg("expected error %s, got success", type);
    }
    if (strcmp(e->type, type) || (text && !strstr(e->message, text))) {
        fail_msg("expected %s '%s', got %s '%s'", type, text ? text : "",
                 e->type, e->message);
    }
    neutron_error_destroy(e);
}

static struct l2_segment
segment(const char *type, const char *physnet, int64_t id)
{
    struct l2_segment s;

    memset(&s, 0, sizeof s);
    str_copy(s.network_type, type, sizeof s.network_type);
    str_copy(s.physical_network, physnet, sizeof s.physical_network);
    s.segmentation_id = id;
    return s;
}

/* ---- Parsing ---- */

static void
test_split_and_ranges(void **state)
{
    (void) state;
    size_t n;
    char **items = l2_split_list__(" a, ,b ,\tc\t,", &n);

    assert_int_equal(n, 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "c");
    l2_free_list__(items, n);
    items = l2_split_list__("", &n);
    assert_int_equal(n, 0);
    l2_free_list__(items, n);

    struct l2_ranges r = { NULL, 0 };
    l2_ranges_add__(&r, 20, 30);
    l2_ranges_add__(&r, 1, 5);
    l2_ranges_add__(&r, 6, 8);          /* adjacent: merged */
    l2_ranges_add__(&r, 25, 40);        /* overlapping: merged */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.r[0].min, 1);
    assert_int_equal(r.r[0].max, 8);
    assert_int_equal(r.r[1].min, 20);
    assert_int_equal(r.r[1].max, 40);
    assert_int_equal(l2_ranges_size__(&r), 8 + 21);
    assert_true(l2_ranges_contain__(&r, 8));
    assert_false(l2_ranges_contain__(&r, 9));
    assert_true(l2_ranges_contain__(&r, 40));
    l2_ranges_destroy__(&r);
}

static void
test_tunnel_ranges_parse(void **state)
{
    (void) state;
    struct l2_ranges r;
    char *error;

    error = l2_tunnel_ranges_parse__("1:100, 200:300 ,150:250", "vxlan", 1,
                                     (1 << 24) - 1, &r);
    assert_null(error);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.r[0].min, 1);
    assert_int_equal(r.r[0].max, 100);
    assert_int_equal(r.r[1].min, 150);
    assert_int_equal(r.r[1].max, 300);
    l2_ranges_destroy__(&r);

    assert_null(l2_tunnel_ranges_parse__("", "gre", 1, 10, &r));
    assert_int_equal(r.n, 0);
    assert_null(l2_tunnel_ranges_parse__(" 7 : 7 ", "gre", 1, 10, &r));
    assert_int_equal(r.n, 1);
    l2_ranges_destroy__(&r);

    static const struct {
        const char *text, *message;
    } bad[] = {
        { "1-10", "Invalid network tunnel range: '1-10' - need exactly two "
          "values" },
        { "1:2:3", "need exactly two values" },
        { "a:5", "Invalid network tunnel range: 'a:5' - not an integer" },
        { "5:", "not an integer" },
        { "10:5", "Invalid network tunnel range: '10:5' - End of tunnel "
          "range is less than start of tunnel range." },
        { "0:5", "0 is not a valid vxlan identifier" },
        { "1:16777216", "16777216 is not a valid vxlan identifier" },
        { "1:5,x", "'x'" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        error = l2_tunnel_ranges_parse__(bad[i].text, "vxlan", 1,
                                         (1 << 24) - 1, &r);
        if (!error || !strstr(error, bad[i].message)) {
            fail_msg("'%s': expected '%s', got '%s'", bad[i].text,
                     bad[i].message, error ? error : "(success)");
        }
        assert_null(r.r);
        free(error);
    }
}

static void
test_vlan_ranges_parse(void **state)
{
    (void) state;
    struct l2_vlan_physnet *p;
    size_t n;
    char *error;

    error = l2_vlan_ranges_parse__("physnet1:100:199, physnet2,"
                                   "physnet1:300:300,physnet1:150:160", &p,
                                   &n);
    assert_null(error);
    assert_int_equal(n, 2);
    assert_string_equal(p[0].name, "physnet1");
    assert_int_equal(p[0].ranges.n, 2);
    assert_int_equal(p[0].ranges.r[0].min, 100);
    assert_int_equal(p[0].ranges.r[0].max, 199);
    assert_int_equal(p[0].ranges.r[1].min, 300);
    assert_int_equal(p[0].ranges.r[1].max, 300);
    assert_string_equal(p[1].name, "physnet2");
    assert_int_equal(p[1].ranges.n, 1);
    assert_int_equal(p[1].ranges.r[0].min, 1);
    assert_int_equal(p[1].ranges.r[0].max, 4094);
    l2_vlan_physnets_destroy__(p, n);

    /* A name alone covers everything, before or after ranges. */
    assert_null(l2_vlan_ranges_parse__("a:10:20,a", &p, &n));
    assert_int_equal(n, 1);
    assert_int_equal(l2_ranges_size__(&p[0].ranges), 4094);
    l2_vlan_physnets_destroy__(p, n);
    assert_null(l2_vlan_ranges_parse__("", &p, &n));
    assert_int_equal(n, 0);
    l2_vlan_physnets_destroy__(p, n);

    static const struct {
        const char *text, *message;
    } bad[] = {
        { ":1:2", "Empty physical network name." },
        { "p:1", "Invalid network VLAN range: 'p:1' - 'Need exactly two "
          "values for VLAN range'." },
        { "p:1:2:3", "Need exactly two values" },
        { "p:0:10", "'0 is not a valid VLAN tag'" },
        { "p:1:4095", "'4095 is not a valid VLAN tag'" },
        { "p:a:5", "'a is not a valid VLAN tag'" },
        { "p:10:5", "Invalid network VLAN range: '10:5' - 'End of VLAN range "
          "is less than start of VLAN range'." },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        error = l2_vlan_ranges_parse__(bad[i].text, &p, &n);
        if (!error || !strstr(error, bad[i].message)) {
            fail_msg("'%s': expected '%s', got '%s'", bad[i].text,
                     bad[i].message, error ? error : "(success)");
        }
        assert_null(p);
        assert_int_equal(n, 0);
        free(error);
    }
}

static void
test_init_errors(void **state)
{
    struct fixture *f = *state;
    static const struct {
        size_t offset;
        const char *value, *message;
    } bad[] = {
        { offsetof(struct config, ml2_type_drivers), "vlan,nope",
          "[ml2] type_drivers: unknown type driver 'nope'" },
        { offsetof(struct config, ml2_tenant_network_types), "vlan,gre",
          "no type driver for tenant network type 'gre'" },
        { offsetof(struct config, network_vlan_ranges), "p:5:1",
          "[ml2_type_vlan] network_vlan_ranges: Invalid network VLAN range" },
        { offsetof(struct config, vxlan_vni_ranges), "1:x",
          "[ml2_type_vxlan] vni_ranges: Invalid network tunnel range" },
        { offsetof(struct config, gre_tunnel_id_ranges), "1:4294967296",
          "[ml2_type_gre] tunnel_id_ranges" },
        { offsetof(struct config, geneve_vni_ranges), "0:1",
          "[ml2_type_geneve] vni_ranges" },
        { offsetof(struct config, ml2_physical_network_mtus), "physnet1",
          "Invalid mapping: 'physnet1'" },
        { offsetof(struct config, ml2_physical_network_mtus), "a:1500,a:9000",
          "Key a in mapping: 'a:9000' not unique" },
        { offsetof(struct config, ml2_physical_network_mtus), "a:big",
          "Invalid MTU in mapping" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct config *cfg = config_create();
        char **field = (char **) ((char *) cfg + bad[i].offset);
        set_opt(&cfg->ml2_type_drivers, "local,vlan,vxlan,geneve");
        set_opt(&cfg->ml2_tenant_network_types, "vlan");
        set_opt(&cfg->gre_tunnel_id_ranges, "");
        if (bad[i].offset == offsetof(struct config, gre_tunnel_id_ranges)) {
            set_opt(&cfg->ml2_type_drivers, "gre");
            set_opt(&cfg->ml2_tenant_network_types, "");
        }
        set_opt(field, bad[i].value);
        char *error = l2_types_init__(cfg);
        if (!error || !strstr(error, bad[i].message)) {
            fail_msg("%s: expected '%s', got '%s'", bad[i].value,
                     bad[i].message, error ? error : "(success)");
        }
        free(error);
        config_destroy(cfg);
    }

    /* The defaults are fine; a failed init leaves no driver enabled. */
    init_types(f);
    size_t n;
    l2_types_enabled__(&n);
    assert_int_equal(n, 6);
    l2_types_tenant__(&n);
    assert_int_equal(n, 1);
    assert_non_null(l2_type_find__("geneve"));
    assert_null(l2_type_find__("bogus"));
    assert_null(l2_type_find__(NULL));
    set_opt(&f->cfg->ml2_type_drivers, "flat, vlan");
    set_opt(&f->cfg->ml2_tenant_network_types, "");
    init_types(f);
    assert_null(l2_type_find__("local"));
    assert_non_null(l2_type_find__("vlan"));
    struct l2_segment s = segment("local", "", -1);
    expect_error(l2_type_validate__(&s), "InvalidInput",
                 "network_type value 'local' not supported");
    begin(f);
    expect_error(l2_type_allocate_tenant__(&f->ctx, &s),
                 "NoNetworkAvailable", "No tenant network is available");
    commit(f);
}

/* ---- Pools ---- */

static int64_t
count_vlans(struct fixture *f, const char *physnet, const char *extra)
{
    char sql[256];

    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ml2_vlan_allocations "
             "WHERE physical_network = ?%s", extra ? extra : "");
    return query_int(f, sql, physnet, NULL);
}

static void
test_sync(void **state)
{
    struct fixture *f = *state;

    set_opt(&f->cfg->ml2_type_drivers, "vlan,vxlan,gre");
    set_opt(&f->cfg->ml2_tenant_network_types, "vlan");
    set_opt(&f->cfg->network_vlan_ranges,
            "physnet1:1:10,physnet2:5:6,physnet3");
    set_opt(&f->cfg->vxlan_vni_ranges, "1:100");
    set_opt(&f->cfg->gre_tunnel_id_ranges, "1:3,10:12");
    init_types(f);
    sync_types(f);
    assert_int_equal(count_vlans(f, "physnet1", NULL), 10);
    assert_int_equal(count_vlans(f, "physnet2", NULL), 2);
    assert_int_equal(count_vlans(f, "physnet3", NULL), 4094);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations",
                               NULL, NULL), 100);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_gre_allocations "
                               "WHERE gre_id IN (1, 2, 3, 10, 11, 12)",
                               NULL, NULL), 6);

    /* Take VLAN 3 and VXLAN 7, and an id outside the ranges of each. */
    begin(f);
    struct l2_segment v3 = segment("vlan", "physnet1", 3);
    struct l2_segment v900 = segment("vlan", "physnet1", 900);
    struct l2_segment x7 = segment("vxlan", "", 7);
    struct l2_segment x5000 = segment("vxlan", "", 5000);
    expect_no_error(l2_type_reserve__(&f->ctx, &v3));
    expect_no_error(l2_type_reserve__(&f->ctx, &v900));
    expect_no_error(l2_type_reserve__(&f->ctx, &x7));
    expect_no_error(l2_type_reserve__(&f->ctx, &x5000));
    commit(f);

    /* Syncing again changes nothing. */
    sync_types(f);
    assert_int_equal(count_vlans(f, "physnet1", NULL), 11);
    assert_int_equal(count_vlans(f, "physnet1", " AND allocated = 1"), 2);

    /* New ranges: free rows outside them go, allocated ones stay, new ids
     * come; physnet2 and physnet3 are no longer configured. */
    set_opt(&f->cfg->network_vlan_ranges, "physnet1:5:14");
    set_opt(&f->cfg->vxlan_vni_ranges, "50:149");
    init_types(f);
    sync_types(f);
    assert_int_equal(count_vlans(f, "physnet1", NULL), 12);
    assert_int_equal(count_vlans(f, "physnet1",
                                 " AND vlan_id BETWEEN 5 AND 14"), 10);
    assert_int_equal(count_vlans(f, "physnet1",
                                 " AND vlan_id IN (3, 900) AND allocated = 1"),
                     2);
    assert_int_equal(count_vlans(f, "physnet2", NULL), 0);
    assert_int_equal(count_vlans(f, "physnet3", NULL), 0);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations",
                               NULL, NULL), 100 + 2);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations "
                               "WHERE vxlan_vni < 50 AND allocated = 0",
                               NULL, NULL), 0);

    /* Released outside the ranges, the rows go. */
    begin(f);
    expect_no_error(l2_type_release__(&f->ctx, &v3));
    expect_no_error(l2_type_release__(&f->ctx, &x5000));
    commit(f);
    assert_int_equal(count_vlans(f, "physnet1", " AND vlan_id = 3"), 0);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations "
                               "WHERE vxlan_vni = 5000", NULL, NULL), 0);
}

static void
test_allocate_until_full(void **state)
{
    struct fixture *f = *state;
    bool seen[11] = { false };
    struct l2_segment s;

    set_opt(&f->cfg->ml2_type_drivers, "vlan");
    set_opt(&f->cfg->ml2_tenant_network_types, "vlan");
    set_opt(&f->cfg->network_vlan_ranges, "physnet1:1:10");
    init_types(f);
    sync_types(f);
    begin(f);
    for (int i = 0; i < 10; i++) {
        expect_no_error(l2_type_allocate_tenant__(&f->ctx, &s));
        assert_string_equal(s.network_type, "vlan");
        assert_string_equal(s.physical_network, "physnet1");
        assert_true(s.segmentation_id >= 1 && s.segmentation_id <= 10);
        assert_false(seen[s.segmentation_id]);
        seen[s.segmentation_id] = true;
        assert_int_equal(s.mtu, 1500);
    }
    expect_error(l2_type_allocate_tenant__(&f->ctx, &s),
                 "NoNetworkAvailable", "Unable to create the network. No "
                 "tenant network is available for allocation.");
    commit(f);

    /* A released id is the only one to come back. */
    begin(f);
    struct l2_segment seven = segment("vlan", "physnet1", 7);
    expect_no_error(l2_type_release__(&f->ctx, &seven));
    expect_no_error(l2_type_allocate_tenant__(&f->ctx, &s));
    assert_int_equal(s.segmentation_id, 7);
    commit(f);
    assert_int_equal(count_vlans(f, "physnet1", " AND allocated = 0"), 0);

    /* Partial provider segments come from the same pool. */
    begin(f);
    expect_no_error(l2_type_release__(&f->ctx, &seven));
    struct l2_segment partial = segment("vlan", "physnet1", -1);
    expect_no_error(l2_type_validate__(&partial));
    expect_no_error(l2_type_reserve__(&f->ctx, &partial));
    assert_int_equal(partial.segmentation_id, 7);
    partial = segment("vlan", "", -1);
    expect_error(l2_type_reserve__(&f->ctx, &partial), "NoNetworkAvailable",
                 NULL);
    commit(f);
}

static void
test_tenant_types_in_order(void **state)
{
    struct fixture *f = *state;
    struct l2_segment s;

    set_opt(&f->cfg->ml2_type_drivers, "local,vlan,vxlan");
    set_opt(&f->cfg->ml2_tenant_network_types, "vlan,vxlan,local");
    set_opt(&f->cfg->network_vlan_ranges, "physnet1:1:2");
    set_opt(&f->cfg->vxlan_vni_ranges, "9:9");
    init_types(f);
    sync_types(f);
    begin(f);
    static const char *const expect[] = { "vlan", "vlan", "vxlan", "local",
                                          "local" };
    for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
        expect_no_error(l2_type_allocate_tenant__(&f->ctx, &s));
        assert_string_equal(s.network_type, expect[i]);
    }
    assert_int_equal(s.segmentation_id, -1);
    commit(f);
}

static void
test_reserve_release(void **state)
{
    struct fixture *f = *state;
    struct l2_segment s;

    set_opt(&f->cfg->ml2_type_drivers, "flat,vlan,vxlan,gre,geneve");
    set_opt(&f->cfg->ml2_tenant_network_types, "flat");
    set_opt(&f->cfg->network_vlan_ranges, "physnet1:1:10");
    set_opt(&f->cfg->vxlan_vni_ranges, "1:10");
    set_opt(&f->cfg->flat_networks, "*");
    init_types(f);
    sync_types(f);
    begin(f);

    /* VLAN inside and outside the range. */
    s = segment("vlan", "physnet1", 5);
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    expect_error(l2_type_reserve__(&f->ctx, &s), "VlanIdInUse",
                 "Unable to create the network. The VLAN 5 on physical "
                 "network physnet1 is in use.");
    s = segment("vlan", "physnet1", 100);
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    assert_int_equal(count_vlans(f, "physnet1", " AND vlan_id = 100 AND "
                                 "allocated = 1"), 1);
    expect_error(l2_type_reserve__(&f->ctx, &s), "VlanIdInUse", NULL);
    expect_no_error(l2_type_release__(&f->ctx, &s));
    assert_int_equal(count_vlans(f, "physnet1", " AND vlan_id = 100"), 0);
    s = segment("vlan", "physnet1", 5);
    expect_no_error(l2_type_release__(&f->ctx, &s));
    assert_int_equal(count_vlans(f, "physnet1", " AND vlan_id = 5 AND "
                                 "allocated = 0"), 1);
    /* Releasing what is not held is harmless. */
    expect_no_error(l2_type_release__(&f->ctx, &s));

    /* Tunnels. */
    s = segment("vxlan", "", 5);
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    assert_int_equal(s.mtu, 1450);
    expect_error(l2_type_reserve__(&f->ctx, &s), "TunnelIdInUse",
                 "Unable to create the network. The tunnel ID 5 is in use.");
    s = segment("gre", "", 4294967295LL);
    expect_no_error(l2_type_validate__(&s));
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    expect_error(l2_type_reserve__(&f->ctx, &s), "TunnelIdInUse", NULL);
    expect_no_error(l2_type_release__(&f->ctx, &s));
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    s = segment("geneve", "", -1);
    expect_error(l2_type_reserve__(&f->ctx, &s), "NoNetworkAvailable", NULL);

    /* Flat: one per physical network. */
    s = segment("flat", "physnetX", -1);
    expect_no_error(l2_type_validate__(&s));
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    expect_error(l2_type_reserve__(&f->ctx, &s), "FlatNetworkInUse",
                 "Unable to create the flat network. Physical network "
                 "physnetX is in use.");
    expect_no_error(l2_type_release__(&f->ctx, &s));
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    /* No tenant flat networks. */
    expect_error(l2_type_allocate_tenant__(&f->ctx, &s), "NoNetworkAvailable",
                 NULL);
    commit(f);
}

static void
test_validate(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *type, *physnet;
        int64_t id;
        const char *message;        /* NULL: valid */
    } cases[] = {
        { "vlan", "physnet1", 1, NULL },
        { "vlan", "physnet1", 4094, NULL },
        { "vlan", "physnet1", -1, NULL },
        { "vlan", "", -1, NULL },
        { "vlan", "physnet1", 0, "segmentation_id out of range (1 through "
          "4094)" },
        { "vlan", "physnet1", 4095, "segmentation_id out of range" },
        { "vlan", "other", 5, "physical_network 'other' unknown for VLAN "
          "provider network" },
        { "vlan", "", 5, "segmentation_id requires physical_network for VLAN "
          "provider network" },
        { "flat", "flat1", -1, NULL },
        { "flat", "", -1, "physical_network required for flat provider "
          "network" },
        { "flat", "flat9", -1, "physical_network 'flat9' unknown for flat "
          "provider network" },
        { "flat", "flat1", 4, "segmentation_id prohibited for flat provider "
          "network" },
        { "local", "", -1, NULL },
        { "local", "", 0, "segmentation_id prohibited for local provider "
          "network" },
        { "local", "p", -1, "physical_network prohibited for local provider "
          "network" },
        { "vxlan", "", 16777215, NULL },
        { "vxlan", "", 16777216, "segmentation_id out of range (1 through "
          "16777215)" },
        { "vxlan", "p", 5, "provider:physical_network specified for vxlan "
          "network" },
        { "gre", "", 4294967296LL, "segmentation_id out of range (1 through "
          "4294967295)" },
        { "geneve", "", 0, "segmentation_id out of range" },
        { "ovs", "", -1, "network_type value 'ovs' not supported" },
    };

    set_opt(&f->cfg->network_vlan_ranges, "physnet1:1:10");
    set_opt(&f->cfg->flat_networks, "flat1,flat2");
    init_types(f);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct l2_segment s = segment(cases[i].type, cases[i].physnet,
                                      cases[i].id);
        struct neutron_error *e = l2_type_validate__(&s);
        if (!cases[i].message) {
            expect_no_error(e);
        } else {
            expect_error(e, "InvalidInput", cases[i].message);
        }
    }

    set_opt(&f->cfg->flat_networks, "");
    init_types(f);
    struct l2_segment s = segment("flat", "flat1", -1);
    expect_error(l2_type_validate__(&s), "InvalidInput",
                 "Flat provider networks are disabled");
}

/* Inserts allocated rows 'from'..'to' except 'skip' into a tunnel table. */
static void
fill_allocated(struct fixture *f, const char *table, const char *column,
               int64_t from, int64_t to, int64_t skip)
{
    for (int64_t start = from; start <= to; start += 500) {
        struct sql_buf b;
        bool first = true;

        sql_init(&b);
        sql_addf(&b, "INSERT INTO %s (%s, allocated) VALUES ", table,
                 column);
        for (int64_t id = start; id < start + 500 && id <= to; id++) {
            if (id == skip) {
                continue;
            }
            sql_add(&b, first ? "(?, 1)" : ", (?, 1)");
            sql_param_int(&b, id);
            first = false;
        }
        struct db_stmt *stmt = sql_prepare(f->db, &b);
        assert_non_null(stmt);
        assert_int_equal(db_step(stmt), DB_DONE);
        db_reset(stmt);
        sql_destroy(&b);
    }
}

static void
test_lazy_pool(void **state)
{
    struct fixture *f = *state;
    struct l2_segment s;

    set_opt(&f->cfg->ml2_type_drivers, "vxlan,geneve");
    set_opt(&f->cfg->ml2_tenant_network_types, "vxlan");
    set_opt(&f->cfg->vxlan_vni_ranges, "1:16777215");
    set_opt(&f->cfg->geneve_vni_ranges, "1:65537");
    init_types(f);

    /* A free row left from an earlier, smaller range goes at sync. */
    begin(f);
    assert_int_equal(db_exec(f->db, "INSERT INTO ml2_vxlan_allocations "
                             "(vxlan_vni, allocated) VALUES (7, 0), (8, 1)"),
                     DB_OK);
    commit(f);
    sync_types(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations",
                               NULL, NULL), 1);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM "
                               "ml2_geneve_allocations", NULL, NULL), 0);

    /* Allocation writes one row per id. */
    int64_t ids[100];
    begin(f);
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        expect_no_error(l2_type_allocate_tenant__(&f->ctx, &s));
        assert_string_equal(s.network_type, "vxlan");
        ids[i] = s.segmentation_id;
        assert_true(ids[i] >= 1 && ids[i] <= 16777215);
        assert_int_not_equal(ids[i], 8);
    }
    commit(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations "
                               "WHERE allocated = 1", NULL, NULL), 101);
    begin(f);
    s = segment("vxlan", "", ids[0]);
    expect_error(l2_type_reserve__(&f->ctx, &s), "TunnelIdInUse", NULL);
    expect_no_error(l2_type_release__(&f->ctx, &s));
    commit(f);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM ml2_vxlan_allocations",
                               NULL, NULL), 100);

    /* With one id left, random tries miss and the gap search finds it;
     * then the pool is full. */
    begin(f);
    fill_allocated(f, "ml2_geneve_allocations", "geneve_vni", 1, 65537,
                   40000);
    commit(f);
    begin(f);
    s = segment("geneve", "", -1);
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    assert_int_equal(s.segmentation_id, 40000);
    s = segment("geneve", "", -1);
    expect_error(l2_type_reserve__(&f->ctx, &s), "NoNetworkAvailable",
                 NULL);
    commit(f);

    /* The first id of a range is found too. */
    begin(f);
    assert_int_equal(db_exec(f->db, "DELETE FROM ml2_geneve_allocations "
                             "WHERE geneve_vni = 1"), DB_OK);
    s = segment("geneve", "", -1);
    expect_no_error(l2_type_reserve__(&f->ctx, &s));
    assert_int_equal(s.segmentation_id, 1);
    commit(f);
}

static void
test_random_spread(void **state)
{
    struct fixture *f = *state;
    struct l2_ranges ranges = { NULL, 0 };

    l2_ranges_add__(&ranges, 1, 1000);
    struct l2_pool pool = {
        .table = "ml2_gre_allocations", .id_column = "gre_id",
        .physnet = NULL, .ranges = &ranges,
    };
    assert_false(l2_pool_is_lazy__(&pool));
    begin(f);
    expect_no_error(l2_pool_sync__(f->db, &pool));
    int64_t ids[20];
    bool increasing = true;
    int64_t max = 0;
    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        expect_no_error(l2_pool_allocate__(f->db, &pool, &ids[i]));
        assert_true(ids[i] >= 1 && ids[i] <= 1000);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(ids[i], ids[j]);
        }
        increasing &= !i || ids[i] > ids[i - 1];
        max = ids[i] > max ? ids[i] : max;
    }
    commit(f);
    /* Not the lowest ids in order, as a "first free row" would give. */
    assert_false(increasing);
    assert_true(max > 100);

    /* l2_random__() covers its range evenly enough. */
    int buckets[10] = { 0 };
    for (int i = 0; i < 10000; i++) {
        buckets[l2_random__(10)]++;
    }
    for (int i = 0; i < 10; i++) {
        assert_true(buckets[i] > 800 && buckets[i] < 1200);
    }
    l2_ranges_destroy__(&ranges);
}

static void
test_mtu(void **state)
{
    struct fixture *f = *state;
    struct l2_segment segs[3];

    init_types(f);
    segs[0] = segment("vlan", "physnet1", 1);
    segs[1] = segment("vxlan", "", 1);
    segs[2] = segment("local", "", -1);
    assert_int_equal(l2_type_mtu__(&segs[0]), 1500);
    assert_int_equal(l2_type_mtu__(&segs[1]), 1450);
    assert_int_equal(l2_type_mtu__(&segs[2]), 0);
    struct l2_segment gre = segment("gre", "", 1);
    struct l2_segment geneve = segment("geneve", "", 1);
    assert_int_equal(l2_type_mtu__(&gre), 1458);
    assert_int_equal(l2_type_mtu__(&geneve), 1450);
    assert_int_equal(l2_types_network_mtu__(segs, 3), 1450);
    assert_int_equal(l2_types_network_mtu__(&segs[2], 1), 1500);
    assert_int_equal(l2_types_network_mtu__(NULL, 0), 1500);

    f->cfg->global_physnet_mtu = 9000;
    f->cfg->ml2_path_mtu = 1600;
    f->cfg->ml2_overlay_ip_version = 6;
    f->cfg->geneve_max_header_size = 50;
    set_opt(&f->cfg->ml2_physical_network_mtus, "physnet1:1400,physnet2:9500");
    init_types(f);
    struct l2_segment p2 = segment("flat", "physnet2", -1);
    assert_int_equal(l2_type_mtu__(&segs[0]), 1400);
    assert_int_equal(l2_type_mtu__(&p2), 9000);
    assert_int_equal(l2_type_mtu__(&segs[1]), 1600 - 40 - 30);
    assert_int_equal(l2_type_mtu__(&gre), 1600 - 40 - 22);
    assert_int_equal(l2_type_mtu__(&geneve), 1600 - 40 - 50);
    assert_int_equal(l2_types_network_mtu__(&segs[2], 1), 9000);
}

/* ---- Networks and segments through their operations ---- */

/* Validates 'json' as a create (or update) body of 'def'. */
static struct res_obj *
make_body(const struct resource_def *def, const char *json, bool create,
          yajl_val *tree)
{
    struct res_obj *body = NULL;

    *tree = yajl_tree_parse(json, NULL, 0);
    assert_non_null(*tree);
    expect_no_error(resource_validate(def, *tree, create, true, &body));
    return body;
}

static struct res_obj *
create_network(struct fixture *f, const char *json)
{
    yajl_val tree;
    struct res_obj *body = make_body(&l2_network_def, json, true, &tree);
    struct res_obj *net = NULL;

    begin(f);
    expect_no_error(l2_network_def.ops->create(&f->ctx, body, &net));
    commit(f);
    res_obj_destroy(body);
    yajl_tree_free(tree);
    return net;
}

static const char *
attr_str(const struct res_obj *obj, const char *name)
{
    return value_str(&obj->v[resource_attr_index(obj->def, name)]);
}

static void
test_network_and_segment_ops(void **state)
{
    struct fixture *f = *state;

    set_opt(&f->cfg->ml2_type_drivers, "vlan");
    set_opt(&f->cfg->ml2_tenant_network_types, "vlan");
    set_opt(&f->cfg->network_vlan_ranges, "physnet1:1:10");
    set_opt(&f->cfg->ml2_mechanism_drivers, "");
    init_types(f);
    sync_types(f);

    struct res_obj *net = create_network(
        f, "{\"tenant_id\": \"p1\", \"name\": \"n\", \"shared\": true}");
    const char *net_id = attr_str(net, "id");
    struct l2_segment *segs;
    size_t n;
    begin(f);
    expect_no_error(l2_network_segments__(f->db, net_id, &segs, &n));
    commit(f);
    assert_int_equal(n, 1);
    assert_string_equal(segs[0].network_type, "vlan");
    assert_int_equal(segs[0].mtu, 1500);
    int64_t vlan = segs[0].segmentation_id;
    char seg_id[37];
    str_copy(seg_id, segs[0].id, sizeof seg_id);
    free(segs);

    /* l2_network_get__: visibility. */
    struct op_ctx other = f->ctx;
    other.auth.is_admin = false;
    str_copy(other.auth.project_id, "p2", sizeof other.auth.project_id);
    struct res_obj *got = NULL;
    begin(f);
    expect_no_error(l2_network_get__(&other, f->db, net_id, &got));
    commit(f);
    assert_string_equal(attr_str(got, "name"), "n");
    res_obj_destroy(got);

    /* A subnet of another project on the segment. */
    begin(f);
    const char *params[] = { net_id, seg_id };
    assert_int_equal(db_exec_params(f->db,
                                    "INSERT INTO subnets (id, project_id, "
                                    "network_id, ip_version, cidr, "
                                    "segment_id, created_at, updated_at) "
                                    "VALUES ('5b1e7c34-0000-4000-8000-"
                                    "000000000001', 'p2', ?, 4, "
                                    "'10.0.0.0/24', ?, 'x', 'x')",
                                    params, 2), DB_OK);
    commit(f);

    /* The segment is in use. */
    struct res_obj *seg = NULL;
    begin(f);
    expect_no_error(store_get(f->db, &l2_segment_def, NULL, seg_id, &seg));
    expect_error(l2_segment_def.ops->remove(&f->ctx, seg), "SegmentInUse",
                 "cannot be deleted: The segment is still associated with "
                 "subnet(s) 5b1e7c34-0000-4000-8000-000000000001.");
    db_rollback(f->db);
    res_obj_destroy(seg);

    /* The network cannot stop being shared. */
    yajl_val tree;
    struct res_obj *body = make_body(&l2_network_def,
                                     "{\"shared\": false}", false, &tree);
    struct res_obj *cur = NULL, *updated = NULL;
    begin(f);
    expect_no_error(l2_network_get__(NULL, f->db, net_id, &cur));
    expect_error(l2_network_def.ops->update(&f->ctx, cur, body, &updated),
                 "InvalidSharedSetting", "Unable to reconfigure sharing "
                 "settings for network n. Multiple tenants are using it.");
    db_rollback(f->db);
    res_obj_destroy(cur);
    res_obj_destroy(body);
    yajl_tree_free(tree);

    /* Without the subnet, the segment goes and its VLAN is free. */
    begin(f);
    assert_int_equal(db_exec(f->db, "DELETE FROM subnets"), DB_OK);
    expect_no_error(store_get(f->db, &l2_segment_def, NULL, seg_id, &seg));
    expect_no_error(l2_segment_def.ops->remove(&f->ctx, seg));
    commit(f);
    res_obj_destroy(seg);
    char vlan_text[32];
    snprintf(vlan_text, sizeof vlan_text, "%lld", (long long) vlan);
    assert_int_equal(query_int(f, "SELECT allocated FROM ml2_vlan_allocations "
                               "WHERE physical_network = 'physnet1' AND "
                               "vlan_id = ?", vlan_text, NULL), 0);

    /* Deleting the network (now without segments) works. */
    begin(f);
    expect_no_error(l2_network_get__(NULL, f->db, net_id, &cur));
    expect_no_error(l2_network_def.ops->remove(&f->ctx, cur));
    commit(f);
    res_obj_destroy(cur);
    assert_int_equal(query_int(f, "SELECT COUNT(*) FROM networks", NULL,
                               NULL), 0);
    res_obj_destroy(net);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_ranges),
        cmocka_unit_test(test_tunnel_ranges_parse),
        cmocka_unit_test(test_vlan_ranges_parse),
        cmocka_unit_test_setup_teardown(test_init_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocate_until_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tenant_types_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reserve_release, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_spread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mtu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_and_segment_ops, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
