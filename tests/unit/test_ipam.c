/* tests/unit/test_ipam.c: IP address management (l2/ipam.c) against a real
 * database of the engine named by HADRON_TEST_ENGINE.
 *
 * Each test gets a fresh database at the newest schema, writes networks,
 * subnets, pools and ports as rows, runs the IPAM calls inside a write
 * transaction as the services do, and asserts the ipallocations rows and
 * the errors a client would see. */
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
#include "core/util.h"
#include "db/db.h"
#include "l2/l2-internal.h"
#include "tests/lib/testdb.h"

#define NET1 "11111111-1111-4111-8111-111111111111"
#define NET2 "22222222-2222-4222-8222-222222222222"
#define SUB4 "44444444-4444-4444-8444-444444444444"
#define SUB4B "44444444-4444-4444-8444-44444444444b"
#define SUB6 "66666666-6666-4666-8666-666666666666"
#define SUB6S "66666666-6666-4666-8666-66666666666a"
#define SUBX "99999999-9999-4999-8999-999999999999"
#define MAC1 "fa:16:3e:11:22:33"

struct fixture {
    char *url;
    struct db *db;
    struct config *cfg;
    struct op_ctx ctx;
    int n_ports;
};

static int
setup(void **state)
{
    struct fixture *f = xzalloc(sizeof *f);
    char errbuf[256] = "";

    f->url = testdb_create();
    if (db_open(f->url, &f->db, errbuf, sizeof errbuf) != DB_OK
        || db_upgrade(f->db, errbuf, sizeof errbuf) != DB_OK) {
        print_error("database %s: %s\n", f->url, errbuf);
        return -1;
    }
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

    db_close(f->db);
    testdb_drop(f->url);
    free(f->url);
    config_destroy(f->cfg);
    free(f);
    return 0;
}

/* Runs 'sql' with the text parameters that follow (NULL-terminated). */
static void
exec_v(struct db *db, const char *sql, ...)
{
    const char *params[16];
    size_t n = 0;
    va_list args;

    va_start(args, sql);
    for (const char *p; (p = va_arg(args, const char *)) != NULL; ) {
        params[n++] = p;
    }
    va_end(args);
    int rc = db_exec_params(db, sql, params, n);
    if (rc != DB_OK) {
        print_error("%s: %s\n", sql, db_errmsg(db));
    }
    assert_int_equal(rc, DB_OK);
}

static void
add_network(struct fixture *f, const char *id)
{
    exec_v(f->db, "INSERT INTO networks (id, project_id, status, created_at, "
           "updated_at) VALUES (?, 'p1', 'ACTIVE', '2024-01-01T00:00:00Z', "
           "'2024-01-01T00:00:00Z')", id, NULL);
}

/* A subnet row; 'ra'/'addr' may be NULL.  'created' orders subnets. */
static void
add_subnet(struct fixture *f, const char *id, const char *net, int version,
           const char *cidr, const char *gateway, const char *ra,
           const char *addr, const char *created)
{
    char v[8];
    const char *params[9] = { id, net, v, cidr, gateway, ra, addr, created,
                              created };

    snprintf(v, sizeof v, "%d", version);
    int rc = db_exec_params(f->db, "INSERT INTO subnets (id, project_id, "
                            "network_id, ip_version, cidr, gateway_ip, "
                            "ipv6_ra_mode, ipv6_address_mode, created_at, "
                            "updated_at) VALUES (?, 'p1', ?, ?, ?, ?, ?, ?, "
                            "?, ?)", params, 9);
    assert_int_equal(rc, DB_OK);
}

static void
add_pool(struct fixture *f, const char *subnet, const char *first,
         const char *last)
{
    exec_v(f->db, "INSERT INTO ipallocationpools (subnet_id, first_ip, "
           "last_ip) VALUES (?, ?, ?)", subnet, first, last, NULL);
}

/* Adds a port on 'net' and returns its id (static buffer per call slot). */
static const char *
add_port(struct fixture *f, const char *net, const char *mac,
         const char *owner)
{
    static char ids[64][UUID_STR_LEN];
    char *id = ids[f->n_ports % 64];
    char macbuf[18];

    uuid_new(id);
    if (!mac) {
        snprintf(macbuf, sizeof macbuf, "fa:16:3e:00:%02x:%02x",
                 (f->n_ports >> 8) & 0xff, f->n_ports & 0xff);
        mac = macbuf;
    }
    f->n_ports++;
    exec_v(f->db, "INSERT INTO ports (id, project_id, network_id, "
           "mac_address, status, device_owner, created_at, updated_at) "
           "VALUES (?, 'p1', ?, ?, 'DOWN', ?, '2024-01-01T00:00:00Z', "
           "'2024-01-01T00:00:00Z')", id, net, mac, owner ? owner : "",
           NULL);
    return id;
}

