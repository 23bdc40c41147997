/* core/l3.h: the L3 service: routers, their interfaces, external gateways
 * and extra routes, and floating IPs, each operation realized by the
 * flavor driver of the router concerned, through the journal.
 *
 * Public header of the L3 core for the API layer and the daemon. */
#ifndef HADRON_L3_H
#define HADRON_L3_H 1

#include <yajl/yajl_tree.h>

struct config;
struct db;
struct neutron_error;
struct op_ctx;
struct resource_def;

extern const struct resource_def l3_router_def;
extern const struct resource_def l3_floatingip_def;

/* Subscribes the L3 rules to L2 events and installs the journal hooks.
 * Returns NULL or a malloc'd message.  After l2_init() and
 * l3_registry_init(), before journal_start(). */
char *l3_init(const struct config *cfg);

/* Registers the ML2 mechanism driver "opendaylight_v2" (l3_mech.c), which
 * journals network, subnet and port changes for the providers whose
 * driver wants the l2 member of its router documents.  Before l2_init(),
 * so that [ml2] mechanism_drivers may name it. */
void l3_mech_register(void);

/* The router actions (PUT /v2.0/routers/{id}/<action>), each in its own
 * transaction with Neutron's answers and refusals.  'body' is the request
 * body as given (NULL if none): {"subnet_id": ...} and/or {"port_id": ...},
 * not wrapped, for the interface actions; {"router": {"routes": [...]}}
 * for the extra routes ones.  On success stores the answer body, JSON
 * text (malloc'd), in '*answer': the interface info for the interface
 * actions, {"router": {...}} for the others. */
struct neutron_error *l3_router_add_interface(const struct op_ctx *,
                                              const char *router_id,
                                              yajl_val body, char **answer);
struct neutron_error *l3_router_remove_interface(const struct op_ctx *,
                                                 const char *router_id,
                                                 yajl_val body,
                                                 char **answer);
struct neutron_error *l3_router_add_extraroutes(const struct op_ctx *,
                                                const char *router_id,
                                                yajl_val body, char **answer);
struct neutron_error *l3_router_remove_extraroutes(const struct op_ctx *,
                                                   const char *router_id,
                                                   yajl_val body,
                                                   char **answer);

#endif /* core/l3.h */
