/* core/config.c: see config.h. */
#include "core/config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netaddr.h"
#include "core/util.h"

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_MULTISTR };

struct opt {
    const char *section;
    const char *name;
    enum opt_type type;
    size_t offset;
    const char *def;            /* default, as it would be written in a file */
    long min, max;              /* OPT_INT bounds */
};

#define O(SECTION, NAME, TYPE, MEMBER, DEF, MIN, MAX)               \
    { SECTION, NAME, TYPE, offsetof(struct config, MEMBER), DEF, MIN, MAX }

static const struct opt opts[] = {
    O("DEFAULT", "bind_host", OPT_STR, bind_host, "127.0.0.1", 0, 0),
    O("DEFAULT", "bind_port", OPT_INT, bind_port, "9696", 0, 65535),
    O("DEFAULT", "api_workers", OPT_INT, api_workers, "2", 1, 256),
    O("DEFAULT", "auth_strategy", OPT_STR, auth_strategy, "noauth", 0, 0),
    O("DEFAULT", "log_file", OPT_STR, log_file, "", 0, 0),
    O("DEFAULT", "debug", OPT_BOOL, debug, "false", 0, 0),
    O("DEFAULT", "host", OPT_STR, host, "", 0, 0),
    O("DEFAULT", "max_request_body_size", OPT_INT, max_request_body_size,
      "1048576", 1024, 1 << 30),
    O("DEFAULT", "max_json_depth", OPT_INT, max_json_depth, "32", 4, 1000),
    O("DEFAULT", "drain_timeout", OPT_INT, drain_timeout, "30", 0, 3600),
    O("DEFAULT", "client_socket_timeout", OPT_INT, client_socket_timeout,
      "900", 0, 86400),
    O("database", "connection", OPT_STR, connection,
      "sqlite:///hadron.db", 0, 0),
    O("database", "max_retries", OPT_INT, max_retries, "10", 1, 1000),
    O("database", "auto_upgrade", OPT_BOOL, auto_upgrade, "true", 0, 0),

    O("DEFAULT", "global_physnet_mtu", OPT_INT, global_physnet_mtu, "1500",
      68, 65535),
    O("DEFAULT", "base_mac", OPT_STR, base_mac, "fa:16:3e:00:00:00", 0, 0),
    O("DEFAULT", "max_dns_nameservers", OPT_INT, max_dns_nameservers, "5",
      0, 1000),
    O("DEFAULT", "max_subnet_host_routes", OPT_INT, max_subnet_host_routes,
      "20", 0, 1000),
    O("DEFAULT", "max_fixed_ips_per_port", OPT_INT, max_fixed_ips_per_port,
      "5", 1, 1000),
    O("ml2", "type_drivers", OPT_STR, ml2_type_drivers,
      "local,flat,vlan,gre,vxlan,geneve", 0, 0),
    O("ml2", "tenant_network_types", OPT_STR, ml2_tenant_network_types,
      "local", 0, 0),
    O("ml2", "mechanism_drivers", OPT_STR, ml2_mechanism_drivers,
      "linuxbridge", 0, 0),
    O("ml2", "extension_drivers", OPT_STR, ml2_extension_drivers,
      "port_security", 0, 0),
    O("ml2", "path_mtu", OPT_INT, ml2_path_mtu, "0", 0, 65535),
    O("ml2", "physical_network_mtus", OPT_STR, ml2_physical_network_mtus,
      "", 0, 0),
    O("ml2", "overlay_ip_version", OPT_INT, ml2_overlay_ip_version, "4",
      4, 6),
    O("ml2_type_flat", "flat_networks", OPT_STR, flat_networks, "*", 0, 0),
    O("ml2_type_vlan", "network_vlan_ranges", OPT_STR, network_vlan_ranges,
      "", 0, 0),
    O("ml2_type_vxlan", "vni_ranges", OPT_STR, vxlan_vni_ranges, "", 0, 0),
    O("ml2_type_vxlan", "vxlan_group", OPT_STR, vxlan_group, "", 0, 0),
    O("ml2_type_gre", "tunnel_id_ranges", OPT_STR, gre_tunnel_id_ranges, "",
      0, 0),
    O("ml2_type_geneve", "vni_ranges", OPT_STR, geneve_vni_ranges, "", 0, 0),
    O("ml2_type_geneve", "max_header_size", OPT_INT, geneve_max_header_size,
      "30", 0, 1000),
    O("linux_bridge", "physical_interface_mappings", OPT_STR,
      lb_physical_interface_mappings, "", 0, 0),
    O("linux_bridge", "bridge_mappings", OPT_STR, lb_bridge_mappings, "",
      0, 0),
    O("linux_bridge", "realize", OPT_BOOL, lb_realize, "false", 0, 0),
    O("vxlan", "enable_vxlan", OPT_BOOL, vxlan_enable, "true", 0, 0),
    O("vxlan", "local_ip", OPT_STR, vxlan_local_ip, "", 0, 0),
    O("service_providers", "service_provider", OPT_MULTISTR,
      service_providers, NULL, 0, 0),
    O("journal", "completed_retention", OPT_INT,
      journal_completed_retention, "600", 0, 365 * 86400),
    O("journal", "retry_backoff_initial_ms", OPT_INT,
      journal_retry_backoff_initial_ms, "200", 1, 3600 * 1000),
    O("journal", "retry_backoff_max", OPT_INT, journal_retry_backoff_max,
      "60", 1, 86400),
    O("journal", "max_attempts", OPT_INT, journal_max_attempts, "0", 0,
      1000000),
    O("journal", "poll_interval_ms", OPT_INT, journal_poll_interval_ms,
      "200", 10, 60000),
    O("journal", "health_interval_ms", OPT_INT, journal_health_interval_ms,
      "5000", 10, 3600 * 1000),
    O("journal", "claim_timeout", OPT_INT, journal_claim_timeout, "300", 1,
      86400),
    O("journal", "coalesce_us", OPT_INT, journal_coalesce_us, "2000", 0,
      100000),
    O("journal", "batch_size", OPT_INT, journal_batch_size, "64", 1, 1000),
    /* Limits on one request (issue 9, "Limits that hold"). */
    O("DEFAULT", "pagination_max_limit", OPT_INT, pagination_max_limit,
      "1000", -1, 1 << 30),
    O("DEFAULT", "max_query_params", OPT_INT, max_query_params, "1000", 1,
      100000),
    O("DEFAULT", "max_filter_values", OPT_INT, max_filter_values, "500", 1,
      100000),
    O("DEFAULT", "max_json_elements", OPT_INT, max_json_elements, "100000",
      16, 1 << 30),
    O("DEFAULT", "max_bulk_items", OPT_INT, max_bulk_items, "1000", 1,
      1000000),
    O("DEFAULT", "client_header_timeout", OPT_INT, client_header_timeout,
      "60", 0, 86400),
    O("keystone_authtoken", "auth_type", OPT_STR, ks_auth_type, "password",
      0, 0),
    O("keystone_authtoken", "auth_url", OPT_STR, ks_auth_url, "", 0, 0),
    O("keystone_authtoken", "www_authenticate_uri", OPT_STR,
      ks_www_authenticate_uri, "", 0, 0),
    O("keystone_authtoken", "username", OPT_STR, ks_username, "", 0, 0),
    O("keystone_authtoken", "password", OPT_STR, ks_password, "", 0, 0),
    O("keystone_authtoken", "project_name", OPT_STR, ks_project_name, "",
      0, 0),
    O("keystone_authtoken", "user_domain_name", OPT_STR,
      ks_user_domain_name, "Default", 0, 0),
    O("keystone_authtoken", "project_domain_name", OPT_STR,
      ks_project_domain_name, "Default", 0, 0),
    O("keystone_authtoken", "user_domain_id", OPT_STR, ks_user_domain_id,
      "", 0, 0),
    O("keystone_authtoken", "project_domain_id", OPT_STR,
      ks_project_domain_id, "", 0, 0),
    O("keystone_authtoken", "cafile", OPT_STR, ks_cafile, "", 0, 0),
    O("keystone_authtoken", "insecure", OPT_BOOL, ks_insecure, "false", 0, 0),
    O("keystone_authtoken", "http_connect_timeout", OPT_INT,
      ks_http_connect_timeout, "10", 1, 600),
    O("keystone_authtoken", "http_request_max_retries", OPT_INT,
      ks_http_request_max_retries, "3", 0, 100),
    O("keystone_authtoken", "token_cache_time", OPT_INT, ks_token_cache_time,
      "300", -1, 86400),
    O("keystone_authtoken", "token_cache_size", OPT_INT, ks_token_cache_size,
      "10000", 1, 10000000),
    O("keystone_authtoken", "region_name", OPT_STR, ks_region_name, "", 0, 0),
};