/* The usual network: NET1 with 10.0.0.0/24 (gateway .1, pool .2-.254). */
static void
add_v4_network(struct fixture *f)
{
    add_network(f, NET1);
    add_subnet(f, SUB4, NET1, 4, "10.0.0.0/24", "10.0.0.1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB4, "10.0.0.2", "10.0.0.254");
}

enum op { ALLOCATE, UPDATE, RELEASE };

/* Runs one IPAM call in its own write transaction (rolled back on error)
 * and returns the error, or NULL. */
static struct neutron_error *
run(struct fixture *f, enum op op, const char *net, const char *port,
    const char *mac, const char *fixed_ips_json)
{
    yajl_val fixed = NULL;
    struct neutron_error *error;

    if (fixed_ips_json) {
        char err[128];
        fixed = yajl_tree_parse(fixed_ips_json, err, sizeof err);
        assert_non_null(fixed);
    }
    assert_int_equal(db_begin(f->db, true), DB_OK);
    error = op == ALLOCATE ? l2_ipam_allocate__(&f->ctx, net, port, mac,
                                                fixed)
            : op == UPDATE ? l2_ipam_update__(&f->ctx, net, port, mac, fixed)
            : l2_ipam_release__(&f->ctx, port);
    if (error) {
        db_rollback(f->db);
    } else {
        assert_int_equal(db_commit(f->db), DB_OK);
    }
    yajl_tree_free(fixed);
    return error;
}

static void
expect_ok(struct neutron_error *error)
{
    if (error) {
        print_error("unexpected error %s: %s\n", error->type, error->message);
        neutron_error_destroy(error);
        fail();
    }
}

static void
expect_error(struct neutron_error *error, int status, const char *type,
             const char *message)
{
    if (!error) {
        fail_msg("expected %d %s, got success", status, type);
    }
    if (neutron_error_http_status(error) != status
        || strcmp(error->type, type)
        || (message && strcmp(error->message, message))) {
        print_error("expected %d %s '%s', got %d %s '%s'\n", status, type,
                    message ? message : "*",
                    neutron_error_http_status(error), error->type,
                    error->message);
        neutron_error_destroy(error);
        fail();
    }
    neutron_error_destroy(error);
}

/* The addresses of 'port', sorted as text, joined by spaces, in 'buf'. */
static const char *
port_ips(struct fixture *f, const char *port, char *buf, size_t size)
{
    struct db_stmt *stmt = db_prepare(f->db, "SELECT ip_address FROM "
                                      "ipallocations WHERE port_id = ? "
                                      "ORDER BY ip_address");
    size_t len = 0;

    assert_non_null(stmt);
    buf[0] = '\0';
    db_bind_text(stmt, 1, port);
    while (db_step(stmt) == DB_ROW) {
        len += snprintf(buf + len, size - len, "%s%s", len ? " " : "",
                        db_col_text(stmt, 0));
        assert_true(len < size);
    }
    db_reset(stmt);
    return buf;
}

static int64_t
count_rows(struct fixture *f, const char *sql, const char *param)
{
    struct db_stmt *stmt = db_prepare(f->db, sql);
    int64_t n;

    assert_non_null(stmt);
    if (param) {
        db_bind_text(stmt, 1, param);
    }
    assert_int_equal(db_step(stmt), DB_ROW);
    n = db_col_int64(stmt, 0);
    db_reset(stmt);
    return n;
}

/* The one address 'port' holds, parsed. */
static uint32_t
port_v4(struct fixture *f, const char *port)
{
    char buf[256];
    unsigned int a, b, c, d;

    port_ips(f, port, buf, sizeof buf);
    assert_int_equal(sscanf(buf, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
    return (a << 24) | (b << 16) | (c << 8) | d;
}

/* ---- Tests ---- */

static void
test_default_v4(void **state)
{
    struct fixture *f = *state;
    add_v4_network(f);

    for (int i = 0; i < 20; i++) {
        const char *port = add_port(f, NET1, NULL, "compute:nova");
        expect_ok(run(f, ALLOCATE, NET1, port, NULL, NULL));
        uint32_t a = port_v4(f, port);
        assert_true(a >= 0x0a000002 && a <= 0x0a0000fe);
        assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                    "WHERE port_id = ?", port), 1);
    }
    assert_int_equal(count_rows(f, "SELECT COUNT(DISTINCT ip_address) FROM "
                                "ipallocations", NULL), 20);
    /* network_id is written. */
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE network_id = ?", NET1), 20);
}

static void
test_specific(void **state)
{
    struct fixture *f = *state;
    char buf[256];
    add_v4_network(f);

    const char *p1 = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p1, NULL,
                  "[{\"subnet_id\": \"" SUB4 "\", \"ip_address\": "
                  "\"10.0.0.50\"}]"));
    assert_string_equal(port_ips(f, p1, buf, sizeof buf), "10.0.0.50");

    /* By address only; outside the pool but inside the subnet is fine,
     * and so is the gateway (router interfaces take it). */
    const char *p2 = add_port(f, NET1, NULL, "network:router_interface");
    expect_ok(run(f, ALLOCATE, NET1, p2, NULL,
                  "[{\"ip_address\": \"10.0.0.1\"}]"));
    assert_string_equal(port_ips(f, p2, buf, sizeof buf), "10.0.0.1");

    /* By subnet only. */
    const char *p3 = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p3, NULL,
                  "[{\"subnet_id\": \"" SUB4 "\"}, {\"subnet_id\": \""
                  SUB4 "\"}]"));
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", p3), 2);

    /* Taken. */
    const char *p4 = add_port(f, NET1, NULL, NULL);
    expect_error(run(f, ALLOCATE, NET1, p4, NULL,
                     "[{\"ip_address\": \"10.0.0.50\"}]"),
                 409, "IpAddressAlreadyAllocated",
                 "IP address 10.0.0.50 already allocated in subnet " SUB4);
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", p4), 0);

    /* An IPv4 address in a non-canonical spelling is the same address. */
    add_network(f, NET2);
    add_subnet(f, SUB6, NET2, 6, "2001:db8::/64", "2001:db8::1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB6, "2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff");
    const char *p5 = add_port(f, NET2, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET2, p5, NULL,
                  "[{\"ip_address\": \"2001:DB8:0::0:10\"}]"));
    assert_string_equal(port_ips(f, p5, buf, sizeof buf), "2001:db8::10");
    const char *p6 = add_port(f, NET2, NULL, NULL);
    expect_error(run(f, ALLOCATE, NET2, p6, NULL,
                     "[{\"ip_address\": \"2001:db8::10\"}]"),
                 409, "IpAddressAlreadyAllocated", NULL);
}

