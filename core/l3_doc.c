/* core/l3_doc.c: the router document a flavor driver receives, and the
 * journal's hooks into the L3 core.
 *
 * The document (flavors/driver.h) is the whole router as committed: its
 * attributes, its gateway (the port on the external network, the
 * addresses and subnets there), its extra routes, its interfaces (one item
 * per fixed IP of each router interface port, with the segment of the
 * port's network) and the floating IPs it serves.  It is built with four
 * queries whatever the size of the router: the router row, its routes,
 * its ports with their addresses, subnets and segments in one join, and
 * its floating IPs.  For a driver that asks for it
 * (HADRON_L3_CAP_L2_DOCUMENT: a controller), the "l2" member adds the
 * networks, subnets and ports the router touches, with three queries more.
 *
 * When the "opendaylight_v2" mechanism driver is loaded (l3_mech.c), the
 * networks, subnets and ports reach such a driver through L2 journal
 * entries of their own, and the "l2" member then holds whole networks:
 * every network the router touches with all its subnets and every port on
 * it that the router's provider sees (not floating IP ports, not the
 * router ports of other providers' routers), and "journaled": true; a
 * full sync from these documents thus holds what the L2 entries send.
 *
 * The hooks (journal_set_hooks(), installed by l3_init() here): the
 * document of a router, the status of the resource an entry concerns
 * (routers and floating IPs have their own; a "router_interface" entry
 * maps to the status of its router; L2 entries have none), every
 * document of one provider for a driver's sync_all(), and the document of
 * an L2 entry (one network as a provider sees it). */
#include "core/l3.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "core/context.h"
#include "core/journal.h"
#include "core/jsonv.h"
#include "core/l3-internal.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"
#include "flavors/registry.h"

/* ---- JSON output ---- */

/* Writes 'key' and the JSON text 'json' (trusted: it comes from our own
 * columns) as its value, or 'dflt' when it is NULL or empty. */
static void
gen_kv_raw(yajl_gen g, const char *key, const char *json, const char *dflt)
{
    json_key(g, key);
    json_raw(g, json && *json ? json : dflt);
}

/* ---- Queries ---- */

static struct neutron_error *
prepare(struct db *db, const char *sql, const char *param,
        struct db_stmt **out)
{
    *out = db_prepare(db, sql);
    if (!*out) {
        return store_db_error(db, DB_ERROR, "building a router document");
    }
    db_bind_text(*out, 1, param);
    return NULL;
}

static struct neutron_error *
step_error(struct db *db, struct db_stmt *stmt, int rc)
{
    db_reset(stmt);
    return store_db_error(db, rc, "building a router document");
}

/* One row of the ports query: a router port and one of its fixed IPs
 * (NULL address for a port without any). */
struct port_row {
    char *id, *mac, *network_id, *type, *vif_details;
    char *subnet_id, *ip, *cidr, *gateway_ip;
    int ip_version;
    char *network_type;
    bool has_seg_id;
    int64_t seg_id;
};

static void
port_rows_free(struct port_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct port_row *r = &rows[i];
        free(r->id);
        free(r->mac);
        free(r->network_id);
        free(r->type);
        free(r->vif_details);
        free(r->subnet_id);
        free(r->ip);
        free(r->cidr);
        free(r->gateway_ip);
        free(r->network_type);
    }
    free(rows);
}

static char *
col_dup(struct db_stmt *stmt, int col)
{
    const char *s = db_col_text(stmt, col);
    return s ? xstrdup(s) : NULL;
}

/* Loads every port of the router with its addresses, their subnets and
 * the port network's first segment. */
