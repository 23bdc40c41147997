/* core/l3_fip.c: the "floatingips" resource (floating IPs, with Neutron's
 * fip-port-details).
 *
 * A floating IP is a row of "floatingips" and a port on the external
 * network that holds its address: the floating port (device_owner
 * network:floatingip, device_id the FIP's id, project '' as in Neutron, so
 * tenants never see it).  The floating port is created and deleted
 * through the L2 port resource's own ops, inside the FIP's transaction,
 * so IPAM, port events and mechanism drivers run as for any port; its
 * after-commit work runs from the FIP's after_* hooks.
 *
 * Association.  A FIP with a port_id is associated: its fixed IP is an
 * IPv4 address of that port, and router_id is the router that serves it,
 * chosen as Neutron does among routers with an interface on the fixed
 * IP's subnet and a gateway on the floating network (the one whose
 * interface holds the subnet's gateway_ip first, else the oldest).
 *
 * Drivers.  An associated FIP belongs to the flavor driver of its router:
 * every change to it writes a journal row ("floatingip") for that router's
 * provider in the change's transaction; an unassociated FIP touches no
 * driver.  Associating journals a "create", a change on the same router
 * an "update", and leaving a router (disassociating, moving to another
 * router, deleting the FIP, deleting its port) a "delete" for the old
 * router's provider, carrying the FIP as it was and its old revision.  So
 * a move between routers, even of different flavors, tells the old driver
 * to remove the FIP and the new one to add it (Neutron tells only the
 * new one).
 *
 * Status.  DOWN at create and whenever the association changes; the
 * journal's set_status hook makes it ACTIVE (or ERROR) when the driver has
 * applied the entry of the current revision.  The "delete" rows carry the
 * revision the FIP had before it left the router, so their completion
 * never marks an unassociated FIP ACTIVE: an unassociated FIP stays
 * DOWN. */
#include "core/l3.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "core/context.h"
#include "core/events.h"
#include "core/journal.h"
#include "core/jsonv.h"
#include "core/l3-internal.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/driver.h"
#include "l2/l2.h"

#define DEVICE_OWNER_FLOATINGIP "network:floatingip"
#define DEVICE_OWNER_DHCP "network:dhcp"
#define STATUS_DOWN "DOWN"
#define CHILD_CHUNK 500                 /* ids per IN (...) of expand */

/* ---- The attribute table ---- */

enum {
    F_ID, F_TENANT_ID, F_FLOATING_IP, F_NETWORK_ID, F_ROUTER_ID, F_PORT_ID,
    F_FIXED_IP, F_STATUS, F_PROJECT_ID, F_DESCRIPTION, F_PORT_DETAILS,
    F_TAGS, F_CREATED_AT, F_UPDATED_AT, F_REVISION, F_SUBNET_ID, F_N_ATTRS
};

static const struct attr_def fip_attrs[] = {
    [F_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [F_TENANT_ID] = { "tenant_id", AT_STRING,
                      AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                      "project_id", NULL, 0, 255, NULL },
    [F_FLOATING_IP] = { "floating_ip_address", AT_IP,
                        AF_POST | AF_FILTER | AF_SORT | AF_NULLABLE
                        | AF_ADMIN_WRITE, "floating_ip_address", "null", 0,
                        0, NULL },
    [F_NETWORK_ID] = { "floating_network_id", AT_UUID,
                       AF_POST | AF_REQUIRED | AF_FILTER | AF_SORT,
                       "floating_network_id", NULL, 0, 0, NULL },
    [F_ROUTER_ID] = { "router_id", AT_UUID, AF_FILTER | AF_SORT, "router_id",
                      NULL, 0, 0, NULL },
    [F_PORT_ID] = { "port_id", AT_UUID,
                    AF_POST | AF_PUT | AF_FILTER | AF_NULLABLE,
                    "fixed_port_id", "null", 0, 0, NULL },
    [F_FIXED_IP] = { "fixed_ip_address", AT_IP,
                     AF_POST | AF_PUT | AF_FILTER | AF_SORT | AF_NULLABLE,
                     "fixed_ip_address", "null", 0, 0, NULL },
    [F_STATUS] = { "status", AT_STRING, AF_FILTER | AF_SORT, "status", NULL,
                   0, 16, NULL },
    [F_PROJECT_ID] = { "project_id", AT_STRING,
                       AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                       "project_id", NULL, 0, 255, NULL },
    [F_DESCRIPTION] = { "description", AT_STRING,
                        AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                        "description", "\"\"", 0, 255, NULL },
    [F_PORT_DETAILS] = { "port_details", AT_JSON, 0, NULL, NULL, 0, 0,
                         NULL },
    [F_TAGS] = { "tags", AT_JSON, 0, NULL, NULL, 0, 0, NULL },
    [F_CREATED_AT] = { "created_at", AT_STRING, AF_SORT, "created_at", NULL,
                       0, 0, NULL },
    [F_UPDATED_AT] = { "updated_at", AT_STRING, AF_SORT, "updated_at", NULL,
                       0, 0, NULL },
    [F_REVISION] = { "revision_number", AT_INT, AF_FILTER | AF_SORT,
                     "revision_number", NULL, 0, 0, NULL },
    /* Create only, never shown (Neutron: is_visible false): the subnet of
     * the floating network to allocate the address from. */
    [F_SUBNET_ID] = { "subnet_id", AT_UUID, AF_POST | AF_NULLABLE, NULL,
                      "null", 0, 0, NULL },
};

_Static_assert(ARRAY_SIZE(fip_attrs) == F_N_ATTRS, "FIP attribute table");

static const struct resource_ops fip_ops;

const struct resource_def l3_floatingip_def = {
    .singular = "floatingip",
    .plural = "floatingips",
    .table = "floatingips",
    .not_found = "FloatingIPNotFound",
    .display = "Floating IP",
    .attrs = fip_attrs,
    .n_attrs = F_N_ATTRS,
    .visible_sql = NULL,
    .tags = true,
    .ops = &fip_ops,
};

/* ---- Small helpers ---- */

static const char *
fstr(const struct res_obj *fip, int idx)
{
    return value_str(&fip->v[idx]);
}

/* A string attribute of any object by name, or NULL. */
static const char *
attr_str(const struct res_obj *obj, const char *name)
{
    int idx = resource_attr_index(obj->def, name);
    return idx >= 0 ? value_str(&obj->v[idx]) : NULL;
}

static bool
attr_bool(const struct res_obj *obj, const char *name)
{
    int idx = resource_attr_index(obj->def, name);
    return idx >= 0 && obj->v[idx].kind == VALUE_BOOL && obj->v[idx].b;
}

static bool
str_eq(const char *a, const char *b)
{
    return a && b ? !strcmp(a, b) : a == b;
}

/* Neutron's n_exc.BadRequest(resource='floatingip', msg=...). */
static struct neutron_error *bad_fip_request(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static struct neutron_error *
bad_fip_request(const char *fmt, ...)
{
    char msg[512];
    va_list args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    return neutron_error_create(NE_BAD_REQUEST, "BadRequest",
                                "Bad floatingip request: %s.", msg);
}

/* Runs a statement that returns no rows. */
static struct neutron_error *
exec_sql(struct db *db, const struct sql_buf *b, const char *what)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    if (!stmt) {
        return store_db_error(db, DB_ERROR, what);
    }
    rc = db_step(stmt);
    db_reset(stmt);
    if (rc == DB_CONSTRAINT) {
        return neutron_error_create(NE_CONFLICT, NULL, "Conflict while %s.",
                                    what);
    }
    if (rc != DB_DONE && rc != DB_OK) {
        return store_db_error(db, rc, what);
    }
    return NULL;
}

/* Runs a query and tells whether it returned a row. */
static struct neutron_error *
exists_sql(struct db *db, const struct sql_buf *b, const char *what,
           bool *found)
{
    struct db_stmt *stmt = sql_prepare(db, b);
    int rc;

    if (!stmt) {
        return store_db_error(db, DB_ERROR, what);
    }
    rc = db_step(stmt);
    db_reset(stmt);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_error(db, rc, what);
    }
    *found = rc == DB_ROW;
    return NULL;
}

