/* tests/odl-peer/test_odl_peer.c: tests hadron-odl-peer as a driver sees
 * it.
 *
 * Starts the real peer binary (posix_spawn) on a loopback port, talks to it
 * over HTTP with libcurl and asserts statuses, headers and bodies; its
 * control interface (/_peer/) resets it between tests.  Every peer is
 * stopped with SIGTERM at the end and must exit 0 with nothing on stderr
 * from the sanitizers. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "core/util.h"

#define NB "/controller/nb/v2/neutron"
#define USER "hadron"
#define PASSWORD "s3cret:x"
#define UNUSED __attribute__((__unused__))

extern char **environ;

/* A running hadron-odl-peer. */
struct peer_proc {
    pid_t pid;
    int port;
    char dir[128];
    char out_path[160];
    char err_path[160];
};

/* The answer to one HTTP request. */
struct http_result {
    long status;                /* 0 if the request failed (timeout...) */
    char *body;                 /* owned; "" if none */
    char *www_auth;             /* owned WWW-Authenticate value, or NULL */
    char *content_type;         /* owned Content-Type value, or NULL */
    double seconds;             /* wall time of the request */
};

/* The peer all tests share, and a second one some tests start. */
static struct peer_proc *peer;
static struct peer_proc *extra_peer;

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t len = 0, cap = 4096;
    char *buf = xmalloc(cap);

    if (f) {
        for (;;) {
            len += fread(buf + len, 1, cap - len - 1, f);
            if (len < cap - 1) {
                break;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        fclose(f);
    }
    buf[len] = '\0';
    return buf;
}

/* Starts the peer on 'port' (0: any) with our credentials, --state-file
 * 'state_file' if nonnull, and the NULL-terminated 'extra' arguments. */
static struct peer_proc *
peer_start(int port, const char *state_file, const char *const *extra)
{
    struct peer_proc *p = xzalloc(sizeof *p);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    posix_spawn_file_actions_t fa;
    char port_arg[16];
    const char *argv[20];
    size_t n = 0;

    snprintf(p->dir, sizeof p->dir, "%s/odl-peer-test-XXXXXX", tmp);
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->out_path, sizeof p->out_path, "%s/stdout", p->dir);
    snprintf(p->err_path, sizeof p->err_path, "%s/stderr", p->dir);
    snprintf(port_arg, sizeof port_arg, "%d", port);

    argv[n++] = ODL_PEER_BIN;
    argv[n++] = "--port";
    argv[n++] = port_arg;
    argv[n++] = "--user";
    argv[n++] = USER;
    argv[n++] = "--password";
    argv[n++] = PASSWORD;
    if (state_file) {
        argv[n++] = "--state-file";
        argv[n++] = state_file;
    }
    for (; extra && *extra; extra++) {
        argv[n++] = *extra;
    }
    argv[n] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p->out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, p->err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&p->pid, ODL_PEER_BIN, &fa, NULL,
                         (char *const *) argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);

    for (int i = 0; i < 1000; i++) {
        char *out = read_file(p->out_path);
        const char *line = strstr(out, "listening on http://127.0.0.1:");
        if (line && strchr(line, '\n')) {
            p->port = atoi(line + strlen("listening on http://127.0.0.1:"));
            free(out);
            assert_true(p->port > 0);
            assert_true(port == 0 || p->port == port);
            return p;
        }
        free(out);

        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            char *err = read_file(p->err_path);
            fail_msg("hadron-odl-peer exited (status %#x) before listening:"
                     "\n%s", status, err);
        }
        usleep(10000);
    }
    fail_msg("hadron-odl-peer did not listen within 10 s");
    return NULL;
}

/* Stops 'p' with SIGTERM: it must exit 0, with no sanitizer report. */
static void
peer_stop(struct peer_proc *p)
{
    static const char *const bad[] = {
        "AddressSanitizer", "LeakSanitizer", "runtime error:",
        "UndefinedBehaviorSanitizer",
    };
    int status = 0;
    int i;

    if (!p) {
        return;
    }
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    for (i = 0; i < 1000; i++) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            break;
        }
        usleep(10000);
    }
    if (i == 1000) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &status, 0);
        fail_msg("hadron-odl-peer did not exit within 10 s of SIGTERM");
    }

    char *err = read_file(p->err_path);
    for (size_t j = 0; j < ARRAY_SIZE(bad); j++) {
        if (strstr(err, bad[j])) {
            fail_msg("hadron-odl-peer stderr has a sanitizer report:\n%s",
                     err);
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        fail_msg("hadron-odl-peer ended with status %#x:\n%s", status, err);
    }
    free(err);
    unlink(p->out_path);
    unlink(p->err_path);
    rmdir(p->dir);
    free(p);
}

struct buf {
    char *data;
    size_t len;
};

