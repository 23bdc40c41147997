/* core/l3-internal.h: what the files of the L3 core share.
 *
 * Who owns what:
 *   l3_router.c   routers, flavor binding, gateway, routes, interfaces
 *                 (and the router actions of the API)
 *   l3_fip.c      floating IPs
 *   l3_events.c   the L3 rules subscribed to L2 events
 *   l3_doc.c      the router document and the journal hooks
 *   journal.c     the journal (core/journal.h)
 * Functions run inside the caller's transaction unless they say
 * otherwise. */
#ifndef HADRON_L3_INTERNAL_H
#define HADRON_L3_INTERNAL_H 1

#include <stdbool.h>
#include <stdint.h>

struct db;
struct neutron_error;
struct op_ctx;
struct res_obj;
struct l3_provider;

/* The provider that serves router 'router_id' (from router_provider), or
 * a 404 RouterNotFound. */
struct neutron_error *l3_router_provider__(struct db *, const char *router_id,
                                           const struct l3_provider **out);

/* Refuses (400, naming the flavor) an operation needing capability 'cap'
 * (HADRON_L3_CAP_*) that the router's provider lacks. */
struct neutron_error *l3_check_capability__(const struct l3_provider *,
                                            unsigned int cap,
                                            const char *what);

/* Records a journal entry for router 'router_id' with its provider. */
struct neutron_error *l3_journal__(const struct op_ctx *,
                                   const struct l3_provider *,
                                   const char *resource,
                                   const char *operation,
                                   const char *resource_id,
                                   const char *router_id, int64_t revision,
                                   const char *data);

/* Router document (l3_doc.c): the JSON described in flavors/driver.h, or
 * NULL if the router does not exist. */
char *l3_router_document__(struct db *, const char *router_id);
/* The same inside the caller's transaction, with errors: stores the
 * document (malloc'd) in '*doc', or NULL if the router does not exist. */
struct neutron_error *l3_router_doc__(struct db *, const char *router_id,
                                      char **doc);
/* The document of a router that has nothing yet (no gateway, routes,
 * interfaces or floating IPs), built without a query (malloc'd). */
char *l3_router_doc_new__(const char *id, const char *name,
                          const char *project_id, bool admin_state_up,
                          const char *flavor_id);

/* Floating IPs (l3_fip.c) that a router change affects. */
/* Fails with 409 RouterExternalGatewayInUseByFloatingIp when FIPs of the
 * router use its gateway on 'network_id'. */
struct neutron_error *l3_fips_check_gateway_change__(struct db *,
                                                     const char *router_id,
                                                     const char *network_id);
/* Fails with 409 RouterInterfaceInUseByFloatingIP when FIPs reach fixed
 * IPs on 'subnet_id' through router 'router_id'. */
struct neutron_error *l3_fips_check_interface_removal__(struct db *,
                                                        const char *router_id,
                                                        const char *subnet_id);
/* Re-journals every FIP of a router for its (new) provider: used when a
 * router changes flavor. */
struct neutron_error *l3_fips_rejournal__(const struct op_ctx *,
                                          const char *router_id,
                                          const struct l3_provider *old,
                                          const struct l3_provider *new_);
/* Disassociates every FIP of port 'port_id' (being deleted), journaling
 * a delete for each old router's driver (l3_events.c, PRECOMMIT_DELETE of
 * a port). */
struct neutron_error *l3_fips_disassociate_port__(const struct op_ctx *,
                                                  const char *port_id);
/* Fails with 400 when a FIP points at a fixed IP of 'port_id' that is not
 * in 'fixed_ips_json' (the port's fixed_ips after an update, JSON). */
struct neutron_error *l3_fips_check_port_ips__(struct db *,
                                               const char *port_id,
                                               const char *fixed_ips_json);

/* Events (l3_events.c). */
void l3_events_subscribe__(void);

/* True once the "opendaylight_v2" mechanism driver (l3_mech.c) is
 * loaded: networks, subnets and ports then reach drivers that want the
 * l2 member through L2 journal rows of their own, and that member holds
 * whole networks (l3_doc.c). */
bool l3_l2_journaled__(void);
/* Sets '*touched' if a router of 'provider' has an interface or its
 * gateway on network 'network_id' (l3_doc.c). */
/* A router leaves provider 'old' for another flavor: records for 'old',
 * when it gets L2 entries, a "network" "update" entry for each network
 * the router has a port on (l3_mech.c), in the caller's transaction. */
struct neutron_error *l3_mech_router_moved__(const struct op_ctx *,
                                             const char *router_id,
                                             const struct l3_provider *old);
struct neutron_error *l3_network_touched__(struct db *,
                                           const char *network_id,
                                           const char *provider,
                                           bool *touched);

#endif /* core/l3-internal.h */
