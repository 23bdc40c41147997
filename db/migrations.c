/* db/migrations.c: the database schema, as a numbered list of steps.
 *
 * db_upgrade() brings a database to the newest version this build knows,
 * recording each applied step in table `schema_version`.  Concurrent
 * upgraders (several servers starting at once, hadron-manage) are
 * serialised: on MariaDB by a named lock (GET_LOCK), on SQLite by running
 * the whole upgrade in one write transaction. */
#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define MOD "db"

/* One step of the schema.
 *
 * 'sql' holds one or more statements separated by ';' and is run with
 * db_exec().  It is written once for both engines with types valid on both
 * (VARCHAR(n) for keys and short strings, TEXT for longer ones -- at most
 * 64 KiB on MariaDB, MEDIUMTEXT beyond -- INTEGER, BIGINT) and these
 * tokens, replaced before running:
 *
 *   @TABLE_OPTIONS@  after the closing parenthesis of every CREATE TABLE:
 *                    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
 *                    COLLATE=utf8mb4_bin" on MariaDB, nothing on SQLite.
 *   @NOW@            the current UTC time as a quoted string literal,
 *                    e.g. '2026-11-21T23:57:55Z'.
 *
 * 'sql_mariadb', if nonnull, replaces 'sql' on MariaDB for what cannot be
 * written once.
 *
 * On MariaDB every DDL statement commits by itself, so a step that fails
 * halfway stays half applied: write steps that can simply be run again
 * (IF NOT EXISTS, IF EXISTS) where possible. */
struct migration {
    int version;
    const char *description;    /* at most 255 bytes */
    const char *sql;
    const char *sql_mariadb;    /* NULL = same as 'sql' */
};

/* The journal's columns and indexes (step 4), the same on both engines
 * but for the auto-increment key. */
#define JOURNAL_COLUMNS                                         \
    "    driver VARCHAR(255) NOT NULL,\n"                       \
    "    resource VARCHAR(32) NOT NULL,\n"                      \
    "    operation VARCHAR(16) NOT NULL,\n"                     \
    "    resource_id VARCHAR(36) NOT NULL,\n"                   \
    "    router_id VARCHAR(36) NOT NULL,\n"                     \
    "    revision BIGINT NOT NULL DEFAULT 0,\n"                 \
    "    data MEDIUMTEXT NOT NULL,\n"                           \
    "    state VARCHAR(16) NOT NULL,\n"                         \
    "    attempts INTEGER NOT NULL DEFAULT 0,\n"                \
    "    last_error VARCHAR(1024) NOT NULL DEFAULT '',\n"       \
    "    next_attempt_ms BIGINT NOT NULL DEFAULT 0,\n"          \
    "    claimed_by VARCHAR(255) NOT NULL DEFAULT '',\n"        \
    "    created_at VARCHAR(32) NOT NULL,\n"                    \
    "    updated_at VARCHAR(32) NOT NULL\n"
#define JOURNAL_INDEXES                                                     \
    "CREATE INDEX IF NOT EXISTS journal_driver_state\n"                     \
    "    ON journal (driver, state, seq);\n"                                \
    "CREATE INDEX IF NOT EXISTS journal_router\n"                           \
    "    ON journal (router_id, state, seq);\n"
/* Step 5 replaces journal_router: a claim looks up the processing and the
 * pending rows of routers (state first, so that MariaDB finds processing
 * rows without a scan), pruning the completed rows by age. */
#define JOURNAL_INDEXES_5                                                   \
    "CREATE INDEX IF NOT EXISTS journal_state_router\n"                     \
    "    ON journal (state, router_id, seq);\n"                             \
    "CREATE INDEX IF NOT EXISTS journal_state_updated\n"                    \
    "    ON journal (state, updated_at);\n"