static size_t
body_cb(char *data, size_t size, size_t n, void *b_)
{
    struct buf *b = b_;

    b->data = xrealloc(b->data, b->len + size * n + 1);
    memcpy(b->data + b->len, data, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* Stores a copy of the value of header 'name' from header line 'line'. */
static void
grab_header(const char *line, size_t len, const char *name, char **value)
{
    size_t n = strlen(name);

    if (len > n + 1 && !strncasecmp(line, name, n) && line[n] == ':') {
        const char *v = line + n + 1;
        const char *end = line + len;
        while (v < end && *v == ' ') {
            v++;
        }
        while (end > v && (end[-1] == '\r' || end[-1] == '\n')) {
            end--;
        }
        free(*value);
        *value = xstrndup(v, end - v);
    }
}

static size_t
header_cb(char *data, size_t size, size_t n, void *res_)
{
    struct http_result *res = res_;

    grab_header(data, size * n, "WWW-Authenticate", &res->www_auth);
    grab_header(data, size * n, "Content-Type", &res->content_type);
    return size * n;
}

/* Sends 'method' 'path' to port 'port', with 'body' (JSON, may be NULL),
 * basic auth 'userpwd' ("user:password", may be NULL) and a timeout of
 * 'timeout_ms' (0: 10 s). */
static struct http_result
http_full(int port, const char *method, const char *path, const char *body,
          const char *userpwd, long timeout_ms)
{
    struct http_result res = { 0 };
    struct buf b = { 0 };
    struct curl_slist *headers = NULL;
    CURL *curl = curl_easy_init();
    char *url = xasprintf("http://127.0.0.1:%d%s", port, path);

    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        headers = curl_slist_append(headers,
                                    "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (userpwd) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     timeout_ms ? timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res);

    uint64_t start = time_monotonic_usec();
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
    }
    res.seconds = (time_monotonic_usec() - start) / 1e6;
    res.body = b.data ? b.data : xstrdup("");

    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(url);
    return res;
}

static void
http_result_free(struct http_result *res)
{
    free(res->body);
    free(res->www_auth);
    free(res->content_type);
}

/* A Northbound request to the shared peer, with the right credentials. */
static struct http_result
nb(const char *method, const char *path, const char *body)
{
    char *full = xasprintf(NB "%s", path);
    struct http_result res = http_full(peer->port, method, full, body,
                                       USER ":" PASSWORD, 0);
    free(full);
    return res;
}

/* A control request to the shared peer. */
static struct http_result
ctl(const char *method, const char *path, const char *body)
{
    return http_full(peer->port, method, path, body, NULL, 0);
}

/* Sends a Northbound request and checks its status; returns the body. */
static char *
nb_expect(const char *method, const char *path, const char *body,
          long status)
{
    struct http_result res = nb(method, path, body);

    if (res.status != status) {
        fail_msg("%s %s: expected %ld, got %ld: %s", method, path, status,
                 res.status, res.body);
    }
    if (res.body[0]) {
        assert_non_null(res.content_type);
        assert_string_equal(res.content_type, "application/json");
    }
    char *ret = res.body;
    res.body = NULL;
    http_result_free(&res);
    return ret;
}

static void
nb_check(const char *method, const char *path, const char *body, long status)
{
    free(nb_expect(method, path, body, status));
}

static void
ctl_check(const char *method, const char *path, const char *body,
          long status)
{
    struct http_result res = ctl(method, path, body);

    if (res.status != status) {
        fail_msg("%s %s: expected %ld, got %ld: %s", method, path, status,
                 res.status, res.body);
    }
    http_result_free(&res);
}

/* JSON helpers. */

static yajl_val
parse(const char *text)
{
    char err[256] = "";
    yajl_val v = yajl_tree_parse(text, err, sizeof err);

    if (!v) {
        fail_msg("not JSON (%s): %s", err, text);
    }
    return v;
}

#define JGET(V, ...) \
    yajl_tree_get(V, (const char *[]) { __VA_ARGS__, NULL }, yajl_t_any)

static const char *
jstr(yajl_val v)
{
    assert_non_null(v);
    assert_true(YAJL_IS_STRING(v));
    return v->u.string;
}

static long long
jint(yajl_val v)
{
    assert_non_null(v);
    assert_true(YAJL_IS_INTEGER(v));
    return YAJL_GET_INTEGER(v);
}

static void
gen_value(yajl_gen g, yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        yajl_gen_string(g, (const unsigned char *) v->u.string,
                        strlen(v->u.string));
    } else if (YAJL_IS_NUMBER(v)) {
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, YAJL_IS_TRUE(v));
    } else if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];
            yajl_gen_string(g, (const unsigned char *) k, strlen(k));
            gen_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++) {
            gen_value(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
    } else {
        yajl_gen_null(g);
    }
}

/* 'v' as compact JSON text (owned). */
static char *
to_text(yajl_val v)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t len;

    gen_value(g, v);
    yajl_gen_get_buf(g, &buf, &len);
    char *s = xstrndup((const char *) buf, len);
    yajl_gen_free(g);
    return s;
}

/* Asserts that JSON texts 'a' and 'b' are the same value (same members in
 * the same order; spacing ignored). */
static void
assert_json_equal(const char *a, const char *b)
{
    yajl_val va = parse(a);
    yajl_val vb = parse(b);
    char *ta = to_text(va);
    char *tb = to_text(vb);

    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    yajl_tree_free(va);
    yajl_tree_free(vb);
}

/* Checks that 'body' is an error {"error": {"status": 'status', "type":
 * 'type', ...}}. */
static void
assert_error(const char *body, long status, const char *type)
{
    yajl_val v = parse(body);

    assert_int_equal(jint(JGET(v, "error", "status")), status);
    assert_string_equal(jstr(JGET(v, "error", "type")), type);
    assert_true(strlen(jstr(JGET(v, "error", "message"))) > 0);
    yajl_tree_free(v);
}

/* GET /_peer/state, parsed. */
static yajl_val
get_state(void)
{
    struct http_result res = ctl("GET", "/_peer/state", NULL);

    assert_int_equal(res.status, 200);
    yajl_val v = parse(res.body);
    http_result_free(&res);
    return v;
}

/* Number of objects of 'plural' in the stored state. */
static size_t
state_count(const char *plural)
{
    yajl_val state = get_state();
    yajl_val objs = JGET(state, plural);

    assert_non_null(objs);
    assert_true(YAJL_IS_OBJECT(objs));
    size_t n = objs->u.object.len;
    yajl_tree_free(state);
    return n;
}

/* GET /_peer/requests[?since=N], parsed. */
static yajl_val
get_log(const char *query)
{
    char *path = xasprintf("/_peer/requests%s", query ? query : "");
    struct http_result res = ctl("GET", path, NULL);

    assert_int_equal(res.status, 200);
    yajl_val v = parse(res.body);
    http_result_free(&res);
    free(path);
    return v;
}

/* Fixtures. */

