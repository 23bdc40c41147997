/* backends/odl/odl_driver.h: the `odl` flavor driver, which keeps an
 * OpenDaylight-style SDN controller in sync with the routers of its
 * flavor over the controller's Neutron Northbound REST API.
 *
 * What reaches the controller
 * ---------------------------
 * Only what the routers of this driver's providers need: the routers,
 * their floating IPs, and the networks, subnets and ports they touch (the
 * router interface ports, the gateway port, the ports floating IPs point
 * at, their networks and the subnets of their addresses, the external
 * networks of gateways and floating IPs).  Routers of other flavors and
 * their ports never reach it.  As networking-odl does, a router interface
 * reaches the controller as its PORT (device_owner
 * network:router_interface, device_id the router), never as an
 * add_router_interface call; the gateway likewise as a port with
 * device_owner network:router_gateway.
 *
 * The networks, subnets and ports come with the router document: the
 * driver asks for its "l2" member (HADRON_L3_CAP_L2_DOCUMENT, see
 * flavors/driver.h).  An entry sends, in dependency order, what the
 * controller lacks
 * before the resource itself: network, subnet, router, port, floating IP
 * for creates; the reverse for deletes, where a network, subnet or port no
 * longer referred to by anything on the controller is removed after the
 * resource (the controller's own lists say what refers to what).  A
 * network, subnet or port that changed in the database since it was sent
 * is sent again (PUT) by the next entry of a router that touches it, and
 * by any full sync.
 *
 * With the ML2 mechanism driver (core/l3_mech.c: [ml2] mechanism_drivers
 * = ...,opendaylight_v2) a network an odl router has an interface or its
 * gateway on belongs to the controller whole (all its subnets and ports,
 * but floating IP ports and other flavors' router ports), and its changes
 * come as L2 entries of their own, so a rename, a new port, a port update
 * or delete reaches the controller without any router change.  The
 * router document says so ("l2": {"journaled": true}); then:
 *   network/subnet/port entry  (its document is the network now) a
 *                          deleted port or subnet is DELETEd; while the
 *                          network is touched, a VM port or subnet entry
 *                          ensures that object after its network and
 *                          subnets, any other entry (network, router port,
 *                          or a network the driver does not know the
 *                          controller to hold: the first touch) ensures
 *                          the whole network, networks and subnets first,
 *                          then ports, a router's port only once its
 *                          router is there (the router's entry sends it
 *                          after the router); once untouched, the network
 *                          leaves with its ports and subnets (a 409, a
 *                          router or floating IP still on it, is a RETRY:
 *                          their own entries remove them);
 *   router entries         also ensure the whole networks of their
 *                          document (networks and subnets before the
 *                          resource, ports after), which brings a network
 *                          at its first touch by any path (an interface,
 *                          a gateway, a flavor change); nothing is
 *                          collected after removals (the L2 entries do).
 * "Ensure" sends only what differs from what the driver knows the
 * controller holds, so an object reached by both kinds of entries is sent
 * once.  The router entries' own rules above are unchanged.
 *
 * Per entry ("router", "router_interface", "floatingip" x create, update,
 * delete):
 *   router create/update   POST/PUT routers (external_gateway_info,
 *                          routes, gw_port_id), then the gateway port;
 *                          an update removes a gateway port the router no
 *                          longer has;
 *   router delete          the router's ports and floating IPs still on
 *                          the controller, the router, then what is no
 *                          longer referred to;
 *   interface create       POST ports (the interface port);
 *   interface delete       DELETE ports/{id}, then its subnets and
 *                          network if nothing else refers to them;
 *   floatingip create/update  POST or PUT floatingips (whichever the
 *                          controller's copy needs: a floating IP moving
 *                          between two routers of this driver may meet its
 *                          old router's delete in either order);
 *   floatingip delete      DELETE unless the controller's copy now belongs
 *                          to another router, then the port it pointed at
 *                          if no other floating IP does.
 * A create or update whose resource no longer exists in the database (the
 * entry's 'router' lacks it) sends nothing: its delete follows.  Bodies are
 * Neutron's dicts, with tenant_id next to project_id and revision_number,
 * so the controller ignores a replayed, older state.
 *
 * Answers: 2xx done; 404 on DELETE and "already exists" (409) on POST
 * done (a POST answered 409 is followed by a PUT of the same body);
 * no answer (refused, unreachable, timed out), 503 and other 5xx: RETRY
 * (the journal backs off); other 4xx: FAILED (the resource goes ERROR,
 * the controller's answer is the reason).  A refusal after a step that
 * trusted the driver's memory of the controller (a dependency it believed
 * present) is retried once at once without that memory.
 *
 * Health and full sync
 * --------------------
 * As networking-odl, a canary network (id
 * bd8db3a8-2b30-4083-a8b3-b3fd46401142) marks a controller that holds our
 * state: health() GETs it; no answer is "unreachable", a 404 (while the
 * collection answers) is "lost state", so the core calls sync_all(), which
 * lists the controller, creates or updates everything the routers need in
 * dependency order, deletes every network, subnet, port, router and
 * floating IP they do not need (the controller serves one driver
 * instance), and finally creates the canary.
 *
 * Options, from [ml2_odl] (networking-odl's names), then [odl], then the
 * provider's own section (a later key overrides):
 *   url           the Northbound base (http://127.0.0.1:8080/controller/
 *                 nb/v2/neutron); https gets TLS
 *   username, password   HTTP basic auth (none)
 *   timeout       seconds (decimals allowed) per request (10)
 *   sync_timeout  seconds per request of a full sync and of health() (10)
 *   retry_count   how many times an entry answered a server error (5xx
 *                 other than 503) is retried: the retry_count+1-th server
 *                 error FAILS it, as networking-odl counts (its row's
 *                 retry_count); 0 = never fail (5).  Unanswered requests
 *                 and 503 never count.
 *   ca_file       PEM file of the CAs to verify an https controller with
 *                 (the system's)
 * networking-odl options that mean nothing here (port_binding_controller,
 * odl_features, ...) are accepted and ignored; any other makes init()
 * fail. */
#ifndef HADRON_ODL_DRIVER_H
#define HADRON_ODL_DRIVER_H 1

#include "flavors/driver.h"

extern const struct hadron_l3_driver_class odl_l3_class;

/* The canary network's id (networking-odl's). */
#define ODL_CANARY_NETWORK_ID "bd8db3a8-2b30-4083-a8b3-b3fd46401142"

#endif /* backends/odl/odl_driver.h */
