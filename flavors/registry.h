/* flavors/registry.h: the L3 flavor drivers known to this server, and the
 * only code that calls their ops.
 *
 * Drivers come from [service_providers] service_provider lines, as in
 * Neutron:  service_provider = L3_ROUTER_NAT:<name>:<driver>[:default]
 * where <driver> is a built-in driver name ("noop", "netns", "dpdk",
 * "odl") or the path of a vendor shared object exporting
 * HADRON_L3_DRIVER_SYMBOL.  Each line makes one provider instance; the one
 * marked default serves routers created without a flavor.
 *
 * The wrappers below check arguments, treat a NULL op as "nothing to do",
 * count and log, so drivers do not repeat that.  The registry is filled at
 * start and read-only afterwards. */
#ifndef HADRON_FLAVORS_REGISTRY_H
#define HADRON_FLAVORS_REGISTRY_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flavors/driver.h"

struct config;

/* One configured provider: a name and a driver instance. */
struct l3_provider;

/* Loads every service_provider line of 'cfg' and initialises its driver.
 * Without any line, configures "L3_ROUTER_NAT:noop:noop:default".  A
 * driver's init() gets the options of section [ml2_<driver name>] (the
 * section of the networking-* driver a built-in replaces, e.g. [ml2_odl]),
 * then [<driver name>], then [<provider name>] when that differs (a later
 * key overrides).
 * Returns NULL or a malloc'd message (unknown driver, bad line, a second
 * default, a provider name used twice, a vendor object that cannot be
 * loaded, lacks the symbol, has the wrong API version or a driver name
 * already taken, init failure); on failure nothing stays initialised. */
char *l3_registry_init(const struct config *cfg);

/* Checks the service_provider lines of 'cfg' as l3_registry_init() does
 * (syntax, service type, names, a single default, known drivers, vendor
 * objects that load with the right symbol and API version) without
 * calling any driver's init(): nothing starts.  Returns NULL or a
 * malloc'd message.  Not while the registry is initialised. */
char *l3_registry_check(const struct config *cfg);

/* Loads the providers of 'cfg' as l3_registry_check() checks them and
 * keeps them, without calling any driver's init(): names, drivers and the
 * default are known, no driver runs (capabilities, validate, apply, health
 * and the rest must not be called).  For tools that only need the names
 * (hadron-manage flavor).  Undo with l3_registry_destroy(). */
char *l3_registry_load(const struct config *cfg);

/* Destroys every instance (at exit) and forgets the classes that
 * l3_registry_add_class() added, so that l3_registry_init() may run
 * again (tests). */
void l3_registry_destroy(void);

/* Registers a driver class (start-up): 0, EEXIST for a duplicate name,
 * EPROTO for another api_version, EINVAL for a class without a name,
 * capabilities() or apply(), ENOSPC when full.  The built-ins register
 * themselves from a static table in l3_registry_init(); tests may add
 * their own before calling it. */
int l3_registry_add_class(const struct hadron_l3_driver_class *);

/* Providers, in configuration order. */
size_t l3_provider_count(void);
const struct l3_provider *l3_provider_at(size_t i);
/* The provider named 'name' (the service_provider's <name>, which service
 * profiles name as their 'driver'), or NULL. */
const struct l3_provider *l3_provider_find(const char *name);
/* The provider a service profile's 'driver' names: the provider of that
 * name, else the first whose driver has that name (its class name, or the
 * <driver> text of its line), or NULL. */
const struct l3_provider *l3_provider_find_driver(const char *driver);
/* The default provider, or NULL if none is marked default. */
const struct l3_provider *l3_provider_default(void);

const char *l3_provider_name(const struct l3_provider *);
const char *l3_provider_driver_name(const struct l3_provider *);
bool l3_provider_is_default(const struct l3_provider *);

/* The state the driver's init() made, for in-process tests and the driver
 * kit that inspect a driver they know (e.g. backends/noop/noop.h).  Never
 * for calling ops: use the wrappers. */
void *l3_provider_state(const struct l3_provider *);

/* What the wrappers counted. */
struct l3_provider_stats {
    uint64_t validate_calls, validate_refused;
    uint64_t apply_ok, apply_retry, apply_failed;
    uint64_t sync_calls, sync_failed;
    uint64_t health_calls, health_bad;
};
void l3_provider_get_stats(const struct l3_provider *,
                           struct l3_provider_stats *);

/* Wrappers of the driver ops.  Each checks its arguments (a NULL provider
 * or an entry missing a field: validate refuses, apply and sync_all fail),
 * gives the driver an empty message buffer (a NULL one is allowed: the
 * wrapper uses its own), fills in a message when the driver gave none,
 * counts and logs (apply: DBG when done, rate-limited WARN on RETRY and
 * FAILED; health: WARN when it turns bad, INFO when it recovers).
 * NULL ops:  validate  -> accepted;
 *            sync_all  -> a "router" "create" entry per router, carrying
 *                         the document as data and router, applied in
 *                         order (the first non-OK result is returned);
 *            health    -> healthy, no lost state;
 *            capabilities, apply (refused at registration) -> 0, FAILED.
 * A result outside enum hadron_l3_result counts as FAILED. */
unsigned int l3_provider_capabilities(const struct l3_provider *);
bool l3_provider_validate(const struct l3_provider *,
                          const struct hadron_l3_entry *, char *err,
                          size_t err_size);
enum hadron_l3_result l3_provider_apply(const struct l3_provider *,
                                        const struct hadron_l3_entry *,
                                        char *msg, size_t msg_size);
enum hadron_l3_result l3_provider_sync_all(const struct l3_provider *,
                                           const char *const *routers,
                                           size_t n, char *msg,
                                           size_t msg_size);
bool l3_provider_health(const struct l3_provider *, bool *lost_state,
                        char *msg, size_t msg_size);

/* What the last l3_provider_health() said (true before the first).  For
 * readers on other threads (/metrics): health() itself is an op, run by
 * the provider's dispatcher only, since a driver's ops never overlap (an
 * odl client's one connection cannot serve two threads), and a scrape
 * must not wait on a backend. */
bool l3_provider_was_healthy(const struct l3_provider *);

/* True if the provider's driver has a sync_all() of its own (the journal
 * gives those a full sync at start; without one, a sync replays a create
 * per router, which the journal does only for a lost state). */
bool l3_provider_has_sync_all(const struct l3_provider *);

#endif /* flavors/registry.h */