#define NET "0b1f3a52-1c1e-4b5d-9b53-6c2a4f0e0001"
#define EXTNET "0b1f3a52-1c1e-4b5d-9b53-6c2a4f0e0002"
#define SUBNET "5a8e2c7d-3f4b-4e1a-8c9d-7b6a5e4d0001"
#define EXTSUBNET "5a8e2c7d-3f4b-4e1a-8c9d-7b6a5e4d0002"
#define PORT "9c4d2e1f-6a5b-4c3d-8e7f-1a2b3c4d0001"
#define ROUTER "3e5f7a9b-2c4d-4e6f-8a1b-3c5d7e9f0001"
#define FIP "7f6e5d4c-3b2a-4918-8776-655443320001"
#define MISSING "deadbeef-0000-4000-8000-000000000000"

#define NET_BODY(ID, NAME, EXT) \
    "{\"network\": {\"id\": \"" ID "\", \"name\": \"" NAME "\", " \
    "\"tenant_id\": \"t1\", \"admin_state_up\": true, \"shared\": false, " \
    "\"router:external\": " EXT ", \"mtu\": 1450, \"revision_number\": 1}}"
#define SUBNET_BODY(ID, NET_ID, CIDR) \
    "{\"subnet\": {\"id\": \"" ID "\", \"network_id\": \"" NET_ID "\", " \
    "\"ip_version\": 4, \"cidr\": \"" CIDR "\", \"enable_dhcp\": false, " \
    "\"tenant_id\": \"t1\", \"revision_number\": 1}}"
#define PORT_BODY(ID, NET_ID, SUBNET_ID) \
    "{\"port\": {\"id\": \"" ID "\", \"network_id\": \"" NET_ID "\", " \
    "\"mac_address\": \"fa:16:3e:00:00:01\", \"fixed_ips\": [{\"subnet_id\":" \
    " \"" SUBNET_ID "\", \"ip_address\": \"10.0.0.5\"}], \"device_owner\": " \
    "\"compute:nova\", \"device_id\": \"vm1\", \"tenant_id\": \"t1\", " \
    "\"revision_number\": 1}}"
#define ROUTER_BODY(ID, EXT_ID) \
    "{\"router\": {\"id\": \"" ID "\", \"name\": \"r1\", \"tenant_id\": " \
    "\"t1\", \"admin_state_up\": true, \"external_gateway_info\": " \
    "{\"network_id\": \"" EXT_ID "\", \"enable_snat\": true, " \
    "\"external_fixed_ips\": []}, \"revision_number\": 1}}"
#define FIP_BODY(ID, EXT_ID, PORT_ID, ROUTER_ID) \
    "{\"floatingip\": {\"id\": \"" ID "\", \"floating_network_id\": \"" \
    EXT_ID "\", \"floating_ip_address\": \"172.24.4.10\", \"port_id\": " \
    PORT_ID ", \"router_id\": " ROUTER_ID ", \"fixed_ip_address\": null, " \
    "\"tenant_id\": \"t1\", \"revision_number\": 1}}"

static void
create_network(const char *body)
{
    nb_check("POST", "/networks", body, 201);
}

/* Creates a tenant network with a subnet and a port on it, and an external
 * network with a subnet. */
static void
create_topology(void)
{
    create_network(NET_BODY(NET, "private", "false"));
    create_network(NET_BODY(EXTNET, "public", "true"));
    nb_check("POST", "/subnets", SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"),
             201);
    nb_check("POST", "/subnets",
             SUBNET_BODY(EXTSUBNET, EXTNET, "172.24.4.0/24"), 201);
    nb_check("POST", "/ports", PORT_BODY(PORT, NET, SUBNET), 201);
}

/* Setup and teardown. */

static int
group_setup(void **state UNUSED)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    peer = peer_start(0, NULL, NULL);
    return 0;
}

static int
group_teardown(void **state UNUSED)
{
    peer_stop(peer);
    peer = NULL;
    curl_global_cleanup();
    return 0;
}

/* Each test starts from an empty peer in normal mode with ODL's answers. */
static int
test_setup(void **state UNUSED)
{
    ctl_check("POST", "/_peer/mode",
              "{\"mode\": \"normal\", \"stall_ms\": 1000, "
              "\"dependency_status\": 442, \"duplicate_status\": 201}", 200);
    ctl_check("POST", "/_peer/reset", NULL, 204);
    return 0;
}

static int
test_teardown(void **state UNUSED)
{
    peer_stop(extra_peer);
    extra_peer = NULL;
    return 0;
}

/* The create/show/list/update/delete cycle of one object: 'create' is the
 * POST body, 'update' the PUT body (with the same "id"). */
static void
crud_cycle(const char *plural, const char *singular, const char *id,
           const char *create, const char *update)
{
    char *item = xasprintf("/%s/%s", plural, id);
    char *coll = xasprintf("/%s", plural);
    char *body;

    /* POST: 201 with the body echoed. */
    body = nb_expect("POST", coll, create, 201);
    assert_json_equal(body, create);
    free(body);

    /* GET one: {singular: object as received}. */
    body = nb_expect("GET", item, NULL, 200);
    assert_json_equal(body, create);
    free(body);

    /* GET collection: {plural: [...]} with our object in it. */
    body = nb_expect("GET", coll, NULL, 200);
    yajl_val list = parse(body);
    yajl_val arr = JGET(list, plural);
    yajl_val created = parse(create);
    bool found = false;
    assert_non_null(arr);
    assert_true(YAJL_IS_ARRAY(arr));
    for (size_t i = 0; i < arr->u.array.len; i++) {
        if (!strcmp(jstr(JGET(arr->u.array.values[i], "id")), id)) {
            char *a = to_text(arr->u.array.values[i]);
            char *b = to_text(JGET(created, singular));
            assert_string_equal(a, b);
            free(a);
            free(b);
            found = true;
        }
    }
    assert_true(found);
    yajl_tree_free(created);
    yajl_tree_free(list);
    free(body);

    /* PUT: 200 {singular: the stored object}, which is the new body. */
    body = nb_expect("PUT", item, update, 200);
    assert_json_equal(body, update);
    free(body);
    body = nb_expect("GET", item, NULL, 200);
    assert_json_equal(body, update);
    free(body);

    /* DELETE: 204, no body; then it is gone. */
    body = nb_expect("DELETE", item, NULL, 204);
    assert_string_equal(body, "");
    free(body);
    nb_check("GET", item, NULL, 404);
    nb_check("DELETE", item, NULL, 404);

    free(item);
    free(coll);
}

