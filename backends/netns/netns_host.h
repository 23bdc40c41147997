/* backends/netns/netns_host.h: this host's L2 configuration, and the one
 * place in the server that creates and removes network bridges.
 *
 * Two users make bridges on this host: the linuxbridge mechanism driver
 * (l2/mech_linuxbridge.c), when [linux_bridge] realize is on, for the ports
 * bound here; and the `netns` flavor driver (driver.c), for the router
 * interfaces it plugs.  Both describe a network the same way from its
 * segment and this host's linuxbridge-agent options ([linux_bridge]
 * physical_interface_mappings and bridge_mappings, [vxlan] enable_vxlan and
 * local_ip, [ml2_type_vxlan] vxlan_group), and both go through the
 * functions below, which serialize every bridge change of the process on
 * one mutex so that a bridge being removed for its last port and the same
 * bridge being ensured for a new one cannot interleave.
 *
 * The configuration is set once at start (by the linuxbridge mechanism
 * driver's init, which reads those options) and read-only afterwards. */
#ifndef HADRON_NETNS_HOST_H
#define HADRON_NETNS_HOST_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/netns/netns.h"

/* The options, as text in the agent's formats; NULL or "" = unset. */
struct netns_host_config {
    const char *physical_interface_mappings;    /* "physnet:iface,..." */
    const char *bridge_mappings;                /* "physnet:bridge,..." */
    bool enable_vxlan;
    const char *local_ip;                       /* VXLAN tunnel source */
    const char *vxlan_group;                    /* multicast group */
};

/* Sets this host's configuration (copied).  Returns 0, or EINVAL with a
 * message when a value is malformed.  Start-up only; a new call replaces
 * the old configuration (tests). */
int netns_host_configure(const struct netns_host_config *,
                         char *err, size_t err_size);

/* True once netns_host_configure() succeeded. */
bool netns_host_configured(void);

/* Describes in '*net' how this host realizes a network segment of type
 * 'network_type' ("flat", "vlan", "vxlan", "local") on
 * 'physical_network' (flat, vlan; NULL otherwise) with
 * 'segmentation_id' (vlan id, VNI; negative when none), plugged into
 * bridge 'bridge'.  Sets '*operator_bridge' when the physical network is in
 * bridge_mappings: that bridge is the operator's, to be used as it is and
 * never changed or removed.  Returns 0, or with a message: ENOENT when
 * this host cannot reach the segment (physical network not mapped, VXLAN
 * off or without local_ip), EINVAL for bad input, EOPNOTSUPP for a type the
 * linuxbridge agent has no device for (gre, geneve). */
int netns_host_network(const char *bridge, const char *network_type,
                       const char *physical_network, int64_t segmentation_id,
                       struct netns_network *net, bool *operator_bridge,
                       char *err, size_t err_size);

/* netns_bridge_ensure() under the host's bridge mutex.  For an operator
 * bridge only checks that it exists (ENODEV if not). */
int netns_host_bridge_ensure(const struct netns_network *,
                             bool operator_bridge, char *err,
                             size_t err_size);

/* Removes bridge 'bridge' (not forced: a bridge with router or VM
 * interfaces still attached stays) unless 'still_needed' (may be NULL),
 * asked under the host's bridge mutex, answers true.  Sets '*removed'
 * (may be NULL) when the bridge was deleted now.  Returns 0 also when
 * the bridge stays or did not exist. */
int netns_host_bridge_release(const char *bridge,
                              bool (*still_needed)(void *aux), void *aux,
                              bool *removed, char *err, size_t err_size);

#endif /* backends/netns/netns_host.h */
