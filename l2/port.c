/* l2/port.c: the "ports" resource and port binding (ML2's port half).
 *
 * A port is a row of "ports" plus two child tables: its fixed IPs
 * ("ipallocations", owned by IPAM: l2_ipam_*) and its allowed address
 * pairs ("allowedaddresspairs").  Lists load both children with one query
 * each per page (expand).  Every operation runs in the one transaction the
 * API layer opened and publishes EV_PORT events: BEFORE_* before its
 * writes, PRECOMMIT_* after them, AFTER_* after the commit; mechanism
 * drivers see *_precommit after the PRECOMMIT event and *_postcommit after
 * the AFTER event.
 *
 * Policy is Neutron 2023.1's with its default (deprecated rules still
 * honoured): a project sees its own ports and every port on a network it
 * owns; it may create ports on its own networks and on shared ones (on
 * another project's visible, non-shared network: 403 HTTPForbidden; on an
 * invisible one: 404 NetworkNotFound); only the network's owner (or an
 * admin) may choose mac_address, a fixed IP address, port_security_enabled,
 * allowed_address_pairs or a "network:" device_owner; only admins change
 * mac_address or touch binding:host_id and binding:profile (both, like
 * binding:vif_type and vif_details, are admin-only to read).  The
 * network's owner may delete (not update) other projects' ports on it;
 * through the generic tags API it may also tag them (resource_ops has one
 * may_modify for every action).
 *
 * Binding.  A port with a binding:host_id that is not bound is bound by
 * asking the mechanism drivers (l2_mech_bind_port__): the answer is
 * binding:vif_type/vif_details, "binding_failed" when no driver binds, and
 * "unbound" without a host (or when the network has no segment).  Changing
 * binding:host_id, binding:vnic_type or binding:profile clears the binding
 * and binds again; changing the vnic_type or the MAC of a bound port is a
 * 409, as in Neutron.  Unlike ML2, which calls bind_port after the commit
 * and writes the result in a second transaction (retrying when the port
 * changed meanwhile), Hadron binds inside the create/update transaction,
 * after the fixed IPs are allocated and before the precommit calls: the
 * driver contract (l2/driver_api.h) makes bind_port a pure, non-blocking
 * function of the port, its segments and the configuration, so binding in
 * the transaction gives the same answer, never loses a race (the port row
 * is written in the same transaction), needs no retry loop, and the create
 * or update answer already shows the binding, in one transaction.
 *
 * Status.  Neutron leaves a port DOWN until an L2 agent reports it wired.
 * Hadron has no agents; a successful binding stands in for the agent's
 * report: a port is ACTIVE when it is bound (vif_type neither "unbound"
 * nor "binding_failed") and admin_state_up, else DOWN. */
#include "l2/l2.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "core/jsonv.h"
#include "core/config.h"
#include "core/context.h"
#include "core/events.h"
#include "core/log.h"
#include "core/netaddr.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/store.h"
#include "core/txn.h"
#include "core/util.h"
#include "db/db.h"
#include "l2/l2-internal.h"

#define MAX_ALLOWED_ADDRESS_PAIRS 10    /* max_allowed_address_pair */
#define MAC_GENERATION_RETRIES 16       /* Neutron's mac_generation_retries */
#define BINDING_PROFILE_MAX 4095        /* Neutron's BINDING_PROFILE_LEN */
#define CHILD_CHUNK 500                 /* ids per IN (...) of expand */

#define VIF_UNBOUND "unbound"
#define VIF_BINDING_FAILED "binding_failed"
#define DEVICE_OWNER_DHCP "network:dhcp"

/* ---- The attribute table ---- */

enum {
    P_ID, P_NAME, P_NETWORK_ID, P_TENANT_ID, P_PROJECT_ID, P_ADMIN_STATE_UP,
    P_STATUS, P_MAC, P_FIXED_IPS, P_DEVICE_ID, P_DEVICE_OWNER, P_AAP,
    P_PORT_SECURITY, P_HOST, P_VNIC, P_PROFILE, P_VIF_TYPE, P_VIF_DETAILS,
    P_DESCRIPTION, P_TAGS, P_CREATED_AT, P_UPDATED_AT, P_REVISION, P_N_ATTRS
};

static attr_validate_fn validate_mac;
static attr_validate_fn validate_address_pairs;
static attr_validate_fn validate_vnic_type;
static attr_validate_fn validate_profile;

static const struct attr_def port_attrs[] = {
    [P_ID] = { "id", AT_UUID, AF_FILTER | AF_SORT, "id", NULL, 0, 0, NULL },
    [P_NAME] = { "name", AT_STRING, AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                 "name", "\"\"", 0, 255, NULL },
    [P_NETWORK_ID] = { "network_id", AT_UUID,
                       AF_POST | AF_REQUIRED | AF_FILTER | AF_SORT,
                       "network_id", NULL, 0, 0, NULL },
    [P_TENANT_ID] = { "tenant_id", AT_STRING,
                      AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                      "project_id", NULL, 0, 255, NULL },
    [P_PROJECT_ID] = { "project_id", AT_STRING,
                       AF_POST | AF_FILTER | AF_SORT | AF_PROJECT,
                       "project_id", NULL, 0, 255, NULL },
    [P_ADMIN_STATE_UP] = { "admin_state_up", AT_BOOL,
                           AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                           "admin_state_up", "true", 0, 0, NULL },
    [P_STATUS] = { "status", AT_STRING, AF_FILTER | AF_SORT, "status", NULL,
                   0, 16, NULL },
    [P_MAC] = { "mac_address", AT_MAC, AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                "mac_address", NULL, 0, 0, validate_mac },
    [P_FIXED_IPS] = { "fixed_ips", AT_JSON, AF_POST | AF_PUT | AF_FILTER,
                      NULL, NULL, 0, 0, resource_validate_fixed_ips },
    [P_DEVICE_ID] = { "device_id", AT_STRING,
                      AF_POST | AF_PUT | AF_FILTER | AF_SORT, "device_id",
                      "\"\"", 0, 255, NULL },
    [P_DEVICE_OWNER] = { "device_owner", AT_STRING,
                         AF_POST | AF_PUT | AF_FILTER | AF_SORT,
                         "device_owner", "\"\"", 0, 255, NULL },
    [P_AAP] = { "allowed_address_pairs", AT_JSON,
                AF_POST | AF_PUT | AF_NULLABLE, NULL, NULL, 0, 0,
                validate_address_pairs },
    [P_PORT_SECURITY] = { "port_security_enabled", AT_BOOL, AF_POST | AF_PUT,
                          "port_security_enabled", NULL, 0, 0, NULL },
    [P_HOST] = { "binding:host_id", AT_STRING,
                 AF_POST | AF_PUT | AF_FILTER | AF_ADMIN_READ
                 | AF_ADMIN_WRITE | AF_NULLABLE, "binding_host_id", NULL, 0,
                 255, NULL },
    [P_VNIC] = { "binding:vnic_type", AT_STRING, AF_POST | AF_PUT,
                 "binding_vnic_type", "\"normal\"", 0, 64,
                 validate_vnic_type },
    [P_PROFILE] = { "binding:profile", AT_JSON,
                    AF_POST | AF_PUT | AF_NULLABLE | AF_ADMIN_READ
                    | AF_ADMIN_WRITE, "binding_profile", NULL, 0, 0,
                    validate_profile },
    [P_VIF_TYPE] = { "binding:vif_type", AT_STRING, AF_ADMIN_READ,
                     "binding_vif_type", NULL, 0, 64, NULL },
    [P_VIF_DETAILS] = { "binding:vif_details", AT_JSON, AF_ADMIN_READ,
                        "binding_vif_details", NULL, 0, 0, NULL },
    [P_DESCRIPTION] = { "description", AT_STRING,
                        AF_POST | AF_PUT | AF_FILTER | AF_SORT, "description",
                        "\"\"", 0, 255, NULL },
    [P_TAGS] = { "tags", AT_JSON, 0, NULL, NULL, 0, 0, NULL },
    [P_CREATED_AT] = { "created_at", AT_STRING, AF_SORT, "created_at", NULL,
                       0, 0, NULL },
    [P_UPDATED_AT] = { "updated_at", AT_STRING, AF_SORT, "updated_at", NULL,
                       0, 0, NULL },
    [P_REVISION] = { "revision_number", AT_INT, AF_FILTER | AF_SORT,
                     "revision_number", NULL, 0, 0, NULL },
};

