/* tests/api/journal_fault_driver.c: a vendor-style L3 driver (a shared
 * object built against flavors/driver.h alone) for the journal's fault
 * test: it writes one line per apply() to a file, "<seq> <router_id>
 * <resource> <operation> <resource_id>", before sleeping 'apply_delay_ms',
 * so that a server killed with entries in flight leaves a record of what
 * reached the backend.  Options ([faulty]):
 *   record_file = PATH      where the lines go (required)
 *   apply_delay_ms = N      time one apply() takes (0) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flavors/driver.h"

struct faulty {
    int fd;
    long delay_ms;
};

static int
faulty_init(const struct hadron_l3_config *cfg, void **state, char *err,
            size_t err_size)
{
    struct faulty *f = calloc(1, sizeof *f);
    const char *path = NULL;

    if (!f) {
        return ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_options; i++) {
        if (!strcmp(cfg->options[i].key, "record_file")) {
            path = cfg->options[i].value;
        } else if (!strcmp(cfg->options[i].key, "apply_delay_ms")) {
            f->delay_ms = atol(cfg->options[i].value);
        }
    }
    if (!path) {
        snprintf(err, err_size, "faulty: record_file is required");
        free(f);
        return EINVAL;
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        snprintf(err, err_size, "faulty: %s: %s", path, strerror(errno));
        free(f);
        return errno;
    }
    *state = f;
    return 0;
}

static void
faulty_destroy(void *state)
{
    struct faulty *f = state;

    close(f->fd);
    free(f);
}

static unsigned int
faulty_capabilities(void *state)
{
    return HADRON_L3_CAP_SNAT | HADRON_L3_CAP_GATEWAY
           | HADRON_L3_CAP_FLOATINGIP | HADRON_L3_CAP_EXTRA_ROUTES
           | HADRON_L3_CAP_IPV6 | HADRON_L3_CAP_ADMIN_DOWN;
}

static enum hadron_l3_result
faulty_apply(void *state, const struct hadron_l3_entry *e, char *msg,
             size_t msg_size)
{
    struct faulty *f = state;
    char line[256];
    int len = snprintf(line, sizeof line, "%lld %s %s %s %s\n",
                       (long long) e->seq, e->router_id, e->resource,
                       e->operation, e->resource_id);

    if (write(f->fd, line, len) != len) {
        snprintf(msg, msg_size, "faulty: cannot record: %s",
                 strerror(errno));
        return HADRON_L3_RETRY;
    }
    if (f->delay_ms) {
        struct timespec ts = { f->delay_ms / 1000,
                               (f->delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    return HADRON_L3_OK;
}

static const struct hadron_l3_driver_class faulty_class = {
    .api_version = HADRON_L3_DRIVER_API_VERSION,
    .name = "faulty",
    .init = faulty_init,
    .destroy = faulty_destroy,
    .capabilities = faulty_capabilities,
    .apply = faulty_apply,
};

const struct hadron_l3_driver_class *hadron_l3_driver = &faulty_class;
