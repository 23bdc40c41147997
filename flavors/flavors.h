/* flavors/flavors.h: Neutron's flavors extension for routers: the
 * `flavors` and `service_profiles` resources, their association, and the
 * choice of a router's provider from its flavor.
 *
 * A flavor (service_type L3_ROUTER_NAT, the only one served here) is
 * bound to service profiles; a profile names a `driver`: a configured
 * provider (flavors/registry.h), by its provider name or its driver name.
 * Writes are admin-only; everyone lists and shows flavors, non-admins only
 * the enabled ones; service profiles are visible to admins only.  Public
 * header of the module for the API layer and the router code. */
#ifndef HADRON_FLAVORS_H
#define HADRON_FLAVORS_H 1

struct db;
struct neutron_error;
struct op_ctx;
struct l3_provider;
struct resource_def;

/* The one service type flavors may have here. */
#define FLAVORS_SERVICE_TYPE "L3_ROUTER_NAT"

extern const struct resource_def l3_flavor_def;
extern const struct resource_def l3_service_profile_def;

/* The provider a router created with 'flavor_id' gets, inside the
 * caller's transaction on 'db'.  'flavor_id' NULL: the default provider,
 * or 400 DefaultServiceProviderNotFound if none is configured.  Otherwise,
 * as Neutron's flavor plugin plus the checks it forgets:
 *   404 FlavorNotFound                       no such flavor;
 *   400 InvalidFlavorServiceType             not L3_ROUTER_NAT;
 *   400 FlavorDisabled                       flavor not enabled;
 *   404 FlavorServiceProfileBindingNotFound  no profile bound;
 *   503 ServiceProfileDisabled               every bound profile disabled;
 *   404 ServiceProfileDriverNotFound         the profile's driver is not a
 *                                            configured provider.
 * The first enabled bound profile (by id) decides.  On success stores the
 * provider in '*out' and returns NULL. */
struct neutron_error *flavors_resolve(struct db *, const char *flavor_id,
                                      const struct l3_provider **out);

/* Associates service profile 'profile_id' with flavor 'flavor_id' in its
 * own transaction (POST /v2.0/flavors/{id}/service_profiles).  403 for
 * non-admins, 404 FlavorNotFound / ServiceProfileNotFound, 409
 * FlavorServiceProfileBindingExists. */
struct neutron_error *flavors_bind_profile(const struct op_ctx *,
                                           const char *flavor_id,
                                           const char *profile_id);

/* Dissociates them in its own transaction (DELETE
 * /v2.0/flavors/{id}/service_profiles/{profile_id}).  403 for non-admins,
 * 404 FlavorServiceProfileBindingNotFound. */
struct neutron_error *flavors_unbind_profile(const struct op_ctx *,
                                             const char *flavor_id,
                                             const char *profile_id);

/* What flavors_ensure() did. */
enum flavors_ensure_result {
    FLAVORS_EXISTED,            /* already there, bound to 'provider' */
    FLAVORS_BOUND,              /* there; a profile for 'provider' bound */
    FLAVORS_CREATED,            /* flavor, profile and binding created */
};

/* The operator's set-up helper (hadron-manage flavor setup): makes sure,
 * in one transaction, that an L3_ROUTER_NAT flavor named 'name' exists
 * and is bound to an enabled service profile whose driver is 'provider'
 * (a configured provider's name), creating what is missing.  Run twice,
 * it changes nothing.  A flavor of that name bound to a profile of
 * another driver is left alone: 409 Conflict.  Admin only.  On success
 * stores the flavor's id in 'flavor_id' and what was done in '*result'. */
struct neutron_error *flavors_ensure(const struct op_ctx *, const char *name,
                                     const char *provider,
                                     char flavor_id[37],
                                     enum flavors_ensure_result *result);

#endif /* flavors/flavors.h */