static void
test_network_crud(void **state UNUSED)
{
    crud_cycle("networks", "network", NET, NET_BODY(NET, "private", "false"),
               NET_BODY(NET, "renamed", "false"));
    assert_int_equal(state_count("networks"), 0);
}

static void
test_subnet_crud(void **state UNUSED)
{
    create_network(NET_BODY(NET, "private", "false"));
    crud_cycle("subnets", "subnet", SUBNET,
               SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"),
               SUBNET_BODY(SUBNET, NET, "10.0.1.0/24"));
}

static void
test_port_crud(void **state UNUSED)
{
    create_network(NET_BODY(NET, "private", "false"));
    nb_check("POST", "/subnets", SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"),
             201);
    crud_cycle("ports", "port", PORT, PORT_BODY(PORT, NET, SUBNET),
               "{\"port\": {\"id\": \"" PORT "\", \"network_id\": \"" NET
               "\", \"fixed_ips\": [], \"device_owner\": \"\", "
               "\"device_id\": \"\", \"revision_number\": 2}}");
}

static void
test_router_crud(void **state UNUSED)
{
    create_network(NET_BODY(EXTNET, "public", "true"));
    crud_cycle("routers", "router", ROUTER, ROUTER_BODY(ROUTER, EXTNET),
               "{\"router\": {\"id\": \"" ROUTER "\", \"name\": \"r1\", "
               "\"external_gateway_info\": null, \"revision_number\": 2}}");
}

static void
test_floatingip_crud(void **state UNUSED)
{
    create_topology();
    nb_check("POST", "/routers", ROUTER_BODY(ROUTER, EXTNET), 201);
    crud_cycle("floatingips", "floatingip", FIP,
               FIP_BODY(FIP, EXTNET, "null", "null"),
               FIP_BODY(FIP, EXTNET, "\"" PORT "\"", "\"" ROUTER "\""));
}

/* A PUT body without "id" is stored with the URL's id. */
static void
test_update_sets_id(void **state UNUSED)
{
    char *body;

    create_network(NET_BODY(NET, "private", "false"));
    body = nb_expect("PUT", "/networks/" NET,
                     "{\"network\": {\"name\": \"x\"}}", 200);
    assert_json_equal(body, "{\"network\": {\"name\": \"x\", \"id\": \""
                      NET "\"}}");
    free(body);
}

/* An update older than the stored object (revision_number) is answered
 * 200 without a body and changes nothing. */
static void
test_stale_revision(void **state UNUSED)
{
    char *body;

    create_network("{\"network\": {\"id\": \"" NET "\", \"name\": \"a\", "
                   "\"revision_number\": 5}}");
    body = nb_expect("PUT", "/networks/" NET,
                     "{\"network\": {\"id\": \"" NET "\", \"name\": \"b\", "
                     "\"revision_number\": 4}}", 200);
    assert_string_equal(body, "");
    free(body);
    body = nb_expect("GET", "/networks/" NET, NULL, 200);
    yajl_val v = parse(body);
    assert_string_equal(jstr(JGET(v, "network", "name")), "a");
    yajl_tree_free(v);
    free(body);
}

static void
test_bulk_create(void **state UNUSED)
{
    const char *req = "{\"networks\": [{\"id\": \"" NET "\", \"name\": "
                      "\"a\"}, {\"id\": \"" EXTNET "\", \"name\": \"b\"}]}";
    char *body = nb_expect("POST", "/networks", req, 201);

    assert_json_equal(body, req);
    free(body);
    assert_int_equal(state_count("networks"), 2);
}

/* Without credentials, or with wrong ones: 401 with a basic-auth challenge
 * for realm "opendaylight", and nothing changes. */
static void
test_auth_refused(void **state UNUSED)
{
    static const char *const creds[] = {
        NULL, USER ":wrong", "admin:" PASSWORD, "admin:admin", USER ":",
    };

    for (size_t i = 0; i < ARRAY_SIZE(creds); i++) {
        struct http_result res = http_full(peer->port, "POST",
                                           NB "/networks",
                                           NET_BODY(NET, "a", "false"),
                                           creds[i], 0);
        assert_int_equal(res.status, 401);
        assert_non_null(res.www_auth);
        assert_string_equal(res.www_auth, "Basic realm=\"opendaylight\"");
        assert_error(res.body, 401, "NotAuthorized");
        http_result_free(&res);

        res = http_full(peer->port, "GET", NB "/networks", NULL, creds[i],
                        0);
        assert_int_equal(res.status, 401);
        http_result_free(&res);
    }
    assert_int_equal(state_count("networks"), 0);

    /* The control interface needs no credentials. */
    ctl_check("GET", "/_peer/state", NULL, 200);
}

/* Checks a refused create or update: 'status', type DependencyMissing,
 * naming the missing object. */
static void
expect_missing(const char *method, const char *path, const char *body,
               long status, const char *missing_type, const char *missing_id)
{
    char *answer = nb_expect(method, path, body, status);
    yajl_val v = parse(answer);

    assert_error(answer, status, "DependencyMissing");
    assert_string_equal(jstr(JGET(v, "error", "missing", "type")),
                        missing_type);
    assert_string_equal(jstr(JGET(v, "error", "missing", "id")), missing_id);
    yajl_tree_free(v);
    free(answer);
}

