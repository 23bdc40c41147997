/* backends/netns/netns_driver.h: the `netns` L3 flavor driver.
 *
 * Routers of a flavor served by `netns` are real on this host: one network
 * namespace `qrouter-<id>` each, converged by netns_router_apply() (see
 * netns.h) on the router document every journal entry carries.  Whatever
 * the entry (a router, an interface, a floating IP; create, update or
 * delete), apply() makes the kernel hold the router as the document says,
 * so applying an entry twice, or an old entry after a newer one, is
 * harmless.  A "router" "delete" entry, or an entry whose router no longer
 * exists, removes the namespace.
 *
 * The bridges router interfaces plug into are made as the linuxbridge
 * agent would make them on this host (netns_host.h, from [linux_bridge]
 * and [vxlan]): the driver asks for the document's "l2" member
 * (HADRON_L3_CAP_L2_DOCUMENT) for each network's segment (type, physical
 * network, segmentation id); a port's bridge is its vif_details
 * bridge_name, else "brq" + 11 characters of the network id.  Bridges are
 * never removed by this driver: they belong to the network and go with
 * its last port bound here (l2/mech_linuxbridge.c, [linux_bridge]
 * realize).
 *
 * The driver remembers the document it last applied to each router; an
 * entry carrying the same document (a replay after a crash, or the later
 * entries of a burst, which all carry the router as it is now) is
 * answered OK without touching the kernel.  A full sync forgets all that
 * and converges every router again.
 *
 * Ownership.  The driver marks each namespace it realizes with an empty
 * file named by the router id in its state directory ([netns] state_dir,
 * default /run/hadron/netns/<host>), written before the namespace is
 * created and removed after it is destroyed.  sync_all() builds every
 * router of the documents and destroys the marked namespaces that no
 * document names; `qrouter-` namespaces without a mark (another server
 * on this machine, a Neutron L3 agent, a test) are left alone unless
 * [netns] remove_unmarked = true.  Several hadron servers may thus share a
 * host if their [DEFAULT] host names differ; one server has at most one
 * `netns` provider.
 *
 * health() asks for a full sync on its first call after start (the driver
 * has not compared the kernel with the database yet) and whenever a
 * marked router's namespace has disappeared.
 *
 * Results: RETRY for kernel failures that may pass (a busy or missing
 * device, a race with another change); FAILED for a document the driver
 * cannot realize (malformed, a network this host cannot reach, VLAN on a
 * kernel without 8021q, no privileges).
 *
 * Options ([netns]):
 *   state_dir = PATH          where the marks live
 *   remove_unmarked = BOOL    sync_all() also removes unmarked namespaces
 *                             that no router owns                  (false)
 */
#ifndef HADRON_NETNS_DRIVER_H
#define HADRON_NETNS_DRIVER_H 1

#include "flavors/driver.h"

extern const struct hadron_l3_driver_class netns_l3_class;

#endif /* backends/netns/netns_driver.h */
