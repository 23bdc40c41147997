/* core/journal.h: the outbox that carries every change to the flavor
 * driver that must realize it.
 *
 * A service writes journal rows with journal_record() inside the same
 * transaction as the change itself, so nothing is realized that is not
 * committed and nothing committed is lost.  After the commit it calls
 * journal_wake().  One dispatcher thread per driver, with its own database
 * connection, claims the driver's pending rows and hands them to the
 * driver's apply() through the flavor registry's wrapper:
 *   - the rows of one router are applied in commit order, one at a time
 *     (a router before its interfaces, an interface before the floating
 *     IPs through it, a delete after the work on it);
 *   - a RETRY answer backs the row off (exponentially, capped) and leaves
 *     the router's later rows waiting behind it; other routers go on;
 *   - a FAILED answer marks the row failed and the resource ERROR;
 *   - an OK answer marks it completed and the resource ACTIVE.
 * At start, rows left 'processing' by a crash go back to 'pending' and
 * everything pending is replayed; completed rows older than
 * [journal] completed_retention seconds are pruned.  Rows are claimed with
 * SELECT ... FOR UPDATE SKIP LOCKED on MariaDB, so several servers sharing
 * a database apply each row once.
 *
 * The journal knows rows, not routers: the L3 core registers how to build
 * the whole router document an entry carries and how to set a resource's
 * status (journal_set_hooks()).
 *
 * The rules, precisely
 * --------------------
 * Ordering.  A row is eligible when it is pending, its next_attempt_ms has
 * passed, no other row of the same router_id is processing, and every
 * earlier (smaller seq) pending row of the same router_id is eligible too
 * (due, and for the same driver).  The rule spans drivers: when a router
 * moves to another flavor, the new driver's rows wait for the old
 * driver's teardown.  Failed and cancelled rows do not block: the
 * router's later rows go on (the resource shows ERROR; an operator may
 * retry or cancel the failed row).  A row put back to pending by
 * journal_retry() is applied when the router has no processing row, so it
 * may come after rows newer than itself.  On MariaDB seq is given at
 * INSERT, not at commit: call journal_record() after writing the
 * resource's own row, so that two transactions changing one resource
 * (which serialize on that row's lock) also get their seqs in commit
 * order.
 *
 * Claiming.  Each dispatcher claims up to [journal] batch_size eligible
 * rows, oldest first, in a short write transaction that marks them
 * processing (attempts + 1, claimed_by = [DEFAULT] host); on MariaDB the
 * rows are locked with SELECT ... FOR UPDATE SKIP LOCKED, so a concurrent
 * claimer skips them, and a router's rows are kept only from its first
 * candidate on without a gap.  A batch serves many routers; the rows of
 * one router in it are consecutive and applied one after the other in
 * order, never two at once.  Results are recorded in one transaction per
 * batch (at once after each row for a slow driver).  A RETRY sends the
 * router's later rows of the batch back to pending, due with it.
 *
 * Results.  OK: completed (deleted at once when completed_retention is 0),
 * then set_status(ACTIVE) unless the entry is a delete.  RETRY: back to
 * pending with next_attempt_ms = now + retry_backoff_initial_ms *
 * 2^(attempts - 1), capped at retry_backoff_max seconds; after
 * max_attempts attempts (0 = never) it counts as FAILED.  FAILED: failed,
 * last_error kept, logged at WARN, set_status(ERROR) unless a delete.
 *
 * Start.  On SQLite (one server per database file) every processing row
 * goes back to pending.  On MariaDB, where several servers may share the
 * database, only rows claimed by this host ([DEFAULT] host, which must
 * then differ between servers) or claimed longer than [journal]
 * claim_timeout ago go back; the dispatchers keep taking back other
 * servers' rows older than claim_timeout, which must therefore exceed the
 * longest apply() of any driver.  A dispatcher first asks its driver's
 * health(): if the backend lost its state it gets sync_all() (every router
 * document of the driver, from the all_routers hook) before any row; else
 * the pending rows are simply replayed.
 *
 * Running.  journal_wake() wakes the dispatchers at once; they also look
 * every [journal] poll_interval_ms for rows committed by other servers.
 * Every health_interval_ms each driver's health() is asked again and a lost
 * state triggers sync_all() (rows wait until it answers OK or FAILED).
 * When health() turns from bad to good, the driver's pending rows that are
 * backed off become due at once (one UPDATE), so that a backend coming
 * back is served within a health interval, not retry_backoff_max later.
 *
 * L2 rows.  An ML2 mechanism driver (core/l3_mech.c) may record rows of
 * resource "network", "subnet" or "port" for a flavor driver that wants
 * the networks its routers touch; their router_id column holds the
 * network's id, so the rows of one network are applied in commit order
 * like a router's, and their document comes from the l2_document hook
 * rather than router_document.
 * Completed rows older than completed_retention seconds are pruned. */
#ifndef HADRON_JOURNAL_H
#define HADRON_JOURNAL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct neutron_error;
struct op_ctx;

enum journal_state {
    JOURNAL_PENDING,
    JOURNAL_PROCESSING,
    JOURNAL_COMPLETED,
    JOURNAL_FAILED,
    JOURNAL_CANCELLED,
};

const char *journal_state_name(enum journal_state);
/* Parses a state name.  Returns false if 'name' is none. */
bool journal_state_from_name(const char *name, enum journal_state *);