static struct neutron_error *
load_port_rows(struct db *db, const char *router_id, struct port_row **rows,
               size_t *n)
{
    struct neutron_error *error;
    struct db_stmt *stmt;
    int rc;

    *rows = NULL;
    *n = 0;
    error = prepare(db,
                    "SELECT p.id, p.mac_address, p.network_id, rp.port_type, "
                    "p.binding_vif_details, a.subnet_id, a.ip_address, "
                    "s.cidr, s.gateway_ip, s.ip_version, ns.network_type, "
                    "ns.segmentation_id "
                    "FROM routerports rp JOIN ports p ON p.id = rp.port_id "
                    "LEFT JOIN ipallocations a ON a.port_id = p.id "
                    "LEFT JOIN subnets s ON s.id = a.subnet_id "
                    "LEFT JOIN network_segments ns "
                    "ON ns.network_id = p.network_id "
                    "AND ns.segment_index = 0 "
                    "WHERE rp.router_id = ? "
                    "ORDER BY rp.port_type, p.id, a.ip_address",
                    router_id, &stmt);
    if (error) {
        return error;
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        *rows = xrealloc(*rows, (*n + 1) * sizeof **rows);
        struct port_row *r = &(*rows)[(*n)++];
        r->id = col_dup(stmt, 0);
        r->mac = col_dup(stmt, 1);
        r->network_id = col_dup(stmt, 2);
        r->type = col_dup(stmt, 3);
        r->vif_details = col_dup(stmt, 4);
        r->subnet_id = col_dup(stmt, 5);
        r->ip = col_dup(stmt, 6);
        r->cidr = col_dup(stmt, 7);
        r->gateway_ip = col_dup(stmt, 8);
        r->ip_version = (int) db_col_int64(stmt, 9);
        r->network_type = col_dup(stmt, 10);
        r->has_seg_id = !db_col_is_null(stmt, 11);
        r->seg_id = db_col_int64(stmt, 11);
    }
    if (rc != DB_DONE) {
        port_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
        return step_error(db, stmt, rc);
    }
    db_reset(stmt);
    return NULL;
}

