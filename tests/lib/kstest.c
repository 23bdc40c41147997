/* tests/lib/kstest.c: see kstest.h. */
#include "tests/lib/kstest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

extern char **environ;

const char *kstest_script = "contrib/keystone.sh";

/* A TCP port free right now on 127.0.0.1. */
int
kstest_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sin;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* Runs contrib/keystone.sh with 'args' (NULL-terminated), with
 * KEYSTONE_TOKEN_EXPIRATION=expiration if nonnull; fails the test unless it
 * exits 0. */
void
kstest_keystone_sh(const char *expiration, ...)
{
    const char *argv[8] = { kstest_script };
    size_t n = 1;
    va_list ap;
    pid_t pid;
    int status;

    va_start(ap, expiration);
    for (const char *a; n < ARRAY_SIZE(argv) - 1
                        && (a = va_arg(ap, const char *)); ) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    if (expiration) {
        setenv("KEYSTONE_TOKEN_EXPIRATION", expiration, 1);
    }
    assert_int_equal(posix_spawn(&pid, kstest_script, NULL, NULL,
                                 (char **) argv, environ), 0);
    unsetenv("KEYSTONE_TOKEN_EXPIRATION");
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        fail_msg("contrib/keystone.sh %s failed", argv[1]);
    }
}

static size_t
buf_body(char *p, size_t size, size_t n, void *b_)
{
    struct buf *b = b_;
    b->data = xrealloc(b->data, b->len + size * n + 1);
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

static size_t
buf_header(char *p, size_t size, size_t n, void *b_)
{
    struct buf *b = b_;
    size_t len = size * n;
    if (len > 17 && !strncasecmp(p, "X-Subject-Token: ", 17)) {
        size_t end = len;
        while (end > 17 && (p[end - 1] == '\r' || p[end - 1] == '\n')) {
            end--;
        }
        free(b->subject);
        b->subject = xstrndup(p + 17, end - 17);
    }
    return len;
}

/* One request to the Keystone on 'port'.  Returns the status; the body
 * and X-Subject-Token in '*b' (caller frees). */
long
kstest_call(int port, const char *method, const char *path, const char *token,
        const char *subject, const char *body, struct buf *b)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char *url = xasprintf("http://127.0.0.1:%d/v3%s", port, path);
    char line[8300];
    long status = 0;

    memset(b, 0, sizeof *b);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (token) {
        snprintf(line, sizeof line, "X-Auth-Token: %s", token);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (subject) {
        snprintf(line, sizeof line, "X-Subject-Token: %s", subject);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, buf_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, b);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(h) == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(url);
    return status;
}

/* A token of 'user' (password "secret-<user>") scoped to 'project' (NULL:
 * unscoped), from the Keystone on 'port'.  Malloc'd. */
char *
kstest_token(int port, const char *user, const char *project)
{
    char scope[128] = "";
    struct buf b;

    if (project) {
        snprintf(scope, sizeof scope, ", \"scope\": {\"project\": {\"name\": "
                 "\"%s\", \"domain\": {\"id\": \"default\"}}}", project);
    }
    char *body = xasprintf(
        "{\"auth\": {\"identity\": {\"methods\": [\"password\"], "
        "\"password\": {\"user\": {\"name\": \"%s\", \"domain\": {\"id\": "
        "\"default\"}, \"password\": \"secret-%s\"}}}%s}}",
        user, user, scope);
    long status = kstest_call(port, "POST", "/auth/tokens?nocatalog", NULL, NULL,
                          body, &b);
    free(body);
    if (status != 201 || !b.subject) {
        fail_msg("no token for %s: %ld %s", user, status, b.data);
    }
    free(b.data);
    return b.subject;
}