static void
test_invalid_requests(void **state)
{
    struct fixture *f = *state;
    add_v4_network(f);
    add_network(f, NET2);
    add_subnet(f, SUB6, NET2, 6, "2001:db8::/64", "2001:db8::1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    const char *p = add_port(f, NET1, NULL, NULL);

    expect_error(run(f, ALLOCATE, NET1, p, NULL,
                     "[{\"subnet_id\": \"" SUB6 "\"}]"),
                 400, "InvalidInput",
                 "Invalid input for operation: Failed to create port on "
                 "network " NET2 ", because fixed_ips included invalid "
                 "subnet " SUB6 ".");
    expect_error(run(f, ALLOCATE, NET1, p, NULL,
                     "[{\"subnet_id\": \"" SUBX "\"}]"),
                 404, "SubnetNotFound",
                 "Subnet " SUBX " could not be found.");
    static const char *const not_for_subnet[] = {
        "10.0.0.0", "10.0.0.255", "10.0.1.5", "2001:db8::5",
    };
    for (size_t i = 0; i < ARRAY_SIZE(not_for_subnet); i++) {
        char body[256], msg[256];
        snprintf(body, sizeof body, "[{\"subnet_id\": \"" SUB4 "\", "
                 "\"ip_address\": \"%s\"}]", not_for_subnet[i]);
        snprintf(msg, sizeof msg, "IP address %s is not a valid IP for the "
                 "specified subnet.", not_for_subnet[i]);
        expect_error(run(f, ALLOCATE, NET1, p, NULL, body), 400,
                     "InvalidIpForSubnet", msg);
        snprintf(body, sizeof body, "[{\"ip_address\": \"%s\"}]",
                 not_for_subnet[i]);
        snprintf(msg, sizeof msg, "IP address %s is not a valid IP for any "
                 "of the subnets on the specified network.",
                 not_for_subnet[i]);
        expect_error(run(f, ALLOCATE, NET1, p, NULL, body), 400,
                     "InvalidIpForNetwork", msg);
    }
    expect_error(run(f, ALLOCATE, NET1, p, NULL, "[{}]"), 400,
                 "InvalidInput", "Invalid input for operation: IP allocation "
                 "requires subnet_id or ip_address.");
    expect_error(run(f, ALLOCATE, NET1, p, NULL, "[{\"ip_address\": "
                     "\"10.0.0.5\"}, {\"ip_address\": \"10.0.0.5\"}]"),
                 400, "HTTPBadRequest", "Invalid input for fixed_ips. "
                 "Reason: Duplicate IP address '10.0.0.5'.");
    expect_error(run(f, ALLOCATE, NET1, p, NULL, "[{\"ip_address\": "
                     "\"10.0.0.300\"}]"),
                 400, "HTTPBadRequest", "Invalid input for fixed_ips. "
                 "Reason: '10.0.0.300' is not a valid IP address.");
    expect_error(run(f, ALLOCATE, NET1, p, NULL, "[{\"subnet_id\": "
                     "\"nope\"}]"),
                 400, "HTTPBadRequest", "Invalid input for fixed_ips. "
                 "Reason: 'nope' is not a valid UUID.");
    expect_error(run(f, ALLOCATE, NET1, p, NULL, "\"10.0.0.5\""),
                 400, "HTTPBadRequest", "Invalid input for fixed_ips. "
                 "Reason: Invalid data format for fixed IP: '10.0.0.5'.");

    /* At most max_fixed_ips_per_port (5) entries, but for the network's
     * own ports. */
    const char *many = "[{\"subnet_id\": \"" SUB4 "\"}, {\"subnet_id\": \""
                       SUB4 "\"}, {\"subnet_id\": \"" SUB4 "\"}, "
                       "{\"subnet_id\": \"" SUB4 "\"}, {\"subnet_id\": \""
                       SUB4 "\"}, {\"subnet_id\": \"" SUB4 "\"}]";
    expect_error(run(f, ALLOCATE, NET1, p, NULL, many), 400, "InvalidInput",
                 "Invalid input for operation: Exceeded maximum amount of "
                 "fixed ips per port.");
    const char *dhcp = add_port(f, NET1, NULL, "network:dhcp");
    expect_ok(run(f, ALLOCATE, NET1, dhcp, NULL, many));
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", dhcp), 6);
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", p), 0);
}

static void
test_no_subnets(void **state)
{
    struct fixture *f = *state;
    add_network(f, NET1);
    const char *p = add_port(f, NET1, NULL, NULL);

    expect_ok(run(f, ALLOCATE, NET1, p, MAC1, NULL));
    expect_ok(run(f, ALLOCATE, NET1, p, MAC1, "[]"));
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations",
                                NULL), 0);
    expect_error(run(f, ALLOCATE, NET1, p, MAC1,
                     "[{\"ip_address\": \"10.0.0.5\"}]"),
                 400, "InvalidInput", "Invalid input for operation: IP "
                 "allocation requires subnets for network.");
}

