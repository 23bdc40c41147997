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
 * bridge_name, else "brq" + 11 characters of the network id.  When a
 * router leaves a bridge (an interface or the gateway removed, the router
 * deleted, a stale namespace removed by a sync), the driver removes that
 * bridge, under the host's bridge mutex shared with the linuxbridge
 * mechanism driver, if nothing but its uplink is attached any more: a
 * bridge with tap interfaces (another router's, an instance's) stays and
 * goes with its last port bound here (l2/mech_linuxbridge.c,
 * [linux_bridge] realize).  Operator bridges (bridge_mappings) are never
 * removed.  Known limit: a bridge the mechanism driver made for an
 * instance port bound here but not plugged yet has no tap, so it is
 * removed with the router's last interface on it; plugging that port
 * then fails until the port is bound again.
 *
 * The driver remembers the document it last applied to each router; an
 * entry carrying the same document (a replay after a crash, or the later
 * entries of a burst, which all carry the router as it is now) is
 * answered OK without touching the kernel.  A full sync forgets all that
 * and converges every router again.
 *
 * Ownership.  The driver marks each namespace it realizes with a file
 * named by the router id in its state directory ([netns] state_dir,
 * default /run/hadron/netns/<host>), written before the namespace is
 * created and removed after it is destroyed; it lists, one a line, the
 * bridges the driver made for the router, so that they can be removed
 * with it also after a restart.  sync_all() builds every
 * router of the documents and destroys the marked namespaces that no
 * document names; `qrouter-` namespaces without a mark (another server
 * on this machine, a Neutron L3 agent, a test) are left alone unless
 * [netns] remove_unmarked = true.  Several hadron servers may thus share a
 * host if their [DEFAULT] host names differ; one server has at most one
 * `netns` provider.
 *
 * The journal gives the driver a full sync at start (it has a sync_all()).
 * health() then looks for drift: on each call it reads back up to 8 of
 * the routers it holds (round-robin) and compares a digest of what the
 * kernel has (interfaces, addresses, routes, NAT rules and floating IPs)
 * with the digest read at the first check after the router's last apply;
 * a difference (an address or NAT rule removed by hand) or a vanished
 * namespace reports a lost state, and the journal's full sync repairs it.
 * So a change behind the driver's back is repaired within about
 * ceil(routers / 8) health intervals ([journal] health_interval_ms).
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