/* Step 6: a project's page of ports is "project_id = ? ORDER BY id LIMIT
 * n".  SQLite's index on project_id alone (unlike InnoDB's, which ends
 * with the primary key) found the rows but not their order, so every page
 * read and sorted all the project's ports (271 ms a page at 100,000).
 * Other projects' ports on one's networks are ranges of the second index
 * (see l2_port_def.visible_parts).  Routers and floating IPs keep their
 * project index: with one in id order and no statistics, SQLite preferred
 * it to the index of a filter (floating IPs of a port). */
#define LIST_INDEXES_6                                                      \
    "CREATE INDEX IF NOT EXISTS ports_project_id\n"                         \
    "    ON ports (project_id, id);\n"                                      \
    "CREATE INDEX IF NOT EXISTS ports_network_project\n"                    \
    "    ON ports (network_id, project_id, id);\n"

/* The schema.  To change it, append ONE entry with the next version number
 * (and, in the same change, the code that uses it).  Never edit, reorder or
 * remove an entry that has been released: databases out there have applied
 * it already. */
static const struct migration migrations[] = {
    {
        1, "hadron_meta: facts about this database",
        "CREATE TABLE IF NOT EXISTS hadron_meta (\n"
        "    name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
        "    value VARCHAR(255)\n"
        ") @TABLE_OPTIONS@;\n"
        "INSERT INTO hadron_meta (name, value)\n"
        "    VALUES ('created_at', @NOW@);\n",
        NULL,
    },
    {
        2, "L2: tags, networks, segments, allocations, subnets, ports",
        "CREATE TABLE IF NOT EXISTS tags (\n"
        "    resource_id VARCHAR(36) NOT NULL,\n"
        "    resource_type VARCHAR(32) NOT NULL,\n"
        "    tag VARCHAR(255) NOT NULL,\n"
        "    PRIMARY KEY (resource_id, tag)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag);\n"
        "CREATE TABLE IF NOT EXISTS networks (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL,\n"
        "    name VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    admin_state_up INTEGER NOT NULL DEFAULT 1,\n"
        "    status VARCHAR(16) NOT NULL,\n"
        "    shared INTEGER NOT NULL DEFAULT 0,\n"
        "    router_external INTEGER NOT NULL DEFAULT 0,\n"
        "    mtu INTEGER NOT NULL DEFAULT 1500,\n"
        "    port_security_enabled INTEGER NOT NULL DEFAULT 1,\n"
        "    created_at VARCHAR(32) NOT NULL,\n"
        "    updated_at VARCHAR(32) NOT NULL,\n"
        "    revision_number BIGINT NOT NULL DEFAULT 0\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS networks_project ON networks (project_id);\n"
        "CREATE TABLE IF NOT EXISTS network_segments (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    network_id VARCHAR(36) NOT NULL,\n"
        "    name VARCHAR(255),\n"
        "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    network_type VARCHAR(32) NOT NULL,\n"
        "    physical_network VARCHAR(64),\n"
        "    segmentation_id BIGINT,\n"
        "    segment_index INTEGER NOT NULL DEFAULT 0,\n"
        "    created_at VARCHAR(32) NOT NULL,\n"
        "    updated_at VARCHAR(32) NOT NULL,\n"
        "    revision_number BIGINT NOT NULL DEFAULT 0,\n"
        "    FOREIGN KEY (network_id) REFERENCES networks (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS network_segments_network\n"
        "    ON network_segments (network_id);\n"
        "CREATE TABLE IF NOT EXISTS ml2_flat_allocations (\n"
        "    physical_network VARCHAR(64) NOT NULL PRIMARY KEY\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS ml2_vlan_allocations (\n"
        "    physical_network VARCHAR(64) NOT NULL,\n"
        "    vlan_id INTEGER NOT NULL,\n"
        "    allocated INTEGER NOT NULL DEFAULT 0,\n"
        "    PRIMARY KEY (physical_network, vlan_id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS ml2_vlan_free\n"
        "    ON ml2_vlan_allocations (physical_network, allocated);\n"
        "CREATE TABLE IF NOT EXISTS ml2_vxlan_allocations (\n"
        "    vxlan_vni INTEGER NOT NULL PRIMARY KEY,\n"
        "    allocated INTEGER NOT NULL DEFAULT 0\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS ml2_vxlan_free ON ml2_vxlan_allocations (allocated);\n"
        "CREATE TABLE IF NOT EXISTS ml2_gre_allocations (\n"
        "    gre_id BIGINT NOT NULL PRIMARY KEY,\n"
        "    allocated INTEGER NOT NULL DEFAULT 0\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS ml2_gre_free ON ml2_gre_allocations (allocated);\n"
        "CREATE TABLE IF NOT EXISTS ml2_geneve_allocations (\n"
        "    geneve_vni INTEGER NOT NULL PRIMARY KEY,\n"
        "    allocated INTEGER NOT NULL DEFAULT 0\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS ml2_geneve_free ON ml2_geneve_allocations (allocated);\n"
        "CREATE TABLE IF NOT EXISTS subnets (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL,\n"
        "    network_id VARCHAR(36) NOT NULL,\n"
        "    name VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    ip_version INTEGER NOT NULL,\n"
        "    cidr VARCHAR(64) NOT NULL,\n"
        "    gateway_ip VARCHAR(64),\n"
        "    enable_dhcp INTEGER NOT NULL DEFAULT 1,\n"
        "    ipv6_ra_mode VARCHAR(16),\n"
        "    ipv6_address_mode VARCHAR(16),\n"
        "    subnetpool_id VARCHAR(36),\n"
        "    segment_id VARCHAR(36),\n"
        "    created_at VARCHAR(32) NOT NULL,\n"
        "    updated_at VARCHAR(32) NOT NULL,\n"
        "    revision_number BIGINT NOT NULL DEFAULT 0,\n"
        "    FOREIGN KEY (network_id) REFERENCES networks (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS subnets_network ON subnets (network_id);\n"
        "CREATE INDEX IF NOT EXISTS subnets_project ON subnets (project_id);\n"
        "CREATE TABLE IF NOT EXISTS ipallocationpools (\n"
        "    subnet_id VARCHAR(36) NOT NULL,\n"
        "    first_ip VARCHAR(64) NOT NULL,\n"
        "    last_ip VARCHAR(64) NOT NULL,\n"
        "    PRIMARY KEY (subnet_id, first_ip),\n"
        "    FOREIGN KEY (subnet_id) REFERENCES subnets (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS dnsnameservers (\n"
        "    subnet_id VARCHAR(36) NOT NULL,\n"
        "    address VARCHAR(128) NOT NULL,\n"
        "    list_order INTEGER NOT NULL,\n"
        "    PRIMARY KEY (subnet_id, address),\n"
        "    FOREIGN KEY (subnet_id) REFERENCES subnets (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS subnetroutes (\n"
        "    subnet_id VARCHAR(36) NOT NULL,\n"
        "    destination VARCHAR(64) NOT NULL,\n"
        "    nexthop VARCHAR(64) NOT NULL,\n"
        "    PRIMARY KEY (subnet_id, destination, nexthop),\n"
        "    FOREIGN KEY (subnet_id) REFERENCES subnets (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS ports (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL,\n"
        "    network_id VARCHAR(36) NOT NULL,\n"
        "    name VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    mac_address VARCHAR(32) NOT NULL,\n"
        "    admin_state_up INTEGER NOT NULL DEFAULT 1,\n"
        "    status VARCHAR(16) NOT NULL,\n"
        "    device_id VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    device_owner VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    port_security_enabled INTEGER NOT NULL DEFAULT 1,\n"
        "    binding_host_id VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    binding_vnic_type VARCHAR(64) NOT NULL DEFAULT 'normal',\n"
        "    binding_vif_type VARCHAR(64) NOT NULL DEFAULT 'unbound',\n"
        "    binding_vif_details MEDIUMTEXT,\n"
        "    binding_profile MEDIUMTEXT,\n"
        "    created_at VARCHAR(32) NOT NULL,\n"
        "    updated_at VARCHAR(32) NOT NULL,\n"
        "    revision_number BIGINT NOT NULL DEFAULT 0,\n"
        "    UNIQUE (network_id, mac_address),\n"
        "    FOREIGN KEY (network_id) REFERENCES networks (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS ports_device_id ON ports (device_id);\n"
        "CREATE INDEX IF NOT EXISTS ports_project ON ports (project_id);\n"
        "CREATE TABLE IF NOT EXISTS ipallocations (\n"
        "    port_id VARCHAR(36) NOT NULL,\n"
        "    ip_address VARCHAR(64) NOT NULL,\n"
        "    subnet_id VARCHAR(36) NOT NULL,\n"
        "    network_id VARCHAR(36) NOT NULL,\n"
        "    PRIMARY KEY (ip_address, subnet_id),\n"
        "    FOREIGN KEY (port_id) REFERENCES ports (id),\n"
        "    FOREIGN KEY (subnet_id) REFERENCES subnets (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS ipallocations_port ON ipallocations (port_id);\n"
        "CREATE TABLE IF NOT EXISTS allowedaddresspairs (\n"
        "    port_id VARCHAR(36) NOT NULL,\n"
        "    mac_address VARCHAR(32) NOT NULL,\n"
        "    ip_address VARCHAR(64) NOT NULL,\n"
        "    PRIMARY KEY (port_id, mac_address, ip_address),\n"
        "    FOREIGN KEY (port_id) REFERENCES ports (id)\n"
        ") @TABLE_OPTIONS@;\n",
        NULL,
    },
    {
        3, "L3: flavors, service profiles, routers, router ports, routes, "
        "floating IPs",
        "CREATE TABLE IF NOT EXISTS flavors (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    name VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    description VARCHAR(1024) NOT NULL DEFAULT '',\n"
        "    service_type VARCHAR(36) NOT NULL,\n"
        "    enabled INTEGER NOT NULL DEFAULT 1\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS serviceprofiles (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    description VARCHAR(1024) NOT NULL DEFAULT '',\n"
        "    driver VARCHAR(1024) NOT NULL,\n"
        "    metainfo VARCHAR(4096) NOT NULL DEFAULT '',\n"
        "    enabled INTEGER NOT NULL DEFAULT 1\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS flavorserviceprofilebindings (\n"
        "    flavor_id VARCHAR(36) NOT NULL,\n"
        "    service_profile_id VARCHAR(36) NOT NULL,\n"
        "    PRIMARY KEY (flavor_id, service_profile_id),\n"
        "    FOREIGN KEY (flavor_id) REFERENCES flavors (id),\n"
        "    FOREIGN KEY (service_profile_id) REFERENCES serviceprofiles (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS routers (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL,\n"
        "    name VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    admin_state_up INTEGER NOT NULL DEFAULT 1,\n"
        "    status VARCHAR(16) NOT NULL,\n"
        "    flavor_id VARCHAR(36),\n"
        "    gw_port_id VARCHAR(36),\n"
        "    enable_snat INTEGER NOT NULL DEFAULT 1,\n"
        "    created_at VARCHAR(32) NOT NULL,\n"
        "    updated_at VARCHAR(32) NOT NULL,\n"
        "    revision_number BIGINT NOT NULL DEFAULT 0\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS routers_project ON routers (project_id);\n"
        "CREATE TABLE IF NOT EXISTS router_provider (\n"
        "    router_id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    provider VARCHAR(255) NOT NULL,\n"
        "    FOREIGN KEY (router_id) REFERENCES routers (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS routerports (\n"
        "    router_id VARCHAR(36) NOT NULL,\n"
        "    port_id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    port_type VARCHAR(255) NOT NULL,\n"
        "    FOREIGN KEY (router_id) REFERENCES routers (id),\n"
        "    FOREIGN KEY (port_id) REFERENCES ports (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS routerports_router\n"
        "    ON routerports (router_id);\n"
        "CREATE TABLE IF NOT EXISTS routerroutes (\n"
        "    router_id VARCHAR(36) NOT NULL,\n"
        "    destination VARCHAR(64) NOT NULL,\n"
        "    nexthop VARCHAR(64) NOT NULL,\n"
        "    PRIMARY KEY (router_id, destination, nexthop),\n"
        "    FOREIGN KEY (router_id) REFERENCES routers (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE TABLE IF NOT EXISTS floatingips (\n"
        "    id VARCHAR(36) NOT NULL PRIMARY KEY,\n"
        "    project_id VARCHAR(255) NOT NULL,\n"
        "    description VARCHAR(255) NOT NULL DEFAULT '',\n"
        "    floating_ip_address VARCHAR(64) NOT NULL,\n"
        "    floating_network_id VARCHAR(36) NOT NULL,\n"
        "    floating_port_id VARCHAR(36) NOT NULL,\n"
        "    fixed_port_id VARCHAR(36),\n"
        "    fixed_ip_address VARCHAR(64),\n"
        "    router_id VARCHAR(36),\n"
        "    status VARCHAR(16) NOT NULL,\n"
        "    created_at VARCHAR(32) NOT NULL,\n"
        "    updated_at VARCHAR(32) NOT NULL,\n"
        "    revision_number BIGINT NOT NULL DEFAULT 0,\n"
        "    UNIQUE (floating_network_id, fixed_port_id, fixed_ip_address),\n"
        "    FOREIGN KEY (floating_network_id) REFERENCES networks (id),\n"
        "    FOREIGN KEY (floating_port_id) REFERENCES ports (id)\n"
        ") @TABLE_OPTIONS@;\n"
        "CREATE INDEX IF NOT EXISTS floatingips_project\n"
        "    ON floatingips (project_id);\n"
        "CREATE INDEX IF NOT EXISTS floatingips_router\n"
        "    ON floatingips (router_id);\n"
        "CREATE INDEX IF NOT EXISTS floatingips_fixed_port\n"
        "    ON floatingips (fixed_port_id);\n",
        NULL,
    },
    {
        4, "L3: the journal",
        "CREATE TABLE IF NOT EXISTS journal (\n"
        "    seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        JOURNAL_COLUMNS
        ");\n"
        JOURNAL_INDEXES,
        "CREATE TABLE IF NOT EXISTS journal (\n"
        "    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
        JOURNAL_COLUMNS
        ") @TABLE_OPTIONS@;\n"
        JOURNAL_INDEXES,
    },
    {
        5, "L3: journal indexes for claiming and pruning",
        "DROP INDEX IF EXISTS journal_router;\n"
        JOURNAL_INDEXES_5,
        "DROP INDEX IF EXISTS journal_router ON journal;\n"
        JOURNAL_INDEXES_5,
    },
    {
        6, "Ports: project and network indexes in id order",
        "DROP INDEX IF EXISTS ports_project;\n"
        LIST_INDEXES_6,
        "DROP INDEX IF EXISTS ports_project ON ports;\n"
        LIST_INDEXES_6,
    },
};

