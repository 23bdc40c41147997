/* tests/unit/vendor_driver.c: a tiny out-of-tree flavor driver, built as
 * shared objects for test_registry against flavors/driver.h alone.
 *
 * Compile-time variants:
 *   VENDOR_NAME="..."        the class name (default "vendor")
 *   VENDOR_API_VERSION=N     the api_version it claims (default: current)
 *   VENDOR_NO_SYMBOL         exports no HADRON_L3_DRIVER_SYMBOL
 * Options ([vendor] or the provider's section): caps=<number>,
 * answer=ok|retry|failed|bogus, label=<text>, init_fail=<message>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flavors/driver.h"
#include "tests/unit/vendor_driver.h"

#ifndef VENDOR_NAME
#define VENDOR_NAME "vendor"
#endif
#ifndef VENDOR_API_VERSION
#define VENDOR_API_VERSION HADRON_L3_DRIVER_API_VERSION
#endif

static int
vendor_init(const struct hadron_l3_config *cfg, void **state, char *err,
            size_t err_size)
{
    struct vendor_state *s = calloc(1, sizeof *s);

    if (!s) {
        return ENOMEM;
    }
    s->caps = HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY;
    s->answer = HADRON_L3_OK;
    for (size_t i = 0; i < cfg->n_options; i++) {
        const char *k = cfg->options[i].key;
        const char *v = cfg->options[i].value;
        if (!strcmp(k, "caps")) {
            s->caps = (unsigned int) strtoul(v, NULL, 0);
        } else if (!strcmp(k, "answer")) {
            s->answer = !strcmp(v, "retry") ? HADRON_L3_RETRY
                        : !strcmp(v, "failed") ? HADRON_L3_FAILED
                        : !strcmp(v, "bogus") ? 42 : HADRON_L3_OK;
        } else if (!strcmp(k, "label")) {
            snprintf(s->label, sizeof s->label, "%s", v);
        } else if (!strcmp(k, "init_fail")) {
            snprintf(err, err_size, "%s", v);
            free(s);
            return EIO;
        }
    }
    *state = s;
    return 0;
}

static void
vendor_destroy(void *state)
{
    free(state);
}

static unsigned int
vendor_capabilities(void *state)
{
    const struct vendor_state *s = state;

    return s->caps;
}

static bool
vendor_validate(void *state, const struct hadron_l3_entry *e, char *err,
                size_t err_size)
{
    /* Refuses without saying why: the wrapper supplies a message. */
    return strcmp(e->resource_id, "refuse-me") != 0;
}

static enum hadron_l3_result
vendor_apply(void *state, const struct hadron_l3_entry *e, char *msg,
             size_t msg_size)
{
    struct vendor_state *s = state;

    s->applies++;
    snprintf(s->last_resource, sizeof s->last_resource, "%s", e->resource);
    snprintf(s->last_operation, sizeof s->last_operation, "%s",
             e->operation);
    snprintf(s->last_id, sizeof s->last_id, "%s", e->resource_id);
    return (enum hadron_l3_result) s->answer;
}

static enum hadron_l3_result
vendor_sync_all(void *state, const char *const *routers, size_t n,
                char *msg, size_t msg_size)
{
    struct vendor_state *s = state;

    s->syncs++;
    s->last_sync_n = n;
    return HADRON_L3_OK;
}

static bool
vendor_health(void *state, bool *lost_state, char *msg, size_t msg_size)
{
    *lost_state = false;
    return true;
}

static const struct hadron_l3_driver_class vendor_class = {
    .api_version = VENDOR_API_VERSION,
    .name = VENDOR_NAME,
    .init = vendor_init,
    .destroy = vendor_destroy,
    .capabilities = vendor_capabilities,
    .validate = vendor_validate,
    .apply = vendor_apply,
    .sync_all = vendor_sync_all,
    .health = vendor_health,
};

#ifndef VENDOR_NO_SYMBOL
const struct hadron_l3_driver_class *const hadron_l3_driver = &vendor_class;
#else
/* The class under another name: the core must not find it. */
const struct hadron_l3_driver_class *const not_the_driver = &vendor_class;
#endif