static void
test_dependencies_refused(void **state UNUSED)
{
    /* Subnet on a missing network. */
    expect_missing("POST", "/subnets",
                   SUBNET_BODY(SUBNET, MISSING, "10.0.0.0/24"), 442,
                   "network", MISSING);
    /* Port on a missing network. */
    expect_missing("POST", "/ports", PORT_BODY(PORT, MISSING, SUBNET), 442,
                   "network", MISSING);
    /* Router with a gateway on a missing network. */
    expect_missing("POST", "/routers", ROUTER_BODY(ROUTER, MISSING), 442,
                   "network", MISSING);
    /* Floating IP on a missing network. */
    expect_missing("POST", "/floatingips",
                   FIP_BODY(FIP, MISSING, "null", "null"), 442, "network",
                   MISSING);
    assert_int_equal(state_count("subnets") + state_count("ports")
                     + state_count("routers") + state_count("floatingips"),
                     0);

    create_network(NET_BODY(NET, "private", "false"));
    create_network(NET_BODY(EXTNET, "public", "true"));

    /* Port with a fixed IP on a missing subnet. */
    expect_missing("POST", "/ports", PORT_BODY(PORT, NET, MISSING), 442,
                   "subnet", MISSING);
    /* Floating IP for a missing port, or through a missing router. */
    expect_missing("POST", "/floatingips",
                   FIP_BODY(FIP, EXTNET, "\"" MISSING "\"", "null"), 442,
                   "port", MISSING);
    expect_missing("POST", "/floatingips",
                   FIP_BODY(FIP, EXTNET, "null", "\"" MISSING "\""), 442,
                   "router", MISSING);

    /* An update is checked the same way, and changes nothing. */
    nb_check("POST", "/subnets", SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"),
             201);
    nb_check("POST", "/ports", PORT_BODY(PORT, NET, SUBNET), 201);
    expect_missing("PUT", "/ports/" PORT, PORT_BODY(PORT, NET, MISSING), 442,
                   "subnet", MISSING);
    char *body = nb_expect("GET", "/ports/" PORT, NULL, 200);
    assert_json_equal(body, PORT_BODY(PORT, NET, SUBNET));
    free(body);

    /* The status is configurable, e.g. 400 as older ODL-style drivers
     * expect. */
    ctl_check("POST", "/_peer/mode", "{\"dependency_status\": 400}", 200);
    expect_missing("POST", "/subnets",
                   SUBNET_BODY(EXTSUBNET, MISSING, "10.9.0.0/24"), 400,
                   "network", MISSING);
}

static void
test_delete_in_use_refused(void **state UNUSED)
{
    char *body;

    create_topology();
    nb_check("POST", "/routers", ROUTER_BODY(ROUTER, EXTNET), 201);
    nb_check("POST", "/floatingips",
             FIP_BODY(FIP, EXTNET, "\"" PORT "\"", "\"" ROUTER "\""), 201);

    /* A network with a subnet and a port. */
    body = nb_expect("DELETE", "/networks/" NET, NULL, 409);
    assert_error(body, 409, "InUse");
    free(body);
    nb_check("DELETE", "/ports/" PORT, NULL, 204);
    nb_check("DELETE", "/networks/" NET, NULL, 409);    /* its subnet */
    nb_check("DELETE", "/subnets/" SUBNET, NULL, 204);

    /* Only subnets here: the port is gone. */
    body = nb_expect("DELETE", "/networks/" NET, NULL, 204);
    free(body);

    /* An external network with a router gateway and a floating IP. */
    nb_check("DELETE", "/subnets/" EXTSUBNET, NULL, 204);
    nb_check("DELETE", "/networks/" EXTNET, NULL, 409);
    nb_check("DELETE", "/floatingips/" FIP, NULL, 204);
    nb_check("DELETE", "/networks/" EXTNET, NULL, 409);
    nb_check("DELETE", "/routers/" ROUTER, NULL, 204);
    nb_check("DELETE", "/networks/" EXTNET, NULL, 204);
    assert_int_equal(state_count("networks"), 0);
}

/* ODL accepts a create of an id it has (201) and keeps its copy; 409 (or
 * any status) can be chosen instead. */
static void
test_duplicate_create(void **state UNUSED)
{
    char *body;

    create_network(NET_BODY(NET, "first", "false"));
    body = nb_expect("POST", "/networks", NET_BODY(NET, "second", "false"),
                     201);
    assert_json_equal(body, NET_BODY(NET, "second", "false"));
    free(body);
    body = nb_expect("GET", "/networks/" NET, NULL, 200);
    assert_json_equal(body, NET_BODY(NET, "first", "false"));
    free(body);

    ctl_check("POST", "/_peer/mode", "{\"duplicate_status\": 409}", 200);
    body = nb_expect("POST", "/networks", NET_BODY(NET, "third", "false"),
                     409);
    assert_error(body, 409, "AlreadyExists");
    free(body);
    body = nb_expect("GET", "/networks/" NET, NULL, 200);
    assert_json_equal(body, NET_BODY(NET, "first", "false"));
    free(body);
    assert_int_equal(state_count("networks"), 1);
}

static void
test_missing_resources(void **state UNUSED)
{
    static const char *const plurals[] = {
        "networks", "subnets", "ports", "routers", "floatingips",
    };

    for (size_t i = 0; i < ARRAY_SIZE(plurals); i++) {
        char *path = xasprintf("/%s/" MISSING, plurals[i]);
        char *body = xasprintf("{\"%.*s\": {\"id\": \"" MISSING "\"}}",
                               (int) strlen(plurals[i]) - 1, plurals[i]);
        char *answer;

        answer = nb_expect("GET", path, NULL, 404);
        assert_error(answer, 404, "NotFound");
        free(answer);
        answer = nb_expect("PUT", path, body, 404);
        assert_error(answer, 404, "NotFound");
        free(answer);
        answer = nb_expect("DELETE", path, NULL, 404);
        assert_error(answer, 404, "NotFound");
        free(answer);

        /* An empty collection is a 200 with an empty list. */
        char *coll = xasprintf("/%s", plurals[i]);
        char *want = xasprintf("{\"%s\": []}", plurals[i]);
        answer = nb_expect("GET", coll, NULL, 200);
        assert_json_equal(answer, want);
        free(answer);
        free(want);
        free(coll);
        free(path);
        free(body);
    }
}