/* The gateway part of the document, from the gateway port's rows. */
static void
gen_gateway(yajl_gen g, const struct port_row *rows, size_t n,
            const char *gw_port_id, bool enable_snat)
{
    const struct port_row *first = NULL;
    const char *gateway_ip = NULL;
    int gw_version = 0;

    for (size_t i = 0; i < n; i++) {
        if (rows[i].id && !strcmp(rows[i].id, gw_port_id)) {
            first = &rows[i];
            break;
        }
    }
    if (!first) {
        /* A gw_port_id whose port is not a router port: no gateway. */
        yajl_gen_null(g);
        return;
    }
    yajl_gen_map_open(g);
    json_kv_str(g, "network_id", first->network_id);
    json_key(g, "enable_snat");
    yajl_gen_bool(g, enable_snat);
    json_key(g, "external_fixed_ips");
    yajl_gen_array_open(g);
    for (const struct port_row *r = first;
         r < rows + n && !strcmp(r->id, gw_port_id); r++) {
        if (!r->subnet_id) {
            continue;
        }
        yajl_gen_map_open(g);
        json_kv_str(g, "subnet_id", r->subnet_id);
        json_kv_str(g, "ip_address", r->ip);
        yajl_gen_map_close(g);
        /* The upstream gateway: the first IPv4 subnet's, else the first
         * one's. */
        if (r->gateway_ip
            && (!gateway_ip || (r->ip_version == 4 && gw_version != 4))) {
            gateway_ip = r->gateway_ip;
            gw_version = r->ip_version;
        }
    }
    yajl_gen_array_close(g);
    json_key(g, "port");
    yajl_gen_map_open(g);
    json_kv_str(g, "id", gw_port_id);
    json_kv_str(g, "mac_address", first->mac);
    json_kv_str(g, "network_id", first->network_id);
    json_key(g, "cidrs");
    yajl_gen_array_open(g);
    for (const struct port_row *r = first;
         r < rows + n && !strcmp(r->id, gw_port_id); r++) {
        if (r->cidr) {
            json_str(g, r->cidr);
        }
    }
    yajl_gen_array_close(g);
    json_kv_str(g, "gateway_ip", gateway_ip);
    gen_kv_raw(g, "vif_details", first->vif_details, "{}");
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void
gen_interfaces(yajl_gen g, const struct port_row *rows, size_t n)
{
    json_key(g, "interfaces");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        const struct port_row *r = &rows[i];
        if (!r->type || strcmp(r->type, "network:router_interface")
            || !r->subnet_id) {
            continue;
        }
        yajl_gen_map_open(g);
        json_kv_str(g, "port_id", r->id);
        json_kv_str(g, "mac_address", r->mac);
        json_kv_str(g, "network_id", r->network_id);
        json_kv_str(g, "subnet_id", r->subnet_id);
        json_kv_str(g, "ip_address", r->ip);
        json_kv_str(g, "cidr", r->cidr);
        gen_kv_raw(g, "vif_details", r->vif_details, "{}");
        json_kv_str(g, "network_type", r->network_type);
        json_key(g, "segmentation_id");
        if (r->has_seg_id) {
            yajl_gen_integer(g, r->seg_id);
        } else {
            yajl_gen_null(g);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
}

static struct neutron_error *
gen_routes(yajl_gen g, struct db *db, const char *router_id)
{
    struct neutron_error *error;
    struct db_stmt *stmt;
    int rc;

    error = prepare(db, "SELECT destination, nexthop FROM routerroutes "
                    "WHERE router_id = ? ORDER BY destination, nexthop",
                    router_id, &stmt);
    if (error) {
        return error;
    }
    json_key(g, "routes");
    yajl_gen_array_open(g);
    while ((rc = db_step(stmt)) == DB_ROW) {
        yajl_gen_map_open(g);
        json_kv_str(g, "destination", db_col_text(stmt, 0));
        json_kv_str(g, "nexthop", db_col_text(stmt, 1));
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    if (rc != DB_DONE) {
        return step_error(db, stmt, rc);
    }
    db_reset(stmt);
    return NULL;
}

static struct neutron_error *
gen_floatingips(yajl_gen g, struct db *db, const char *router_id)
{
    struct neutron_error *error;
    struct db_stmt *stmt;
    int rc;

    error = prepare(db, "SELECT id, floating_ip_address, fixed_ip_address, "
                    "fixed_port_id, floating_network_id, project_id, "
                    "revision_number FROM floatingips "
                    "WHERE router_id = ? ORDER BY id", router_id, &stmt);
    if (error) {
        return error;
    }
    json_key(g, "floatingips");
    yajl_gen_array_open(g);
    while ((rc = db_step(stmt)) == DB_ROW) {
        yajl_gen_map_open(g);
        json_kv_str(g, "id", db_col_text(stmt, 0));
        json_kv_str(g, "floating_ip_address", db_col_text(stmt, 1));
        json_kv_str(g, "fixed_ip_address", db_col_text(stmt, 2));
        json_kv_str(g, "port_id", db_col_text(stmt, 3));
        json_kv_str(g, "floating_network_id", db_col_text(stmt, 4));
        json_kv_str(g, "project_id", db_col_text(stmt, 5));
        json_key(g, "revision_number");
        yajl_gen_integer(g, db_col_int64(stmt, 6));
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    if (rc != DB_DONE) {
        return step_error(db, stmt, rc);
    }
    db_reset(stmt);
    return NULL;
}

/* ---- The "l2" member ---- */

/* Whose networks an "l2" member describes (a router's, for its document;
 * one network's, for an L2 journal entry) and how much of them. */
struct l2_scope {
    const char *router_id;      /* the router's document, or NULL */
    const char *network_id;     /* one network (router_id NULL) */
    const char *provider;       /* whole networks with the ports this
                                 * provider sees (l3_l2_journaled__()),
                                 * or NULL: what the router touches */
};

/* The ports a router touches: its own (interfaces, gateway) and those its
 * floating IPs point at.  Each use binds 'router_id' twice. */
#define TOUCHED_PORT_IDS                                                \
    "(SELECT port_id FROM routerports WHERE router_id = ?) "            \
    "OR %s IN (SELECT fixed_port_id FROM floatingips "                  \
    "WHERE router_id = ? AND fixed_port_id IS NOT NULL)"

/* The networks a router touches: those of the ports it touches and of its
 * floating IPs.  Binds 'router_id' three times. */
#define TOUCHED_NETWORK_IDS                                             \
    "SELECT p2.network_id FROM ports p2 WHERE p2.id IN "                \
    "(SELECT port_id FROM routerports WHERE router_id = ?) "            \
    "OR p2.id IN (SELECT fixed_port_id FROM floatingips "               \
    "WHERE router_id = ? AND fixed_port_id IS NOT NULL) "               \
    "UNION SELECT floating_network_id FROM floatingips "                \
    "WHERE router_id = ?"

/* The ports of a touched network a provider sees: not floating IP ports
 * (the floating IP itself is sent), and router ports only of its own
 * routers.  Binds the provider once. */
#define PROVIDER_PORTS                                                  \
    "AND p.device_owner <> 'network:floatingip' "                       \
    "AND (SUBSTR(p.device_owner, 1, 15) <> 'network:router_' "          \
    "OR p.device_id IN (SELECT router_id FROM router_provider "         \
    "WHERE provider = ?))"

/* Prepares 'sql' and binds the scope's router id 'n_router' times (or
 * its network id once), then the provider if 'provider' is set. */
static struct neutron_error *
prepare_scope(struct db *db, const char *sql, const struct l2_scope *sc,
              int n_router, bool provider, struct db_stmt **out)
{
    int i = 1;

    *out = db_prepare(db, sql);
    if (!*out) {
        return store_db_error(db, DB_ERROR, "building a router document");
    }
    if (sc->router_id) {
        for (; i <= n_router; i++) {
            db_bind_text(*out, i, sc->router_id);
        }
    } else {
        db_bind_text(*out, i++, sc->network_id);
    }
    if (provider) {
        db_bind_text(*out, i, sc->provider);
    }
    return NULL;
}

static void
gen_kv_bool(yajl_gen g, const char *key, struct db_stmt *stmt, int col)
{
    json_key(g, key);
    yajl_gen_bool(g, db_col_int64(stmt, col) != 0);
}

static void
gen_kv_int(yajl_gen g, const char *key, struct db_stmt *stmt, int col)
{
    json_key(g, key);
    if (db_col_is_null(stmt, col)) {
        yajl_gen_null(g);
    } else {
        yajl_gen_integer(g, db_col_int64(stmt, col));
    }
}

/* A column of a row written as a JSON member by gen_rows(). */
enum doc_col_kind { DOC_STR, DOC_INT, DOC_BOOL };

struct doc_col {
    const char *key;
    enum doc_col_kind kind;
};

/* Writes "<list_key>": [...] with one object per row of 'stmt', column i
 * as member cols[i].  Returns NULL or the stepping error. */
static struct neutron_error *
gen_rows(yajl_gen g, struct db *db, struct db_stmt *stmt,
         const char *list_key, const struct doc_col *cols, size_t n_cols)
{
    int rc;

    json_key(g, list_key);
    yajl_gen_array_open(g);
    while ((rc = db_step(stmt)) == DB_ROW) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < n_cols; i++) {
            if (cols[i].kind == DOC_STR) {
                json_kv_str(g, cols[i].key, db_col_text(stmt, i));
            } else if (cols[i].kind == DOC_INT) {
                gen_kv_int(g, cols[i].key, stmt, i);
            } else {
                gen_kv_bool(g, cols[i].key, stmt, i);
            }
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    if (rc != DB_DONE) {
        return step_error(db, stmt, rc);
    }
    db_reset(stmt);
    return NULL;
}

static struct neutron_error *
gen_l2_networks(yajl_gen g, struct db *db, const struct l2_scope *sc)
{
    char sql[1024];
    struct neutron_error *error;
    struct db_stmt *stmt;

    snprintf(sql, sizeof sql,
             "SELECT n.id, n.name, n.project_id, n.admin_state_up, "
             "n.shared, n.router_external, n.mtu, ns.network_type, "
             "ns.physical_network, ns.segmentation_id, n.revision_number "
             "FROM networks n LEFT JOIN network_segments ns "
             "ON ns.network_id = n.id AND ns.segment_index = 0 "
             "WHERE %s ORDER BY n.id",
             sc->router_id ? "n.id IN (" TOUCHED_NETWORK_IDS ")"
                           : "n.id = ?");
    error = prepare_scope(db, sql, sc, 3, false, &stmt);
    if (error) {
        return error;
    }
    static const struct doc_col cols[] = {
        { "id", DOC_STR }, { "name", DOC_STR }, { "project_id", DOC_STR },
        { "admin_state_up", DOC_BOOL }, { "shared", DOC_BOOL },
        { "router:external", DOC_BOOL }, { "mtu", DOC_INT },
        { "provider:network_type", DOC_STR },
        { "provider:physical_network", DOC_STR },
        { "provider:segmentation_id", DOC_INT },
        { "revision_number", DOC_INT },
    };
    return gen_rows(g, db, stmt, "networks", cols, ARRAY_SIZE(cols));
}

static struct neutron_error *
gen_l2_subnets(yajl_gen g, struct db *db, const struct l2_scope *sc)
{
    char sql[1024];
    struct neutron_error *error;
    struct db_stmt *stmt;
    int n_router = 2;

    if (!sc->router_id) {
        snprintf(sql, sizeof sql, "%s", "s.network_id = ?");
    } else if (sc->provider) {
        snprintf(sql, sizeof sql, "%s",
                 "s.network_id IN (" TOUCHED_NETWORK_IDS ")");
        n_router = 3;
    } else {
        snprintf(sql, sizeof sql, "s.id IN (SELECT a.subnet_id FROM "
                 "ipallocations a WHERE a.port_id IN " TOUCHED_PORT_IDS ")",
                 "a.port_id");
    }
    char *text = xasprintf("SELECT s.id, s.name, s.project_id, "
                           "s.network_id, s.ip_version, s.cidr, "
                           "s.gateway_ip, s.enable_dhcp, s.revision_number "
                           "FROM subnets s WHERE %s ORDER BY s.id", sql);
    error = prepare_scope(db, text, sc, n_router, false, &stmt);
    free(text);
    if (error) {
        return error;
    }
    static const struct doc_col cols[] = {
        { "id", DOC_STR }, { "name", DOC_STR }, { "project_id", DOC_STR },
        { "network_id", DOC_STR }, { "ip_version", DOC_INT },
        { "cidr", DOC_STR }, { "gateway_ip", DOC_STR },
        { "enable_dhcp", DOC_BOOL }, { "revision_number", DOC_INT },
    };
    return gen_rows(g, db, stmt, "subnets", cols, ARRAY_SIZE(cols));
}

static struct neutron_error *
gen_l2_ports(yajl_gen g, struct db *db, const struct l2_scope *sc)
{
    char sql[1536], where[1024], last[64] = "";
    struct neutron_error *error;
    struct db_stmt *stmt;
    int n_router = 2;
    int rc;

    if (!sc->router_id) {
        snprintf(where, sizeof where, "%s",
                 "p.network_id = ? " PROVIDER_PORTS);
    } else if (sc->provider) {
        snprintf(where, sizeof where, "%s",
                 "p.network_id IN (" TOUCHED_NETWORK_IDS ") "
                 PROVIDER_PORTS);
        n_router = 3;
    } else {
        snprintf(where, sizeof where, "p.id IN " TOUCHED_PORT_IDS, "p.id");
    }
    snprintf(sql, sizeof sql,
             "SELECT p.id, p.name, p.project_id, p.network_id, "
             "p.mac_address, p.admin_state_up, p.device_owner, p.device_id, "
             "p.binding_host_id, p.binding_vnic_type, p.revision_number, "
             "a.subnet_id, a.ip_address FROM ports p "
             "LEFT JOIN ipallocations a ON a.port_id = p.id "
             "WHERE %s ORDER BY p.id, a.ip_address", where);
    error = prepare_scope(db, sql, sc, n_router, sc->provider != NULL,
                          &stmt);
    if (error) {
        return error;
    }
    json_key(g, "ports");
    yajl_gen_array_open(g);
    while ((rc = db_step(stmt)) == DB_ROW) {
        const char *id = db_col_text(stmt, 0);
        if (strcmp(id, last)) {
            if (*last) {
                yajl_gen_array_close(g);
                yajl_gen_map_close(g);
            }
            str_copy(last, id, sizeof last);
            yajl_gen_map_open(g);
            json_kv_str(g, "id", id);
            json_kv_str(g, "name", db_col_text(stmt, 1));
            json_kv_str(g, "project_id", db_col_text(stmt, 2));
            json_kv_str(g, "network_id", db_col_text(stmt, 3));
            json_kv_str(g, "mac_address", db_col_text(stmt, 4));
            gen_kv_bool(g, "admin_state_up", stmt, 5);
            json_kv_str(g, "device_owner", db_col_text(stmt, 6));
            json_kv_str(g, "device_id", db_col_text(stmt, 7));
            json_kv_str(g, "binding:host_id", db_col_text(stmt, 8));
            json_kv_str(g, "binding:vnic_type", db_col_text(stmt, 9));
            gen_kv_int(g, "revision_number", stmt, 10);
            json_key(g, "fixed_ips");
            yajl_gen_array_open(g);
        }
        if (!db_col_is_null(stmt, 11)) {
            yajl_gen_map_open(g);
            json_kv_str(g, "subnet_id", db_col_text(stmt, 11));
            json_kv_str(g, "ip_address", db_col_text(stmt, 12));
            yajl_gen_map_close(g);
        }
    }
    if (*last) {
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    if (rc != DB_DONE) {
        return step_error(db, stmt, rc);
    }
    db_reset(stmt);
    return NULL;
}

/* "l2": {"networks", "subnets", "ports"} of the scope ('touched' false:
 * empty lists), with "journaled": true when the provider's driver gets
 * L2 entries of its own. */
static struct neutron_error *
gen_l2(yajl_gen g, struct db *db, const struct l2_scope *sc, bool touched)
{
    struct neutron_error *error = NULL;

    json_key(g, "l2");
    yajl_gen_map_open(g);
    if (touched) {
        error = gen_l2_networks(g, db, sc);
        if (!error) {
            error = gen_l2_subnets(g, db, sc);
        }
        if (!error) {
            error = gen_l2_ports(g, db, sc);
        }
    } else {
        static const char *const lists[] = { "networks", "subnets",
                                             "ports" };
        for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
            json_key(g, lists[i]);
            yajl_gen_array_open(g);
            yajl_gen_array_close(g);
        }
    }
    if (sc->provider) {
        json_key(g, "journaled");
        yajl_gen_bool(g, 1);
    }
    yajl_gen_map_close(g);
    return error;
}

/* True if the provider named 'provider' wants the "l2" member. */
static bool
wants_l2(const char *provider)
{
    const struct l3_provider *p = provider ? l3_provider_find(provider)
                                           : NULL;
    return p && (l3_provider_capabilities(p) & HADRON_L3_CAP_L2_DOCUMENT);
}

struct neutron_error *
l3_network_touched__(struct db *db, const char *network_id,
                     const char *provider, bool *touched)
{
    struct db_stmt *stmt = db_prepare(
        db, "SELECT 1 FROM routerports rp JOIN ports p ON p.id = rp.port_id "
        "JOIN router_provider x ON x.router_id = rp.router_id "
        "WHERE p.network_id = ? AND x.provider = ?");

    *touched = false;
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "reading a network's routers");
    }
    db_bind_text(stmt, 1, network_id);
    db_bind_text(stmt, 2, provider);
    int rc = db_step(stmt);
    db_reset(stmt);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_error(db, rc, "reading a network's routers");
    }
    *touched = rc == DB_ROW;
    return NULL;
}

struct neutron_error *
l3_router_doc__(struct db *db, const char *router_id, char **doc)
{
    struct neutron_error *error;
    struct db_stmt *stmt;
    int rc;

    *doc = NULL;
    error = prepare(db, "SELECT r.id, r.name, r.project_id, "
                    "r.admin_state_up, r.flavor_id, r.gw_port_id, "
                    "r.enable_snat, r.revision_number, rp.provider "
                    "FROM routers r LEFT JOIN router_provider rp "
                    "ON rp.router_id = r.id WHERE r.id = ?",
                    router_id, &stmt);
    if (error) {
        return error;
    }
    rc = db_step(stmt);
    if (rc == DB_DONE) {
        db_reset(stmt);
        return NULL;
    } else if (rc != DB_ROW) {
        return step_error(db, stmt, rc);
    }

    yajl_gen g = json_gen_create();
    char *gw_port_id = db_col_is_null(stmt, 5)
                       ? NULL : xstrdup(db_col_text(stmt, 5));
    bool enable_snat = db_col_int64(stmt, 6) != 0;

    yajl_gen_map_open(g);
    json_kv_str(g, "id", db_col_text(stmt, 0));
    json_kv_str(g, "name", db_col_text(stmt, 1));
    json_kv_str(g, "project_id", db_col_text(stmt, 2));
    json_key(g, "admin_state_up");
    yajl_gen_bool(g, db_col_int64(stmt, 3) != 0);
    json_kv_str(g, "flavor_id", db_col_text(stmt, 4));
    json_key(g, "revision_number");
    yajl_gen_integer(g, db_col_int64(stmt, 7));
    bool l2 = wants_l2(db_col_text(stmt, 8));
    char provider[65];
    str_copy(provider, db_col_text(stmt, 8) ? db_col_text(stmt, 8) : "",
             sizeof provider);
    db_reset(stmt);

    struct port_row *rows = NULL;
    size_t n_rows = 0;
    error = load_port_rows(db, router_id, &rows, &n_rows);
    if (!error) {
        json_key(g, "external_gateway_info");
        if (gw_port_id) {
            gen_gateway(g, rows, n_rows, gw_port_id, enable_snat);
        } else {
            yajl_gen_null(g);
        }
        error = gen_routes(g, db, router_id);
    }
    if (!error) {
        gen_interfaces(g, rows, n_rows);
    }
    port_rows_free(rows, n_rows);
    if (!error) {
        error = gen_floatingips(g, db, router_id);
    }
    if (!error && l2) {
        const struct l2_scope sc = {
            .router_id = router_id,
            .provider = l3_l2_journaled__() ? provider : NULL,
        };
        error = gen_l2(g, db, &sc, true);
    }
    yajl_gen_map_close(g);
    free(gw_port_id);
    if (error) {
        yajl_gen_free(g);
        return error;
    }
    *doc = json_gen_finish(g);
    return NULL;
}

char *
l3_router_doc_new__(const char *id, const char *name, const char *project_id,
                    bool admin_state_up, const char *flavor_id)
{
    yajl_gen g = json_gen_create();

    yajl_gen_map_open(g);
    json_kv_str(g, "id", id);
    json_kv_str(g, "name", name);
    json_kv_str(g, "project_id", project_id);
    json_key(g, "admin_state_up");
    yajl_gen_bool(g, admin_state_up);
    json_kv_str(g, "flavor_id", flavor_id);
    json_key(g, "revision_number");
    yajl_gen_integer(g, 0);
    json_key(g, "external_gateway_info");
    yajl_gen_null(g);
    static const char *const lists[] = {
        "routes", "interfaces", "floatingips"
    };
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        json_key(g, lists[i]);
        yajl_gen_array_open(g);
        yajl_gen_array_close(g);
    }
    yajl_gen_map_close(g);
    return json_gen_finish(g);
}