/* The FIP as the journal carries it to a driver ('data'). */
static char *
fip_json(const struct res_obj *fip)
{
    static const int keys[] = {
        F_ID, F_PROJECT_ID, F_DESCRIPTION, F_FLOATING_IP, F_NETWORK_ID,
        F_ROUTER_ID, F_PORT_ID, F_FIXED_IP, F_STATUS,
    };
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_kv_str(g, fip_attrs[keys[i]].name, fstr(fip, keys[i]));
    }
    json_key(g, "revision_number");
    yajl_gen_integer(g, fip->v[F_REVISION].kind == VALUE_INT
                        ? fip->v[F_REVISION].i : 0);
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

/* port_details (fip-port-details) of a port. */
static char *
port_details_json(const char *name, const char *network_id, const char *mac,
                  bool admin_state_up, const char *status,
                  const char *device_id, const char *device_owner)
{
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    json_kv_str(g, "name", name);
    json_kv_str(g, "network_id", network_id);
    json_kv_str(g, "mac_address", mac);
    json_key(g, "admin_state_up");
    yajl_gen_bool(g, admin_state_up);
    json_kv_str(g, "status", status);
    json_kv_str(g, "device_id", device_id);
    json_kv_str(g, "device_owner", device_owner);
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

static char *
port_details_of(const struct res_obj *port)
{
    return port_details_json(attr_str(port, "name"),
                             attr_str(port, "network_id"),
                             attr_str(port, "mac_address"),
                             attr_bool(port, "admin_state_up"),
                             attr_str(port, "status"),
                             attr_str(port, "device_id"),
                             attr_str(port, "device_owner"));
}

/* ---- Expand: port_details for a page of FIPs ---- */

static int
cmp_by_port(const void *a_, const void *b_)
{
    const struct res_obj *const *a = a_, *const *b = b_;
    return strcmp(fstr(*a, F_PORT_ID), fstr(*b, F_PORT_ID));
}

static struct neutron_error *
fip_expand(struct db *db, struct res_obj **objs, size_t n)
{
    struct res_obj **assoc = xmalloc((n ? n : 1) * sizeof *assoc);
    struct neutron_error *error = NULL;
    size_t n_assoc = 0;

    for (size_t i = 0; i < n; i++) {
        if (fstr(objs[i], F_PORT_ID)) {
            assoc[n_assoc++] = objs[i];
        }
        value_set_null(&objs[i]->v[F_PORT_DETAILS]);
    }
    qsort(assoc, n_assoc, sizeof *assoc, cmp_by_port);
    for (size_t start = 0; start < n_assoc && !error; start += CHILD_CHUNK) {
        size_t end = start + CHILD_CHUNK < n_assoc ? start + CHILD_CHUNK
                                                   : n_assoc;
        struct sql_buf b;
        int rc;

        sql_init(&b);
        sql_add(&b, "SELECT id, name, network_id, mac_address, "
                "admin_state_up, status, device_id, device_owner FROM ports "
                "WHERE id IN (");
        for (size_t i = start; i < end; i++) {
            sql_add(&b, i > start ? ", ?" : "?");
            sql_param(&b, fstr(assoc[i], F_PORT_ID));
        }
        sql_in_pad(&b, end - start);
        sql_add(&b, ")");
        struct db_stmt *stmt = sql_prepare(db, &b);
        sql_destroy(&b);
        if (!stmt) {
            error = store_db_error(db, DB_ERROR, "loading port details");
            break;
        }
        while ((rc = db_step(stmt)) == DB_ROW) {
            const char *id = db_col_text(stmt, 0);
            char *details = NULL;

            /* The FIPs of one port are adjacent in 'assoc'. */
            size_t lo = start, hi = end;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(fstr(assoc[mid], F_PORT_ID), id) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (size_t k = lo;
                 k < end && !strcmp(fstr(assoc[k], F_PORT_ID), id); k++) {
                if (!details) {
                    details = port_details_json(
                        db_col_text(stmt, 1), db_col_text(stmt, 2),
                        db_col_text(stmt, 3), db_col_int64(stmt, 4) != 0,
                        db_col_text(stmt, 5), db_col_text(stmt, 6),
                        db_col_text(stmt, 7));
                }
                value_set_raw(&assoc[k]->v[F_PORT_DETAILS], details);
            }
            free(details);
        }
        db_reset(stmt);
        if (rc != DB_DONE) {
            error = store_db_error(db, rc, "loading port details");
        }
    }
    free(assoc);
    return error;
}

/* ---- Floating ports and their after-commit work ---- */

/* A floating port created or deleted inside a FIP operation's transaction
 * rides in the FIP object's 'aux' to the operation's after_* hook, which
 * runs the port's own after-commit work (AFTER events, mechanism drivers'
 * postcommit). */
static void
free_port(void *port)
{
    res_obj_destroy(port);
}

static void
keep_port(struct res_obj *fip, struct res_obj *port)
{
    if (fip->aux_free) {
        fip->aux_free(fip->aux);
    }
    fip->aux = port;
    fip->aux_free = free_port;
}

/* The port kept by keep_port() (still owned by 'fip'), or NULL. */
static const struct res_obj *
kept_port(const struct res_obj *fip)
{
    return fip->aux_free == free_port ? fip->aux : NULL;
}

/* The caller's context with admin rights (Neutron's context.elevated()). */
static struct op_ctx
elevated(const struct op_ctx *ctx)
{
    struct op_ctx admin = *ctx;
    admin.auth.is_admin = true;
    return admin;
}

/* Creates the floating port of FIP 'fip_id' on 'network_id', with an
 * address from 'subnet_id' and/or 'ip' when given, through the port
 * resource's create op, and gives it project '' as Neutron does. */
static struct neutron_error *
floating_port_create(const struct op_ctx *ctx, const char *fip_id,
                     const char *project_id, const char *network_id,
                     const char *subnet_id, const char *ip,
                     struct res_obj **port)
{
    struct op_ctx admin = elevated(ctx);
    struct res_obj *body = NULL;
    struct neutron_error *error;
    yajl_gen g = json_gen_create();
    char errbuf[128];

    *port = NULL;
    yajl_gen_map_open(g);
    json_kv_str(g, "network_id", network_id);
    json_kv_str(g, "project_id", project_id);
    json_kv_str(g, "name", "");
    json_kv_str(g, "device_id", fip_id);
    json_kv_str(g, "device_owner", DEVICE_OWNER_FLOATINGIP);
    json_key(g, "admin_state_up");
    yajl_gen_bool(g, true);
    if (subnet_id || ip) {
        json_key(g, "fixed_ips");
        yajl_gen_array_open(g);
        yajl_gen_map_open(g);
        if (subnet_id) {
            json_kv_str(g, "subnet_id", subnet_id);
        }
        if (ip) {
            json_kv_str(g, "ip_address", ip);
        }
        yajl_gen_map_close(g);
        yajl_gen_array_close(g);
    }
    yajl_gen_map_close(g);
    char *text = json_gen_finish(g);
    yajl_val tree = yajl_tree_parse(text, errbuf, sizeof errbuf);
    free(text);
    if (!tree) {
        return neutron_error_internal("Building a floating port: %s",
                                      errbuf);
    }
    error = resource_validate(&l2_port_def, tree, true, true, &body);
    if (!error) {
        error = l2_port_def.ops->create(&admin, body, port);
    }
    res_obj_destroy(body);
    yajl_tree_free(tree);
    if (!error) {
        struct sql_buf b;

        sql_init(&b);
        sql_add(&b, "UPDATE ports SET project_id = '' WHERE id = ?");
        sql_param(&b, attr_str(*port, "id"));
        error = exec_sql(ctx->db, &b, "creating a floating port");
        sql_destroy(&b);
        value_set_str(&(*port)->v[resource_attr_index(&l2_port_def,
                                                      "project_id")], "");
        value_set_str(&(*port)->v[resource_attr_index(&l2_port_def,
                                                      "tenant_id")], "");
    }
    if (error) {
        res_obj_destroy(*port);
        *port = NULL;
    }
    return error;
}

/* Deletes the floating port 'port_id' (the FIP row must be gone, else the
 * L3 port check refuses) through the port resource's remove op.  Stores
 * the deleted port in '*old' (NULL if it was already gone). */
static struct neutron_error *
floating_port_delete(const struct op_ctx *ctx, const char *port_id,
                     struct res_obj **old)
{
    struct op_ctx admin = elevated(ctx);
    struct neutron_error *error;

    *old = NULL;
    error = store_get(ctx->db, &l2_port_def, NULL, port_id, old);
    if (error && error->kind == NE_NOT_FOUND) {
        neutron_error_destroy(error);
        return NULL;
    }
    if (!error) {
        error = l2_port_def.ops->remove(&admin, *old);
    }
    if (error) {
        res_obj_destroy(*old);
        *old = NULL;
    }
    return error;
}

/* ---- Association ---- */

/* What associating a FIP with a port resolved to. */
struct fip_assoc {
    char port_id[UUID_STR_LEN];
    char fixed_ip[IPADDR_STR_MAX];
    char router_id[UUID_STR_LEN];
    const struct l3_provider *provider;
    char *details;              /* port_details JSON, owned */
};

static void
fip_assoc_destroy(struct fip_assoc *a)
{
    free(a->details);
    memset(a, 0, sizeof *a);
}

/* The router that serves fixed IPs of 'subnet_id' (on the port's network
 * 'port_network_id') from external network 'network_id', as Neutron's
 * get_router_for_floatingip(); 404 ExternalGatewayForFloatingIPNotFound
 * when none. */
static struct neutron_error *
find_router(struct db *db, const char *port_id, const char *port_network_id,
            const char *subnet_id, const char *network_id,
            char router_id[UUID_STR_LEN])
{
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_add(&b, "SELECT r.id FROM routerports rp "
            "JOIN ports p ON p.id = rp.port_id "
            "JOIN ipallocations a ON a.port_id = p.id "
            "JOIN subnets s ON s.id = a.subnet_id "
            "JOIN routers r ON r.id = rp.router_id "
            "JOIN ports gw ON gw.id = r.gw_port_id "
            "WHERE p.network_id = ? AND a.subnet_id = ? "
            "AND p.device_owner IN ('network:router_interface', "
            "'network:router_interface_distributed', "
            "'network:ha_router_replicated_interface') "
            "AND gw.network_id = ? "
            "ORDER BY CASE WHEN a.ip_address = s.gateway_ip THEN 0 ELSE 1 "
            "END, r.created_at, r.id");
    sql_param(&b, port_network_id);
    sql_param(&b, subnet_id);
    sql_param(&b, network_id);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "choosing a router");
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        str_copy(router_id, db_col_text(stmt, 0), UUID_STR_LEN);
    }
    db_reset(stmt);
    if (rc == DB_DONE) {
        return neutron_error_create(
            NE_NOT_FOUND, "ExternalGatewayForFloatingIPNotFound",
            "External network %s is not reachable from subnet %s.  "
            "Therefore, cannot associate Port %s with a Floating IP.",
            network_id, subnet_id, port_id);
    }
    return rc == DB_ROW ? NULL : store_db_error(db, rc, "choosing a router");
}