_Static_assert(ARRAY_SIZE(port_attrs) == P_N_ATTRS, "port attribute table");

static const struct resource_ops port_ops;

const struct resource_def l2_port_def = {
    .singular = "port",
    .plural = "ports",
    .table = "ports",
    .not_found = "PortNotFound",
    .display = "Port",
    .attrs = port_attrs,
    .n_attrs = P_N_ATTRS,
    .visible_sql = "t.project_id = ? OR t.network_id IN "
                   "(SELECT n.id FROM networks n WHERE n.project_id = ?)",
    /* For unfiltered pages: other projects' ports on the caller's
     * networks as two ranges of index ports_network_project (migration
     * 6). */
    .visible_parts = (const char *const[]) {
        "t.project_id = ?",
        "t.project_id < ? AND t.network_id IN "
        "(SELECT n.id FROM networks n WHERE n.project_id = ?)",
        "t.project_id > ? AND t.network_id IN "
        "(SELECT n.id FROM networks n WHERE n.project_id = ?)",
        NULL,
    },
    .tags = true,
    .ops = &port_ops,
};

/* ---- Small helpers ---- */

static const char *
str_attr(const struct res_obj *obj, int idx)
{
    const char *s = value_str(&obj->v[idx]);
    return s ? s : "";
}

/* A boolean attribute of 'obj' by name ('dflt' when absent or unset). */
static bool
bool_attr(const struct res_obj *obj, const char *name, bool dflt)
{
    int idx = resource_attr_index(obj->def, name);
    return idx >= 0 && obj->v[idx].kind == VALUE_BOOL ? obj->v[idx].b : dflt;
}

static const char *
str_attr_named(const struct res_obj *obj, const char *name)
{
    int idx = resource_attr_index(obj->def, name);
    const char *s = idx >= 0 ? value_str(&obj->v[idx]) : NULL;
    return s ? s : "";
}

/* The text of a string or raw JSON value, else "". */
static const char *
text_of(const struct value *v)
{
    return v->kind == VALUE_STRING || v->kind == VALUE_RAW ? v->s : "";
}

static bool
is_bound(const struct res_obj *port)
{
    const char *vif = str_attr(port, P_VIF_TYPE);
    return *vif && strcmp(vif, VIF_UNBOUND) && strcmp(vif, VIF_BINDING_FAILED);
}

static struct neutron_error *
policy_refused(bool create, const char *attr)
{
    return neutron_error_create(NE_FORBIDDEN, "PolicyNotAuthorized",
                                "(rule:%s_port%s%s) is disallowed by policy",
                                create ? "create" : "update", attr ? ":" : "",
                                attr ? attr : "");
}

/* ---- JSON text building ---- */

struct jbuf {
    char *s;
    size_t len, cap;
};

static void
jb_add(struct jbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

/* Appends 's' as a JSON string. */
static void
jb_str(struct jbuf *b, const char *s)
{
    char esc[8];

    jb_add(b, "\"");
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09"
                             "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
                             "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
        if (run) {
            char *piece = xstrndup(p, run);
            jb_add(b, piece);
            free(piece);
            p += run;
            continue;
        }
        unsigned char c = *p++;
        if (c == '"' || c == '\\') {
            snprintf(esc, sizeof esc, "\\%c", c);
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", c);
        }
        jb_add(b, esc);
    }
    jb_add(b, "\"");
}

/* Appends {"k1": "v1", "k2": "v2"} to a JSON list being built. */
static void
jb_pair(struct jbuf *b, const char *k1, const char *v1, const char *k2,
        const char *v2)
{
    jb_add(b, b->len > 1 ? ", {" : "{");
    jb_str(b, k1);
    jb_add(b, ": ");
    jb_str(b, v1);
    jb_add(b, ", ");
    jb_str(b, k2);
    jb_add(b, ": ");
    jb_str(b, v2);
    jb_add(b, "}");
}

/* ---- Validators (run on the request, before any transaction) ---- */

static struct neutron_error *
validate_mac(const char *attr, yajl_val v)
{
    static const uint8_t zero[6], bcast[6] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    uint8_t mac[6];
    char what[256];

    if (YAJL_IS_STRING(v) && mac_parse(v->u.string, mac)
        && memcmp(mac, zero, 6) && memcmp(mac, bcast, 6)) {
        return NULL;
    }
    jsonv_describe(v, what, sizeof what);
    return resource_attr_error(attr, "'%s' is not a valid MAC address", what);
}

/* One allowed address pair, normalised. */
struct address_pair {
    char ip[IPNET_STR_MAX];
    char mac[18];                   /* "" = the port's */
};

static bool
ip_is_multicast(const struct ipaddr *a)
{
    return a->version == 4 ? (a->b[0] & 0xf0) == 0xe0 : a->b[0] == 0xff;
}