char *
l3_router_document__(struct db *db, const char *router_id)
{
    char *doc = NULL;
    struct neutron_error *error = l3_router_doc__(db, router_id, &doc);

    if (error) {
        LOG_RL(LOG_LEVEL_WARN, "l3", "router %s: document: %s", router_id,
               error->message);
        neutron_error_destroy(error);
        return NULL;
    }
    return doc;
}

/* ---- Journal hooks ---- */

/* The document of an L2 entry of 'driver' (journal.h, "L2 rows"):
 *   {"network_id", "touched": whether a router of 'driver' has an
 *    interface or its gateway on the network, "l2": {"networks",
 *    "subnets", "ports", "journaled": true}}
 * with the network, all its subnets and the ports the driver sees when it
 * is touched, empty lists when not (or when the network is gone). */
static char *
hook_l2_document(struct db *db, const char *driver, const char *network_id)
{
    const struct l2_scope sc = { .network_id = network_id,
                                 .provider = driver };
    struct neutron_error *error;
    bool touched;

    error = l3_network_touched__(db, network_id, driver, &touched);
    yajl_gen g = json_gen_create();
    yajl_gen_map_open(g);
    json_kv_str(g, "network_id", network_id);
    json_key(g, "touched");
    yajl_gen_bool(g, touched);
    if (!error) {
        error = gen_l2(g, db, &sc, touched);
    }
    yajl_gen_map_close(g);
    if (error) {
        LOG_RL(LOG_LEVEL_WARN, "l3", "network %s: document: %s", network_id,
               error->message);
        neutron_error_destroy(error);
        yajl_gen_free(g);
        return NULL;
    }
    return json_gen_finish(g);
}

