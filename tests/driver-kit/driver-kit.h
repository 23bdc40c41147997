/* tests/driver-kit/driver-kit.h: the conformance suite for L3 flavor
 * drivers (flavors/driver.h).
 *
 * The kit runs one driver class through the real journal (core/journal.h)
 * on a real database, the way hadron-server does, with the router
 * documents of a small in-memory L3 model standing in for the router
 * core: router create/update/delete, admin state, external gateway with
 * and without SNAT, extra routes, IPv4 and IPv6 interfaces, floating IP
 * associate/move/disassociate, a transient failure that must converge, a
 * permanent failure and an operator retry, a backend that loses its state
 * and gets sync_all(), and at the end nothing held.  Steps needing a
 * capability the driver does not declare are skipped (and said so).
 *
 * Every entry is applied twice in a row (delivery is at least once): the
 * second apply() must answer OK and, when the driver can be inspected,
 * leave the same state as the first.
 *
 * Inspection is optional.  A driver that can say what its backend holds
 * lets the kit check more; a vendor shared object exports either or both
 * of
 *     char *hadron_l3_kit_dump(void *state);
 *         canonical text of everything held (malloc'd): equal texts must
 *         mean equal backend states;
 *     bool hadron_l3_kit_has(void *state, const char *resource,
 *                            const char *router_id, const char *id);
 *         whether the backend holds 'resource' ("router",
 *         "router_interface" by port id, "floatingip") 'id' of router
 *         'router_id'.
 * The built-in noop driver uses noop_l3_dump() and noop_l3_has(). */
#ifndef HADRON_DRIVER_KIT_H
#define HADRON_DRIVER_KIT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "flavors/driver.h"

struct driver_kit_probe {
    char *(*dump)(void *state);                 /* may be NULL */
    bool (*has)(void *state, const char *resource, const char *router_id,
                const char *id);                /* may be NULL */
};

struct driver_kit_options {
    /* The driver: a built-in name ("noop") or the path of a shared object
     * exporting HADRON_L3_DRIVER_SYMBOL. */
    const char *driver;
    /* "key = value" lines for the driver's configuration section. */
    const char *const *options;
    size_t n_options;
    /* Database URL; NULL = a fresh one of HADRON_TEST_ENGINE
     * (tests/lib/testdb.h: SQLite unless told otherwise). */
    const char *db_url;
    /* Seconds to wait for the journal to drain after a step. */
    int timeout;
    /* Where the results go (TAP), NULL = stdout. */
    FILE *out;
};

/* Runs the suite.  Returns the number of failed checks (0 = the driver
 * conforms); a driver that cannot be loaded or started counts as one. */
int driver_kit_run(const struct driver_kit_options *);

#endif /* tests/driver-kit/driver-kit.h */