static void
test_bad_requests(void **state UNUSED)
{
    static const struct {
        const char *method, *path, *body;
        long status;
    } cases[] = {
        { "POST", "/networks", "{\"network\": {\"id\": ", 400 },
        { "POST", "/networks", "", 400 },
        { "POST", "/networks", "[1, 2]", 400 },
        { "POST", "/networks", "{\"subnet\": {\"id\": \"" NET "\"}}", 400 },
        { "POST", "/networks", "{\"network\": \"x\"}", 400 },
        { "POST", "/networks", "{\"network\": {\"name\": \"no id\"}}", 400 },
        { "POST", "/networks", "{\"network\": {\"id\": 7}}", 400 },
        { "PUT", "/networks/" NET, "{\"networks\": []}", 400 },
        { "PUT", "/networks/" NET, "not json", 400 },
        { "GET", "/widgets", NULL, 404 },
        { "GET", "", NULL, 404 },
        { "GET", "/networks/" NET "/extra", NULL, 404 },
        { "DELETE", "/networks", NULL, 405 },
        { "POST", "/networks/" NET, "{}", 405 },
        { "PATCH", "/networks/" NET, "{}", 405 },
    };

    create_network(NET_BODY(NET, "private", "false"));
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct http_result res = nb(cases[i].method, cases[i].path,
                                    cases[i].body);
        if (res.status != cases[i].status) {
            fail_msg("%s %s %s: expected %ld, got %ld: %s", cases[i].method,
                     cases[i].path, cases[i].body ? cases[i].body : "",
                     cases[i].status, res.status, res.body);
        }
        yajl_val err = parse(res.body);
        assert_int_equal(jint(JGET(err, "error", "status")), cases[i].status);
        yajl_tree_free(err);
        http_result_free(&res);
    }

    /* Nothing changed. */
    char *body = nb_expect("GET", "/networks/" NET, NULL, 200);
    assert_json_equal(body, NET_BODY(NET, "private", "false"));
    free(body);

    /* Outside the Northbound base: 404 too. */
    struct http_result res = http_full(peer->port, "GET", "/restconf/x",
                                       NULL, USER ":" PASSWORD, 0);
    assert_int_equal(res.status, 404);
    http_result_free(&res);
}

/* ODL keeps PUT add/remove_router_interface for compatibility: 200 with
 * the body echoed, and nothing stored. */
static void
test_router_interface_compat(void **state UNUSED)
{
    const char *req = "{\"subnet_id\": \"" SUBNET "\", \"port_id\": \""
                      PORT "\", \"id\": \"" ROUTER "\"}";
    char *body;

    body = nb_expect("PUT", "/routers/" ROUTER "/add_router_interface", req,
                     200);
    assert_json_equal(body, req);
    free(body);
    body = nb_expect("PUT", "/routers/" ROUTER "/remove_router_interface",
                     req, 200);
    assert_json_equal(body, req);
    free(body);
    nb_check("GET", "/routers/" ROUTER "/add_router_interface", NULL, 405);
    assert_int_equal(state_count("routers"), 0);
}