/* Parses one pair of a validated list ('v' an object). */
static struct neutron_error *
parse_pair(yajl_val v, struct address_pair *out)
{
    yajl_val ip = NULL, mac = NULL;
    char unknown[300] = "";
    size_t ulen = 0;

    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < v->u.object.len; k++) {
        const char *key = v->u.object.keys[k];
        if (!strcmp(key, "ip_address")) {
            ip = v->u.object.values[k];
        } else if (!strcmp(key, "mac_address")) {
            mac = v->u.object.values[k];
        } else if (ulen < sizeof unknown) {
            ulen += snprintf(unknown + ulen, sizeof unknown - ulen, "%s%s",
                             ulen ? ", " : "", key);
        }
    }
    if (mac) {
        uint8_t m[6];
        char what[256];
        if (!YAJL_IS_STRING(mac) || !mac_parse(mac->u.string, m)) {
            jsonv_describe(mac, what, sizeof what);
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'%s' is not a valid MAC address",
                                        what);
        }
        if (m[0] & 1) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'%s' is a multicast MAC address",
                                        mac->u.string);
        }
        mac_format(m, out->mac);
    }
    if (!ip) {
        return neutron_error_create(NE_BAD_REQUEST,
                                    "AllowedAddressPairsMissingIP",
                                    "AllowedAddressPair must contain "
                                    "ip_address");
    }
    if (ulen) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Unrecognized attribute(s) '%s'",
                                    unknown);
    }
    const char *text = YAJL_IS_STRING(ip) ? ip->u.string : NULL;
    char what[256];
    jsonv_describe(ip, what, sizeof what);
    if (text && strchr(text, '/')) {
        struct ipnet n;
        if (!ipnet_parse(text, false, &n)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'%s' is not a valid IP subnet",
                                        what);
        }
        if (ip_is_multicast(&n.addr)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'%s' is a multicast subnet", text);
        }
        ipnet_format(&n, out->ip);
    } else {
        struct ipaddr a;
        if (!text || !ipaddr_parse(text, &a)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'%s' is not a valid IP address",
                                        what);
        }
        if (ip_is_multicast(&a)) {
            return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                        "'%s' is a multicast IP address",
                                        text);
        }
        ipaddr_format(&a, out->ip);
    }
    return NULL;
}

/* Duplicate pairs: 409 as Neutron's DuplicateAddressPairInRequest (a
 * 400). */
static struct neutron_error *
check_duplicate_pairs(const struct address_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(pairs[i].ip, pairs[j].ip)
                && !strcmp(pairs[i].mac, pairs[j].mac)) {
                return neutron_error_create(
                    NE_BAD_REQUEST, "DuplicateAddressPairInRequest",
                    "Request contains duplicate address pair: mac_address "
                    "%s ip_address %s.", *pairs[i].mac ? pairs[i].mac
                                                       : "None",
                    pairs[i].ip);
            }
        }
    }
    return NULL;
}

static struct neutron_error *
parse_pairs(yajl_val v, struct address_pair **pairs, size_t *n)
{
    struct neutron_error *error = NULL;

    *pairs = NULL;
    *n = 0;
    if (!v || !YAJL_IS_ARRAY(v) || !v->u.array.len) {
        return NULL;
    }
    *pairs = xcalloc(v->u.array.len, sizeof **pairs);
    for (size_t i = 0; i < v->u.array.len && !error; i++) {
        yajl_val p = v->u.array.values[i];
        if (!YAJL_IS_OBJECT(p)) {
            char what[256];
            jsonv_describe(p, what, sizeof what);
            error = resource_attr_error("allowed_address_pairs",
                                        "'%s' is not a dictionary", what);
            break;
        }
        error = parse_pair(p, &(*pairs)[i]);
        if (!error) {
            (*n)++;
            error = check_duplicate_pairs(*pairs, *n);
        }
    }
    if (error) {
        free(*pairs);
        *pairs = NULL;
        *n = 0;
    }
    return error;
}

static struct neutron_error *
validate_address_pairs(const char *attr, yajl_val v)
{
    struct address_pair *pairs;
    size_t n;

    (void) attr;
    if (!YAJL_IS_ARRAY(v)) {
        return neutron_error_create(NE_BAD_REQUEST, "HTTPBadRequest",
                                    "Allowed address pairs must be a list.");
    }
    if (v->u.array.len > MAX_ALLOWED_ADDRESS_PAIRS) {
        return neutron_error_create(NE_BAD_REQUEST,
                                    "AllowedAddressPairExhausted",
                                    "The number of allowed address pair "
                                    "exceeds the maximum %d.",
                                    MAX_ALLOWED_ADDRESS_PAIRS);
    }
    struct neutron_error *error = parse_pairs(v, &pairs, &n);
    free(pairs);
    return error;
}

static const char *const vnic_types[] = {
    "normal", "direct", "macvtap", "baremetal", "direct-physical",
    "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct",
    "accelerator-direct-physical", "remote-managed",
};

static struct neutron_error *
validate_vnic_type(const char *attr, yajl_val v)
{
    char what[256], list[400];
    size_t len = 0;

    if (YAJL_IS_STRING(v)) {
        for (size_t i = 0; i < ARRAY_SIZE(vnic_types); i++) {
            if (!strcmp(v->u.string, vnic_types[i])) {
                return NULL;
            }
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(vnic_types); i++) {
        len += snprintf(list + len, sizeof list - len, "%s'%s'",
                        i ? ", " : "[", vnic_types[i]);
    }
    snprintf(list + len, sizeof list - len, "]");
    jsonv_describe(v, what, sizeof what);
    return resource_attr_error(attr, "'%s' is not in %s", what, list);
}

static struct neutron_error *
validate_profile(const char *attr, yajl_val v)
{
    char what[256];

    if (YAJL_IS_OBJECT(v)) {
        return NULL;
    }
    jsonv_describe(v, what, sizeof what);
    return resource_attr_error(attr, "'%s' is not a dictionary", what);
}

/* ---- Child tables ---- */

struct child_table {
    const char *table;
    const char *col1, *col2;        /* rendered as {col1: .., col2: ..} */
    int attr;
};

static const struct child_table fixed_ips_table = {
    "ipallocations", "ip_address", "subnet_id", P_FIXED_IPS
};
static const struct child_table pairs_table = {
    "allowedaddresspairs", "ip_address", "mac_address", P_AAP
};

static int
cmp_obj_id(const void *a_, const void *b_)
{
    const struct res_obj *const *a = a_, *const *b = b_;
    return strcmp(str_attr(*a, P_ID), str_attr(*b, P_ID));
}

/* Loads child table 'ct' into attribute ct->attr of the 'n' ports, as a
 * JSON list of {col1, col2} ordered by col1, col2 (as Neutron orders
 * fixed IPs): one query per CHILD_CHUNK ports. */
static struct neutron_error *
load_children(struct db *db, struct res_obj **objs, size_t n,
              const struct child_table *ct)
{
    struct res_obj **sorted = xmalloc(n * sizeof *sorted);
    struct jbuf *bufs = xcalloc(n, sizeof *bufs);
    struct neutron_error *error = NULL;

    memcpy(sorted, objs, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_obj_id);
    for (size_t i = 0; i < n; i++) {
        jb_add(&bufs[i], "[");
    }
    for (size_t start = 0; start < n && !error; start += CHILD_CHUNK) {
        size_t end = start + CHILD_CHUNK < n ? start + CHILD_CHUNK : n;
        struct sql_buf b;
        int rc;

        sql_init(&b);
        sql_addf(&b, "SELECT port_id, %s, %s FROM %s WHERE port_id IN (",
                 ct->col1, ct->col2, ct->table);
        for (size_t i = start; i < end; i++) {
            sql_add(&b, i > start ? ", ?" : "?");
            sql_param(&b, str_attr(sorted[i], P_ID));
        }
        sql_in_pad(&b, end - start);
        sql_addf(&b, ") ORDER BY port_id, %s, %s", ct->col1, ct->col2);
        struct db_stmt *stmt = sql_prepare(db, &b);
        sql_destroy(&b);
        if (!stmt) {
            error = store_db_error(db, DB_ERROR, "loading port details");
            break;
        }
        size_t k = start;
        while ((rc = db_step(stmt)) == DB_ROW) {
            const char *port_id = db_col_text(stmt, 0);
            while (k < end && strcmp(str_attr(sorted[k], P_ID), port_id) < 0) {
                k++;
            }
            if (k < end && !strcmp(str_attr(sorted[k], P_ID), port_id)) {
                const char *v1 = db_col_text(stmt, 1);
                const char *v2 = db_col_text(stmt, 2);
                jb_pair(&bufs[k], ct->col1, v1 ? v1 : "", ct->col2,
                        v2 ? v2 : "");
            }
        }
        db_reset(stmt);
        if (rc != DB_DONE) {
            error = store_db_error(db, rc, "loading port details");
        }
    }
    for (size_t i = 0; i < n; i++) {
        jb_add(&bufs[i], "]");
        if (!error) {
            value_take_raw(&sorted[i]->v[ct->attr], bufs[i].s);
        } else {
            free(bufs[i].s);
        }
    }
    free(bufs);
    free(sorted);
    return error;
}

static struct neutron_error *
port_expand(struct db *db, struct res_obj **objs, size_t n)
{
    struct neutron_error *error = load_children(db, objs, n,
                                                &fixed_ips_table);
    return error ? error : load_children(db, objs, n, &pairs_table);
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
    if (rc != DB_DONE && rc != DB_OK) {
        return store_db_error(db, rc, what);
    }
    return NULL;
}

static struct neutron_error *
delete_pairs(struct db *db, const char *port_id)
{
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "DELETE FROM allowedaddresspairs WHERE port_id = ?");
    sql_param(&b, port_id);
    struct neutron_error *error = exec_sql(db, &b, "deleting address pairs");
    sql_destroy(&b);
    return error;
}