#define SCHEMA_VERSION_TABLE                            \
    "CREATE TABLE IF NOT EXISTS schema_version (\n"     \
    "    version INTEGER NOT NULL PRIMARY KEY,\n"       \
    "    description VARCHAR(255),\n"                   \
    "    applied_at VARCHAR(32)\n"                      \
    ") @TABLE_OPTIONS@"

/* MariaDB: the upgrade lock is named after the database, so that upgrades
 * of different databases on one server do not wait for each other (lock
 * names are limited to 64 characters).  GET_LOCK waits in slices shorter
 * than the connection's read timeout, up to LOCK_WAIT_SLICES * 5 s. */
#define LOCK_NAME \
    "LEFT(CONCAT('hadron_schema.', COALESCE(DATABASE(), '')), 64)"
#define LOCK_WAIT_SLICES 12

int
db_schema_latest(void)
{
    return migrations[ARRAY_SIZE(migrations) - 1].version;
}

/* Returns a new string: 'sql' with the tokens replaced for 'engine'. */
static char *
expand_sql(const char *sql, enum db_engine engine)
{
    static const char table_options_token[] = "@TABLE_OPTIONS@";
    static const char now_token[] = "@NOW@";
    char ts[TIMESTAMP_LEN];
    char now[TIMESTAMP_LEN + 2];
    const char *table_options = (engine == DB_ENGINE_MARIADB
                                 ? "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                                   "COLLATE=utf8mb4_bin"
                                 : "");
    size_t cap = strlen(sql) + 1;
    size_t len = 0;
    char *out;

    timestamp_now(ts);
    snprintf(now, sizeof now, "'%s'", ts);

    out = xmalloc(cap);
    while (*sql) {
        const char *value = NULL;
        size_t skip = 1;

        if (!strncmp(sql, table_options_token,
                     sizeof table_options_token - 1)) {
            value = table_options;
            skip = sizeof table_options_token - 1;
        } else if (!strncmp(sql, now_token, sizeof now_token - 1)) {
            value = now;
            skip = sizeof now_token - 1;
        }

        size_t n = value ? strlen(value) : 1;
        if (len + n + 1 > cap) {
            cap = 2 * cap + n;
            out = xrealloc(out, cap);
        }
        memcpy(out + len, value ? value : sql, n);
        len += n;
        sql += skip;
    }
    out[len] = '\0';
    return out;
}