/* Takes the row lock of 'id' in 'table' ("routers", "ports") for the
 * rest of the transaction, as the router operations do (MariaDB; a SQLite
 * write transaction holds the whole database already). */
static struct neutron_error *
lock_row(struct db *db, const char *table, const char *id)
{
    struct neutron_error *error;
    struct sql_buf b;

    if (db_engine(db) != DB_ENGINE_MARIADB) {
        return NULL;
    }
    sql_init(&b);
    sql_addf(&b, "UPDATE %s SET status = status WHERE id = ?", table);
    sql_param(&b, id);
    error = exec_sql(db, &b, "locking a row");
    sql_destroy(&b);
    return error;
}

/* find_router(), then the chosen router's lock, so that a concurrent
 * removal of its gateway or interface either sees this FIP (and refuses)
 * or happened before (and the choice, made again under the lock, sees
 * it: write transactions read committed rows). */
static struct neutron_error *
choose_router(struct db *db, const char *port_id, const char *port_network_id,
              const char *subnet_id, const char *network_id,
              char router_id[UUID_STR_LEN])
{
    char locked[UUID_STR_LEN] = "";

    for (int i = 0; i < 4; i++) {
        struct neutron_error *error = find_router(db, port_id,
                                                  port_network_id, subnet_id,
                                                  network_id, router_id);
        if (error || !strcmp(router_id, locked)) {
            return error;
        }
        error = lock_row(db, "routers", router_id);
        if (error || db_engine(db) != DB_ENGINE_MARIADB) {
            return error;
        }
        str_copy(locked, router_id, sizeof locked);
    }
    return neutron_error_create(NE_RETRY, NULL, "Database conflict while "
                                "choosing a router; retry.");
}