static void
test_fail503(void **state UNUSED)
{
    struct http_result res;
    char *body;

    create_network(NET_BODY(NET, "private", "false"));
    res = ctl("POST", "/_peer/mode", "{\"mode\": \"fail503\"}");
    assert_int_equal(res.status, 200);
    yajl_val mode = parse(res.body);
    assert_string_equal(jstr(JGET(mode, "mode")), "fail503");
    yajl_tree_free(mode);
    http_result_free(&res);

    body = nb_expect("POST", "/subnets",
                     SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"), 503);
    assert_error(body, 503, "ServiceUnavailable");
    free(body);
    nb_check("GET", "/networks", NULL, 503);
    nb_check("GET", "/networks/" NET, NULL, 503);
    nb_check("DELETE", "/networks/" NET, NULL, 503);

    /* The control interface still answers; nothing changed. */
    assert_int_equal(state_count("subnets"), 0);
    assert_int_equal(state_count("networks"), 1);

    ctl_check("POST", "/_peer/mode", "{\"mode\": \"normal\"}", 200);
    nb_check("POST", "/subnets", SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"),
             201);
}

/* fail500: every Northbound request a 500 (a server error networking-odl
 * counts against retry_count), nothing applied. */
static void
test_fail500(void **state UNUSED)
{
    char *body;

    create_network(NET_BODY(NET, "private", "false"));
    ctl_check("POST", "/_peer/mode", "{\"mode\": \"fail500\"}", 200);
    struct http_result res = ctl("GET", "/_peer/mode", NULL);
    yajl_val mode = parse(res.body);
    assert_string_equal(jstr(JGET(mode, "mode")), "fail500");
    yajl_tree_free(mode);
    http_result_free(&res);

    body = nb_expect("POST", "/subnets",
                     SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"), 500);
    assert_error(body, 500, "InternalServerError");
    free(body);
    nb_check("GET", "/networks/" NET, NULL, 500);
    nb_check("PUT", "/networks/" NET, NET_BODY(NET, "renamed", "false"), 500);
    nb_check("DELETE", "/networks/" NET, NULL, 500);
    assert_int_equal(state_count("subnets"), 0);
    assert_int_equal(state_count("networks"), 1);

    ctl_check("POST", "/_peer/mode", "{\"mode\": \"normal\"}", 200);
    nb_check("POST", "/subnets", SUBNET_BODY(SUBNET, NET, "10.0.0.0/24"),
             201);
}

static void
test_stall(void **state UNUSED)
{
    struct http_result res;

    ctl_check("POST", "/_peer/mode",
              "{\"mode\": \"stall\", \"stall_ms\": 400}", 200);

    /* Every Northbound answer comes after 400 ms... */
    res = nb("POST", "/networks", NET_BODY(NET, "private", "false"));
    assert_int_equal(res.status, 201);
    assert_true(res.seconds >= 0.39);
    http_result_free(&res);
    res = nb("GET", "/networks/" NET, NULL);
    assert_int_equal(res.status, 200);
    assert_true(res.seconds >= 0.39);
    http_result_free(&res);

    /* ...but the control interface is not held. */
    res = ctl("GET", "/_peer/mode", NULL);
    assert_int_equal(res.status, 200);
    assert_true(res.seconds < 0.3);
    http_result_free(&res);

    /* A driver that gives up first sees a timeout, yet the request took
     * effect: the peer applies it on arrival and only answers late. */
    res = http_full(peer->port, "POST", NB "/networks",
                    NET_BODY(EXTNET, "public", "true"), USER ":" PASSWORD,
                    100);
    assert_int_equal(res.status, 0);
    http_result_free(&res);
    assert_int_equal(state_count("networks"), 2);
    usleep(500 * 1000);         /* let the held answer go out */

    ctl_check("POST", "/_peer/mode", "{\"mode\": \"normal\"}", 200);
    res = nb("GET", "/networks", NULL);
    assert_int_equal(res.status, 200);
    assert_true(res.seconds < 0.3);
    http_result_free(&res);
}

static void
test_mode_validation(void **state UNUSED)
{
    static const char *const bad[] = {
        "{\"mode\": \"broken\"}", "{\"stall_ms\": -1}",
        "{\"stall_ms\": \"10\"}", "{\"dependency_status\": 99}",
        "{\"duplicate_status\": 600}", "{\"colour\": \"red\"}", "[]", "{",
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        ctl_check("POST", "/_peer/mode", bad[i], 400);
    }
    struct http_result res = ctl("GET", "/_peer/mode", NULL);
    assert_int_equal(res.status, 200);
    assert_json_equal(res.body, "{\"mode\": \"normal\", \"stall_ms\": 1000, "
                      "\"dependency_status\": 442, "
                      "\"duplicate_status\": 201}");
    http_result_free(&res);
    ctl_check("GET", "/_peer/nothing", NULL, 404);
}

static void
test_reset(void **state UNUSED)
{
    create_topology();
    nb_check("POST", "/routers", ROUTER_BODY(ROUTER, EXTNET), 201);
    assert_int_equal(state_count("networks"), 2);

    ctl_check("POST", "/_peer/reset", NULL, 204);

    static const char *const plurals[] = {
        "networks", "subnets", "ports", "routers", "floatingips",
    };
    for (size_t i = 0; i < ARRAY_SIZE(plurals); i++) {
        char *coll = xasprintf("/%s", plurals[i]);
        char *want = xasprintf("{\"%s\": []}", plurals[i]);
        char *body = nb_expect("GET", coll, NULL, 200);
        assert_json_equal(body, want);
        free(body);
        free(want);
        free(coll);
        assert_int_equal(state_count(plurals[i]), 0);
    }
    nb_check("GET", "/networks/" NET, NULL, 404);

    /* The log restarts too: only the GETs above are in it. */
    yajl_val log = get_log(NULL);
    yajl_val reqs = JGET(log, "requests");
    assert_int_equal(reqs->u.array.len, ARRAY_SIZE(plurals) + 1);
    assert_int_equal(jint(JGET(reqs->u.array.values[0], "seq")), 1);
    yajl_tree_free(log);
}

static void
test_request_log(void **state UNUSED)
{
    static const struct {
        const char *method, *path, *body, *userpwd;
        long status;
    } reqs[] = {
        { "POST", NB "/networks", NET_BODY(NET, "private", "false"),
          USER ":" PASSWORD, 201 },
        { "GET", NB "/networks", NULL, NULL, 401 },
        { "POST", NB "/subnets", SUBNET_BODY(SUBNET, MISSING, "10.0.0.0/24"),
          USER ":" PASSWORD, 442 },
        { "PUT", NB "/networks/" NET, NET_BODY(NET, "renamed", "false"),
          USER ":" PASSWORD, 200 },
        { "GET", NB "/networks/" NET, NULL, USER ":" PASSWORD, 200 },
        { "POST", NB "/networks", "{broken", USER ":" PASSWORD, 400 },
        { "DELETE", NB "/networks/" NET, NULL, USER ":" PASSWORD, 204 },
        { "GET", "/elsewhere", NULL, USER ":" PASSWORD, 404 },
    };

    for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
        struct http_result res = http_full(peer->port, reqs[i].method,
                                           reqs[i].path, reqs[i].body,
                                           reqs[i].userpwd, 0);
        assert_int_equal(res.status, reqs[i].status);
        http_result_free(&res);
        /* Control requests in between are not logged. */
        ctl_check("GET", "/_peer/state", NULL, 200);
    }

    yajl_val log = get_log(NULL);
    yajl_val entries = JGET(log, "requests");
    assert_non_null(entries);
    assert_int_equal(entries->u.array.len, ARRAY_SIZE(reqs));
    for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
        yajl_val e = entries->u.array.values[i];
        yajl_val body = JGET(e, "body");

        assert_int_equal(jint(JGET(e, "seq")), i + 1);
        assert_string_equal(jstr(JGET(e, "method")), reqs[i].method);
        assert_string_equal(jstr(JGET(e, "path")), reqs[i].path);
        assert_int_equal(jint(JGET(e, "status")), reqs[i].status);
        assert_true(YAJL_IS_NULL(JGET(e, "query")));
        if (!reqs[i].body) {
            assert_true(YAJL_IS_NULL(body));
        } else if (!strcmp(reqs[i].body, "{broken")) {
            /* Not JSON: kept as a string. */
            assert_string_equal(jstr(body), "{broken");
        } else {
            char *text = to_text(body);
            assert_json_equal(text, reqs[i].body);
            free(text);
        }
        if (i) {
            assert_true(jint(JGET(e, "time_ms"))
                        >= jint(JGET(entries->u.array.values[i - 1],
                                     "time_ms")));
        }
    }
    yajl_tree_free(log);

    /* ?since=N gives what came after entry N. */
    log = get_log("?since=6");
    entries = JGET(log, "requests");
    assert_int_equal(entries->u.array.len, 2);
    assert_int_equal(jint(JGET(entries->u.array.values[0], "seq")), 7);
    yajl_tree_free(log);

    /* A query string is recorded. */
    nb_check("GET", "/networks?fields=id&fields=name", NULL, 200);
    log = get_log("?since=8");
    entries = JGET(log, "requests");
    assert_int_equal(entries->u.array.len, 1);
    assert_string_equal(jstr(JGET(entries->u.array.values[0], "path")),
                        NB "/networks");
    assert_string_equal(jstr(JGET(entries->u.array.values[0], "query")),
                        "fields=id&fields=name");
    yajl_tree_free(log);

    /* DELETE /_peer/requests empties the log but keeps the state. */
    create_network(NET_BODY(NET, "private", "false"));
    ctl_check("DELETE", "/_peer/requests", NULL, 204);
    log = get_log(NULL);
    assert_int_equal(JGET(log, "requests")->u.array.len, 0);
    yajl_tree_free(log);
    assert_int_equal(state_count("networks"), 1);
}