/* Runs a one-row, one-column query and stores its integer in '*value'
 * (0 for SQL NULL). */
static int
query_int(struct db *db, const char *sql, int64_t *value)
{
    struct db_stmt *stmt = db_prepare(db, sql);
    int rc;

    *value = 0;
    if (!stmt) {
        return DB_ERROR;
    }
    rc = db_step(stmt);
    if (rc == DB_ROW) {
        *value = db_col_int64(stmt, 0);
        rc = DB_OK;
    } else if (rc == DB_DONE) {
        rc = DB_OK;
    }
    db_reset(stmt);
    return rc;
}

int
db_schema_version(struct db *db, int *version)
{
    int64_t value;
    int rc;

    *version = 0;
    rc = query_int(db, (db_engine(db) == DB_ENGINE_MARIADB
                        ? "SELECT COUNT(*) FROM information_schema.tables "
                          "WHERE table_schema = DATABASE() "
                          "AND table_name = 'schema_version'"
                        : "SELECT COUNT(*) FROM sqlite_master "
                          "WHERE type = 'table' "
                          "AND name = 'schema_version'"),
                   &value);
    if (rc != DB_OK || !value) {
        return rc;
    }
    rc = query_int(db, "SELECT MAX(version) FROM schema_version", &value);
    if (rc == DB_OK) {
        *version = (int) value;
    }
    return rc;
}

