/* flavors/driver.h: the public interface of an L3 flavor driver.
 *
 * This is the one header a vendor writes a router backend against; it is
 * installed with Hadron and names nothing else of Hadron's.  A driver is a
 * `const struct hadron_l3_driver_class`: a table of function pointers with
 * a name, registered with the core (built-in drivers from a static table,
 * vendor drivers from a shared object named in the configuration, which
 * exports the symbol `hadron_l3_driver` pointing at its class).
 *
 * How the core uses a driver
 * --------------------------
 * Every router is bound to a flavor, and the flavor to a driver.  Every
 * change to a router that the driver must realize (the router itself, its
 * external gateway and SNAT, its extra routes, its interfaces, the
 * floating IPs it serves) is written to a journal in the same database
 * transaction as the change.  After the commit, a dispatcher thread of the
 * driver hands the entries to apply(), one at a time per router, in the
 * order they were committed.  The driver answers:
 *   HADRON_L3_OK      done; the resource goes ACTIVE;
 *   HADRON_L3_RETRY   a passing failure (peer down, timeout): the core
 *                     backs off and calls apply() again with the same entry;
 *   HADRON_L3_FAILED  a permanent failure: the resource goes to ERROR and
 *                     the message is logged and kept with the entry.
 * Delivery is at least once: after a crash between apply() and the core
 * recording the result, the same entry comes again.  apply() must
 * therefore be idempotent (applying an entry twice changes nothing).
 *
 * Each entry carries the resource as committed ('data') and the whole
 * router as it is now in the database ('router'), so a driver may either
 * act on the single change (a controller that wants one REST call per
 * resource) or converge the router to 'router' (a dataplane that rebuilds
 * its state), whichever is simpler for it.
 *
 * sync_all() receives every router of the driver and must make the
 * backend hold exactly those (create what is missing, remove what no
 * longer exists): the core calls it at start and when health() reports
 * that the backend lost its state.
 *
 * Threads: init() and destroy() run on the main thread; capabilities()
 * and validate() on the API's threads, at any time (they may only read
 * what init() set); apply(), sync_all() and health() on the driver's own
 * dispatcher thread, never concurrently with one another (nothing else,
 * /metrics included, calls them).  Those may block (they never hold up
 * the API), but should bound their waits with timeouts.
 *
 * Strings: all `const char *` given to an op are valid during the call
 * only. */
#ifndef HADRON_FLAVORS_DRIVER_H
#define HADRON_FLAVORS_DRIVER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Raised when this header changes incompatibly; the core refuses a driver
 * built against another version. */
#define HADRON_L3_DRIVER_API_VERSION 1

/* What a driver can do; an operation needing a capability the router's
 * driver lacks is refused at the API with a 400 naming the flavor. */
enum hadron_l3_capability {
    HADRON_L3_CAP_SNAT = 1 << 0,         /* external gateway with SNAT */
    HADRON_L3_CAP_GATEWAY = 1 << 1,      /* external gateway (no SNAT) */
    HADRON_L3_CAP_FLOATINGIP = 1 << 2,   /* 1:1 NAT floating IPs */
    HADRON_L3_CAP_EXTRA_ROUTES = 1 << 3, /* routes */
    HADRON_L3_CAP_IPV6 = 1 << 4,         /* IPv6 interfaces */
    HADRON_L3_CAP_ADMIN_DOWN = 1 << 5,   /* admin_state_up = false */
    /* Not an ability but a request: the driver wants the "l2" member of
     * the router document (below), for a backend that must also be told
     * the networks, subnets and ports a router touches (a controller). */
    HADRON_L3_CAP_L2_DOCUMENT = 1 << 6,
};

enum hadron_l3_result {
    HADRON_L3_OK,
    HADRON_L3_RETRY,
    HADRON_L3_FAILED,
};

/* One journal entry. */
struct hadron_l3_entry {
    int64_t seq;                /* commit order, unique */
    const char *resource;       /* "router", "router_interface",
                                 * "floatingip"; for a driver with
                                 * HADRON_L3_CAP_L2_DOCUMENT also
                                 * "network", "subnet", "port" when the
                                 * ML2 mechanism driver opendaylight_v2 is
                                 * loaded (below) */
    const char *operation;      /* "create", "update", "delete" */
    const char *resource_id;
    const char *router_id;      /* the router the entry belongs to */
    int64_t revision;           /* the resource's revision_number */
    const char *data;           /* JSON object: the resource as committed
                                 * (for delete: as it was) */
    const char *router;         /* JSON object: the whole router now (see
                                 * below), or NULL if it no longer exists */
};