static void
list_append(struct config_list *l, const char *s)
{
    l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = xstrdup(s);
}

static void
list_clear(struct config_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i]);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Sets 'o' in 'cfg' from 'value'.  Returns NULL or a malloc'd reason. */
static char *
opt_set(struct config *cfg, const struct opt *o, const char *value)
{
    void *p = (char *) cfg + o->offset;
    int64_t n;
    bool b;

    switch (o->type) {
    case OPT_STR:
        free(*(char **) p);
        *(char **) p = xstrdup(value);
        return NULL;
    case OPT_INT:
        if (!str_to_int64(value, o->min, o->max, &n)) {
            return xasprintf("'%s' is not an integer in [%ld, %ld]",
                             value, o->min, o->max);
        }
        *(int *) p = n;
        return NULL;
    case OPT_BOOL:
        if (!str_to_bool(value, &b)) {
            return xasprintf("'%s' is not a boolean", value);
        }
        *(bool *) p = b;
        return NULL;
    case OPT_MULTISTR:
        list_append(p, value);
        return NULL;
    }
    return xstrdup("bad option type");
}

/* True if the option table has a section named 'section'. */
static bool
section_known(const char *section)
{
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        if (!strcmp(opts[i].section, section)) {
            return true;
        }
    }
    return false;
}