/* Takes the MariaDB upgrade lock.  Returns DB_OK, or DB_ERROR with a
 * message in 'errbuf'. */
static int
lock_schema(struct db *db, char *errbuf, size_t errbuf_size)
{
    for (int i = 0; i < LOCK_WAIT_SLICES; i++) {
        struct db_stmt *stmt = db_prepare(db, "SELECT GET_LOCK(" LOCK_NAME
                                          ", 5)");
        int rc = stmt ? db_step(stmt) : DB_ERROR;

        if (rc != DB_ROW || db_col_is_null(stmt, 0)) {
            snprintf(errbuf, errbuf_size, "schema upgrade: taking the "
                     "upgrade lock: %s", db_errmsg(db));
            db_reset(stmt);
            return DB_ERROR;
        }
        bool locked = db_col_int64(stmt, 0) == 1;
        db_reset(stmt);
        if (locked) {
            return DB_OK;
        }
        LOG_INFO(MOD, "schema upgrade: waiting for another upgrade to "
                 "finish");
    }
    snprintf(errbuf, errbuf_size, "schema upgrade: another upgrade of this "
             "database has been running for %d s; try again later",
             LOCK_WAIT_SLICES * 5);
    return DB_ERROR;
}

static void
unlock_schema(struct db *db)
{
    struct db_stmt *stmt = db_prepare(db, "SELECT RELEASE_LOCK(" LOCK_NAME
                                      ")");
    if (stmt) {
        db_step(stmt);
        db_reset(stmt);
    }
}