/* The whole router ('router' above and sync_all()), as JSON:
 *   {"id", "name", "project_id", "admin_state_up", "flavor_id",
 *    "external_gateway_info": null | {"network_id", "enable_snat",
 *        "external_fixed_ips": [{"subnet_id", "ip_address"}],
 *        "port": {"id", "mac_address", "network_id", "cidrs": [...],
 *                 "gateway_ip", "vif_details": {...}}},
 *    "routes": [{"destination", "nexthop"}],
 *    "interfaces": [{"port_id", "mac_address", "network_id",
 *        "subnet_id", "ip_address", "cidr", "vif_details": {...},
 *        "network_type", "segmentation_id"}],
 *    "floatingips": [{"id", "floating_ip_address", "fixed_ip_address",
 *        "port_id", "floating_network_id", "project_id",
 *        "revision_number"}],
 *    "revision_number",
 *    "l2": only for a driver with HADRON_L3_CAP_L2_DOCUMENT:
 *        {"networks": [...], "subnets": [...], "ports": [...]}, every
 *        network, subnet and port the router touches (its interface
 *        ports, its gateway port, the ports its floating IPs point at,
 *        the subnets of their addresses, their networks and the floating
 *        IPs' networks), each with Neutron's attribute names:
 *        network {"id", "name", "project_id", "admin_state_up", "shared",
 *                 "router:external", "mtu", "provider:network_type",
 *                 "provider:physical_network", "provider:segmentation_id",
 *                 "revision_number"}
 *        subnet {"id", "name", "project_id", "network_id", "ip_version",
 *                "cidr", "gateway_ip", "enable_dhcp", "revision_number"}
 *        port {"id", "name", "project_id", "network_id", "mac_address",
 *              "admin_state_up", "device_owner", "device_id",
 *              "fixed_ips": [{"subnet_id", "ip_address"}],
 *              "binding:host_id", "binding:vnic_type",
 *              "revision_number"}}
 *        With the ML2 mechanism driver opendaylight_v2 loaded, the member
 *        also has "journaled": true and holds whole networks: every
 *        network the router touches with all its subnets and every port
 *        on it (but floating IP ports and the router ports of routers of
 *        other providers); the networks, subnets and ports then also come
 *        as entries of their own ("network", "subnet", "port"), whose
 *        router_id is the network's id (the entries of one network come
 *        in commit order) and whose 'router' is the network as the
 *        driver must see it now:
 *        {"network_id", "touched": whether a router of the driver has an
 *         interface or its gateway on it, "l2": {"networks", "subnets",
 *         "ports", "journaled": true}} (empty lists when not touched),
 *        and 'data' {"id", "network_id"}.
 * Members may be added to the document (a driver ignores those it does
 * not know).                                                          */

/* Configuration handed to init(): the options of the driver's own
 * section of the configuration files ([<driver name>]), as key/value
 * pairs, and the server's host name. */
struct hadron_l3_option {
    const char *key;
    const char *value;
};

struct hadron_l3_config {
    const char *host;
    const struct hadron_l3_option *options;
    size_t n_options;
};

struct hadron_l3_driver_class {
    /* HADRON_L3_DRIVER_API_VERSION as the driver was built. */
    unsigned int api_version;

    /* The driver's name, as service_provider lines and service profiles
     * name it ("noop", "netns", "dpdk", "odl"). */
    const char *name;

    /* Creates an instance.  Returns 0 and stores its state in '*state', or
     * a positive errno with a message in 'err'.  May be NULL (no state). */
    int (*init)(const struct hadron_l3_config *, void **state, char *err,
                size_t err_size);

    /* Destroys what init() made.  May be NULL. */
    void (*destroy)(void *state);

    /* The HADRON_L3_CAP_* bits it supports.  Must not be NULL. */
    unsigned int (*capabilities)(void *state);

    /* Called at the API, inside the request, before anything is
     * committed: may refuse an entry the backend cannot take (returns
     * false with a message for the user, who gets a 400).  Must not block.
     * May be NULL (everything within the capabilities is accepted). */
    bool (*validate)(void *state, const struct hadron_l3_entry *,
                     char *err, size_t err_size);

    /* Applies one entry.  'msg' receives the reason of a RETRY or FAILED.
     * Must not be NULL. */
    enum hadron_l3_result (*apply)(void *state,
                                   const struct hadron_l3_entry *,
                                   char *msg, size_t msg_size);

    /* Makes the backend hold exactly 'routers' ('n' JSON objects as
     * described above).  May be NULL (the core then replays a create entry
     * per router instead). */
    enum hadron_l3_result (*sync_all)(void *state,
                                      const char *const *routers, size_t n,
                                      char *msg, size_t msg_size);

    /* Reports whether the backend is reachable and still holds its state
     * ('lost_state' set when it restarted empty and needs sync_all).  May
     * be NULL (always healthy). */
    bool (*health)(void *state, bool *lost_state, char *msg,
                   size_t msg_size);
};

/* A vendor shared object exports this symbol. */
#define HADRON_L3_DRIVER_SYMBOL "hadron_l3_driver"

#endif /* flavors/driver.h */