static int
cmp_pair(const void *a_, const void *b_)
{
    const struct address_pair *a = a_, *b = b_;
    int c = strcmp(a->ip, b->ip);
    return c ? c : strcmp(a->mac, b->mac);
}

/* Writes the pairs of 'port' (its mac_address filling those without one)
 * and sets its allowed_address_pairs attribute as expand would. */
static struct neutron_error *
insert_pairs(struct db *db, struct res_obj *port, struct address_pair *pairs,
             size_t n)
{
    struct neutron_error *error = NULL;
    struct jbuf out = { 0 };

    for (size_t i = 0; i < n; i++) {
        if (!*pairs[i].mac) {
            str_copy(pairs[i].mac, str_attr(port, P_MAC), sizeof pairs[i].mac);
        }
    }
    error = check_duplicate_pairs(pairs, n);
    if (!error && n) {
        struct sql_buf b;
        sql_init(&b);
        sql_add(&b, "INSERT INTO allowedaddresspairs (port_id, mac_address, "
                "ip_address) VALUES ");
        for (size_t i = 0; i < n; i++) {
            sql_add(&b, i ? ", (?, ?, ?)" : "(?, ?, ?)");
            sql_param(&b, str_attr(port, P_ID));
            sql_param(&b, pairs[i].mac);
            sql_param(&b, pairs[i].ip);
        }
        error = exec_sql(db, &b, "adding address pairs");
        sql_destroy(&b);
    }
    if (!error) {
        if (n) {
            qsort(pairs, n, sizeof *pairs, cmp_pair);
        }
        jb_add(&out, "[");
        for (size_t i = 0; i < n; i++) {
            jb_pair(&out, "ip_address", pairs[i].ip, "mac_address",
                    pairs[i].mac);
        }
        jb_add(&out, "]");
        value_take_raw(&port->v[P_AAP], out.s);
    }
    return error;
}

/* ---- Filters on computed attributes ---- */

/* fixed_ips=ip_address=X, fixed_ips=subnet_id=Y and
 * fixed_ips=ip_address_substr=Z, as Neutron: values of one key are OR-ed,
 * different keys must hold for one and the same allocation. */
static bool
port_filter_sql(const struct attr_def *attr, char *const *values,
                size_t n_values, struct sql_buf *sql)
{
    static const char *const keys[] = {
        "ip_address", "subnet_id", "ip_address_substr"
    };
    size_t counts[3] = { 0, 0, 0 };

    if (strcmp(attr->name, "fixed_ips")) {
        return false;
    }
    for (size_t i = 0; i < n_values; i++) {
        const char *eq = strchr(values[i], '=');
        size_t k;
        for (k = 0; k < 3; k++) {
            if (eq && (size_t) (eq - values[i]) == strlen(keys[k])
                && !strncmp(values[i], keys[k], eq - values[i])) {
                break;
            }
        }
        if (k == 3) {
            return false;
        }
        counts[k]++;
    }
    sql_add(sql, "EXISTS (SELECT 1 FROM ipallocations fi WHERE "
            "fi.port_id = t.id");
    for (size_t k = 0; k < 3; k++) {
        bool first = true;
        if (!counts[k]) {
            continue;
        }
        sql_add(sql, k == 2 ? " AND (" : k == 0 ? " AND fi.ip_address IN ("
                                                : " AND fi.subnet_id IN (");
        for (size_t i = 0; i < n_values; i++) {
            const char *v = strchr(values[i], '=') + 1;
            if (strncmp(values[i], keys[k], strlen(keys[k]))
                || values[i][strlen(keys[k])] != '=') {
                continue;
            }
            if (k == 0) {
                /* Match the stored (normalised) text of an address. */
                struct ipaddr a;
                char norm[IPADDR_STR_MAX];
                sql_add(sql, first ? "?" : ", ?");
                if (ipaddr_parse(v, &a)) {
                    ipaddr_format(&a, norm);
                    sql_param(sql, norm);
                } else {
                    sql_param(sql, v);
                }
            } else if (k == 1) {
                sql_add(sql, first ? "?" : ", ?");
                sql_param(sql, v);
            } else {
                struct jbuf like = { 0 };
                jb_add(&like, "%");
                for (const char *p = v; *p; p++) {
                    char c[3] = { *p, '\0', '\0' };
                    if (*p == '%' || *p == '_' || *p == '!') {
                        c[0] = '!';
                        c[1] = *p;
                    }
                    jb_add(&like, c);
                }
                jb_add(&like, "%");
                sql_add(sql, first ? "fi.ip_address LIKE ? ESCAPE '!'"
                                   : " OR fi.ip_address LIKE ? ESCAPE '!'");
                sql_param(sql, like.s);
                free(like.s);
            }
            first = false;
        }
        if (k < 2) {
            sql_in_pad(sql, counts[k]);
        }
        sql_add(sql, ")");
    }
    sql_add(sql, ")");
    return true;
}

/* ---- Networks, segments and the mechanism driver context ---- */

/* What an operation knows of the port's network, loaded on demand. */
struct port_net {
    struct res_obj *network;
    struct l2_segment *segs;
    size_t n_segs;
    bool segs_loaded;
};

static void
port_net_destroy(struct port_net *pn)
{
    res_obj_destroy(pn->network);
    free(pn->segs);
    memset(pn, 0, sizeof *pn);
}

