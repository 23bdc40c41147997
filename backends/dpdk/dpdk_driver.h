/* backends/dpdk/dpdk_driver.h: the `dpdk` L3 flavor driver.
 *
 * Routers of a flavor served by `dpdk` live in a hadron-dpdk process (the
 * userspace dataplane of this directory) as VRFs.  The driver talks to it
 * over its control socket (PROTOCOL.md) and, whatever the journal entry (a
 * router, an interface, a floating IP; create, update or delete), converges
 * the router in the dataplane on the router document the entry carries
 * (flavors/driver.h): it reads the router back with "dump", then sends, in
 * one pipelined batch, only what differs (deletions first, so that a
 * floating IP or a subnet can move).  Applying an entry twice, or an old
 * entry after a newer one, changes nothing.  An entry whose router no
 * longer exists, or a router "delete", removes the router ("router_del").
 *
 * The document maps as follows:
 *   admin_state_up false            the router stays, without ports,
 *                                   routes, SNAT or floating IPs
 *   external_gateway_info.port      the external port: its first IPv4
 *                                   external fixed IP, with the prefix of
 *                                   the cidr that holds it; a default
 *                                   route via its gateway_ip; SNAT to that
 *                                   address when enable_snat
 *   interfaces                      one port per port_id, its first IPv4
 *                                   address with the cidr's prefix
 *   routes                          routes (IPv4)
 *   floatingips with a fixed IP     1:1 NAT (with a gateway only)
 * Each port is a TAP device of hadron-dpdk, "net_tap_<H>" with the
 * interface "tap<H>", H being 12 hex digits of a hash of the port id (ids
 * need not differ in their first characters; bridges take tap* members for
 * router and instance ports, never for the uplink), attached by
 * hadron-dpdk to the port's Linux bridge: vif_details bridge_name, else
 * "brq" + 11 characters of the network id (as the linuxbridge agent names
 * it).  The bridge is made sure of as the `netns` driver does it
 * (netns_host.h) when the document gives the network's segment (its "l2"
 * networks: the driver declares HADRON_L3_CAP_L2_DOCUMENT) and this host's
 * L2 options are loaded; otherwise it must exist, or, with
 * create_missing_bridges, a bare bridge is created.  So hadron-dpdk must
 * run in the server's network namespace (bridges are looked up there).
 *
 * What it cannot do (capabilities() and validate() say so): IPv6 (no
 * interfaces, routes or gateway addresses: the dataplane is IPv4 only),
 * more than one IPv4 address on the gateway port, more ports in one
 * hadron-dpdk process than its DPDK allows (RTE_MAX_ETHPORTS, 32 on
 * Debian: refused by the dataplane, the entry FAILED).
 *
 * Restarts.  hadron-dpdk draws a random instance id at start ("ping").
 * health() pings it: unreachable is unhealthy; a first contact, or an
 * instance id other than the one the last sync_all() configured, reports
 * a lost state, and the journal then calls sync_all(), which makes the
 * process hold exactly the given routers (removing any other router it
 * holds: one hadron-dpdk per provider) and re-sends every port so that
 * bridge attachments are repaired too.
 *
 * Results: RETRY when the socket cannot be reached or times out, when the
 * dataplane answers Unavailable (a table full, a device or bridge not
 * ready) or a bridge cannot be made yet; FAILED for a document it cannot
 * realize and for the dataplane's other refusals.
 *
 * Options ([dpdk] or the provider's section):
 *   control_socket = PATH        hadron-dpdk's socket
 *                                (/run/hadron/hadron-dpdk.sock)
 *   timeout_ms = N               per exchange with the dataplane   (5000)
 *   mtu = N                      router port MTU when the router   (1500)
 *                                document has no network MTU
 *   create_missing_bridges = BOOL  create a bare bridge for a port whose
 *                                network the host cannot describe (false)
 */
#ifndef HADRON_DPDK_DRIVER_H
#define HADRON_DPDK_DRIVER_H 1

#include <stdbool.h>

#include "flavors/driver.h"

extern const struct hadron_l3_driver_class dpdk_l3_class;

/* Inspection, for tests and the driver kit ('state' is what init() made;
 * not concurrently with another op of the instance).  What the dataplane
 * holds, as canonical text (malloc'd): routers with their ports, routes,
 * SNAT and floating IPs, sorted, without run-time indices; NULL if the
 * dataplane cannot be reached. */
char *dpdk_l3_dump(void *state);

/* True if the dataplane holds 'resource' ("router", "router_interface" by
 * port id, "floatingip" by the id of a floating IP this instance has
 * configured) 'id' under router 'router_id'. */
bool dpdk_l3_has(void *state, const char *resource, const char *router_id,
                 const char *id);

#endif /* backends/dpdk/dpdk_driver.h */
