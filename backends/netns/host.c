/* backends/netns/host.c: see netns_host.h. */
#include "backends/netns/netns_host.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define MOD "netns"

/* The configuration: written at start, read-only afterwards. */
static struct {
    bool configured;
    char *interface_mappings;
    char *bridge_mappings;
    bool vxlan;                 /* enable_vxlan and a local_ip */
    struct netns_addr local_ip;
    struct netns_addr group;
} host;

/* Serializes every bridge change of this process. */
static pthread_mutex_t bridge_mutex = PTHREAD_MUTEX_INITIALIZER;

static bool
blank(const char *s)
{
    return !s || !*s;
}

/* Checks a mappings value: every item "physnet:name", each name a valid
 * interface name.  Returns 0 or EINVAL with a message. */
static int
check_mappings(const char *option, const char *value, char *err,
               size_t err_size)
{
    char iface[NETNS_IFNAME_LEN];

    /* A lookup parses every item; no physical network is named " ". */
    if (!blank(value) && netns_physnet_lookup(value, " ", iface) == EINVAL) {
        snprintf(err, err_size, "%s: '%s' is not a list of "
                 "physnet:interface (interface names up to %d characters)",
                 option, value, NETNS_IFNAME_LEN - 1);
        return EINVAL;
    }
    return 0;
}

int
netns_host_configure(const struct netns_host_config *cfg, char *err,
                     size_t err_size)
{
    struct netns_addr local_ip = { 0 }, group = { 0 };
    int error;

    error = check_mappings("[linux_bridge] physical_interface_mappings",
                           cfg->physical_interface_mappings, err, err_size);
    if (!error) {
        error = check_mappings("[linux_bridge] bridge_mappings",
                               cfg->bridge_mappings, err, err_size);
    }
    if (error) {
        return error;
    }
    if (!blank(cfg->local_ip)
        && (netns_addr_parse(cfg->local_ip, &local_ip)
            || local_ip.plen != (local_ip.family == AF_INET ? 32u : 128u))) {
        snprintf(err, err_size, "[vxlan] local_ip: '%s' is not an IP "
                 "address", cfg->local_ip);
        return EINVAL;
    }
    if (!blank(cfg->vxlan_group)
        && (netns_addr_parse(cfg->vxlan_group, &group)
            || group.plen != (group.family == AF_INET ? 32u : 128u))) {
        /* A group given as a prefix (Neutron allows "239.1.0.0/16" to
         * spread VNIs over groups) is used by its first address. */
        if (netns_addr_parse(cfg->vxlan_group, &group)) {
            snprintf(err, err_size, "[ml2_type_vxlan] vxlan_group: '%s' is "
                     "not an IP address", cfg->vxlan_group);
            return EINVAL;
        }
        group.plen = group.family == AF_INET ? 32 : 128;
    }
    if (group.family && local_ip.family && group.family != local_ip.family) {
        snprintf(err, err_size, "[ml2_type_vxlan] vxlan_group and [vxlan] "
                 "local_ip are of different address families");
        return EINVAL;
    }

    free(host.interface_mappings);
    free(host.bridge_mappings);
    host.interface_mappings = xstrdup(blank(cfg->physical_interface_mappings)
                                      ? "" : cfg->physical_interface_mappings);
    host.bridge_mappings = xstrdup(blank(cfg->bridge_mappings)
                                   ? "" : cfg->bridge_mappings);
    host.vxlan = cfg->enable_vxlan && local_ip.family;
    host.local_ip = local_ip;
    host.group = group;
    host.configured = true;
    return 0;
}

bool
netns_host_configured(void)
{
    return host.configured;
}