static struct neutron_error *
port_net_load(const struct op_ctx *visible_to, struct db *db,
              const char *network_id, bool segments, struct port_net *pn)
{
    struct neutron_error *error = NULL;

    if (!pn->network) {
        error = l2_network_get__(visible_to, db, network_id, &pn->network);
    }
    if (!error && segments && !pn->segs_loaded) {
        error = l2_network_segments__(db, network_id, &pn->segs, &pn->n_segs);
        pn->segs_loaded = !error;
    }
    return error;
}

static void
mech_context(struct l2_mech_context *mc, const struct op_ctx *ctx,
             enum l2_mech_op op, const struct res_obj *cur,
             const struct res_obj *orig, const struct port_net *pn)
{
    memset(mc, 0, sizeof *mc);
    mc->ctx = ctx;
    mc->op = op;
    mc->cur = cur;
    mc->orig = orig;
    mc->network = pn->network;
    mc->segments = pn->segs;
    mc->n_segments = pn->n_segs;
}

/* Whether the caller owns the port's network (admins do). */
static bool
owns_network(const struct op_ctx *ctx, const struct port_net *pn)
{
    return ctx->auth.is_admin
           || !strcmp(str_attr_named(pn->network, "project_id"),
                      ctx->auth.project_id);
}

/* ---- Binding ---- */

static void
set_status(struct res_obj *port)
{
    bool up = port->v[P_ADMIN_STATE_UP].kind == VALUE_BOOL
              && port->v[P_ADMIN_STATE_UP].b;
    value_set_str(&port->v[P_STATUS], up && is_bound(port) ? "ACTIVE"
                                                            : "DOWN");
}

static void
clear_binding(struct res_obj *port)
{
    value_set_str(&port->v[P_VIF_TYPE], VIF_UNBOUND);
    value_set_raw(&port->v[P_VIF_DETAILS], "{}");
}

/* Binds 'port' if it has a host and is not bound, as ML2's
 * _bind_port_if_needed() (see the file comment for when).  Loads the
 * segments into 'pn' if needed. */
static struct neutron_error *
bind_if_needed(const struct op_ctx *ctx, struct res_obj *port,
               struct port_net *pn)
{
    const char *host = str_attr(port, P_HOST);
    struct neutron_error *error;
    struct l2_mech_context mc;
    struct l2_binding b;
    const char *driver = NULL;

    if (!*host || is_bound(port)) {
        return NULL;
    }
    error = port_net_load(NULL, ctx->db, str_attr(port, P_NETWORK_ID), true,
                          pn);
    if (error) {
        return error;
    }
    if (!pn->n_segs) {
        clear_binding(port);
        return NULL;
    }
    mech_context(&mc, ctx, L2_MECH_CREATE, port, NULL, pn);
    memset(&b, 0, sizeof b);
    if (l2_mech_bind_port__(&mc, host, str_attr(port, P_VNIC), &b, &driver)) {
        value_set_str(&port->v[P_VIF_TYPE], b.vif_type);
        value_take_raw(&port->v[P_VIF_DETAILS],
                       b.vif_details ? b.vif_details : xstrdup("{}"));
        LOG_DBG("l2", "%s: port %s bound by %s on host %s segment %s",
                ctx->request_id, str_attr(port, P_ID), driver, host,
                pn->segs[b.segment].id);
    } else {
        value_set_str(&port->v[P_VIF_TYPE], VIF_BINDING_FAILED);
        value_set_raw(&port->v[P_VIF_DETAILS], "{}");
        LOG_RL(LOG_LEVEL_WARN, "l2", "%s: port %s: no mechanism driver "
               "could bind it on host %s", ctx->request_id,
               str_attr(port, P_ID), host);
    }
    return NULL;
}

/* ---- MAC addresses ---- */

/* A MAC from [DEFAULT] base_mac, as Neutron's get_random_mac(): the first
 * three octets (and the fourth when not 00) from base_mac, the rest
 * random. */
static struct neutron_error *
random_mac(const struct op_ctx *ctx, char out[18])
{
    const char *base = ctx->cfg && ctx->cfg->base_mac ? ctx->cfg->base_mac
                                                      : "fa:16:3e:00:00:00";
    uint8_t mac[6], rnd[3];

    if (!mac_parse(base, mac)) {
        return neutron_error_internal("Invalid [DEFAULT] base_mac '%s'.",
                                      base);
    }
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd) {
        return neutron_error_internal("No random numbers for a MAC "
                                      "address.");
    }
    if (!mac[3]) {
        mac[3] = rnd[0];
    }
    mac[4] = rnd[1];
    mac[5] = rnd[2];
    mac_format(mac, out);
    return NULL;
}

static struct neutron_error *
mac_in_use(const char *network_id, const char *mac)
{
    return neutron_error_create(NE_CONFLICT, "MacAddressInUse",
                                "Unable to complete operation for network "
                                "%s. The mac address %s is in use.",
                                network_id, mac);
}

/* Whether 'mac' is taken on 'network_id'. */
static struct neutron_error *
mac_taken(struct db *db, const char *network_id, const char *mac,
          bool *taken)
{
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_add(&b, "SELECT 1 FROM ports WHERE network_id = ? AND "
            "mac_address = ?");
    sql_param(&b, network_id);
    sql_param(&b, mac);
    struct db_stmt *stmt = sql_prepare(db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(db, DB_ERROR, "checking a MAC address");
    }
    rc = db_step(stmt);
    db_reset(stmt);
    if (rc != DB_ROW && rc != DB_DONE) {
        return store_db_error(db, rc, "checking a MAC address");
    }
    *taken = rc == DB_ROW;
    return NULL;
}

/* Inserts 'port', generating its MAC unless the caller gave one: a
 * generated MAC that collides is drawn again (the UNIQUE (network_id,
 * mac_address) key decides), a given one is a 409 MacAddressInUse. */
static struct neutron_error *
insert_port(const struct op_ctx *ctx, struct res_obj *port, bool mac_given)
{
    const char *network_id = str_attr(port, P_NETWORK_ID);
    struct neutron_error *error;

    if (mac_given) {
        bool taken = false;
        error = mac_taken(ctx->db, network_id, str_attr(port, P_MAC), &taken);
        if (!error && taken) {
            error = mac_in_use(network_id, str_attr(port, P_MAC));
        }
        if (!error) {
            error = store_insert(ctx->db, port);
        }
        if (error && error->kind == NE_CONFLICT
            && strcmp(error->type, "MacAddressInUse")) {
            neutron_error_destroy(error);
            error = mac_in_use(network_id, str_attr(port, P_MAC));
        }
        return error;
    }
    for (int i = 0; i < MAC_GENERATION_RETRIES; i++) {
        char mac[18];
        error = random_mac(ctx, mac);
        if (error) {
            return error;
        }
        value_set_str(&port->v[P_MAC], mac);
        error = store_insert(ctx->db, port);
        if (!error || error->kind != NE_CONFLICT) {
            return error;
        }
        neutron_error_destroy(error);
    }
    return neutron_error_create(NE_UNAVAILABLE, "MacAddressGenerationFailure",
                                "Unable to generate unique mac on network "
                                "%s.", network_id);
}

/* ---- Create ---- */

