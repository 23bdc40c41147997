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

struct config {
    /* [DEFAULT] */
    char *bind_host;
    int bind_port;
    int api_workers;
    char *auth_strategy;            /* "noauth" (or "keystone" later) */
    char *log_file;                 /* NULL or "" = stderr */
    bool debug;
    char *host;                     /* this server's host name */
    int max_request_body_size;      /* bytes */
    int max_json_depth;
    int drain_timeout;              /* seconds SIGTERM waits for requests */

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
    bool vxlan_enable;
    char *vxlan_local_ip;

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
 * are appended to cfg->warnings for the caller to report. */
char *config_load_file(struct config *cfg, const char *path);

/* Checks values that depend on each other, after all files are loaded.
 * Returns NULL or a malloc'd message. */
char *config_validate(const struct config *cfg);

#endif /* core/config.h */