/* A peer stopped with SIGTERM and started again on the same port comes
 * back empty: the controller lost its state. */
static void
test_restart_same_port(void **state UNUSED)
{
    extra_peer = peer_start(0, NULL, NULL);
    int port = extra_peer->port;
    struct http_result res;

    res = http_full(port, "POST", NB "/networks",
                    NET_BODY(NET, "private", "false"), USER ":" PASSWORD, 0);
    assert_int_equal(res.status, 201);
    http_result_free(&res);

    peer_stop(extra_peer);
    extra_peer = NULL;
    res = http_full(port, "GET", NB "/networks", NULL, USER ":" PASSWORD,
                    1000);
    assert_int_equal(res.status, 0);        /* nobody listening */
    http_result_free(&res);

    extra_peer = peer_start(port, NULL, NULL);
    res = http_full(port, "GET", NB "/networks/" NET, NULL,
                    USER ":" PASSWORD, 0);
    assert_int_equal(res.status, 404);
    http_result_free(&res);
}

/* With --state-file the objects survive a restart (the log does not). */
static void
test_state_file(void **state UNUSED)
{
    char dir[] = "/tmp/odl-peer-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *file = xasprintf("%s/state.json", dir);
    struct http_result res;

    extra_peer = peer_start(0, file, NULL);
    int port = extra_peer->port;
    const char *bodies[][2] = {
        { NB "/networks", NET_BODY(NET, "private", "false") },
        { NB "/subnets", SUBNET_BODY(SUBNET, NET, "10.0.0.0/24") },
        { NB "/ports", PORT_BODY(PORT, NET, SUBNET) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
        res = http_full(port, "POST", bodies[i][0], bodies[i][1],
                        USER ":" PASSWORD, 0);
        assert_int_equal(res.status, 201);
        http_result_free(&res);
    }
    peer_stop(extra_peer);
    extra_peer = NULL;

    extra_peer = peer_start(port, file, NULL);
    res = http_full(port, "GET", NB "/ports/" PORT, NULL, USER ":" PASSWORD,
                    0);
    assert_int_equal(res.status, 200);
    assert_json_equal(res.body, PORT_BODY(PORT, NET, SUBNET));
    http_result_free(&res);
    res = http_full(port, "DELETE", NB "/networks/" NET, NULL,
                    USER ":" PASSWORD, 0);
    assert_int_equal(res.status, 409);     /* dependencies restored too */
    http_result_free(&res);
    res = http_full(port, "GET", "/_peer/requests", NULL, NULL, 0);
    yajl_val log = parse(res.body);
    assert_int_equal(JGET(log, "requests")->u.array.len, 2);
    yajl_tree_free(log);
    http_result_free(&res);

    /* A reset empties the file as well. */
    res = http_full(port, "POST", "/_peer/reset", NULL, NULL, 0);
    assert_int_equal(res.status, 204);
    http_result_free(&res);
    peer_stop(extra_peer);
    extra_peer = peer_start(port, file, NULL);
    res = http_full(port, "GET", NB "/networks", NULL, USER ":" PASSWORD, 0);
    assert_json_equal(res.body, "{\"networks\": []}");
    http_result_free(&res);
    peer_stop(extra_peer);
    extra_peer = NULL;

    unlink(file);
    rmdir(dir);
    free(file);
}

/* The answers to a missing dependency and to a duplicate create can be
 * chosen on the command line. */
static void
test_command_line(void **state UNUSED)
{
    const char *const args[] = { "--dependency-status", "400",
                                 "--duplicate-status", "409", NULL };
    struct http_result res;

    extra_peer = peer_start(0, NULL, args);
    res = http_full(extra_peer->port, "GET", "/_peer/mode", NULL, NULL, 0);
    assert_json_equal(res.body, "{\"mode\": \"normal\", \"stall_ms\": 1000, "
                      "\"dependency_status\": 400, "
                      "\"duplicate_status\": 409}");
    http_result_free(&res);

    res = http_full(extra_peer->port, "POST", NB "/subnets",
                    SUBNET_BODY(SUBNET, MISSING, "10.0.0.0/24"),
                    USER ":" PASSWORD, 0);
    assert_int_equal(res.status, 400);
    http_result_free(&res);
}

int
main(void)
{
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, test_setup, \
                                                test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_network_crud),
        T(test_subnet_crud),
        T(test_port_crud),
        T(test_router_crud),
        T(test_floatingip_crud),
        T(test_update_sets_id),
        T(test_stale_revision),
        T(test_bulk_create),
        T(test_auth_refused),
        T(test_dependencies_refused),
        T(test_delete_in_use_refused),
        T(test_duplicate_create),
        T(test_missing_resources),
        T(test_bad_requests),
        T(test_router_interface_compat),
        T(test_fail503),
        T(test_fail500),
        T(test_stall),
        T(test_mode_validation),
        T(test_reset),
        T(test_request_log),
        T(test_restart_same_port),
        T(test_state_file),
        T(test_command_line),
    };
#undef T

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
