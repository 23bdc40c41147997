/* tests/lib/apitest.c: see apitest.h. */
#include "tests/lib/apitest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/lib/testdb.h"

extern char **environ;

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f) {
        return xstrdup("");
    }
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        if (!n) {
            break;
        }
        len += n;
    }
    fclose(f);
    buf = buf ? buf : xmalloc(1);
    buf[len] = '\0';
    return buf;
}

char *
apitest_read_log(const struct apitest_server *srv)
{
    return read_file(srv->log_path);
}

static void
write_config(struct apitest_server *srv, const char *extra)
{
    FILE *f = fopen(srv->conf_path, "w");

    assert_non_null(f);
    fprintf(f,
            "[DEFAULT]\n"
            "bind_host = 127.0.0.1\n"
            "bind_port = 0\n"
            "api_workers = 2\n"
            "log_file = %s\n"
            "debug = true\n"
            "[database]\n"
            "connection = %s\n"
            "%s\n",
            srv->log_path, srv->db_url, extra ? extra : "");
    fclose(f);
}

/* Waits for the "listening on" line.  Returns the port, or -1 if the
 * server exited (status in '*status'). */
static int
wait_listening(struct apitest_server *srv, int *status)
{
    for (int i = 0; i < 6000; i++) {
        char *log = read_file(srv->log_path);
        const char *p = strstr(log, "listening on http://");
        if (p) {
            p = strchr(p + strlen("listening on http://"), ':');
            int port = p ? atoi(p + 1) : -1;
            free(log);
            return port;
        }
        free(log);
        pid_t w = waitpid(srv->pid, status, WNOHANG);
        if (w == srv->pid) {
            srv->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    fail_msg("hadron-server did not start listening within 60 s");
    return -1;
}

static void
remove_files(const struct apitest_server *srv)
{
    if (getenv("HADRON_TEST_KEEP")) {
        fprintf(stderr, "apitest: keeping %s (HADRON_TEST_KEEP)\n", srv->dir);
        return;
    }
    unlink(srv->conf_path);
    unlink(srv->log_path);
    unlink(srv->stderr_path);
    rmdir(srv->dir);
}

/* A test that fails half-way leaves its servers running (cmocka jumps out
 * of the test body before it stops them).  At exit, every child of this
 * process still alive (servers, controller peers) is killed, so that none
 * outlives its test holding a port, a database or an inherited lock. */
static void
kill_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (!isdigit((unsigned char) de->d_name[0])) {
            continue;
        }
        char path[sizeof de->d_name + 16], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) {
            fclose(f);
        }
        buf[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold anything but ')'
         * at its end. */
        const char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2
            && ppid == getpid()) {
            kill(atoi(de->d_name), SIGKILL);
        }
    }
    if (d) {
        closedir(d);
    }
}

static void __attribute__((constructor))
apitest_init(void)
{
    atexit(kill_children);
}

struct apitest_server *
apitest_server_try_start(const char *db_url, const char *extra_config,
                         int *status, char **output)
{
    struct apitest_server *srv = xzalloc(sizeof *srv);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    posix_spawn_file_actions_t fa;

    snprintf(srv->dir, sizeof srv->dir, "%s/hadron-apitest-XXXXXX", tmp);
    assert_non_null(mkdtemp(srv->dir));
    snprintf(srv->conf_path, sizeof srv->conf_path, "%s/hadron.conf",
             srv->dir);
    snprintf(srv->log_path, sizeof srv->log_path, "%s/server.log", srv->dir);
    snprintf(srv->stderr_path, sizeof srv->stderr_path, "%s/stderr.log",
             srv->dir);
    srv->db_url = xstrdup(db_url);
    write_config(srv, extra_config);

    char *argv[] = { (char *) HADRON_SERVER_BIN, (char *) "--config-file",
                     srv->conf_path, NULL };
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, srv->stderr_path,
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, srv->stderr_path,
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = posix_spawn(&srv->pid, HADRON_SERVER_BIN, &fa, NULL, argv,
                         environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);

    *status = 0;
    srv->port = wait_listening(srv, status);
    if (srv->port < 0) {
        char *log = read_file(srv->log_path);
        char *err = read_file(srv->stderr_path);
        if (output) {
            *output = xasprintf("%s%s", log, err);
        }
        free(log);
        free(err);
        remove_files(srv);
        free(srv->db_url);
        free(srv);
        return NULL;
    }
    srv->curl = curl_easy_init();
    return srv;
}