/* Finds the fixed IP of 'port' a FIP may use: 'want' (normalised) if
 * given, else its only IPv4 address; Neutron's refusals otherwise.  Fills
 * out->fixed_ip and 'subnet_id'. */
static struct neutron_error *
pick_fixed_ip(const struct res_obj *port, const char *want,
              struct fip_assoc *out, char subnet_id[UUID_STR_LEN])
{
    const char *port_id = attr_str(port, "id");
    int idx = resource_attr_index(port->def, "fixed_ips");
    const struct value *v = &port->v[idx];
    yajl_val list = NULL;
    size_t n_v4 = 0;
    bool found = false;

    if (want) {
        struct ipaddr a;
        if (!ipaddr_parse(want, &a) || a.version != 4) {
            return bad_fip_request("Cannot process floating IP association "
                                   "with %s, since that is not an IPv4 "
                                   "address", want);
        }
    }
    if (v->kind == VALUE_RAW || v->kind == VALUE_STRING) {
        list = yajl_tree_parse(v->s, NULL, 0);
    }
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        yajl_val ip = list->u.array.values[i];
        const char *path_ip[] = { "ip_address", NULL };
        const char *path_subnet[] = { "subnet_id", NULL };
        const char *addr = YAJL_GET_STRING(yajl_tree_get(ip, path_ip,
                                                         yajl_t_string));
        const char *subnet = YAJL_GET_STRING(
            yajl_tree_get(ip, path_subnet, yajl_t_string));
        struct ipaddr a;

        if (!addr || !subnet || !ipaddr_parse(addr, &a)) {
            continue;
        }
        if (want) {
            if (!found && !strcmp(addr, want)) {
                found = true;
                str_copy(out->fixed_ip, addr, sizeof out->fixed_ip);
                str_copy(subnet_id, subnet, UUID_STR_LEN);
            }
        } else if (a.version == 4 && !n_v4++) {
            str_copy(out->fixed_ip, addr, sizeof out->fixed_ip);
            str_copy(subnet_id, subnet, UUID_STR_LEN);
        }
    }
    yajl_tree_free(list);
    if (want && !found) {
        return bad_fip_request("Port %s does not have fixed ip %s", port_id,
                               want);
    }
    if (!want && !n_v4) {
        return bad_fip_request("Cannot add floating IP to port %s that has "
                               "no fixed IPv4 addresses", port_id);
    }
    if (!want && n_v4 > 1) {
        return bad_fip_request("Port %s has multiple fixed IPv4 addresses.  "
                               "Must provide a specific IPv4 address when "
                               "assigning a floating IP", port_id);
    }
    return NULL;
}

/* Resolves associating a FIP of 'fip_project' on external network
 * 'network_id' with port 'port_id' (and fixed IP 'fixed_ip', or NULL), as
 * Neutron's _internal_fip_assoc_data() and _get_router_for_floatingip(),
 * and checks that the router's driver can serve floating IPs. */
