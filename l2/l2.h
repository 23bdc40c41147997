/* l2/l2.h: the ML2-style L2 core: networks, segments, subnets and ports.
 *
 * This is the module's public header: start-up and the resource
 * definitions that other modules (api/, the L3 core) refer to.  Everything
 * else in l2/ is private to it (l2/l2-internal.h) or the driver interface
 * (l2/driver_api.h). */
#ifndef HADRON_L2_H
#define HADRON_L2_H 1

struct config;
struct db;
struct resource_def;

extern const struct resource_def l2_network_def;
extern const struct resource_def l2_subnet_def;
extern const struct resource_def l2_port_def;
extern const struct resource_def l2_segment_def;

/* Checks the [ml2*] configuration and loads the type and mechanism
 * drivers it names.  Returns NULL or a malloc'd message for the operator.
 * Called once at start, before l2_sync_allocations(). */
char *l2_init(const struct config *cfg);

/* Brings the segment allocation tables in line with the configured ranges
 * (adds rows for new ids, drops unallocated rows outside the ranges).
 * Returns NULL or a malloc'd message. */
char *l2_sync_allocations(struct db *db, const struct config *cfg);

#endif /* l2/l2.h */