struct apitest_server *
apitest_server_start(const char *extra_config)
{
    char *url = testdb_create();
    int status;
    char *output = NULL;
    struct apitest_server *srv = apitest_server_try_start(url, extra_config,
                                                          &status, &output);
    if (!srv) {
        testdb_drop(url);
        fail_msg("hadron-server exited with status %d before listening:\n%s",
                 status, output);
    }
    free(url);
    return srv;
}

/* Fails the test if 'text' has a line that shows trouble. */
static void
check_log(const struct apitest_server *srv, const char *what,
          const char *text)
{
    static const char *const bad[] = {
        "AddressSanitizer", "LeakSanitizer", "runtime error:",
        "UndefinedBehaviorSanitizer",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (strstr(text, bad[i])) {
            fail_msg("%s has a sanitizer report:\n%s", what, text);
        }
    }
    if (!srv->allow_errors && strstr(text, "Z ERR ")) {
        fail_msg("%s has an ERR line:\n%s", what, text);
    }
}

int
apitest_server_stop(struct apitest_server *srv)
{
    int status = 0;

    if (srv->curl) {
        curl_easy_cleanup(srv->curl);
    }
    if (srv->pid > 0) {
        kill(srv->pid, SIGTERM);
        for (int i = 0; i < 3000; i++) {
            pid_t w = waitpid(srv->pid, &status, WNOHANG);
            if (w == srv->pid) {
                srv->pid = 0;
                break;
            }
            usleep(10000);
        }
        if (srv->pid > 0) {
            kill(srv->pid, SIGKILL);
            waitpid(srv->pid, &status, 0);
            fail_msg("hadron-server did not stop within 30 s of SIGTERM");
        }
    }
    char *log = read_file(srv->log_path);
    char *err = read_file(srv->stderr_path);
    check_log(srv, "server log", log);
    check_log(srv, "server stderr", err);
    free(log);
    free(err);

    int exit_status = WIFEXITED(status) ? WEXITSTATUS(status)
                                        : 128 + WTERMSIG(status);
    if (exit_status != 0) {
        fail_msg("hadron-server exited with status %d", exit_status);
    }
    if (!srv->keep_db) {
        testdb_drop(srv->db_url);
    }
    free(srv->db_url);
    remove_files(srv);
    free(srv);
    return exit_status;
}

struct buffer {
    char *data;
    size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
    struct buffer *b = arg;
    size_t len = size * n;

    b->data = xrealloc(b->data, b->len + len + 1);
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

struct apitest_resp *
apitest_send(void *curl, int port, const char *method, const char *path,
             const char *headers, const char *body, long timeout_ms)
{
    struct apitest_resp *resp = xzalloc(sizeof *resp);
    struct buffer out = { 0 }, hdr = { 0 };
    struct curl_slist *list = NULL;
    CURL *c = curl;
    char url[4096];

    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    /* Threads: no signal for a timeout (Linux sends with MSG_NOSIGNAL). */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        if (!headers || !strcasestr(headers, "Content-Type:")) {
            list = curl_slist_append(list, "Content-Type: application/json");
        }
    }
    list = curl_slist_append(list, "Expect:");
    if (headers) {
        char *copy = xstrdup(headers), *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            list = curl_slist_append(list, line);
        }
        free(copy);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    uint64_t start = time_monotonic_usec();
    CURLcode rc = curl_easy_perform(c);
    resp->usec = time_monotonic_usec() - start;
    curl_slist_free_all(list);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    } else {
        resp->error = curl_easy_strerror(rc);
    }
    resp->body = out.data ? out.data : xstrdup("");
    resp->headers = hdr.data ? hdr.data : xstrdup("");
    if (*resp->body) {
        resp->json = yajl_tree_parse(resp->body, NULL, 0);
    }
    return resp;
}

struct apitest_resp *
apitest_request(struct apitest_server *srv, const char *method,
                const char *path, const char *headers, const char *body)
{
    struct apitest_resp *resp = apitest_send(srv->curl, srv->port, method,
                                             path, headers, body, 60000);
    if (resp->error) {
        const char *error = resp->error;       /* libcurl's, static */
        apitest_resp_free(resp);
        fail_msg("%s %s: %s", method, path, error);
    }
    return resp;
}

void
apitest_resp_free(struct apitest_resp *resp)
{
    if (resp) {
        yajl_tree_free(resp->json);
        free(resp->body);
        free(resp->headers);
        free(resp);
    }
}

struct apitest_resp *
api_get(struct apitest_server *srv, const char *path)
{
    return apitest_request(srv, "GET", path, NULL, NULL);
}