static struct neutron_error *
resolve_assoc(const struct op_ctx *ctx, const char *fip_project,
              const char *network_id, const char *port_id,
              const char *fixed_ip, struct fip_assoc *out)
{
    struct res_obj *port = NULL;
    struct neutron_error *error;
    char subnet_id[UUID_STR_LEN] = "";

    memset(out, 0, sizeof *out);
    /* The port's row lock first: a concurrent delete of the port then
     * either comes before (and the port is gone) or after (and its
     * disassociation sees this FIP). */
    error = lock_row(ctx->db, "ports", port_id);
    if (!error) {
        error = store_get(ctx->db, &l2_port_def, ctx, port_id, &port);
    }
    if (error) {
        return error;
    }
    if (!ctx->auth.is_admin
        && !str_eq(attr_str(port, "project_id"), fip_project)) {
        error = bad_fip_request("Cannot process floating IP association "
                                "with Port %s, since that port is owned by "
                                "a different tenant", port_id);
    } else if (str_eq(attr_str(port, "device_owner"), DEVICE_OWNER_DHCP)) {
        error = bad_fip_request("Port %s is unable to be assigned a "
                                "floating IP", port_id);
    }
    if (!error) {
        error = pick_fixed_ip(port, fixed_ip, out, subnet_id);
    }
    if (!error) {
        error = choose_router(ctx->db, port_id, attr_str(port, "network_id"),
                              subnet_id, network_id, out->router_id);
    }
    if (!error) {
        error = l3_router_provider__(ctx->db, out->router_id,
                                     &out->provider);
    }
    if (!error) {
        error = l3_check_capability__(out->provider,
                                      HADRON_L3_CAP_FLOATINGIP,
                                      "floating IPs");
    }
    if (!error) {
        str_copy(out->port_id, port_id, sizeof out->port_id);
        out->details = port_details_of(port);
    }
    res_obj_destroy(port);
    if (error) {
        fip_assoc_destroy(out);
    }
    return error;
}

/* 409 FloatingIPPortAlreadyAssociated if another FIP on the same external
 * network already uses the fixed IP 'a' resolved to. */
static struct neutron_error *
check_fixed_ip_free(struct db *db, const struct res_obj *fip,
                    const struct fip_assoc *a)
{
    struct neutron_error *error;
    struct sql_buf b;
    bool taken = false;

    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM floatingips WHERE fixed_port_id = ? AND "
            "floating_network_id = ? AND fixed_ip_address = ? AND id <> ?");
    sql_param(&b, a->port_id);
    sql_param(&b, fstr(fip, F_NETWORK_ID));
    sql_param(&b, a->fixed_ip);
    sql_param(&b, fstr(fip, F_ID));
    error = exists_sql(db, &b, "checking floating IPs", &taken);
    sql_destroy(&b);
    if (!error && taken) {
        const char *addr = fstr(fip, F_FLOATING_IP);
        error = neutron_error_create(
            NE_CONFLICT, "FloatingIPPortAlreadyAssociated",
            "Cannot associate floating IP %s (%s) with port %s using fixed "
            "IP %s, as that fixed IP already has a floating IP on external "
            "network %s.", addr ? addr : "None", fstr(fip, F_ID), a->port_id,
            a->fixed_ip, fstr(fip, F_NETWORK_ID));
    }
    return error;
}

/* Sets the association attributes of 'fip' from 'a' (NULL: none). */
static void
set_assoc(struct res_obj *fip, const struct fip_assoc *a)
{
    value_set_str(&fip->v[F_PORT_ID], a ? a->port_id : NULL);
    value_set_str(&fip->v[F_FIXED_IP], a ? a->fixed_ip : NULL);
    value_set_str(&fip->v[F_ROUTER_ID], a ? a->router_id : NULL);
    if (a) {
        value_set_raw(&fip->v[F_PORT_DETAILS], a->details);
    } else {
        value_set_null(&fip->v[F_PORT_DETAILS]);
    }
}

/* ---- The journal ---- */

/* Journals 'operation' of 'fip' for 'provider' (the provider of router
 * 'router_id', or NULL to look it up; a router gone is skipped). */
static struct neutron_error *
journal_fip(const struct op_ctx *ctx, const struct l3_provider *provider,
            const char *operation, const struct res_obj *fip,
            const char *router_id)
{
    struct neutron_error *error = NULL;

    if (!provider) {
        error = l3_router_provider__(ctx->db, router_id, &provider);
        if (error && error->kind == NE_NOT_FOUND) {
            LOG_DBG("l3", "%s: floating IP %s: router %s is gone",
                    ctx->request_id, fstr(fip, F_ID), router_id);
            neutron_error_destroy(error);
            return NULL;
        }
        if (error) {
            return error;
        }
    }
    char *data = fip_json(fip);
    error = l3_journal__(ctx, provider, "floatingip", operation,
                         fstr(fip, F_ID), router_id,
                         fip->v[F_REVISION].kind == VALUE_INT
                         ? fip->v[F_REVISION].i : 0, data);
    free(data);
    return error;
}

/* Journals the change from 'orig' to 'fip' (either may be NULL: created,
 * deleted) for the drivers concerned: see the file comment.  'provider'
 * is the provider of fip's router when known. */
static struct neutron_error *
journal_change(const struct op_ctx *ctx, const struct res_obj *orig,
               const struct res_obj *fip, const struct l3_provider *provider)
{
    const char *old_router = orig ? fstr(orig, F_ROUTER_ID) : NULL;
    const char *new_router = fip ? fstr(fip, F_ROUTER_ID) : NULL;
    struct neutron_error *error = NULL;

    if (old_router && !str_eq(old_router, new_router)) {
        error = journal_fip(ctx, NULL, "delete", orig, old_router);
    }
    if (!error && new_router) {
        error = journal_fip(ctx, provider,
                            str_eq(old_router, new_router) ? "update"
                                                           : "create",
                            fip, new_router);
    }
    return error;
}

/* ---- Rows ---- */

static struct neutron_error *
insert_fip(struct db *db, const struct res_obj *fip, const char *port_id)
{
    static const int cols[] = {
        F_ID, F_PROJECT_ID, F_DESCRIPTION, F_FLOATING_IP, F_NETWORK_ID,
        F_PORT_ID, F_FIXED_IP, F_ROUTER_ID, F_STATUS, F_CREATED_AT,
        F_UPDATED_AT, F_REVISION,
    };
    struct neutron_error *error;
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "INSERT INTO floatingips (floating_port_id");
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
        sql_addf(&b, ", %s", fip_attrs[cols[i]].column);
    }
    sql_add(&b, ") VALUES (?");
    sql_param(&b, port_id);
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
        sql_add(&b, ", ?");
        sql_param_value(&b, &fip->v[cols[i]]);
    }
    sql_add(&b, ")");
    error = exec_sql(db, &b, "inserting a floating IP");
    sql_destroy(&b);
    return error;
}