void
config_section_foreach(const struct config *cfg, const char *section,
                       void (*fn)(const char *key, const char *value,
                                  void *aux),
                       void *aux)
{
    for (size_t i = 0; i < cfg->n_extra; i++) {
        if (!strcmp(cfg->extra[i].section, section)) {
            fn(cfg->extra[i].key, cfg->extra[i].value, aux);
        }
    }
}

static const struct opt *
opt_find(const char *section, const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        if (!strcmp(opts[i].section, section) && !strcmp(opts[i].name, name)) {
            return &opts[i];
        }
    }
    return NULL;
}

struct config *
config_create(void)
{
    struct config *cfg = xzalloc(sizeof *cfg);

    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        if (opts[i].type != OPT_MULTISTR) {
            char *error = opt_set(cfg, &opts[i], opts[i].def);
            if (error) {
                /* The table's own defaults must parse. */
                fprintf(stderr, "bad default for %s: %s\n", opts[i].name,
                        error);
                abort();
            }
        }
    }
    return cfg;
}

void
config_destroy(struct config *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        void *p = (char *) cfg + opts[i].offset;
        if (opts[i].type == OPT_STR) {
            free(*(char **) p);
        } else if (opts[i].type == OPT_MULTISTR) {
            list_clear(p);
        }
    }
    for (size_t i = 0; i < cfg->n_extra; i++) {
        free(cfg->extra[i].section);
        free(cfg->extra[i].key);
        free(cfg->extra[i].value);
    }
    free(cfg->extra);
    list_clear(&cfg->files);
    list_clear(&cfg->warnings);
    free(cfg);
}

struct load_ctx {
    struct config *cfg;
    const char *path;
    FILE *file;
    int lineno;                 /* line last read, for messages */
    char *error;
    size_t first_extra;         /* cfg->extra from this file on */
    int *extra_lines;           /* line of each of them */
};

/* inih's line reader, counting lines: Debian's inih does not pass line
 * numbers to the handler. */
static char *
config_read_line(char *buf, int size, void *ctx_)
{
    struct load_ctx *ctx = ctx_;
    char *line = fgets(buf, size, ctx->file);

    if (line) {
        ctx->lineno++;
    }
    return line;
}

static int
config_ini_line(void *ctx_, const char *section, const char *name,
                const char *value)
{
    struct load_ctx *ctx = ctx_;
    int lineno = ctx->lineno;
    const struct opt *o;

    if (ctx->error) {
        /* inih goes on after a handler fails: keep the first error (and
         * do not leak it), ignore the rest of the file. */
        return 0;
    }
    if (!name) {
        return 1;               /* a section header alone */
    }
    o = opt_find(section, name);
    if (!o && !section_known(section)) {
        /* Perhaps a driver's own section: kept, and reported at the end
         * of the file unless a service_provider claims it. */
        struct config *cfg = ctx->cfg;
        size_t k = cfg->n_extra - ctx->first_extra;
        cfg->extra = xrealloc(cfg->extra, (cfg->n_extra + 1)
                                          * sizeof *cfg->extra);
        cfg->extra[cfg->n_extra++] = (struct config_option) {
            xstrdup(section), xstrdup(name), xstrdup(value) };
        ctx->extra_lines = xrealloc(ctx->extra_lines,
                                    (k + 1) * sizeof *ctx->extra_lines);
        ctx->extra_lines[k] = lineno;
        return 1;
    }
    if (!o) {
        char *w = xasprintf("%s:%d: unknown option [%s] %s (ignored)",
                            ctx->path, lineno, section, name);
        list_append(&ctx->cfg->warnings, w);
        free(w);
        return 1;
    }
    char *why = opt_set(ctx->cfg, o, value);
    if (why) {
        ctx->error = xasprintf("%s:%d: bad value for [%s] %s: %s",
                               ctx->path, lineno, section, name, why);
        free(why);
        return 0;
    }
    return 1;
}

/* True if a service_provider line of 'cfg' names 'section' as its
 * provider name or driver (for a shared object: its file name without a
 * "lib" prefix and ".so" suffix). */