struct apitest_resp *
api_call(struct apitest_server *srv, const char *method, const char *path,
         const char *project, const char *body)
{
    char headers[512];

    if (project) {
        snprintf(headers, sizeof headers, "X-Project-Id: %s\nX-Roles: member",
                 project);
    }
    return apitest_request(srv, method, path, project ? headers : NULL, body);
}

yajl_val
jpath(yajl_val v, const char *path)
{
    char *copy = xstrdup(path), *save = NULL;

    for (char *seg = strtok_r(copy, "/", &save); seg && v;
         seg = strtok_r(NULL, "/", &save)) {
        if (YAJL_IS_ARRAY(v)) {
            char *end;
            long i = strtol(seg, &end, 10);
            v = !*end && i >= 0 && (size_t) i < v->u.array.len
                ? v->u.array.values[i] : NULL;
        } else if (YAJL_IS_OBJECT(v)) {
            yajl_val next = NULL;
            for (size_t i = 0; i < v->u.object.len; i++) {
                if (!strcmp(v->u.object.keys[i], seg)) {
                    next = v->u.object.values[i];
                    break;
                }
            }
            v = next;
        } else {
            v = NULL;
        }
    }
    free(copy);
    return v;
}

const char *
jstr(yajl_val root, const char *path)
{
    yajl_val v = jpath(root, path);
    return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

long long
jint(yajl_val root, const char *path)
{
    yajl_val v = jpath(root, path);
    return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

size_t
jlen(yajl_val root, const char *path)
{
    yajl_val v = jpath(root, path);
    return YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

double
apitest_metric(const char *text, const char *prefix)
{
    size_t len = strlen(prefix);

    for (const char *p = text; p && *p; ) {
        if (!strncmp(p, prefix, len) && p[len] == ' ') {
            return atof(p + len + 1);
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

double
apitest_scrape(struct apitest_server *srv, const char *prefix)
{
    struct apitest_resp *m = api_get(srv, "/metrics");
    double value = apitest_metric(m->body, prefix);

    apitest_resp_free(m);
    return value;
}

char *
apitest_resp_header(const struct apitest_resp *resp, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = resp->headers;

    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t) (eol - p) : strlen(p);
        if (len > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
            const char *v = p + nlen + 1;
            while (*v == ' ') {
                v++;
            }
            return xstrndup(v, len - (v - p));
        }
        p = eol ? eol + 2 : NULL;
    }
    return NULL;
}

void
apitest_assert_status__(const struct apitest_resp *resp, long status,
                        const char *file, int line)
{
    if (resp->status != status) {
        fail_msg("%s:%d: expected HTTP %ld, got %ld: %s", file, line, status,
                 resp->status, resp->body);
    }
}

void
apitest_assert_error__(const struct apitest_resp *resp, long status,
                       const char *type, const char *file, int line)
{
    apitest_assert_status__(resp, status, file, line);
    const char *got = jstr(resp->json, "NeutronError/type");
    const char *msg = jstr(resp->json, "NeutronError/message");
    if (!got || !msg || !jpath(resp->json, "NeutronError/detail")) {
        fail_msg("%s:%d: not a NeutronError body: %s", file, line,
                 resp->body);
    }
    if (type && strcmp(got, type)) {
        fail_msg("%s:%d: expected error type %s, got %s: %s", file, line,
                 type, got, resp->body);
    }
    char *ct = apitest_resp_header(resp, "Content-Type");
    if (!ct || strncmp(ct, "application/json", 16)) {
        fail_msg("%s:%d: error Content-Type is %s", file, line,
                 ct ? ct : "(none)");
    }
    free(ct);
}

void
apitest_assert_error_text__(const struct apitest_resp *resp, long status,
                            const char *type, const char *text,
                            const char *file, int line)
{
    apitest_assert_error__(resp, status, type, file, line);
    const char *msg = jstr(resp->json, "NeutronError/message");
    if (text && (!msg || !strstr(msg, text))) {
        fail_msg("%s:%d: expected '%s' in '%s'", file, line, text,
                 msg ? msg : "(none)");
    }
}

int
apitest_connect(const struct apitest_server *srv)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(srv->port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    return fd;
}

char *
apitest_raw(struct apitest_server *srv, const char *bytes, size_t len,
            int timeout_ms)
{
    struct buffer out = { 0 };
    int fd = apitest_connect(srv);
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, bytes + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            break;              /* the server may close early */
        }
        sent += n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char buf[4096];
        if (poll(&pfd, 1, timeout_ms) <= 0) {
            break;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        collect(buf, 1, n, &out);
    }
    close(fd);
    return out.data ? out.data : xstrdup("");
}