/* Fills the pools of SUB4 and checks the next request fails. */
static void
fill_and_fail(struct fixture *f, int expect_count, const char *outside)
{
    char buf[256];
    char seen[64][64];

    for (int i = 0; i < expect_count; i++) {
        const char *p = add_port(f, NET1, NULL, NULL);
        expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
        port_ips(f, p, buf, sizeof buf);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(seen[j], buf);
        }
        str_copy(seen[i], buf, sizeof seen[i]);
    }
    const char *p = add_port(f, NET1, NULL, NULL);
    expect_error(run(f, ALLOCATE, NET1, p, NULL, NULL), 409,
                 "IpAddressGenerationFailure",
                 "No more IP addresses available on network " NET1 ".");
    expect_error(run(f, ALLOCATE, NET1, p, NULL,
                     "[{\"subnet_id\": \"" SUB4 "\"}]"),
                 409, "IpAddressGenerationFailure",
                 "No more IP addresses available on network " NET1 ".");
    /* A specific address outside the pools still works. */
    char body[128];
    snprintf(body, sizeof body, "[{\"ip_address\": \"%s\"}]", outside);
    expect_ok(run(f, ALLOCATE, NET1, p, NULL, body));
}

static void
test_full_30(void **state)
{
    struct fixture *f = *state;
    char buf[64];

    add_network(f, NET1);
    add_subnet(f, SUB4, NET1, 4, "10.0.0.0/30", "10.0.0.1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB4, "10.0.0.2", "10.0.0.2");
    const char *p = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
    assert_string_equal(port_ips(f, p, buf, sizeof buf), "10.0.0.2");
    const char *q = add_port(f, NET1, NULL, NULL);
    expect_error(run(f, ALLOCATE, NET1, q, NULL, NULL), 409,
                 "IpAddressGenerationFailure",
                 "No more IP addresses available on network " NET1 ".");
    /* Freed, it can be had again. */
    expect_ok(run(f, RELEASE, NULL, p, NULL, NULL));
    expect_ok(run(f, ALLOCATE, NET1, q, NULL, NULL));
    assert_string_equal(port_ips(f, q, buf, sizeof buf), "10.0.0.2");
}

static void
test_full_29(void **state)
{
    struct fixture *f = *state;

    add_network(f, NET1);
    add_subnet(f, SUB4, NET1, 4, "10.0.0.8/29", "10.0.0.9", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB4, "10.0.0.10", "10.0.0.14");
    fill_and_fail(f, 5, "10.0.0.9");
}

static void
test_two_pools_full(void **state)
{
    struct fixture *f = *state;

    add_network(f, NET1);
    add_subnet(f, SUB4, NET1, 4, "10.0.0.0/24", "10.0.0.1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB4, "10.0.0.200", "10.0.0.202");
    add_pool(f, SUB4, "10.0.0.20", "10.0.0.21");
    fill_and_fail(f, 5, "10.0.0.1");
}

/* With all but two addresses taken, random candidates nearly always miss:
 * the ordered scan must find both free ones. */
static void
test_scan_fallback(void **state)
{
    struct fixture *f = *state;
    add_v4_network(f);

    const char *holder = add_port(f, NET1, NULL, NULL);
    assert_int_equal(db_begin(f->db, true), DB_OK);
    for (int i = 2; i <= 254; i++) {
        char ip[32];
        if (i == 17 || i == 230) {
            continue;
        }
        snprintf(ip, sizeof ip, "10.0.0.%d", i);
        exec_v(f->db, "INSERT INTO ipallocations (port_id, ip_address, "
               "subnet_id, network_id) VALUES (?, ?, ?, ?)", holder, ip,
               SUB4, NET1, NULL);
    }
    assert_int_equal(db_commit(f->db), DB_OK);

    uint32_t got[2];
    for (int i = 0; i < 2; i++) {
        const char *p = add_port(f, NET1, NULL, NULL);
        expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
        got[i] = port_v4(f, p);
    }
    assert_true((got[0] == 0x0a000011 && got[1] == 0x0a0000e6)
                || (got[0] == 0x0a0000e6 && got[1] == 0x0a000011));
    const char *p = add_port(f, NET1, NULL, NULL);
    expect_error(run(f, ALLOCATE, NET1, p, NULL, NULL), 409,
                 "IpAddressGenerationFailure", NULL);
}

/* Random candidates spread over the pool (so that servers allocating at
 * the same time rarely collide); they are not handed out in order. */
static void
test_random_spread(void **state)
{
    struct fixture *f = *state;
    add_v4_network(f);
    uint32_t lo = UINT32_MAX, hi = 0;
    bool in_order = true;
    uint32_t prev = 0;

    for (int i = 0; i < 30; i++) {
        const char *p = add_port(f, NET1, NULL, NULL);
        expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
        uint32_t a = port_v4(f, p);
        lo = a < lo ? a : lo;
        hi = a > hi ? a : hi;
        in_order &= a == prev + 1 || !prev;
        prev = a;
    }
    assert_false(in_order);
    assert_true(hi - lo > 60);
}

static void
test_multiple_v4_subnets(void **state)
{
    struct fixture *f = *state;
    char buf[64];

    add_network(f, NET1);
    add_subnet(f, SUB4, NET1, 4, "10.0.0.0/30", "10.0.0.1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB4, "10.0.0.2", "10.0.0.2");
    add_subnet(f, SUB4B, NET1, 4, "10.0.1.0/30", "10.0.1.1", NULL, NULL,
               "2024-01-01T00:00:02Z");
    add_pool(f, SUB4B, "10.0.1.2", "10.0.1.2");

    /* One IPv4 address per port, from the first subnet with room. */
    const char *p1 = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p1, NULL, NULL));
    assert_string_equal(port_ips(f, p1, buf, sizeof buf), "10.0.0.2");
    const char *p2 = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p2, NULL, NULL));
    assert_string_equal(port_ips(f, p2, buf, sizeof buf), "10.0.1.2");
    const char *p3 = add_port(f, NET1, NULL, NULL);
    expect_error(run(f, ALLOCATE, NET1, p3, NULL, NULL), 409,
                 "IpAddressGenerationFailure", NULL);
}