static struct neutron_error *
load_fixed_ips(struct db *db, struct res_obj *port)
{
    return load_children(db, &port, 1, &fixed_ips_table);
}

/* Writes the binding columns and status of a port created in this
 * transaction (no revision bump: it is still the create). */
static struct neutron_error *
write_binding(struct db *db, const struct res_obj *port)
{
    struct sql_buf b;

    sql_init(&b);
    sql_add(&b, "UPDATE ports SET binding_vif_type = ?, "
            "binding_vif_details = ?, status = ? WHERE id = ?");
    sql_param_value(&b, &port->v[P_VIF_TYPE]);
    sql_param_value(&b, &port->v[P_VIF_DETAILS]);
    sql_param_value(&b, &port->v[P_STATUS]);
    sql_param(&b, str_attr(port, P_ID));
    struct neutron_error *error = exec_sql(db, &b, "binding a port");
    sql_destroy(&b);
    return error;
}

/* Neutron's create_port policy for a non-admin caller on network 'pn'
 * (see the file comment). */
static struct neutron_error *
check_create_policy(const struct op_ctx *ctx, const struct res_obj *port,
                    const struct res_obj *body, const struct port_net *pn)
{
    const char *net_owner = str_attr_named(pn->network, "project_id");

    if (ctx->auth.is_admin) {
        return NULL;
    }
    if (!bool_attr(pn->network, "shared", false)
        && strcmp(net_owner, str_attr(port, P_PROJECT_ID))) {
        return neutron_error_create(NE_FORBIDDEN, "HTTPForbidden",
                                    "Tenant %s not allowed to create port "
                                    "on this network",
                                    str_attr(port, P_PROJECT_ID));
    }
    if (owns_network(ctx, pn)) {
        return NULL;
    }
    if (value_is_set(&body->v[P_MAC])) {
        return policy_refused(true, "mac_address");
    }
    if (body->v[P_FIXED_IPS].kind == VALUE_TREE) {
        yajl_val ips = body->v[P_FIXED_IPS].tree;
        for (size_t i = 0; i < ips->u.array.len; i++) {
            if (jsonv_member(ips->u.array.values[i], "ip_address")) {
                return policy_refused(true, "fixed_ips:ip_address");
            }
        }
    }
    if (value_is_set(&body->v[P_PORT_SECURITY])) {
        return policy_refused(true, "port_security_enabled");
    }
    if (value_is_set(&body->v[P_AAP])) {
        return policy_refused(true, "allowed_address_pairs");
    }
    if (str_starts_with(str_attr(port, P_DEVICE_OWNER), "network:")) {
        return policy_refused(true, "device_owner");
    }
    return NULL;
}

/* binding:profile as stored: the JSON text of the given object, "{}" for
 * null. */
static struct neutron_error *
set_profile(struct res_obj *port, const struct value *given)
{
    if (given->kind != VALUE_TREE) {
        value_set_raw(&port->v[P_PROFILE], "{}");
        return NULL;
    }
    yajl_gen g = json_gen_create();
    json_value(g, given->tree);
    char *text = json_gen_finish(g);
    if (strlen(text) > BINDING_PROFILE_MAX) {
        free(text);
        return neutron_error_invalid_input("Invalid input for operation: "
                                           "binding:profile value too "
                                           "large.");
    }
    value_take_raw(&port->v[P_PROFILE], text);
    return NULL;
}

static struct neutron_error *
pairs_need_port_security(void)
{
    return neutron_error_create(NE_CONFLICT,
                                "AddressPairAndPortSecurityRequired",
                                "Port Security must be enabled in order to "
                                "have allowed address pairs on a port.");
}

static struct neutron_error *
port_create(const struct op_ctx *ctx, const struct res_obj *body,
            struct res_obj **out)
{
    struct res_obj *port = res_obj_clone(body);
    struct address_pair *pairs = NULL;
    struct port_net pn = { 0 };
    struct l2_mech_context mc;
    struct neutron_error *error;
    size_t n_pairs = 0;

    *out = NULL;
    error = store_fill_new(ctx, port);
    if (!error) {
        error = port_net_load(ctx, ctx->db, str_attr(port, P_NETWORK_ID),
                              l2_mech_has_ops__("port", false), &pn);
    }
    if (!error) {
        error = check_create_policy(ctx, port, body, &pn);
    }
    if (!error) {
        error = events_publish(ctx, EV_PORT, EV_BEFORE_CREATE, port, NULL);
    }
    if (error) {
        goto out;
    }

    if (port->v[P_HOST].kind != VALUE_STRING) {
        value_set_str(&port->v[P_HOST], "");
    }
    if (!value_is_set(&port->v[P_PORT_SECURITY])) {
        value_set_bool(&port->v[P_PORT_SECURITY],
                       bool_attr(pn.network, "port_security_enabled", true));
    }
    error = set_profile(port, &body->v[P_PROFILE]);
    if (error) {
        goto out;
    }
    if (body->v[P_AAP].kind == VALUE_TREE) {
        error = parse_pairs(body->v[P_AAP].tree, &pairs, &n_pairs);
        if (!error && n_pairs && !port->v[P_PORT_SECURITY].b) {
            error = pairs_need_port_security();
        }
        if (error) {
            goto out;
        }
    }
    value_clear(&port->v[P_FIXED_IPS]);
    value_clear(&port->v[P_AAP]);
    clear_binding(port);
    set_status(port);

    error = insert_port(ctx, port, value_is_set(&body->v[P_MAC]));
    if (!error) {
        error = l2_ipam_allocate__(ctx, str_attr(port, P_NETWORK_ID),
                                   str_attr(port, P_ID), str_attr(port, P_MAC),
                                   body->v[P_FIXED_IPS].kind == VALUE_TREE
                                   ? body->v[P_FIXED_IPS].tree : NULL);
    }
    if (!error) {
        error = insert_pairs(ctx->db, port, pairs, n_pairs);
    }
    if (!error) {
        error = load_fixed_ips(ctx->db, port);
    }
    if (!error && *str_attr(port, P_HOST)) {
        error = bind_if_needed(ctx, port, &pn);
        set_status(port);
        if (!error) {
            error = write_binding(ctx->db, port);
        }
    }
    if (!error) {
        error = events_publish(ctx, EV_PORT, EV_PRECOMMIT_CREATE, port, NULL);
    }
    if (!error && l2_mech_has_ops__("port", false)) {
        error = port_net_load(NULL, ctx->db, str_attr(port, P_NETWORK_ID),
                              true, &pn);
        if (!error) {
            mech_context(&mc, ctx, L2_MECH_CREATE, port, NULL, &pn);
            error = l2_mech_precommit__("port", &mc);
        }
    }
out:
    free(pairs);
    port_net_destroy(&pn);
    if (error) {
        res_obj_destroy(port);
    } else {
        *out = port;
    }
    return error;
}

/* ---- Update ---- */