static char *
hook_router_document(struct db *db, const char *router_id)
{
    return l3_router_document__(db, router_id);
}

static struct neutron_error *
hook_set_status(struct db *db, const char *resource, const char *id,
                int64_t revision, const char *status)
{
    const char *sql;

    /* The status follows the journal, not revision_number: a change that
     * writes no journal row (a tag, say) bumps the revision but leaves
     * nothing for the driver to do, and must not hold the status back.
     * So a result applies unless a later entry for the same resource is
     * still to be applied.  Router and interface entries carry the
     * router's revision. */
    if (!strcmp(resource, "router")) {
        sql = "UPDATE routers SET status = ? WHERE id = ? "
              "AND NOT EXISTS (SELECT 1 FROM journal j "
              "WHERE j.router_id = routers.id "
              "AND j.resource IN ('router', 'router_interface') "
              "AND j.state IN ('pending', 'processing') "
              "AND j.revision > ?)";
    } else if (!strcmp(resource, "router_interface")) {
        sql = "UPDATE routers SET status = ? WHERE id = "
              "(SELECT rp.router_id FROM routerports rp WHERE rp.port_id = ?)"
              " AND NOT EXISTS (SELECT 1 FROM journal j "
              "WHERE j.router_id = routers.id "
              "AND j.resource IN ('router', 'router_interface') "
              "AND j.state IN ('pending', 'processing') "
              "AND j.revision > ?)";
    } else if (!strcmp(resource, "floatingip")) {
        sql = "UPDATE floatingips SET status = ? WHERE id = ? "
              "AND NOT EXISTS (SELECT 1 FROM journal j "
              "WHERE j.resource_id = floatingips.id "
              "AND j.resource = 'floatingip' "
              "AND j.state IN ('pending', 'processing') "
              "AND j.revision > ?)";
    } else if (!strcmp(resource, "network") || !strcmp(resource, "subnet")
               || !strcmp(resource, "port")) {
        return NULL;            /* L2 entries: no status of theirs */
    } else {
        return neutron_error_internal("set_status: unknown resource '%s'",
                                      resource);
    }

    struct db_stmt *stmt = db_prepare(db, sql);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "setting a status");
    }
    db_bind_text(stmt, 1, status);
    db_bind_text(stmt, 2, id);
    db_bind_int64(stmt, 3, revision);
    int rc = db_step(stmt);
    db_reset(stmt);
    if (rc != DB_DONE && rc != DB_OK) {
        return store_db_error(db, rc, "setting a status");
    }
    return NULL;
}

