/* backends/netns/netns_vif.h: plugging an instance's interface into a
 * network's bridge on this host, as a compute node's VIF driver does.
 *
 * An "instance" here is a named network namespace (/run/netns/<name>, as
 * `ip netns add` makes it): the test harness's VMs and the
 * contrib/hadron-plug-vif tool use it.  The VIF is a veth pair: its host
 * end, `tap` + the first 11 characters of the port id as Nova and the
 * linuxbridge agent name it, is enslaved to the bridge the port's
 * binding:vif_details name; its other end, inside the namespace, gets the
 * port's MAC and IP addresses and a default route through the subnet's
 * gateway.  Needs CAP_NET_ADMIN and CAP_SYS_ADMIN. */
#ifndef HADRON_NETNS_VIF_H
#define HADRON_NETNS_VIF_H 1

#include <stddef.h>
#include <stdint.h>

#include "backends/netns/netns.h"

struct netns_vif {
    char port_id[NETNS_ID_LEN];         /* names the tap end */
    char netns[NETNS_NSNAME_LEN];       /* instance namespace; created if
                                         * missing */
    char ifname[NETNS_IFNAME_LEN];      /* inside; "" = "eth0" */
    char bridge[NETNS_IFNAME_LEN];      /* must exist */
    uint8_t mac[6];
    struct netns_addr ips[NETNS_PORT_MAX_IPS];  /* address/subnet prefix */
    size_t n_ips;
    struct netns_addr gateway;          /* IPv4 default route; family 0 =
                                         * none */
    struct netns_addr gateway6;         /* IPv6 default route; family 0 =
                                         * none */
};

/* Plugs 'vif' (re-plugs it when its tap or inner interface exists
 * already).  Returns 0 or a positive errno with a message in 'err'
 * (ENODEV: the bridge does not exist, i.e. the network is not realized on
 * this host). */
int netns_vif_plug(const struct netns_vif *vif, char *err, size_t err_size);

/* Removes the VIF of port 'port_id' (its tap end and so the pair).
 * Returns 0 also when there is none. */
int netns_vif_unplug(const char *port_id, char *err, size_t err_size);

#endif /* backends/netns/netns_vif.h */
