/* backends/netns/ns.c: named network namespaces and the threads that enter
 * them.
 *
 * A named namespace is a file in /run/netns on which the namespace is
 * bind-mounted, exactly as `ip netns add` makes it (including making
 * /run/netns a shared mount point), so the two interoperate.  Work inside a
 * namespace runs on a short-lived thread: setns() there never disturbs the
 * caller's thread, and the thread's end drops the namespace reference. */
#include "backends/netns/netns-private.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

/* ---- Status. ---- */

void
status_init__(struct netns_status__ *st, const char *what, char *err,
              size_t err_size)
{
    st->error = 0;
    st->err = err;
    st->err_size = err_size;
    st->what = what;
    if (err && err_size) {
        err[0] = '\0';
    }
}

int
status_fail__(struct netns_status__ *st, int error, const char *fmt, ...)
{
    if (!st->error) {
        st->error = error;
        if (st->err && st->err_size) {
            int n = 0;
            va_list args;

            if (st->what && st->what[0]) {
                n = snprintf(st->err, st->err_size, "%s: ", st->what);
                if (n < 0 || (size_t) n >= st->err_size) {
                    n = 0;
                }
            }
            va_start(args, fmt);
            vsnprintf(st->err + n, st->err_size - (size_t) n, fmt, args);
            va_end(args);
        }
    }
    return error;
}

/* ---- Threads. ---- */

struct thread_job {
    int (*fn)(void *);
    void *aux;
    int result;
};

static void *
thread_main(void *job_)
{
    struct thread_job *job = job_;

    job->result = job->fn(job->aux);
    return NULL;
}

int
ns_run_thread__(int (*fn)(void *aux), void *aux)
{
    struct thread_job job = { fn, aux, 0 };
    pthread_t thread;
    int error;

    error = pthread_create(&thread, NULL, thread_main, &job);
    if (error) {
        return error;
    }
    pthread_join(thread, NULL);
    return job.result;
}

/* ---- Deferred work. ---- */

struct deferred {
    struct deferred *next;
    void (*fn)(void *);
    void *aux;
};

static pthread_mutex_t defer_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t defer_cond = PTHREAD_COND_INITIALIZER;   /* work */
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;    /* done */
static struct deferred *defer_head, **defer_tail = &defer_head;
static bool defer_busy;             /* the thread is running an item */
static bool defer_started;

static void *
defer_main(void *unused __attribute__((unused)))
{
    pthread_mutex_lock(&defer_mutex);
    for (;;) {
        struct deferred *d;

        while (!defer_head) {
            defer_busy = false;
            pthread_cond_broadcast(&idle_cond);
            pthread_cond_wait(&defer_cond, &defer_mutex);
        }
        d = defer_head;
        defer_head = d->next;
        if (!defer_head) {
            defer_tail = &defer_head;
        }
        defer_busy = true;
        pthread_mutex_unlock(&defer_mutex);
        d->fn(d->aux);
        free(d);
        pthread_mutex_lock(&defer_mutex);
    }
    return NULL;
}

void
ns_defer__(void (*fn)(void *), void *aux)
{
    struct deferred *d = xmalloc(sizeof *d);

    d->next = NULL;
    d->fn = fn;
    d->aux = aux;
    pthread_mutex_lock(&defer_mutex);
    if (!defer_started) {
        pthread_attr_t attr;
        pthread_t thread;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attr, defer_main, NULL)) {
            /* No thread: do it now, slowly but correctly. */
            pthread_attr_destroy(&attr);
            pthread_mutex_unlock(&defer_mutex);
            fn(aux);
            free(d);
            return;
        }
        pthread_attr_destroy(&attr);
        defer_started = true;
    }
    *defer_tail = d;
    defer_tail = &d->next;
    defer_busy = true;
    pthread_cond_signal(&defer_cond);
    pthread_mutex_unlock(&defer_mutex);
}

void
netns_wait_idle(void)
{
    pthread_mutex_lock(&defer_mutex);
    while (defer_started && (defer_head || defer_busy)) {
        pthread_cond_wait(&idle_cond, &defer_mutex);
    }
    pthread_mutex_unlock(&defer_mutex);
}

/* ---- Named namespaces. ---- */

static pthread_mutex_t rundir_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool rundir_ready;

/* Makes /run/netns exist and be a shared mount point, as iproute2 does, so
 * that unmounting a namespace there reaches every mount namespace. */
static int
ns_prepare_rundir(void)
{
    bool made_mount = false;
    int error = 0;

    pthread_mutex_lock(&rundir_mutex);
    if (rundir_ready) {
        goto out;
    }
    if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST) {
        error = errno;
        goto out;
    }
    while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL)) {
        if (errno != EINVAL || made_mount) {
            error = errno;
            goto out;
        }
        if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC,
                  NULL)) {
            error = errno;
            goto out;
        }
        made_mount = true;
    }
    rundir_ready = true;
out:
    pthread_mutex_unlock(&rundir_mutex);
    return error;
}

static void
ns_path(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", NETNS_RUN_DIR, name);
}

/* Creates the named namespace whose file is 'path', with the calling
 * (worker) thread inside it.  Returns EEXIST if the name is taken. */
static int
ns_create(const char *path)
{
    int error;
    int fd;

    error = ns_prepare_rundir();
    if (error) {
        return error;
    }
    fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    close(fd);
    if (unshare(CLONE_NEWNET)) {
        error = errno;
        goto fail;
    }
    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL)) {
        error = errno;
        goto fail;
    }
    return 0;

fail:
    unlink(path);
    return error;
}

int
ns_enter__(const char *name, bool create, int *fdp, bool *created)
{
    char path[sizeof NETNS_RUN_DIR + NETNS_NSNAME_LEN];
    int error;
    int fd;

    *fdp = -1;
    *created = false;
    ns_path(name, path, sizeof path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && setns(fd, CLONE_NEWNET)) {
        /* A file that is not a namespace: what a crash between creating
         * the file and mounting on it leaves.  Start over. */
        error = errno;
        close(fd);
        if (error != EINVAL || !create) {
            return error;
        }
        umount2(path, MNT_DETACH);
        unlink(path);
        fd = -1;
        errno = ENOENT;
    }
    if (fd < 0) {
        if (errno != ENOENT || !create) {
            return errno;
        }
        error = ns_create(path);
        if (error) {
            return error;
        }
        *created = true;
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return errno;
        }
    }
    *fdp = fd;
    return 0;
}

int
ns_remove__(const char *name)
{
    char path[sizeof NETNS_RUN_DIR + NETNS_NSNAME_LEN];

    ns_path(name, path, sizeof path);
    if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
        return errno;
    }
    if (unlink(path) && errno != ENOENT) {
        return errno;
    }
    return 0;
}

int
ns_sysctl_set__(const char *path, const char *value)
{
    char cur[32];
    size_t len = strlen(value);
    ssize_t n;
    int error = 0;
    int fd;

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    n = read(fd, cur, sizeof cur - 1);
    if (n >= 0) {
        cur[n] = '\0';
        cur[strcspn(cur, "\n")] = '\0';
        if (!strcmp(cur, value)) {
            goto out;
        }
    }
    if (lseek(fd, 0, SEEK_SET) < 0
        || write(fd, value, len) != (ssize_t) len) {
        error = errno ? errno : EIO;
    }
out:
    close(fd);
    return error;
}