/* The floating port of FIP 'id' (NULL if none), malloc'd. */
static struct neutron_error *
floating_port_of(struct db *db, const char *id, char **port_id)
{
    struct sql_buf b;
    int rc;

    *port_id = NULL;
    sql_init(&b);
    sql_add(&b, "SELECT floating_port_id FROM floatingips WHERE id = ?");
    sql_param(&b, id);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a floating IP");
    }
    rc = db_step(stmt);
    if (rc == DB_ROW && db_col_text(stmt, 0)) {
        *port_id = xstrdup(db_col_text(stmt, 0));
    }
    db_reset(stmt);
    return rc == DB_ROW || rc == DB_DONE
           ? NULL : store_db_error(db, rc, "reading a floating IP");
}

/* A UNIQUE (floating_network_id, fixed_port_id, fixed_ip_address)
 * conflict, lost to a concurrent association, as Neutron reports it. */
static struct neutron_error *
map_assoc_conflict(struct neutron_error *error, const struct res_obj *fip,
                   const struct fip_assoc *a)
{
    if (error && error->kind == NE_CONFLICT && a && a->port_id[0]) {
        neutron_error_destroy(error);
        const char *addr = fstr(fip, F_FLOATING_IP);
        error = neutron_error_create(
            NE_CONFLICT, "FloatingIPPortAlreadyAssociated",
            "Cannot associate floating IP %s (%s) with port %s using fixed "
            "IP %s, as that fixed IP already has a floating IP on external "
            "network %s.", addr ? addr : "None", fstr(fip, F_ID), a->port_id,
            a->fixed_ip, fstr(fip, F_NETWORK_ID));
    }
    return error;
}

/* ---- Create ---- */

/* The floating network must be visible, external, with an IPv4 subnet. */
static struct neutron_error *
check_floating_network(const struct op_ctx *ctx, const char *network_id)
{
    struct res_obj *net = NULL;
    struct neutron_error *error;
    bool has_v4 = false;
    struct sql_buf b;

    error = store_get(ctx->db, &l2_network_def, ctx, network_id, &net);
    if (error) {
        return error;
    }
    bool external = attr_bool(net, "router:external");
    res_obj_destroy(net);
    if (!external) {
        return bad_fip_request("Network %s is not a valid external network",
                               network_id);
    }
    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM subnets WHERE network_id = ? AND "
            "ip_version = 4");
    sql_param(&b, network_id);
    error = exists_sql(ctx->db, &b, "reading subnets", &has_v4);
    sql_destroy(&b);
    if (!error && !has_v4) {
        error = bad_fip_request("Network %s does not contain any IPv4 subnet",
                                network_id);
    }
    return error;
}

/* The first IPv4 address of 'port' (normalised), or false. */
static bool
first_ipv4(const struct res_obj *port, char out[IPADDR_STR_MAX])
{
    const struct value *v = &port->v[resource_attr_index(port->def,
                                                         "fixed_ips")];
    yajl_val list = NULL;
    bool found = false;

    if (v->kind == VALUE_RAW || v->kind == VALUE_STRING) {
        list = yajl_tree_parse(v->s, NULL, 0);
    }
    for (size_t i = 0;
         !found && YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
        const char *path[] = { "ip_address", NULL };
        const char *addr = YAJL_GET_STRING(
            yajl_tree_get(list->u.array.values[i], path, yajl_t_string));
        struct ipaddr a;
        if (addr && ipaddr_parse(addr, &a) && a.version == 4) {
            ipaddr_format(&a, out);
            found = true;
        }
    }
    yajl_tree_free(list);
    return found;
}

static struct neutron_error *
fip_create(const struct op_ctx *ctx, const struct res_obj *body,
           struct res_obj **out)
{
    struct res_obj *fip = res_obj_clone(body);
    struct fip_assoc assoc = { 0 };
    struct res_obj *port = NULL;
    struct neutron_error *error;
    bool associate = fstr(body, F_PORT_ID) != NULL;
    const char *network_id = fstr(body, F_NETWORK_ID);

    *out = NULL;
    error = store_fill_new(ctx, fip);
    if (!error) {
        error = events_publish(ctx, EV_FLOATINGIP, EV_BEFORE_CREATE, fip,
                               NULL);
    }
    if (!error) {
        error = check_floating_network(ctx, network_id);
    }
    if (!error && fstr(body, F_FIXED_IP) && !associate) {
        error = bad_fip_request("fixed_ip_address cannot be specified "
                                "without a port_id");
    }
    if (!error && associate) {
        error = resolve_assoc(ctx, fstr(fip, F_PROJECT_ID), network_id,
                              fstr(body, F_PORT_ID), fstr(body, F_FIXED_IP),
                              &assoc);
    }
    if (!error) {
        error = floating_port_create(ctx, fstr(fip, F_ID),
                                     fstr(fip, F_PROJECT_ID), network_id,
                                     fstr(body, F_SUBNET_ID),
                                     fstr(body, F_FLOATING_IP), &port);
    }
    if (error) {
        goto out;
    }

    char address[IPADDR_STR_MAX];
    if (!first_ipv4(port, address)) {
        error = neutron_error_create(NE_BAD_REQUEST,
                                     "ExternalIpAddressExhausted",
                                     "Unable to find any IP address on "
                                     "external network %s.", network_id);
        goto out;
    }
    value_set_str(&fip->v[F_FLOATING_IP], address);
    value_set_str(&fip->v[F_STATUS], STATUS_DOWN);
    value_clear(&fip->v[F_SUBNET_ID]);
    set_assoc(fip, associate ? &assoc : NULL);
    if (associate) {
        error = check_fixed_ip_free(ctx->db, fip, &assoc);
    }
    if (!error) {
        error = map_assoc_conflict(insert_fip(ctx->db, fip,
                                              attr_str(port, "id")),
                                   fip, associate ? &assoc : NULL);
    }
    if (!error && associate) {
        error = journal_change(ctx, NULL, fip, assoc.provider);
    }
    if (!error) {
        error = events_publish(ctx, EV_FLOATINGIP, EV_PRECOMMIT_CREATE, fip,
                               NULL);
    }
    if (!error) {
        keep_port(fip, port);
        port = NULL;
    }
out:
    fip_assoc_destroy(&assoc);
    res_obj_destroy(port);
    if (error) {
        res_obj_destroy(fip);
    } else {
        *out = fip;
    }
    return error;
}