/* One row, as read back (journal_list, journal_get). */
struct journal_row {
    int64_t seq;
    char driver[65];
    char resource[33];
    char operation[17];
    char resource_id[37];
    char router_id[37];
    int64_t revision;
    char *data;                 /* JSON text, owned */
    enum journal_state state;
    int attempts;
    char last_error[1024];
    char created_at[32];
    char updated_at[32];
    int64_t next_attempt_ms;    /* wall clock, ms since the epoch */
    char claimed_by[256];       /* host holding a processing row */
};

/* Frees what 'row' owns (not 'row').  Accepts NULL. */
void journal_row_destroy(struct journal_row *);
/* Destroys 'n' rows and frees the array.  Accepts NULL. */
void journal_rows_free(struct journal_row *, size_t n);

/* Records one entry for 'driver' inside the caller's open transaction.
 * 'data' is the JSON of the resource as committed (copied). */
struct neutron_error *journal_record(const struct op_ctx *,
                                     const char *driver,
                                     const char *resource,
                                     const char *operation,
                                     const char *resource_id,
                                     const char *router_id,
                                     int64_t revision, const char *data);

/* Hooks from the L3 core, set before journal_start(). */
struct journal_hooks {
    /* Builds the whole router document (JSON, malloc'd) of 'router_id' as
     * committed, or NULL when the router no longer exists. */
    char *(*router_document)(struct db *, const char *router_id);
    /* Sets the status of ('resource', 'id') to "ACTIVE" or "ERROR" if
     * its revision is still 'revision' or older.  Runs in a transaction
     * the journal opened.  Called for every entry that is not a delete,
     * whatever its resource ("router", "router_interface", "floatingip"):
     * the hook maps it (an interface's status is its router's...).  A 404
     * (the resource went away meanwhile) is ignored; NE_RETRY reruns the
     * transaction; any other error is logged. */
    struct neutron_error *(*set_status)(struct db *, const char *resource,
                                        const char *id, int64_t revision,
                                        const char *status);
    /* Every router document of 'driver' (for sync_all).  Stores a
     * malloc'd array of malloc'd strings. */
    struct neutron_error *(*all_routers)(struct db *, const char *driver,
                                         char ***docs, size_t *n);
    /* The document of an L2 entry (resource "network", "subnet" or
     * "port", recorded by an ML2 mechanism driver with the network's id
     * as its router_id, the ordering key): the network 'network_id' as
     * 'driver' must see it now (JSON, malloc'd), or NULL.  build_documents
     * hands it to apply() as the entry's 'router'.  May be NULL. */
    char *(*l2_document)(struct db *, const char *driver,
                         const char *network_id);
};

void journal_set_hooks(const struct journal_hooks *);

/* Starts one dispatcher thread per provider of the registry
 * (l3_registry_init() first), each with its own connection to
 * cfg->connection, after resetting interrupted rows.  'cfg' must outlive
 * journal_stop().  Returns NULL or a malloc'd message. */
char *journal_start(const struct config *cfg);

/* Tells the dispatchers that new rows were committed (cheap; call after
 * every commit that recorded rows).  Safe from any thread, at any time,
 * also when the journal is not started. */
void journal_wake(void);

/* Stops the dispatchers (the row being applied is finished first; rows
 * claimed but not yet applied go back to pending).  Does nothing if not
 * started; journal_start() may be called again afterwards. */
void journal_stop(void);

/* Operator actions (hadron-manage, the admin API).  Each runs in its own
 * transaction on 'db' (outside any transaction).  Rows come in seq
 * order; 'state' and 'driver' NULL = any; 'limit' 0 = all.  An unknown
 * 'state' is a 400.  The caller frees '*rows' with journal_rows_free(). */
struct neutron_error *journal_list(struct db *, const char *state,
                                   const char *driver, size_t limit,
                                   struct journal_row **rows, size_t *n);

/* The same with several states and drivers (each list OR-ed; empty =
 * any) and a marker: only rows with seq > 'after_seq'. */
struct journal_filter {
    const char *const *states;
    size_t n_states;
    const char *const *drivers;
    size_t n_drivers;
    int64_t after_seq;
    size_t limit;
};
struct neutron_error *journal_query(struct db *, const struct journal_filter *,
                                    struct journal_row **rows, size_t *n);

/* Reads row 'seq' into '*row' (destroy it with journal_row_destroy()), or
 * a 404 JournalEntryNotFound. */
struct neutron_error *journal_get(struct db *, int64_t seq,
                                  struct journal_row *row);
/* Puts a failed (or cancelled) row back to pending, attempts 0, due now,
 * and wakes the dispatchers of this process.  404 if there is no such row,
 * 409 JournalEntryConflict in any other state. */
struct neutron_error *journal_retry(struct db *, int64_t seq);
/* Cancels a pending or failed row (a processing one is being applied: 409,
 * as for completed and cancelled rows; 404 if there is none).  The
 * router's later rows then go on. */
struct neutron_error *journal_cancel(struct db *, int64_t seq);

/* Counts of pending rows and the age in seconds of the oldest, per driver
 * (for /metrics and tests). */
struct neutron_error *journal_depth(struct db *, const char *driver,
                                    int64_t *pending, int64_t *oldest_age);

/* Waits until no pending or processing row remains for 'driver' (NULL =
 * all) or 'timeout_ms' passes.  Returns true when drained (tests). */
bool journal_wait_idle(struct db *, const char *driver, int timeout_ms);

#endif /* core/journal.h */