static struct neutron_error *
hook_all_routers(struct db *db, const char *driver, char ***docs, size_t *n)
{
    struct neutron_error *error = NULL;
    char **ids = NULL;
    size_t n_ids = 0;
    int rc;

    *docs = NULL;
    *n = 0;
    struct db_stmt *stmt = db_prepare(db, "SELECT router_id FROM "
                                      "router_provider WHERE provider = ? "
                                      "ORDER BY router_id");
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "listing routers");
    }
    db_bind_text(stmt, 1, driver);
    while ((rc = db_step(stmt)) == DB_ROW) {
        ids = xrealloc(ids, (n_ids + 1) * sizeof *ids);
        ids[n_ids++] = xstrdup(db_col_text(stmt, 0));
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        error = store_db_error(db, rc, "listing routers");
    }
    for (size_t i = 0; i < n_ids; i++) {
        char *doc = NULL;
        if (!error) {
            error = l3_router_doc__(db, ids[i], &doc);
        }
        if (doc) {
            *docs = xrealloc(*docs, (*n + 1) * sizeof **docs);
            (*docs)[(*n)++] = doc;
        }
        free(ids[i]);
    }
    free(ids);
    if (error) {
        for (size_t i = 0; i < *n; i++) {
            free((*docs)[i]);
        }
        free(*docs);
        *docs = NULL;
        *n = 0;
    }
    return error;
}

static const struct journal_hooks l3_journal_hooks = {
    .router_document = hook_router_document,
    .set_status = hook_set_status,
    .all_routers = hook_all_routers,
    .l2_document = hook_l2_document,
};

char *
l3_init(const struct config *cfg)
{
    (void) cfg;
    journal_set_hooks(&l3_journal_hooks);
    l3_events_subscribe__();
    return NULL;
}