static struct neutron_error *
fip_after_create(const struct op_ctx *ctx, const struct res_obj *fip)
{
    const struct res_obj *port = kept_port(fip);
    struct neutron_error *error = NULL;

    journal_wake();
    if (port && l2_port_def.ops->after_create) {
        struct op_ctx admin = elevated(ctx);
        /* As ML2: a failed postcommit of the port undoes the create. */
        error = l2_port_def.ops->after_create(&admin, port);
    }
    if (!error) {
        neutron_error_destroy(events_publish(ctx, EV_FLOATINGIP,
                                             EV_AFTER_CREATE, fip, NULL));
    }
    return error;
}

/* ---- Update ---- */

static struct neutron_error *
fip_update(const struct op_ctx *ctx, struct res_obj *cur,
           const struct res_obj *body, struct res_obj **out)
{
    struct res_obj *fip = res_obj_clone(cur);
    bool changed[F_N_ATTRS] = { false };
    struct fip_assoc assoc = { 0 };
    struct neutron_error *error;
    bool port_given = value_is_set(&body->v[F_PORT_ID]);
    const char *new_port = fstr(body, F_PORT_ID);

    *out = NULL;
    if (value_is_set(&body->v[F_DESCRIPTION])) {
        value_copy(&fip->v[F_DESCRIPTION], &body->v[F_DESCRIPTION]);
        changed[F_DESCRIPTION] = true;
    }
    if (fstr(body, F_FIXED_IP) && !new_port) {
        error = bad_fip_request("fixed_ip_address cannot be specified "
                                "without a port_id");
        goto out;
    }
    error = events_publish(ctx, EV_FLOATINGIP, EV_BEFORE_UPDATE, fip, cur);
    if (error) {
        goto out;
    }
    if (new_port) {
        error = resolve_assoc(ctx, fstr(cur, F_PROJECT_ID),
                              fstr(cur, F_NETWORK_ID), new_port,
                              fstr(body, F_FIXED_IP), &assoc);
        if (!error) {
            error = check_fixed_ip_free(ctx->db, fip, &assoc);
        }
        if (error) {
            goto out;
        }
        set_assoc(fip, &assoc);
    } else if (port_given) {
        set_assoc(fip, NULL);
    }
    bool moved = !str_eq(fstr(cur, F_PORT_ID), fstr(fip, F_PORT_ID))
                 || !str_eq(fstr(cur, F_FIXED_IP), fstr(fip, F_FIXED_IP))
                 || !str_eq(fstr(cur, F_ROUTER_ID), fstr(fip, F_ROUTER_ID));
    if (moved) {
        changed[F_PORT_ID] = changed[F_FIXED_IP] = changed[F_ROUTER_ID] = true;
        changed[F_STATUS] = !str_eq(fstr(cur, F_STATUS), STATUS_DOWN);
        value_set_str(&fip->v[F_STATUS], STATUS_DOWN);
    }
    error = map_assoc_conflict(store_update(ctx->db, fip, changed), fip,
                               new_port ? &assoc : NULL);
    if (!error) {
        error = journal_change(ctx, cur, fip,
                               new_port ? assoc.provider : NULL);
    }
    if (!error) {
        error = events_publish(ctx, EV_FLOATINGIP, EV_PRECOMMIT_UPDATE, fip,
                               cur);
    }
out:
    fip_assoc_destroy(&assoc);
    if (error) {
        res_obj_destroy(fip);
    } else {
        *out = fip;
    }
    return error;
}

static struct neutron_error *
fip_after_update(const struct op_ctx *ctx, const struct res_obj *fip)
{
    journal_wake();
    neutron_error_destroy(events_publish(ctx, EV_FLOATINGIP, EV_AFTER_UPDATE,
                                         fip, NULL));
    return NULL;
}

/* ---- Delete ---- */

static struct neutron_error *
fip_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    const char *id = fstr(cur, F_ID);
    struct res_obj *port = NULL;
    char *port_id = NULL;
    struct neutron_error *error;

    error = events_publish(ctx, EV_FLOATINGIP, EV_BEFORE_DELETE, NULL, cur);
    if (!error) {
        error = floating_port_of(ctx->db, id, &port_id);
    }
    if (!error) {
        error = journal_change(ctx, cur, NULL, NULL);
    }
    if (!error) {
        error = store_delete(ctx->db, &l3_floatingip_def, id);
    }
    if (!error && port_id) {
        error = floating_port_delete(ctx, port_id, &port);
    }
    if (!error) {
        error = events_publish(ctx, EV_FLOATINGIP, EV_PRECOMMIT_DELETE, NULL,
                               cur);
    }
    if (!error && port) {
        keep_port(cur, port);
        port = NULL;
    }
    res_obj_destroy(port);
    free(port_id);
    return error;
}

static struct neutron_error *
fip_after_remove(const struct op_ctx *ctx, const struct res_obj *old)
{
    const struct res_obj *port = kept_port(old);

    journal_wake();
    if (port && l2_port_def.ops->after_remove) {
        struct op_ctx admin = elevated(ctx);
        neutron_error_destroy(l2_port_def.ops->after_remove(&admin, port));
    }
    neutron_error_destroy(events_publish(ctx, EV_FLOATINGIP, EV_AFTER_DELETE,
                                         NULL, old));
    return NULL;
}

static const struct resource_ops fip_ops = {
    .create = fip_create,
    .update = fip_update,
    .remove = fip_remove,
    .after_create = fip_after_create,
    .after_update = fip_after_update,
    .after_remove = fip_after_remove,
    .expand = fip_expand,
};

/* ---- What other L3 and L2 changes ask of floating IPs ---- */

