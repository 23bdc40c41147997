/* core/config.h: configuration from neutron.conf-style INI files.
 *
 * Options are declared in one table (config.c) with their section, type,
 * default and bounds; the loader, the defaults and the unknown-option report
 * all read that table.  Several files may be loaded in order, later ones
 * overriding earlier ones (multi-valued options accumulate).  A `struct
 * config` is read-only once the server has started, so threads share it
 * without locking.
 *
 * To add an option: add a member here and one row to the table. */
#ifndef HADRON_CONFIG_H
#define HADRON_CONFIG_H 1

#include <stdbool.h>
#include <stddef.h>

struct config_list {
    char **items;
    size_t n;
};

/* One option of a section that the option table does not know. */
struct config_option {
    char *section;
    char *key;
    char *value;
};

struct config {
    /* [DEFAULT] */
    char *bind_host;
    int bind_port;
    int api_workers;
    char *auth_strategy;            /* "noauth" or "keystone" */
    char *log_file;                 /* NULL or "" = stderr */
    bool debug;
    char *host;                     /* this server's host name */
    int max_request_body_size;      /* bytes */
    int max_json_depth;
    int drain_timeout;              /* seconds SIGTERM waits for requests */
    int client_socket_timeout;      /* s a client connection may stay idle
                                     * (also mid-request); 0 = forever */

    /* [database] */
    char *connection;               /* sqlite:///path or mysql://... */
    int max_retries;                /* attempts of one transaction */
    bool auto_upgrade;              /* apply migrations at start */

    /* L2 ([DEFAULT] options of Neutron's core plugin, [ml2*], and the
     * linuxbridge agent's names).  Lists are comma-separated strings,
     * parsed by l2/. */
    int global_physnet_mtu;
    char *base_mac;
    int max_dns_nameservers;
    int max_subnet_host_routes;
    int max_fixed_ips_per_port;
    char *ml2_type_drivers;
    char *ml2_tenant_network_types;
    char *ml2_mechanism_drivers;
    char *ml2_extension_drivers;
    int ml2_path_mtu;
    char *ml2_physical_network_mtus;
    int ml2_overlay_ip_version;
    char *flat_networks;
    char *network_vlan_ranges;
    char *vxlan_vni_ranges;
    char *vxlan_group;
    char *gre_tunnel_id_ranges;
    char *geneve_vni_ranges;
    int geneve_max_header_size;
    char *lb_physical_interface_mappings;
    char *lb_bridge_mappings;
    bool lb_realize;                /* make bridges for ports bound here */
    bool vxlan_enable;
    char *vxlan_local_ip;

    /* [journal] (core/journal.h) */
    int journal_completed_retention;    /* s a completed row is kept; 0 =
                                         * deleted when it completes */
    int journal_retry_backoff_initial_ms;   /* first back-off of a RETRY */
    int journal_retry_backoff_max;      /* s, cap of the doubling back-off */
    int journal_max_attempts;           /* attempts before a row that keeps
                                         * answering RETRY fails; 0 = no
                                         * limit */
    int journal_poll_interval_ms;       /* look for rows committed by other
                                         * servers this often */
    int journal_health_interval_ms;     /* ask each driver's health() */
    int journal_claim_timeout;          /* s after which another server's
                                         * 'processing' row is taken back */
    int journal_coalesce_us;            /* after a wake-up, wait this long
                                         * so one claim takes several rows */
    int journal_batch_size;             /* rows (of distinct routers) per
                                         * claim */

    /* [DEFAULT] limits on one request (api/). */
    int pagination_max_limit;       /* rows per list page at most; a list
                                     * without limit= gets this many and a
                                     * "next" link; -1 or 0 = no cap */
    int max_query_params;           /* query parameters in one URL */
    int max_filter_values;          /* values of one filter (repeats, or
                                     * the comma-separated tags lists) */
    int max_json_elements;          /* JSON values in one request body */
    int max_bulk_items;             /* resources in one bulk create */
    int client_header_timeout;      /* s from a request's first byte to its
                                     * last header; 0 = no deadline */

    /* [keystone_authtoken]: keystonemiddleware's names (api/keystone.h);
     * read with auth_strategy = keystone. */
    char *ks_auth_type;                 /* "password" (or "v3password") */
    char *ks_auth_url;                  /* Keystone, for validation too */
    char *ks_www_authenticate_uri;      /* sent in 401s; "" = auth_url */
    char *ks_username;
    char *ks_password;
    char *ks_project_name;
    char *ks_user_domain_name;
    char *ks_project_domain_name;
    char *ks_user_domain_id;            /* if set, instead of the name */
    char *ks_project_domain_id;         /* if set, instead of the name */
    char *ks_cafile;                    /* CA bundle for https auth_url */
    bool ks_insecure;                   /* do not verify its certificate */
    int ks_http_connect_timeout;        /* s, bound of one validation */
    int ks_http_request_max_retries;    /* on connection failures */
    int ks_token_cache_time;            /* s; -1 = no cache */
    int ks_token_cache_size;            /* tokens cached at most */
    char *ks_region_name;

    /* [service_providers] service_provider lines, in order (parsed by
     * flavors/registry.c; none = "L3_ROUTER_NAT:noop:noop:default"). */
    struct config_list service_providers;

    /* Options of sections the table does not know, in file order: the
     * flavor drivers' own sections ([noop], [<provider name>], ...). */
    struct config_option *extra;
    size_t n_extra;

    /* Files loaded, and warnings about options we do not know. */
    struct config_list files;
    struct config_list warnings;
};

/* A configuration holding every option's default. */
struct config *config_create(void);
void config_destroy(struct config *);

/* Loads 'path' over 'cfg'.  Returns NULL on success, else a malloc'd
 * message ("FILE:LINE: bad value for [section] key: ...", or the file
 * cannot be read).  Unknown sections and options do not fail the load; they
 * are appended to cfg->warnings for the caller to report.  Options of a
 * section the table does not know are also kept in cfg->extra, and not
 * reported when a service_provider line names that section (its provider
 * name, or its driver: a built-in name or a shared object's file name
 * without "lib" and ".so"), or names it with "ml2_" before (networking-odl's
 * [ml2_odl]): they are that driver's options. */
char *config_load_file(struct config *cfg, const char *path);

/* Calls 'fn' for every option of section 'section' kept in cfg->extra,
 * in file order (a key given twice comes twice, the later last). */
void config_section_foreach(const struct config *cfg, const char *section,
                            void (*fn)(const char *key, const char *value,
                                       void *aux),
                            void *aux);

/* Checks values that depend on each other, after all files are loaded.
 * Returns NULL or a malloc'd message. */
char *config_validate(const struct config *cfg);

#endif /* core/config.h */
