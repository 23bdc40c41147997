/* backends/noop/noop.h: the reference flavor driver.
 *
 * `noop` realizes nothing: it keeps, in memory, what it was told (every
 * router, router interface and floating IP it holds, per router, with the
 * revision and data of the last entry applied) and answers OK.  It is
 * complete (every op, every capability) so the core, the journal, the
 * driver kit and the API tests can run against it, and it is the driver
 * to read before writing one (contrib/driver-skeleton/ is the same shape
 * as a stand-alone shared object).
 *
 * Entries are applied with "set" semantics, so applying one twice changes
 * nothing: create/update store (resource, router, id) -> (revision, data),
 * skipping an entry older than what is held; delete removes it (a router's
 * delete also removes what it held under that router).  Each OK apply logs
 * at INFO:  "noop: apply <seq> <resource> <operation> <resource_id>".
 *
 * Options, from [noop] or the provider's own section [<provider name>]
 * (test knobs; unknown options make init() fail):
 *   capabilities = all | none | a comma-separated list of snat, gateway,
 *                  floatingip, extra_routes, ipv6, admin_down   (all)
 *   fail_first = N        the first N apply() calls answer RETRY (logged
 *                         "noop: retry <seq> ...")                  (0)
 *   fail_permanently_resource_id = ID[,ID...]   apply() of an entry for
 *                         one of these resource ids answers FAILED every
 *                         time (logged "noop: fail <seq> ...")       ()
 *   refuse_name = NAME    validate() refuses an entry whose data has
 *                         "name": NAME, with "noop: refused name NAME" ()
 */
#ifndef HADRON_NOOP_H
#define HADRON_NOOP_H 1

#include <stdbool.h>
#include <stdint.h>

#include "flavors/driver.h"

extern const struct hadron_l3_driver_class noop_l3_class;

/* Inspection, for tests and the driver kit.  'state' is the instance that
 * init() made (flavors/registry.h: l3_provider_state()).  Thread-safe
 * against the instance's ops. */

/* What the instance holds, as canonical JSON text (malloc'd): an array of
 * {"resource", "router_id", "id", "revision"} sorted by resource, router
 * and id.  Equal texts = equal backend states. */
char *noop_l3_dump(void *state);

/* True if it holds 'resource' ("router", "router_interface",
 * "floatingip") 'id' under router 'router_id' (NULL: under any router). */
bool noop_l3_has(void *state, const char *resource, const char *router_id,
                 const char *id);

struct noop_l3_counts {
    uint64_t applies;           /* apply() calls */
    uint64_t ok, retried, failed;
    uint64_t syncs;             /* sync_all() calls */
    uint64_t held;              /* items held now */
};
void noop_l3_get_counts(void *state, struct noop_l3_counts *);

/* Forgets everything held and makes health() report a lost state until
 * the next sync_all() (a backend restarting empty). */
void noop_l3_simulate_loss(void *state);

#endif /* backends/noop/noop.h */