static void
test_release(void **state)
{
    struct fixture *f = *state;
    char buf[64];
    add_v4_network(f);

    const char *p = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p, NULL,
                  "[{\"ip_address\": \"10.0.0.7\"}, "
                  "{\"ip_address\": \"10.0.0.8\"}]"));
    expect_ok(run(f, RELEASE, NULL, p, NULL, NULL));
    assert_string_equal(port_ips(f, p, buf, sizeof buf), "");
    expect_ok(run(f, RELEASE, NULL, p, NULL, NULL));   /* nothing held */
    const char *q = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, q, NULL,
                  "[{\"ip_address\": \"10.0.0.7\"}]"));
    assert_string_equal(port_ips(f, q, buf, sizeof buf), "10.0.0.7");
}

static void
test_update(void **state)
{
    struct fixture *f = *state;
    char buf[256];
    add_v4_network(f);

    const char *p = add_port(f, NET1, NULL, NULL);
    const char *other = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p, NULL,
                  "[{\"ip_address\": \"10.0.0.10\"}, "
                  "{\"ip_address\": \"10.0.0.11\"}]"));
    expect_ok(run(f, ALLOCATE, NET1, other, NULL,
                  "[{\"ip_address\": \"10.0.0.99\"}]"));

    /* An address kept by value, one by its subnet. */
    expect_ok(run(f, UPDATE, NET1, p, NULL,
                  "[{\"ip_address\": \"10.0.0.10\"}, "
                  "{\"subnet_id\": \"" SUB4 "\"}]"));
    assert_string_equal(port_ips(f, p, buf, sizeof buf),
                        "10.0.0.10 10.0.0.11");
    /* Dropped from the list: freed. */
    expect_ok(run(f, UPDATE, NET1, p, NULL,
                  "[{\"ip_address\": \"10.0.0.10\"}]"));
    assert_string_equal(port_ips(f, p, buf, sizeof buf), "10.0.0.10");
    /* Replaced. */
    expect_ok(run(f, UPDATE, NET1, p, NULL,
                  "[{\"ip_address\": \"10.0.0.20\"}]"));
    assert_string_equal(port_ips(f, p, buf, sizeof buf), "10.0.0.20");
    /* The freed address is free again. */
    expect_ok(run(f, UPDATE, NET1, other, NULL,
                  "[{\"ip_address\": \"10.0.0.99\"}, "
                  "{\"ip_address\": \"10.0.0.10\"}]"));
    assert_string_equal(port_ips(f, other, buf, sizeof buf),
                        "10.0.0.10 10.0.0.99");
    /* A failing update changes nothing (the caller's transaction rolls
     * back): 10.0.0.99 is taken. */
    expect_error(run(f, UPDATE, NET1, p, NULL,
                     "[{\"ip_address\": \"10.0.0.30\"}, "
                     "{\"ip_address\": \"10.0.0.99\"}]"),
                 409, "IpAddressAlreadyAllocated", NULL);
    assert_string_equal(port_ips(f, p, buf, sizeof buf), "10.0.0.20");
    /* Two ports may swap nothing, but one may move within the update:
     * freeing happens before allocating. */
    expect_ok(run(f, UPDATE, NET1, p, NULL,
                  "[{\"subnet_id\": \"" SUB4 "\"}, "
                  "{\"ip_address\": \"10.0.0.21\"}]"));
    assert_string_equal(port_ips(f, p, buf, sizeof buf),
                        "10.0.0.20 10.0.0.21");
    /* Empty list: everything goes. */
    expect_ok(run(f, UPDATE, NET1, p, NULL, "[]"));
    assert_string_equal(port_ips(f, p, buf, sizeof buf), "");
    /* No fixed_ips in the update: nothing changes. */
    expect_ok(run(f, UPDATE, NET1, other, NULL, NULL));
    assert_string_equal(port_ips(f, other, buf, sizeof buf),
                        "10.0.0.10 10.0.0.99");
    /* Validation as on create. */
    expect_error(run(f, UPDATE, NET1, p, NULL,
                     "[{\"ip_address\": \"10.9.9.9\"}]"),
                 400, "InvalidIpForNetwork", NULL);
}