static struct neutron_error *
check_update_policy(const struct op_ctx *ctx, const struct res_obj *cur,
                    const struct res_obj *body, struct port_net *pn)
{
    static const int network_owner_only[] = {
        P_FIXED_IPS, P_PORT_SECURITY, P_AAP,
    };

    if (ctx->auth.is_admin) {
        return NULL;
    }
    if (!op_ctx_owns(ctx, str_attr(cur, P_PROJECT_ID))) {
        /* The network's owner sees the port and may delete it, but only
         * the port's owner updates it. */
        return policy_refused(false, NULL);
    }
    if (value_is_set(&body->v[P_MAC])) {
        return policy_refused(false, "mac_address");
    }
    bool restricted = str_starts_with(str_attr(body, P_DEVICE_OWNER),
                                      "network:");
    for (size_t i = 0; i < ARRAY_SIZE(network_owner_only); i++) {
        restricted |= value_is_set(&body->v[network_owner_only[i]]);
    }
    if (!restricted) {
        return NULL;
    }
    struct neutron_error *error = port_net_load(NULL, ctx->db,
                                                str_attr(cur, P_NETWORK_ID),
                                                false, pn);
    if (error || owns_network(ctx, pn)) {
        return error;
    }
    for (size_t i = 0; i < ARRAY_SIZE(network_owner_only); i++) {
        if (value_is_set(&body->v[network_owner_only[i]])) {
            return policy_refused(false,
                                  port_attrs[network_owner_only[i]].name);
        }
    }
    return policy_refused(false, "device_owner");
}

static struct neutron_error *
port_update(const struct op_ctx *ctx, struct res_obj *cur,
            const struct res_obj *body, struct res_obj **out)
{
    static const int plain[] = {
        P_NAME, P_ADMIN_STATE_UP, P_DEVICE_ID, P_DEVICE_OWNER,
        P_PORT_SECURITY, P_DESCRIPTION,
    };
    struct res_obj *port = res_obj_clone(cur);
    bool changed[P_N_ATTRS] = { false };
    struct address_pair *pairs = NULL;
    struct port_net pn = { 0 };
    struct l2_mech_context mc;
    struct neutron_error *error;
    size_t n_pairs = 0;
    bool rebind = false;

    *out = NULL;
    error = check_update_policy(ctx, cur, body, &pn);
    if (error) {
        goto out;
    }
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
        if (value_is_set(&body->v[plain[i]])) {
            value_copy(&port->v[plain[i]], &body->v[plain[i]]);
            changed[plain[i]] = true;
        }
    }
    if (value_is_set(&body->v[P_MAC])
        && strcmp(str_attr(body, P_MAC), str_attr(cur, P_MAC))) {
        if (is_bound(cur)) {
            error = neutron_error_create(
                NE_CONFLICT, "PortBound", "Unable to complete operation on "
                "port %s, port is already bound, port type: %s, old_mac %s, "
                "new_mac %s.", str_attr(cur, P_ID), str_attr(cur, P_VIF_TYPE),
                str_attr(cur, P_MAC), str_attr(body, P_MAC));
            goto out;
        }
        value_copy(&port->v[P_MAC], &body->v[P_MAC]);
        changed[P_MAC] = true;
    }
    if (value_is_set(&body->v[P_VNIC])
        && strcmp(str_attr(body, P_VNIC), str_attr(cur, P_VNIC))) {
        if (is_bound(cur)) {
            error = neutron_error_create(
                NE_CONFLICT, "PortInUse", "Unable to complete operation on "
                "port %s for network %s. Port already has an attached device "
                "%s.", str_attr(cur, P_ID), str_attr(cur, P_NETWORK_ID),
                str_attr(cur, P_DEVICE_ID));
            goto out;
        }
        value_copy(&port->v[P_VNIC], &body->v[P_VNIC]);
        changed[P_VNIC] = rebind = true;
    }
    if (value_is_set(&body->v[P_HOST])) {
        const char *host = value_str(&body->v[P_HOST]);
        if (strcmp(host ? host : "", str_attr(cur, P_HOST))) {
            value_set_str(&port->v[P_HOST], host ? host : "");
            changed[P_HOST] = rebind = true;
        }
    }
    if (value_is_set(&body->v[P_PROFILE])) {
        error = set_profile(port, &body->v[P_PROFILE]);
        if (error) {
            goto out;
        }
        if (strcmp(text_of(&cur->v[P_PROFILE]),
                   text_of(&port->v[P_PROFILE]))) {
            changed[P_PROFILE] = rebind = true;
        }
    }
    error = events_publish(ctx, EV_PORT, EV_BEFORE_UPDATE, port, cur);
    if (error) {
        goto out;
    }

    /* Port security and address pairs. */
    bool secure = port->v[P_PORT_SECURITY].kind != VALUE_BOOL
                  || port->v[P_PORT_SECURITY].b;
    if (body->v[P_AAP].kind == VALUE_TREE) {
        error = parse_pairs(body->v[P_AAP].tree, &pairs, &n_pairs);
        if (!error && n_pairs && !secure) {
            error = pairs_need_port_security();
        }
    } else if (!secure && *text_of(&cur->v[P_AAP])
               && strcmp(text_of(&cur->v[P_AAP]), "[]")
               && !value_is_set(&body->v[P_AAP])) {
        error = pairs_need_port_security();
    }
    if (!error && value_is_set(&body->v[P_AAP])) {
        error = delete_pairs(ctx->db, str_attr(port, P_ID));
        if (!error) {
            error = insert_pairs(ctx->db, port, pairs, n_pairs);
        }
    }
    if (!error && body->v[P_FIXED_IPS].kind == VALUE_TREE) {
        error = l2_ipam_update__(ctx, str_attr(port, P_NETWORK_ID),
                                 str_attr(port, P_ID), str_attr(port, P_MAC),
                                 body->v[P_FIXED_IPS].tree);
        if (!error) {
            error = load_fixed_ips(ctx->db, port);
        }
    }
    if (error) {
        goto out;
    }

    /* Binding: new inputs clear it; then bind if there is a host. */
    if (rebind) {
        clear_binding(port);
    }
    error = bind_if_needed(ctx, port, &pn);
    if (error) {
        goto out;
    }
    set_status(port);
    /* Write the binding only when it changed, so that an update that does
     * not touch it never overwrites a concurrent update's binding. */
    for (int i = P_VIF_TYPE; i <= P_VIF_DETAILS; i++) {
        changed[i] = strcmp(text_of(&cur->v[i]), text_of(&port->v[i]));
    }
    changed[P_STATUS] = strcmp(str_attr(cur, P_STATUS),
                               str_attr(port, P_STATUS));
    error = store_update(ctx->db, port, changed);
    if (error && error->kind == NE_CONFLICT && changed[P_MAC]) {
        neutron_error_destroy(error);
        error = mac_in_use(str_attr(port, P_NETWORK_ID),
                           str_attr(port, P_MAC));
    }
    if (!error) {
        error = events_publish(ctx, EV_PORT, EV_PRECOMMIT_UPDATE, port, cur);
    }
    if (!error && l2_mech_has_ops__("port", false)) {
        error = port_net_load(NULL, ctx->db, str_attr(port, P_NETWORK_ID),
                              true, &pn);
        if (!error) {
            mech_context(&mc, ctx, L2_MECH_UPDATE, port, cur, &pn);
            error = l2_mech_precommit__("port", &mc);
        }
    }