int
netns_host_network(const char *bridge, const char *network_type,
                   const char *physical_network, int64_t segmentation_id,
                   struct netns_network *net, bool *operator_bridge,
                   char *err, size_t err_size)
{
    char mapped[NETNS_IFNAME_LEN];

    memset(net, 0, sizeof *net);
    *operator_bridge = false;
    if (blank(bridge) || !str_copy(net->bridge, bridge, sizeof net->bridge)) {
        snprintf(err, err_size, "bad bridge name '%s'", bridge ? bridge : "");
        return EINVAL;
    }
    if (blank(network_type)) {
        snprintf(err, err_size, "%s: the network has no segment", bridge);
        return EINVAL;
    }
    if (!host.configured) {
        snprintf(err, err_size, "%s: this host's L2 options are not loaded "
                 "(the linuxbridge mechanism driver reads them: add it to "
                 "[ml2] mechanism_drivers)", bridge);
        return ENOENT;
    }

    if (!strcmp(network_type, "local")) {
        net->type = NETNS_NET_LOCAL;
        return 0;
    }
    if (!strcmp(network_type, "flat") || !strcmp(network_type, "vlan")) {
        bool vlan = !strcmp(network_type, "vlan");
        if (blank(physical_network)) {
            snprintf(err, err_size, "%s: %s network without a physical "
                     "network", bridge, network_type);
            return EINVAL;
        }
        if (!netns_physnet_lookup(host.bridge_mappings, physical_network,
                                  mapped)) {
            /* The operator's bridge: the agent uses it as it is. */
            str_copy(net->bridge, mapped, sizeof net->bridge);
            net->type = NETNS_NET_LOCAL;
            *operator_bridge = true;
            return 0;
        }
        if (netns_physnet_lookup(host.interface_mappings, physical_network,
                                 net->physical_interface)) {
            snprintf(err, err_size, "%s: physical network '%s' is not in "
                     "[linux_bridge] physical_interface_mappings of this "
                     "host", bridge, physical_network);
            return ENOENT;
        }
        net->type = vlan ? NETNS_NET_VLAN : NETNS_NET_FLAT;
        if (vlan) {
            if (segmentation_id < 1 || segmentation_id > 4094) {
                snprintf(err, err_size, "%s: VLAN id %lld out of range",
                         bridge, (long long) segmentation_id);
                return EINVAL;
            }
            net->vlan_id = (uint16_t) segmentation_id;
        }
        return 0;
    }
    if (!strcmp(network_type, "vxlan")) {
        if (!host.vxlan) {
            snprintf(err, err_size, "%s: VXLAN is off on this host ([vxlan] "
                     "enable_vxlan and local_ip)", bridge);
            return ENOENT;
        }
        if (segmentation_id < 1 || segmentation_id > 0xffffff) {
            snprintf(err, err_size, "%s: VNI %lld out of range", bridge,
                     (long long) segmentation_id);
            return EINVAL;
        }
        net->type = NETNS_NET_VXLAN;
        net->vni = (uint32_t) segmentation_id;
        net->local_ip = host.local_ip;
        net->group = host.group;
        return 0;
    }
    snprintf(err, err_size, "%s: network type '%s' cannot be realized by a "
             "Linux bridge on this host", bridge, network_type);
    return EOPNOTSUPP;
}

int
netns_host_bridge_ensure(const struct netns_network *net,
                         bool operator_bridge, char *err, size_t err_size)
{
    int error;

    if (operator_bridge) {
        /* Someone else's: it must be there, and we leave it alone. */
        if (!if_nametoindex(net->bridge)) {
            snprintf(err, err_size, "%s: bridge from [linux_bridge] "
                     "bridge_mappings does not exist", net->bridge);
            return ENODEV;
        }
        return 0;
    }
    pthread_mutex_lock(&bridge_mutex);
    error = netns_bridge_ensure(net, err, err_size);
    pthread_mutex_unlock(&bridge_mutex);
    return error;
}

int
netns_host_bridge_release(const char *bridge,
                          bool (*still_needed)(void *aux), void *aux,
                          bool *removed, char *err, size_t err_size)
{
    int error = 0;

    if (removed) {
        *removed = false;
    }
    pthread_mutex_lock(&bridge_mutex);
    if (!if_nametoindex(bridge)) {
        goto out;
    }
    if (still_needed && still_needed(aux)) {
        goto out;
    }
    error = netns_bridge_remove(bridge, false, err, err_size);
    if (error == EBUSY) {
        /* Router or instance interfaces still on it: it stays. */
        LOG_DBG(MOD, "%s: kept: %s", bridge, err);
        error = 0;
        if (err && err_size) {
            err[0] = '\0';
        }
    } else if (!error) {
        if (removed) {
            *removed = true;
        }
    }
out:
    pthread_mutex_unlock(&bridge_mutex);
    return error;
}