static void
add_v6_networks(struct fixture *f)
{
    add_v4_network(f);
    add_subnet(f, SUB6S, NET1, 6, "2001:db8:1::/64", "2001:db8:1::1",
               "slaac", "slaac", "2024-01-01T00:00:02Z");
    add_pool(f, SUB6S, "2001:db8:1::2", "2001:db8:1::ffff:ffff:ffff:ffff");
    add_subnet(f, SUB6, NET1, 6, "2001:db8:2::/64", "2001:db8:2::1",
               NULL, "dhcpv6-stateful", "2024-01-01T00:00:03Z");
    add_pool(f, SUB6, "2001:db8:2::2", "2001:db8:2::ffff:ffff:ffff:ffff");
}

static void
test_eui64(void **state)
{
    struct fixture *f = *state;
    char buf[512];
    add_v6_networks(f);

    /* Default: one IPv4, one stateful IPv6, and the EUI-64 address. */
    const char *p = add_port(f, NET1, MAC1, "compute:nova");
    expect_ok(run(f, ALLOCATE, NET1, p, MAC1, NULL));
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", p), 3);
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ? AND ip_address = "
                                "'2001:db8:1:0:f816:3eff:fe11:2233'", p), 1);
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ? AND subnet_id = '" SUB6
                                "'", p), 1);

    /* fixed_ips on the IPv4 subnet only: the SLAAC address comes too. */
    const char *q = add_port(f, NET1, "fa:16:3e:00:00:01", NULL);
    expect_ok(run(f, ALLOCATE, NET1, q, "fa:16:3e:00:00:01",
                  "[{\"ip_address\": \"10.0.0.33\"}]"));
    assert_string_equal(port_ips(f, q, buf, sizeof buf),
                        "10.0.0.33 2001:db8:1:0:f816:3eff:fe00:1");

    /* An address on an auto-address subnet cannot be chosen... */
    const char *r = add_port(f, NET1, "fa:16:3e:00:00:02", NULL);
    expect_error(run(f, ALLOCATE, NET1, r, "fa:16:3e:00:00:02",
                     "[{\"ip_address\": \"2001:db8:1::99\"}]"),
                 400, "AllocationOnAutoAddressSubnet",
                 "IPv6 address 2001:db8:1::99 cannot be directly assigned to "
                 "a port on subnet " SUB6S " as the subnet is configured for "
                 "automatic addresses");
    /* ...but naming the subnet is fine (the EUI-64 address). */
    expect_ok(run(f, ALLOCATE, NET1, r, "fa:16:3e:00:00:02",
                  "[{\"subnet_id\": \"" SUB6S "\"}]"));
    assert_string_equal(port_ips(f, r, buf, sizeof buf),
                        "2001:db8:1:0:f816:3eff:fe00:2");

    /* Router interfaces get no auto-address, and may take any address. */
    const char *ri = add_port(f, NET1, "fa:16:3e:00:00:03",
                              "network:router_interface");
    expect_ok(run(f, ALLOCATE, NET1, ri, "fa:16:3e:00:00:03",
                  "[{\"subnet_id\": \"" SUB6S "\", \"ip_address\": "
                  "\"2001:db8:1::1\"}]"));
    assert_string_equal(port_ips(f, ri, buf, sizeof buf), "2001:db8:1::1");

    /* An update keeps the auto-address unless the port is a router's. */
    expect_ok(run(f, UPDATE, NET1, q, "fa:16:3e:00:00:01",
                  "[{\"ip_address\": \"10.0.0.34\"}]"));
    assert_string_equal(port_ips(f, q, buf, sizeof buf),
                        "10.0.0.34 2001:db8:1:0:f816:3eff:fe00:1");
    expect_ok(run(f, UPDATE, NET1, q, "fa:16:3e:00:00:01", "[]"));
    assert_string_equal(port_ips(f, q, buf, sizeof buf),
                        "2001:db8:1:0:f816:3eff:fe00:1");
    expect_ok(run(f, UPDATE, NET1, ri, "fa:16:3e:00:00:03", "[]"));
    assert_string_equal(port_ips(f, ri, buf, sizeof buf), "");

    /* A new MAC: the EUI-64 address follows it (no fixed_ips given); the
     * other addresses stay. */
    expect_ok(run(f, UPDATE, NET1, p, "fa:16:3e:44:55:66", NULL));
    port_ips(f, p, buf, sizeof buf);
    assert_non_null(strstr(buf, "2001:db8:1:0:f816:3eff:fe44:5566"));
    assert_null(strstr(buf, "fe11:2233"));
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", p), 3);
    expect_ok(run(f, UPDATE, NET1, p, "fa:16:3e:44:55:66", NULL));
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM ipallocations "
                                "WHERE port_id = ?", p), 3);

    /* The IPv6 subnet-router anycast address (the network address) is
     * for router ports only. */
    const char *c = add_port(f, NET1, "fa:16:3e:00:00:04", "compute:nova");
    expect_error(run(f, ALLOCATE, NET1, c, "fa:16:3e:00:00:04",
                     "[{\"ip_address\": \"2001:db8:2::\"}]"),
                 400, "InvalidIpForNetwork", NULL);
    const char *gw = add_port(f, NET1, "fa:16:3e:00:00:05",
                              "network:router_gateway");
    expect_ok(run(f, ALLOCATE, NET1, gw, "fa:16:3e:00:00:05",
                  "[{\"ip_address\": \"2001:db8:2::\"}]"));
}