static bool
section_claimed(const struct config *cfg, const char *section)
{
    size_t slen = strlen(section);

    if (!cfg->service_providers.n && !strcmp(section, "noop")) {
        return true;            /* the default provider's driver */
    }
    if (str_starts_with(section, "ml2_") && section[4]
        && section_claimed(cfg, section + 4)) {
        return true;            /* [ml2_odl]: read by the odl driver too */
    }
    for (size_t i = 0; i < cfg->service_providers.n; i++) {
        const char *p = cfg->service_providers.items[i];
        for (int field = 0; field < 3 && p; field++) {
            size_t len = strcspn(p, ":");
            if (field == 1 && len == slen && !strncmp(p, section, len)) {
                return true;
            }
            if (field == 2) {
                /* A path: compare its file name, less "lib" and ".so". */
                const char *base = p;
                size_t blen = len;
                for (const char *q = p; q < p + len; q++) {
                    if (*q == '/') {
                        base = q + 1;
                        blen = len - (base - p);
                    }
                }
                if (blen > 3 && !strncmp(base + blen - 3, ".so", 3)) {
                    blen -= 3;
                    if (blen > 3 && !strncmp(base, "lib", 3)) {
                        base += 3;
                        blen -= 3;
                    }
                }
                if ((len == slen && !strncmp(p, section, len))
                    || (blen == slen && !strncmp(base, section, blen))) {
                    return true;
                }
            }
            p = p[len] ? p + len + 1 : NULL;
        }
    }
    return false;
}

char *
config_load_file(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    struct load_ctx ctx = { .cfg = cfg, .path = path, .file = f,
                            .first_extra = cfg->n_extra };

    if (!f) {
        return xasprintf("%s: cannot open configuration file: %s", path,
                         strerror(errno));
    }
    int rc = ini_parse_stream(config_read_line, &ctx, config_ini_line, &ctx);
    fclose(f);
    for (size_t i = ctx.first_extra; i < cfg->n_extra; i++) {
        const struct config_option *o = &cfg->extra[i];
        if (!section_claimed(cfg, o->section)) {
            char *w = xasprintf("%s:%d: unknown option [%s] %s (ignored)",
                                path, ctx.extra_lines[i - ctx.first_extra],
                                o->section, o->key);
            list_append(&cfg->warnings, w);
            free(w);
        }
    }
    free(ctx.extra_lines);
    if (ctx.error) {
        return ctx.error;
    }
    if (rc) {
        return xasprintf("%s:%d: syntax error", path, rc);
    }
    list_append(&cfg->files, path);
    return NULL;
}

/* With auth_strategy = keystone: the [keystone_authtoken] options Hadron
 * needs to log in to Keystone.  Returns NULL or a malloc'd message. */
static char *
keystone_options_check(const struct config *cfg)
{
    static const struct { size_t offset; const char *name; } needed[] = {
        { offsetof(struct config, ks_auth_url), "auth_url" },
        { offsetof(struct config, ks_username), "username" },
        { offsetof(struct config, ks_password), "password" },
        { offsetof(struct config, ks_project_name), "project_name" },
    };

    if (strcmp(cfg->ks_auth_type, "password")
        && strcmp(cfg->ks_auth_type, "v3password")) {
        return xasprintf("[keystone_authtoken] auth_type: '%s' is not "
                         "supported (supported: password, v3password)",
                         cfg->ks_auth_type);
    }
    for (size_t i = 0; i < ARRAY_SIZE(needed); i++) {
        const char *v = *(char *const *) ((const char *) cfg
                                          + needed[i].offset);
        if (!*v) {
            return xasprintf("[keystone_authtoken] %s must be set with "
                             "auth_strategy = keystone", needed[i].name);
        }
    }
    if (!str_starts_with(cfg->ks_auth_url, "http://")
        && !str_starts_with(cfg->ks_auth_url, "https://")) {
        return xasprintf("[keystone_authtoken] auth_url: '%s' is not an "
                         "http:// or https:// URL", cfg->ks_auth_url);
    }
    return NULL;
}

char *
config_validate(const struct config *cfg)
{
    if (!strcmp(cfg->auth_strategy, "keystone")) {
        char *why = keystone_options_check(cfg);
        if (why) {
            return why;
        }
    } else if (strcmp(cfg->auth_strategy, "noauth")) {
        return xasprintf("[DEFAULT] auth_strategy: '%s' is not supported "
                         "(supported: noauth, keystone)", cfg->auth_strategy);
    }
    if (!*cfg->bind_host) {
        return xstrdup("[DEFAULT] bind_host must not be empty");
    }
    if (!*cfg->connection) {
        return xstrdup("[database] connection must not be empty");
    }
    uint8_t mac[6];
    if (!mac_parse(cfg->base_mac, mac)) {
        return xasprintf("[DEFAULT] base_mac: '%s' is not a MAC address",
                         cfg->base_mac);
    }
    return NULL;
}
