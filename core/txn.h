/* core/txn.h: running a service operation in one database transaction.
 *
 * txn_run() begins a transaction on the caller's connection, runs 'fn',
 * and commits.  When 'fn' or the commit asks for a retry (NE_RETRY: a
 * deadlock, a lock timeout, an allocation that lost a race) the
 * transaction is rolled back and run again, up to [database] max_retries
 * times, with a short randomised back-off; any other error rolls back and
 * is returned. */
#ifndef HADRON_TXN_H
#define HADRON_TXN_H 1

#include <stdbool.h>

struct neutron_error;
struct op_ctx;

typedef struct neutron_error *txn_fn(const struct op_ctx *, void *arg);

struct neutron_error *txn_run(const struct op_ctx *ctx, bool write,
                              txn_fn *fn, void *arg);

#endif /* core/txn.h */