static void
test_auto_addresses_for_new_subnet(void **state)
{
    struct fixture *f = *state;
    char buf[256];
    add_v4_network(f);

    const char *p = add_port(f, NET1, MAC1, "compute:nova");
    const char *ri = add_port(f, NET1, "fa:16:3e:00:00:09",
                              "network:router_interface");
    const char *dhcp = add_port(f, NET1, "fa:16:3e:00:00:0a",
                                "network:dhcp");
    add_subnet(f, SUB6S, NET1, 6, "2001:db8:1::/64", "2001:db8:1::1",
               NULL, "dhcpv6-stateless", "2024-01-01T00:00:02Z");
    assert_int_equal(db_begin(f->db, true), DB_OK);
    expect_ok(l2_ipam_add_auto_addresses__(&f->ctx, NET1, SUB6S));
    /* A stateful subnet adds nothing. */
    expect_ok(l2_ipam_add_auto_addresses__(&f->ctx, NET1, SUB4));
    assert_int_equal(db_commit(f->db), DB_OK);
    assert_string_equal(port_ips(f, p, buf, sizeof buf),
                        "2001:db8:1:0:f816:3eff:fe11:2233");
    assert_string_equal(port_ips(f, ri, buf, sizeof buf), "");
    assert_string_equal(port_ips(f, dhcp, buf, sizeof buf),
                        "2001:db8:1:0:f816:3eff:fe00:a");
    assert_int_equal(count_rows(f, "SELECT revision_number FROM ports "
                                "WHERE id = ?", p), 1);
    assert_int_equal(count_rows(f, "SELECT revision_number FROM ports "
                                "WHERE id = ?", ri), 0);
}