/* Lists the FIPs whose 'column' is 'value' (any project). */
static struct neutron_error *
list_fips_by(struct db *db, int attr, const char *value,
             struct res_list *out)
{
    char *values[1] = { (char *) value };
    struct list_filter filter = { .attr = attr, .values = values,
                                  .n_values = 1 };
    struct list_query q = { .filters = &filter, .n_filters = 1 };

    memset(out, 0, sizeof *out);
    return store_list(db, &l3_floatingip_def, NULL, &q, out);
}

struct neutron_error *
l3_fips_check_gateway_change__(struct db *db, const char *router_id,
                               const char *network_id)
{
    struct neutron_error *error;
    bool used = false;
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM floatingips WHERE router_id = ? AND "
            "floating_network_id = ?");
    sql_param(&b, router_id);
    sql_param(&b, network_id);
    error = exists_sql(db, &b, "checking floating IPs", &used);
    sql_destroy(&b);
    if (!error && used) {
        error = neutron_error_create(
            NE_CONFLICT, "RouterExternalGatewayInUseByFloatingIp",
            "Gateway cannot be updated for router %s, since a gateway to "
            "external network %s is required by one or more floating IPs.",
            router_id, network_id);
    }
    return error;
}

struct neutron_error *
l3_fips_check_interface_removal__(struct db *db, const char *router_id,
                                  const char *subnet_id)
{
    struct neutron_error *error;
    bool used = false;
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM floatingips f JOIN ipallocations a ON "
            "a.port_id = f.fixed_port_id AND a.ip_address = "
            "f.fixed_ip_address WHERE f.router_id = ? AND a.subnet_id = ?");
    sql_param(&b, router_id);
    sql_param(&b, subnet_id);
    error = exists_sql(db, &b, "checking floating IPs", &used);
    sql_destroy(&b);
    if (!error && used) {
        error = neutron_error_create(
            NE_CONFLICT, "RouterInterfaceInUseByFloatingIP",
            "Router interface for subnet %s on router %s cannot be deleted, "
            "as it is required by one or more floating IPs.", subnet_id,
            router_id);
    }
    return error;
}

struct neutron_error *
l3_fips_rejournal__(const struct op_ctx *ctx, const char *router_id,
                    const struct l3_provider *old,
                    const struct l3_provider *new_)
{
    struct res_list list;
    struct neutron_error *error;

    error = list_fips_by(ctx->db, F_ROUTER_ID, router_id, &list);
    if (!error && list.n) {
        error = l3_check_capability__(new_, HADRON_L3_CAP_FLOATINGIP,
                                      "floating IPs");
    }
    for (size_t i = 0; !error && i < list.n; i++) {
        struct res_obj *fip = res_obj_clone(list.objs[i]);
        bool changed[F_N_ATTRS] = { false };

        /* A new revision, so that only the new driver's answer sets the
         * status. */
        changed[F_STATUS] = true;
        value_set_str(&fip->v[F_STATUS], STATUS_DOWN);
        error = store_update(ctx->db, fip, changed);
        if (!error) {
            error = journal_fip(ctx, old, "delete", list.objs[i], router_id);
        }
        if (!error) {
            error = journal_fip(ctx, new_, "create", fip, router_id);
        }
        res_obj_destroy(fip);
    }
    res_list_destroy(&list);
    return error;
}

struct neutron_error *
l3_fips_disassociate_port__(const struct op_ctx *ctx, const char *port_id)
{
    struct res_list list;
    struct neutron_error *error;

    error = list_fips_by(ctx->db, F_PORT_ID, port_id, &list);
    for (size_t i = 0; !error && i < list.n; i++) {
        struct res_obj *cur = list.objs[i];
        struct res_obj *fip = res_obj_clone(cur);
        bool changed[F_N_ATTRS] = { false };

        set_assoc(fip, NULL);
        value_set_str(&fip->v[F_STATUS], STATUS_DOWN);
        changed[F_PORT_ID] = changed[F_FIXED_IP] = changed[F_ROUTER_ID] = true;
        changed[F_STATUS] = true;
        error = store_update(ctx->db, fip, changed);
        if (!error) {
            error = journal_change(ctx, cur, fip, NULL);
        }
        if (!error) {
            error = events_publish(ctx, EV_FLOATINGIP, EV_PRECOMMIT_UPDATE,
                                   fip, cur);
        }
        if (!error) {
            LOG_INFO("l3", "%s: floating IP %s disassociated: its port %s "
                     "was deleted", ctx->request_id ? ctx->request_id : "-",
                     fstr(cur, F_ID), port_id);
        }
        res_obj_destroy(fip);
    }
    res_list_destroy(&list);
    return error;
}

struct neutron_error *
l3_fips_check_port_ips__(struct db *db, const char *port_id,
                         const char *fixed_ips_json)
{
    yajl_val list = fixed_ips_json ? yajl_tree_parse(fixed_ips_json, NULL, 0)
                                   : NULL;
    struct neutron_error *error = NULL;
    struct sql_buf b;
    int rc = DB_DONE;

    sql_init(&b);
    sql_add(&b, "SELECT fixed_ip_address FROM floatingips WHERE "
            "fixed_port_id = ?");
    sql_param(&b, port_id);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        yajl_tree_free(list);
        return store_db_error(db, DB_ERROR, "checking floating IPs");
    }
    while (!error && (rc = db_step(stmt)) == DB_ROW) {
        const char *ip = db_col_text(stmt, 0);
        bool kept = !ip;
        for (size_t i = 0;
             !kept && YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
            const char *path[] = { "ip_address", NULL };
            const char *addr = YAJL_GET_STRING(
                yajl_tree_get(list->u.array.values[i], path, yajl_t_string));
            kept = addr && !strcmp(addr, ip);
        }
        if (!kept) {
            error = neutron_error_create(
                NE_BAD_REQUEST, "BadRequest", "Bad port request: Cannot "
                "update the fixed_ips of the port %s, because its original "
                "fixed_ip has been associated to a floating ip.", port_id);
        }
    }
    db_reset(stmt);
    yajl_tree_free(list);
    if (!error && rc != DB_DONE) {
        error = store_db_error(db, rc, "checking floating IPs");
    }
    return error;
}
