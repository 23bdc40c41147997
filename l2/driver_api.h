/* l2/driver_api.h: the interface of ML2 type and mechanism drivers.
 *
 * Type drivers own one network type each (local, flat, vlan, vxlan, gre,
 * geneve): they validate provider segments and reserve, allocate and
 * release segmentation ids from the configured ranges, deciding through
 * the database (allocation rows guarded by primary keys, compare-and-swap
 * updates) so that several servers never hand out the same id.
 *
 * Mechanism drivers see every network, subnet and port change, as ML2's
 * do: *_precommit inside the transaction (an error rolls back and is
 * returned; must not block), *_postcommit after the commit (on create an
 * error deletes the resource again; on update and delete it is logged),
 * and bind_port, which has no side effects and may answer a binding for
 * one of the port's network segments (Hadron calls it inside the port's
 * create or update transaction, before *_precommit, so like a precommit it
 * must not block: see l2/port.c).  Drivers are called in the configured
 * order (deletes in reverse).
 *
 * Like every driver family in Hadron, a driver is a `const struct ..._class`
 * of function pointers; any op may be NULL (= nothing to do). */
#ifndef HADRON_L2_DRIVER_API_H
#define HADRON_L2_DRIVER_API_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct neutron_error;
struct op_ctx;
struct res_obj;

/* One segment of a network. */
struct l2_segment {
    char id[37];
    char network_type[33];          /* "vlan", ... */
    char physical_network[65];      /* "" when none */
    int64_t segmentation_id;        /* -1 when none */
    int mtu;                        /* from the type driver */
};

/* ---- Type drivers ---- */

struct l2_type_class {
    const char *type;               /* "vlan" */

    /* Reads its [ml2_type_*] options.  Returns NULL or a malloc'd
     * message. */
    char *(*init)(const struct config *);

    /* Syncs its allocation table with the configured ranges. */
    struct neutron_error *(*sync)(struct db *);

    /* Checks a provider segment the caller asked for (physical network and
     * segmentation id set or not, as given): 400 when invalid. */
    struct neutron_error *(*validate)(const struct l2_segment *);

    /* Reserves the provider segment 'seg' (409 when taken), inside the
     * caller's transaction. */
    struct neutron_error *(*reserve)(const struct op_ctx *,
                                     struct l2_segment *seg);

    /* Allocates a tenant segment into 'seg'; returns NULL with 'seg'
     * filled, or a 503 NoNetworkAvailable when no id is free. */
    struct neutron_error *(*allocate)(const struct op_ctx *,
                                      struct l2_segment *seg);

    /* Releases 'seg' (inside the caller's transaction). */
    struct neutron_error *(*release)(const struct op_ctx *,
                                     const struct l2_segment *seg);

    /* The MTU of a segment of this type on 'physical_network'. */
    int (*mtu)(const struct l2_segment *);
};

/* ---- Mechanism drivers ---- */

enum l2_mech_op { L2_MECH_CREATE, L2_MECH_UPDATE, L2_MECH_DELETE };

/* What a mechanism driver sees of a change.  'cur' is the resource after
 * the change (NULL on delete), 'orig' before (NULL on create); for ports,
 * 'network' is the port's network and 'segments' its segments. */
struct l2_mech_context {
    const struct op_ctx *ctx;
    enum l2_mech_op op;
    const struct res_obj *cur;
    const struct res_obj *orig;
    const struct res_obj *network;
    const struct l2_segment *segments;
    size_t n_segments;
};

/* The answer of bind_port. */
struct l2_binding {
    char vif_type[33];              /* "bridge", "ovs", ... */
    char *vif_details;              /* JSON object text, malloc'd */
    int segment;                    /* index of the bound segment */
};

struct l2_mech_class {
    const char *name;               /* "logger", "linuxbridge" */

    char *(*init)(const struct config *);

    struct neutron_error *(*network_precommit)(const struct l2_mech_context *);
    struct neutron_error *(*network_postcommit)(const struct l2_mech_context *);
    struct neutron_error *(*subnet_precommit)(const struct l2_mech_context *);
    struct neutron_error *(*subnet_postcommit)(const struct l2_mech_context *);
    struct neutron_error *(*port_precommit)(const struct l2_mech_context *);
    struct neutron_error *(*port_postcommit)(const struct l2_mech_context *);

    /* Tries to bind the port in 'mc' (cur, with its fixed IPs; segments
     * nonempty) on host 'host' with 'vnic_type'.  Returns true and fills
     * 'out' (vif_details malloc'd, owned by the caller) if it binds;
     * returns false, leaving nothing allocated, if it does not.  A pure
     * function of its inputs and the configuration. */
    bool (*bind_port)(const struct l2_mech_context *mc, const char *host,
                      const char *vnic_type, struct l2_binding *out);
};

#endif /* l2/driver_api.h */
