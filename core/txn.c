/* core/txn.c: see txn.h. */
#include "core/txn.h"

#include <stdlib.h>
#include <time.h>

#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/store.h"
#include "core/util.h"
#include "db/db.h"

static void
backoff(int attempt)
{
    static __thread unsigned int seed;
    if (!seed) {
        seed = (unsigned int) time_monotonic_usec();
    }
    int max_us = 1000 << (attempt < 6 ? attempt : 6);
    struct timespec ts = { 0, (long) (rand_r(&seed) % max_us) * 1000 };
    nanosleep(&ts, NULL);
}

struct neutron_error *
txn_run(const struct op_ctx *ctx, bool write, txn_fn *fn, void *arg)
{
    int attempts = ctx->cfg ? ctx->cfg->max_retries : 10;
    struct neutron_error *error = NULL;

    for (int attempt = 0; attempt < attempts; attempt++) {
        neutron_error_destroy(error);
        error = NULL;
        if (attempt) {
            backoff(attempt);
        }
        int rc = db_begin(ctx->db, write);
        if (rc) {
            error = store_db_error(ctx->db, rc, "starting a transaction");
            if (neutron_error_is_retry(error)) {
                continue;
            }
            return error;
        }
        error = fn(ctx, arg);
        if (error) {
            db_rollback(ctx->db);
            if (neutron_error_is_retry(error)) {
                LOG_DBG("txn", "%s: retrying (attempt %d): %s",
                        ctx->request_id ? ctx->request_id : "-",
                        attempt + 1, error->message);
                continue;
            }
            return error;
        }
        rc = db_commit(ctx->db);
        if (!rc) {
            return NULL;
        }
        db_rollback(ctx->db);
        error = store_db_error(ctx->db, rc, "committing");
        if (!neutron_error_is_retry(error)) {
            return error;
        }
    }
    LOG_WARN("txn", "%s: gave up after %d attempts: %s",
             ctx->request_id ? ctx->request_id : "-", attempts,
             error ? error->message : "?");
    return error;
}