/* Applies 'm' and records it.  On failure writes a message to 'errbuf'. */
static int
apply_step(struct db *db, const struct migration *m, char *errbuf,
           size_t errbuf_size)
{
    enum db_engine engine = db_engine(db);
    const char *text = (engine == DB_ENGINE_MARIADB && m->sql_mariadb
                        ? m->sql_mariadb : m->sql);
    char *sql = expand_sql(text, engine);
    char version[16];
    char applied_at[TIMESTAMP_LEN];
    int rc;

    rc = db_exec(db, sql);
    free(sql);
    if (rc != DB_OK) {
        snprintf(errbuf, errbuf_size, "schema upgrade: step %d (%s) "
                 "failed: %s", m->version, m->description, db_errmsg(db));
        return rc;
    }

    snprintf(version, sizeof version, "%d", m->version);
    timestamp_now(applied_at);
    const char *params[] = { version, m->description, applied_at };
    rc = db_exec_params(db, "INSERT INTO schema_version "
                        "(version, description, applied_at) "
                        "VALUES (?, ?, ?)", params, ARRAY_SIZE(params));
    if (rc != DB_OK) {
        snprintf(errbuf, errbuf_size, "schema upgrade: recording step %d: "
                 "%s", m->version, db_errmsg(db));
    }
    return rc;
}

