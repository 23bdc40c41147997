/* core/log.c: see log.h.  A line is formatted whole and written with one
 * write(2) so lines from threads do not interleave. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDERR_FILENO;
static char *log_path;
static bool debug_on;

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DBG" };

static int
open_file(const char *path, int *fdp)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return errno;
    }
    *fdp = fd;
    return 0;
}

int
log_open(const char *path)
{
    int fd = STDERR_FILENO;
    int error = 0;

    if (path && *path) {
        error = open_file(path, &fd);
        if (error) {
            return error;
        }
    }
    pthread_mutex_lock(&log_mutex);
    if (log_fd != STDERR_FILENO) {
        close(log_fd);
    }
    log_fd = fd;
    free(log_path);
    log_path = path && *path ? xstrdup(path) : NULL;
    pthread_mutex_unlock(&log_mutex);
    return 0;
}

int
log_reopen(void)
{
    int error = 0;

    pthread_mutex_lock(&log_mutex);
    if (log_path) {
        int fd = -1;
        error = open_file(log_path, &fd);
        if (!error) {
            close(log_fd);
            log_fd = fd;
        }
    }
    pthread_mutex_unlock(&log_mutex);
    return error;
}

void
log_set_debug(bool on)
{
    __atomic_store_n(&debug_on, on, __ATOMIC_RELAXED);
}

bool
log_debug_enabled(void)
{
    return __atomic_load_n(&debug_on, __ATOMIC_RELAXED);
}

void
log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list args;
    size_t n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - n, ".%03ldZ %s %s: ",
                  (long) tv.tv_usec / 1000, level_names[level], module);
    if (n < sizeof line) {
        va_start(args, fmt);
        int m = vsnprintf(line + n, sizeof line - n, fmt, args);
        va_end(args);
        n = m < 0 ? n : n + m;
    }
    if (n > sizeof line - 2) {
        n = sizeof line - 2;
    }
    line[n++] = '\n';

    pthread_mutex_lock(&log_mutex);
    ssize_t w = write(log_fd, line, n);
    pthread_mutex_unlock(&log_mutex);
    (void) w;
}

bool
log_ratelimit_allow__(struct log_ratelimit *rl, unsigned int burst,
                      unsigned int *dropped)
{
    uint64_t now = time_monotonic_usec() / 1000000;
    bool allow;

    pthread_mutex_lock(&log_mutex);
    *dropped = 0;
    if (rl->window != now) {
        rl->window = now;
        rl->count = 0;
        *dropped = rl->dropped;
        rl->dropped = 0;
    }
    allow = rl->count < burst;
    if (allow) {
        rl->count++;
    } else {
        rl->dropped++;
    }
    pthread_mutex_unlock(&log_mutex);
    return allow;
}
