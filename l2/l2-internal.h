/* l2/l2-internal.h: what the files of l2/ share with each other.
 *
 * Names end in "__": they are for l2/ only.  Who owns what:
 *   network.c, segment.c, types.c, type_*.c  networks, segments, type drivers
 *   subnet.c, ipam.c                         subnets and IP allocation
 *   port.c, mech.c, mech_*.c                 ports, binding, mechanism drivers
 *   l2.c                                     start-up (api/l2_api.c registers the API)
 * Each function runs inside the caller's transaction unless it says
 * otherwise. */
#ifndef HADRON_L2_INTERNAL_H
#define HADRON_L2_INTERNAL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "l2/driver_api.h"

struct config;
struct db;
struct neutron_error;
struct op_ctx;
struct res_obj;

/* ---- Networks and segments (network.c, segment.c, types.c) ---- */

/* Loads network 'id'.  With 'visible_to' nonnull, only if that caller may
 * see it (else 404 NetworkNotFound). */
struct neutron_error *l2_network_get__(const struct op_ctx *visible_to,
                                       struct db *, const char *id,
                                       struct res_obj **out);

/* The segments of network 'id' in index order (caller frees '*segs'). */
struct neutron_error *l2_network_segments__(struct db *, const char *id,
                                            struct l2_segment **segs,
                                            size_t *n);

/* Type driver manager. */
char *l2_types_init__(const struct config *);
struct neutron_error *l2_types_sync__(struct db *);
const struct l2_type_class *l2_type_find__(const char *type);

/* ---- Subnets and IPAM (subnet.c, ipam.c) ---- */

/* Allocates the fixed IPs of a new port on 'network_id'.  'fixed_ips' is
 * the request's list of {"subnet_id", "ip_address"} (either or both), or
 * NULL for Neutron's default (one IPv4 address from the first subnet with
 * room, one from the first stateful IPv6 subnet with room).  Either way
 * every IPv6 auto-address (SLAAC, DHCPv6-stateless) subnet gives the port
 * its EUI-64 address made from 'mac', unless it is a router interface.
 * The port's row must already exist (foreign key); its device_owner is
 * read from it.  Writes the ipallocations rows.  Errors as Neutron: 409
 * IpAddressAlreadyAllocated, 409 IpAddressGenerationFailure, 400
 * InvalidIpForNetwork / InvalidIpForSubnet / InvalidInput, 404
 * SubnetNotFound. */
struct neutron_error *l2_ipam_allocate__(const struct op_ctx *,
                                         const char *network_id,
                                         const char *port_id, const char *mac,
                                         yajl_val fixed_ips);

/* Replaces the fixed IPs of 'port_id' with 'fixed_ips' (addresses kept
 * stay, others are freed and allocated atomically), as Neutron's
 * _update_ips_for_port: auto-addresses stay unless the port is a router
 * interface.  With 'fixed_ips' NULL the addresses stay, but EUI-64 ones
 * not made from 'mac' are made again (call it so when the MAC changes). */
struct neutron_error *l2_ipam_update__(const struct op_ctx *,
                                       const char *network_id,
                                       const char *port_id, const char *mac,
                                       yajl_val fixed_ips);

/* Frees every address of 'port_id'. */
struct neutron_error *l2_ipam_release__(const struct op_ctx *,
                                        const char *port_id);

/* Gives every port on 'network_id' but router interfaces its EUI-64
 * address on the new subnet 'subnet_id' if that is an auto-address
 * subnet (Neutron's add_auto_addrs_on_network_ports), bumping their
 * revision_number.  Does nothing for other subnets. */
struct neutron_error *l2_ipam_add_auto_addresses__(const struct op_ctx *,
                                                   const char *network_id,
                                                   const char *subnet_id);

/* Deletes the subnets of a network being deleted (after the in-use checks
 * passed) with their pools, DNS servers, routes, tags and any addresses
 * left; publishes EV_SUBNET PRECOMMIT_DELETE and runs the mechanism
 * drivers' subnet precommit for each (no subnet postcommit follows). */
struct neutron_error *l2_subnets_delete_for_network__(const struct op_ctx *,
                                                      const char *network_id);

/* ---- Ports and mechanism drivers (port.c, mech.c) ---- */

/* Loads the drivers [ml2] mechanism_drivers names, in its order (an
 * unknown or repeated name, or a driver whose init fails, is a start-up
 * error: a malloc'd message).  Start-up only; a new call replaces the
 * loaded list (tests). */
char *l2_mech_init__(const struct config *);

/* The built-in mechanism drivers (mech_logger.c, mech_linuxbridge.c). */
extern const struct l2_mech_class l2_mech_logger__;
extern const struct l2_mech_class l2_mech_linuxbridge__;

/* Adds a driver class that [ml2] mechanism_drivers may then name (the
 * built-ins are registered from the start).  Returns 0, or EEXIST for a
 * name already registered.  Start-up only (tests register fakes). */
int l2_mech_register__(const struct l2_mech_class *);

/* True if a loaded driver has a precommit (or postcommit) op for 'kind',
 * so callers may skip building a context nobody reads. */
bool l2_mech_has_ops__(const char *kind, bool postcommit);

/* Asks the loaded drivers in order to bind port mc->cur on 'host' with
 * 'vnic_type' (mc->segments nonempty); the first that binds wins.  Returns
 * true with '*out' filled (caller frees out->vif_details) and the driver's
 * name in '*driver' (if nonnull), or false if no driver binds.  Has no
 * side effects; see port.c for when it is called. */
bool l2_mech_bind_port__(const struct l2_mech_context *, const char *host,
                         const char *vnic_type, struct l2_binding *out,
                         const char **driver);

/* Runs every mechanism driver's precommit or postcommit for 'kind'
 * ("network", "subnet", "port").  Precommit: the first error is returned.
 * Postcommit: on create, the first error is returned; on update/delete
 * errors are logged and NULL returned. */
struct neutron_error *l2_mech_precommit__(const char *kind,
                                          const struct l2_mech_context *);
struct neutron_error *l2_mech_postcommit__(const char *kind,
                                           const struct l2_mech_context *);

/* Deletes the ports a network deletion takes with it (DHCP ports) and
 * answers 409 NetworkInUse if any other port remains. */
struct neutron_error *l2_ports_check_network_delete__(const struct op_ctx *,
                                                      const char *network_id);

#endif /* l2/l2-internal.h */