int
db_upgrade(struct db *db, char *errbuf, size_t errbuf_size)
{
    bool mariadb = db_engine(db) == DB_ENGINE_MARIADB;
    char scratch[1];
    bool locked = false;
    int version = 0;
    int latest = db_schema_latest();
    int rc;

    if (!errbuf) {
        errbuf = scratch;
        errbuf_size = sizeof scratch;
    }
    errbuf[0] = '\0';
    if (db_in_transaction(db)) {
        snprintf(errbuf, errbuf_size, "schema upgrade: called inside a "
                 "transaction");
        return DB_ERROR;
    }

    if (mariadb) {
        rc = lock_schema(db, errbuf, errbuf_size);
        if (rc != DB_OK) {
            return rc;
        }
        locked = true;
    } else {
        rc = db_begin(db, true);
        if (rc != DB_OK) {
            snprintf(errbuf, errbuf_size, "schema upgrade: %s",
                     db_errmsg(db));
            goto out;
        }
    }

    char *sql = expand_sql(SCHEMA_VERSION_TABLE, db_engine(db));
    rc = db_exec(db, sql);
    free(sql);
    if (rc == DB_OK) {
        rc = db_schema_version(db, &version);
    }
    if (rc != DB_OK) {
        snprintf(errbuf, errbuf_size, "schema upgrade: reading the schema "
                 "version: %s", db_errmsg(db));
        goto out;
    }
    if (version > latest) {
        snprintf(errbuf, errbuf_size, "database schema version %d is newer "
                 "than this hadron (knows up to %d); upgrade hadron",
                 version, latest);
        rc = DB_ERROR;
        goto out;
    }

    for (size_t i = 0; i < ARRAY_SIZE(migrations); i++) {
        const struct migration *m = &migrations[i];

        if (m->version != (int) i + 1) {
            snprintf(errbuf, errbuf_size, "schema upgrade: step %zu has "
                     "version %d (bug: versions must be 1, 2, 3...)",
                     i + 1, m->version);
            rc = DB_ERROR;
            goto out;
        }
        if (m->version > version) {
            rc = apply_step(db, m, errbuf, errbuf_size);
            if (rc != DB_OK) {
                goto out;
            }
            LOG_INFO(MOD, "schema upgrade: applied step %d (%s)",
                     m->version, m->description);
        }
    }

    if (db_in_transaction(db)) {
        rc = db_commit(db);
        if (rc != DB_OK) {
            snprintf(errbuf, errbuf_size, "schema upgrade: commit: %s",
                     db_errmsg(db));
        }
    }

out:
    if (db_in_transaction(db)) {
        db_rollback(db);
    }
    if (locked) {
        unlock_schema(db);
    }
    return rc;
}