static void
test_v6_stateful_random(void **state)
{
    struct fixture *f = *state;
    char buf[256];

    add_network(f, NET1);
    add_subnet(f, SUB6, NET1, 6, "2001:db8::/64", "2001:db8::1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB6, "2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff");
    for (int i = 0; i < 10; i++) {
        const char *p = add_port(f, NET1, NULL, NULL);
        expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
        port_ips(f, p, buf, sizeof buf);
        assert_true(str_starts_with(buf, "2001:db8::"));
        assert_null(strchr(buf, ' '));
    }
    assert_int_equal(count_rows(f, "SELECT COUNT(DISTINCT ip_address) FROM "
                                "ipallocations", NULL), 10);
}

/* A /8: allocation cost must not depend on the subnet size. */
static void
test_big_subnet_fast(void **state)
{
    struct fixture *f = *state;
    enum { PRE = 5000, N = 1000 };

    add_network(f, NET1);
    add_subnet(f, SUB4, NET1, 4, "10.0.0.0/8", "10.0.0.1", NULL, NULL,
               "2024-01-01T00:00:01Z");
    add_pool(f, SUB4, "10.0.0.2", "10.255.255.254");

    /* Some addresses already used, in the first block. */
    const char *holder = add_port(f, NET1, NULL, NULL);
    assert_int_equal(db_begin(f->db, true), DB_OK);
    for (int i = 0; i < PRE; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.%d.%d", (i + 2) / 256, (i + 2) % 256);
        exec_v(f->db, "INSERT INTO ipallocations (port_id, ip_address, "
               "subnet_id, network_id) VALUES (?, ?, ?, ?)", holder, ip,
               SUB4, NET1, NULL);
    }
    assert_int_equal(db_commit(f->db), DB_OK);

    uint64_t start = time_monotonic_usec();
    for (int i = 0; i < N; i++) {
        const char *p = add_port(f, NET1, NULL, NULL);
        expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
    }
    uint64_t us = time_monotonic_usec() - start;
    printf("[ timing ] %d allocations (with port inserts) in a /8 with %d "
           "used: %.1f ms, %.1f us each (%s)\n", N, PRE, us / 1000.0,
           (double) us / N, testdb_engine());
    assert_int_equal(count_rows(f, "SELECT COUNT(DISTINCT ip_address) FROM "
                                "ipallocations", NULL), PRE + N);

    /* The ordered scan over the same /8, timed: a pool whose start is
     * the used block, so random candidates are tried on the whole pool
     * and the scan walks past 5000 used addresses. */
    exec_v(f->db, "DELETE FROM ipallocationpools WHERE subnet_id = ?", SUB4,
           NULL);
    add_pool(f, SUB4, "10.0.0.2", "10.0.19.138");
    start = time_monotonic_usec();
    const char *p = add_port(f, NET1, NULL, NULL);
    expect_ok(run(f, ALLOCATE, NET1, p, NULL, NULL));
    us = time_monotonic_usec() - start;
    printf("[ timing ] one allocation in a nearly full pool of a /8: "
           "%.1f ms (%s)\n", us / 1000.0, testdb_engine());
}

#define TEST(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_default_v4),
        TEST(test_specific),
        TEST(test_invalid_requests),
        TEST(test_no_subnets),
        TEST(test_full_30),
        TEST(test_full_29),
        TEST(test_two_pools_full),
        TEST(test_scan_fallback),
        TEST(test_random_spread),
        TEST(test_multiple_v4_subnets),
        TEST(test_release),
        TEST(test_update),
        TEST(test_eui64),
        TEST(test_auto_addresses_for_new_subnet),
        TEST(test_v6_stateful_random),
        TEST(test_big_subnet_fast),
    };

    return cmocka_run_group_tests_name(testdb_engine(), tests, NULL, NULL);
}