out:
    free(pairs);
    port_net_destroy(&pn);
    if (error) {
        res_obj_destroy(port);
    } else {
        *out = port;
    }
    return error;
}

/* ---- Delete ---- */

/* Deletes 'port' and its children, then runs the PRECOMMIT event and the
 * drivers' delete precommit. */
static struct neutron_error *
delete_port(const struct op_ctx *ctx, const struct res_obj *port)
{
    const char *id = str_attr(port, P_ID);
    struct neutron_error *error;
    struct port_net pn = { 0 };

    error = l2_ipam_release__(ctx, id);
    if (!error) {
        error = delete_pairs(ctx->db, id);
    }
    if (!error) {
        error = store_delete(ctx->db, &l2_port_def, id);
    }
    if (!error) {
        error = events_publish(ctx, EV_PORT, EV_PRECOMMIT_DELETE, NULL, port);
    }
    if (!error && l2_mech_has_ops__("port", false)) {
        struct l2_mech_context mc;
        error = port_net_load(NULL, ctx->db, str_attr(port, P_NETWORK_ID),
                              true, &pn);
        if (!error) {
            mech_context(&mc, ctx, L2_MECH_DELETE, NULL, port, &pn);
            error = l2_mech_precommit__("port", &mc);
        }
    }
    port_net_destroy(&pn);
    return error;
}

static struct neutron_error *
port_remove(const struct op_ctx *ctx, struct res_obj *cur)
{
    struct neutron_error *error = events_publish(ctx, EV_PORT,
                                                 EV_BEFORE_DELETE, NULL, cur);
    return error ? error : delete_port(ctx, cur);
}

/* ---- After the commit ---- */

struct postcommit_args {
    const struct res_obj *port;
    struct port_net pn;
};

static struct neutron_error *
load_net_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct postcommit_args *a = args_;

    port_net_destroy(&a->pn);
    return port_net_load(NULL, ctx->db, str_attr(a->port, P_NETWORK_ID), true,
                         &a->pn);
}

/* Publishes the AFTER event and runs the drivers' postcommit for 'op'.
 * Returns the postcommit error of a create; logs the rest. */
static struct neutron_error *
after(const struct op_ctx *ctx, enum l2_mech_op op, enum event_type type,
      const struct res_obj *port)
{
    struct neutron_error *error;

    error = events_publish(ctx, EV_PORT, type,
                           op == L2_MECH_DELETE ? NULL : port,
                           op == L2_MECH_DELETE ? port : NULL);
    neutron_error_destroy(error);
    if (!l2_mech_has_ops__("port", true)) {
        return NULL;
    }

    struct postcommit_args a = { .port = port };
    struct l2_mech_context mc;
    error = txn_run(ctx, false, load_net_in_txn, &a);
    if (error) {
        /* Deleted meanwhile: the drivers get the port without it. */
        neutron_error_destroy(error);
        port_net_destroy(&a.pn);
    }
    mech_context(&mc, ctx, op, op == L2_MECH_DELETE ? NULL : port,
                 op == L2_MECH_DELETE ? port : NULL, &a.pn);
    error = l2_mech_postcommit__("port", &mc);
    port_net_destroy(&a.pn);
    return error;
}

static struct neutron_error *
port_after_create(const struct op_ctx *ctx, const struct res_obj *port)
{
    return after(ctx, L2_MECH_CREATE, EV_AFTER_CREATE, port);
}

static struct neutron_error *
port_after_update(const struct op_ctx *ctx, const struct res_obj *port)
{
    return after(ctx, L2_MECH_UPDATE, EV_AFTER_UPDATE, port);
}

static struct neutron_error *
port_after_remove(const struct op_ctx *ctx, const struct res_obj *port)
{
    return after(ctx, L2_MECH_DELETE, EV_AFTER_DELETE, port);
}

/* The network's owner may delete other projects' ports on it (Neutron's
 * delete_port: "rule:admin_owner_or_network_owner"); port_update refuses
 * what only the port's owner may do. */
static bool
port_may_modify(const struct op_ctx *ctx, const struct res_obj *port)
{
    struct sql_buf b;
    bool owner = false;

    sql_init(&b);
    sql_add(&b, "SELECT project_id FROM networks WHERE id = ?");
    sql_param(&b, str_attr(port, P_NETWORK_ID));
    struct db_stmt *stmt = sql_prepare(ctx->db, &b);
    sql_destroy(&b);
    if (stmt && db_step(stmt) == DB_ROW) {
        const char *p = db_col_text(stmt, 0);
        owner = p && !strcmp(p, ctx->auth.project_id);
    }
    if (stmt) {
        db_reset(stmt);
    }
    return owner;
}

static const struct resource_ops port_ops = {
    .create = port_create,
    .update = port_update,
    .remove = port_remove,
    .after_create = port_after_create,
    .after_update = port_after_update,
    .after_remove = port_after_remove,
    .expand = port_expand,
    .filter_sql = port_filter_sql,
    .may_modify = port_may_modify,
};

/* ---- Network deletion ---- */

/* Runs inside the network's delete transaction, before its subnets go.
 * The DHCP ports it deletes get the PRECOMMIT_DELETE event and the
 * drivers' delete precommit; there is no after-commit hook for them (the
 * network's own AFTER_DELETE and postcommit stand for them). */

struct neutron_error *
l2_ports_check_network_delete__(const struct op_ctx *ctx,
                                const char *network_id)
{
    struct neutron_error *error = NULL;
    char **dhcp = NULL;
    size_t n_dhcp = 0;
    bool in_use = false;
    struct sql_buf b;
    int rc;

    sql_init(&b);
    sql_add(&b, "SELECT id, device_owner FROM ports WHERE network_id = ?");
    sql_param(&b, network_id);
    struct db_stmt *stmt = sql_prepare(ctx->db, &b);
    sql_destroy(&b);
    if (!stmt) {
        return store_db_error(ctx->db, DB_ERROR, "listing ports");
    }
    while ((rc = db_step(stmt)) == DB_ROW) {
        const char *owner = db_col_text(stmt, 1);
        if (owner && !strcmp(owner, DEVICE_OWNER_DHCP)) {
            dhcp = xrealloc(dhcp, (n_dhcp + 1) * sizeof *dhcp);
            dhcp[n_dhcp++] = xstrdup(db_col_text(stmt, 0));
        } else {
            in_use = true;
        }
    }
    db_reset(stmt);
    if (rc != DB_DONE) {
        error = store_db_error(ctx->db, rc, "listing ports");
    } else if (in_use) {
        error = neutron_error_create(NE_CONFLICT, "NetworkInUse",
                                     "Unable to complete operation on "
                                     "network %s. There are one or more "
                                     "ports still in use on the network.",
                                     network_id);
    }
    for (size_t i = 0; i < n_dhcp; i++) {
        struct res_obj *port = NULL;
        if (!error) {
            error = store_get(ctx->db, &l2_port_def, NULL, dhcp[i], &port);
        }
        if (!error) {
            error = delete_port(ctx, port);
        }
        res_obj_destroy(port);
        free(dhcp[i]);
    }
    free(dhcp);
    return error;
}
