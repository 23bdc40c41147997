/* tests/unit/test_odl_driver.c: the `odl` flavor driver in-process,
 * through the flavor registry's wrappers, against hadron-odl-peer.
 *
 *   - options: [ml2_odl], then [odl], then the provider's section (a later
 *     key overrides); networking-odl options without meaning here are
 *     ignored, unknown ones and bad values refuse to start; [ml2_odl] is
 *     not reported as an unknown section;
 *   - health(): a fresh controller (no canary) has lost its state;
 *     sync_all() makes it hold exactly the documents' objects and the
 *     canary; a reset is noticed; an unreachable controller is unhealthy;
 *   - apply() of hand-written entries: the bodies and their order, each
 *     entry applied twice leaves the same state, deletes collect what
 *     nothing refers to;
 *   - answers: no answer (closed port, TLS to a plain HTTP server) and 503
 *     are RETRY; bad credentials FAILED with the controller's answer;
 *   - retry_count: an entry answered 500 is retried retry_count times and
 *     then FAILED (networking-odl's count); 503s never count;
 *   - L2 entries (resource network/subnet/port, the document one network
 *     as core/l3_mech.c journals them): a touched network goes whole to
 *     the controller, a router's port only once its router is there; a
 *     deleted port goes; an untouched network leaves with its subnets and
 *     ports, RETRY while a router's gateway still holds it;
 *   - TLS: the peer behind a real TLS server (socat with a certificate the
 *     test makes with openssl): https with ca_file that certificate works,
 *     with another CA no answer comes (RETRY). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "backends/odl/odl_driver.h"
#include "core/config.h"
#include "core/util.h"
#include "flavors/registry.h"

extern char **environ;

#define NB "/controller/nb/v2/neutron"
#define R1 "aaaaaaaa-0000-4000-8000-000000000001"
#define EXT "eeeeeeee-0000-4000-8000-000000000001"
#define EXT_SUB "eeeeeeee-0000-4000-8000-000000000002"
#define GW_PORT "eeeeeeee-0000-4000-8000-000000000003"
#define NET "bbbbbbbb-0000-4000-8000-000000000001"
#define SUB "bbbbbbbb-0000-4000-8000-000000000002"
#define IF_PORT "bbbbbbbb-0000-4000-8000-000000000003"
#define VM_PORT "bbbbbbbb-0000-4000-8000-000000000004"
#define FIP "ffffffff-0000-4000-8000-000000000001"

/* ---- The peer ---- */

static pid_t peer_pid;
static int peer_port;
static char peer_out[] = "/tmp/test_odl_driver_peer_XXXXXX";

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = xzalloc(65536);

    if (f) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static int
peer_setup(void **state)
{
    posix_spawn_file_actions_t fa;
    int fd = mkstemp(peer_out);

    assert_true(fd >= 0);
    close(fd);
    char *argv[] = { (char *) ODL_PEER_BIN, (char *) "--port", (char *) "0",
                     NULL };
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, peer_out,
                                     O_WRONLY | O_TRUNC, 0644);
    assert_int_equal(posix_spawn(&peer_pid, ODL_PEER_BIN, &fa, NULL, argv,
                                 environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 3000 && !peer_port; i++) {
        char *out = read_file(peer_out);
        const char *p = strstr(out, "listening on http://127.0.0.1:");
        if (p) {
            peer_port = atoi(p + strlen("listening on http://127.0.0.1:"));
        }
        free(out);
        usleep(10000);
    }
    assert_true(peer_port > 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int
peer_teardown(void **state)
{
    int status = 0;

    kill(peer_pid, SIGTERM);
    waitpid(peer_pid, &status, 0);
    unlink(peer_out);
    curl_global_cleanup();
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
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

/* A request to the peer; returns the parsed answer (caller frees). */
static yajl_val
peer(const char *method, const char *path, const char *body)
{
    struct buffer b = { xzalloc(1), 0 };
    char *url = xasprintf("http://127.0.0.1:%d%s", peer_port, path);
    CURL *c = curl_easy_init();

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_USERPWD, "admin:admin");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    free(url);
    yajl_val tree = yajl_tree_parse(b.data, NULL, 0);
    free(b.data);
    return tree;
}

static yajl_val
jget(yajl_val v, const char *a, const char *b)
{
    const char *path[] = { a, b, NULL };
    return yajl_tree_get(v, path, yajl_t_any);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The ids the peer holds of 'plural', sorted (by text), space-separated. */
static char *
held(const char *plural)
{
    yajl_val state = peer("GET", "/_peer/state", NULL);
    yajl_val objs = jget(state, plural, NULL);
    size_t n = YAJL_IS_OBJECT(objs) ? objs->u.object.len : 0;
    const char **keys = xcalloc(n + 1, sizeof *keys);
    char *text = xstrdup("");

    for (size_t i = 0; i < n; i++) {
        keys[i] = objs->u.object.keys[i];
    }
    if (n) {
        qsort(keys, n, sizeof *keys, cmp_str);
    }
    for (size_t i = 0; i < n; i++) {
        char *longer = xasprintf("%s%s%s", text, i ? " " : "", keys[i]);
        free(text);
        text = longer;
    }
    free(keys);
    yajl_tree_free(state);
    return text;
}

/* ---- The registry ---- */

static struct config *
load(const char *text)
{
    char path[] = "/tmp/test_odl_driver_XXXXXX";
    int fd = mkstemp(path);
    struct config *cfg = config_create();

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    char *error = config_load_file(cfg, path);
    unlink(path);
    assert_null(error);
    return cfg;
}

static char *
init_from(const char *text)
{
    struct config *cfg = load(text);
    char *error = l3_registry_init(cfg);
    config_destroy(cfg);
    return error;
}

/* One odl provider on the peer with 'extra' configuration. */
static const struct l3_provider *
odl_provider(const char *extra)
{
    char *text = xasprintf("[service_providers]\n"
                           "service_provider = L3_ROUTER_NAT:odl:odl\n"
                           "[ml2_odl]\nurl = http://127.0.0.1:%d" NB "\n"
                           "timeout = 1\nusername = admin\n"
                           "password = admin\n%s", peer_port,
                           extra ? extra : "");
    char *error = init_from(text);
    free(text);
    if (error) {
        fail_msg("%s", error);
    }
    return l3_provider_find("odl");
}

static int
registry_teardown(void **state)
{
    l3_registry_destroy();
    return 0;
}

/* ---- Tests ---- */

static void
test_options(void **state)
{
    char *error;

    /* [ml2_odl] is claimed by the odl provider, not reported. */
    struct config *cfg = load("[service_providers]\n"
                              "service_provider = L3_ROUTER_NAT:odl:odl\n"
                              "[ml2_odl]\nurl = http://h:1/x\n"
                              "[ml2_other]\nk = 1\n");
    assert_int_equal(cfg->warnings.n, 1);
    assert_non_null(strstr(cfg->warnings.items[0], "[ml2_other] k"));
    config_destroy(cfg);

    /* Order: [ml2_odl], [odl], the provider's own section. */
    error = init_from("[service_providers]\n"
                      "service_provider = L3_ROUTER_NAT:p:odl\n"
                      "[ml2_odl]\nurl = ftp://nowhere\n"
                      "[odl]\nurl = http://127.0.0.1:1/a\n"
                      "[p]\ntimeout = 0\n");
    assert_non_null(error);
    assert_non_null(strstr(error, "timeout: '0'"));
    free(error);
    error = init_from("[service_providers]\n"
                      "service_provider = L3_ROUTER_NAT:p:odl\n"
                      "[odl]\nurl = ftp://nowhere\n");
    assert_non_null(strstr(error, "not an http:// or https:// URL"));
    free(error);
    error = init_from("[service_providers]\n"
                      "service_provider = L3_ROUTER_NAT:p:odl\n"
                      "[ml2_odl]\nurl = http://127.0.0.1:1/a\n"
                      "port_binding_controller = pseudo-agentdb-binding\n"
                      "odl_features = operational-port-status\n"
                      "[p]\nsync_timeout = 0.25\nretry_count = 3\n"
                      "ca_file = /nonexistent.pem\n");
    assert_null(error);
    l3_registry_destroy();
    error = init_from("[service_providers]\n"
                      "service_provider = L3_ROUTER_NAT:p:odl\n"
                      "[odl]\ncontroller = x\n");
    assert_non_null(strstr(error, "unknown option 'controller'"));
    free(error);
    error = init_from("[service_providers]\n"
                      "service_provider = L3_ROUTER_NAT:p:odl\n"
                      "[odl]\nretry_count = -1\n");
    assert_non_null(strstr(error, "retry_count"));
    free(error);
}

/* The router document of R1: a gateway on EXT, an interface on NET, a
 * floating IP to VM_PORT; 'name' and 'revision' vary. */
static char *
doc(const char *name, int revision, bool with_fip)
{
    return xasprintf(
        "{\"id\": \"" R1 "\", \"name\": \"%s\", \"project_id\": \"p1\", "
        "\"admin_state_up\": true, \"flavor_id\": null, "
        "\"revision_number\": %d, "
        "\"external_gateway_info\": {\"network_id\": \"" EXT "\", "
        "\"enable_snat\": true, \"external_fixed_ips\": [{\"subnet_id\": \""
        EXT_SUB "\", \"ip_address\": \"172.24.4.10\"}], \"port\": {\"id\": \""
        GW_PORT "\"}}, \"routes\": [], "
        "\"interfaces\": [{\"port_id\": \"" IF_PORT "\"}], "
        "\"floatingips\": [%s], "
        "\"l2\": {\"networks\": ["
        "{\"id\": \"" EXT "\", \"name\": \"ext\", \"project_id\": \"admin\", "
        "\"router:external\": true},"
        "{\"id\": \"" NET "\", \"name\": \"int\", \"project_id\": \"p1\", "
        "\"router:external\": false}], "
        "\"subnets\": ["
        "{\"id\": \"" EXT_SUB "\", \"network_id\": \"" EXT "\", "
        "\"cidr\": \"172.24.4.0/24\", \"project_id\": \"admin\"},"
        "{\"id\": \"" SUB "\", \"network_id\": \"" NET "\", "
        "\"cidr\": \"10.0.0.0/24\", \"project_id\": \"p1\"}], "
        "\"ports\": ["
        "{\"id\": \"" GW_PORT "\", \"network_id\": \"" EXT "\", "
        "\"project_id\": \"\", \"device_owner\": \"network:router_gateway\", "
        "\"device_id\": \"" R1 "\", \"fixed_ips\": [{\"subnet_id\": \""
        EXT_SUB "\", \"ip_address\": \"172.24.4.10\"}]},"
        "{\"id\": \"" IF_PORT "\", \"network_id\": \"" NET "\", "
        "\"project_id\": \"p1\", \"device_owner\": "
        "\"network:router_interface\", \"device_id\": \"" R1 "\", "
        "\"fixed_ips\": [{\"subnet_id\": \"" SUB "\", \"ip_address\": "
        "\"10.0.0.1\"}]}%s]}}", name, revision,
        with_fip ? "{\"id\": \"" FIP "\", \"floating_ip_address\": "
                   "\"172.24.4.20\", \"fixed_ip_address\": \"10.0.0.5\", "
                   "\"port_id\": \"" VM_PORT "\", \"floating_network_id\": \""
                   EXT "\", \"project_id\": \"p1\", \"revision_number\": 1}"
                 : "",
        with_fip ? ",{\"id\": \"" VM_PORT "\", \"network_id\": \"" NET "\", "
                   "\"project_id\": \"p1\", \"device_owner\": "
                   "\"compute:nova\", \"device_id\": \"vm\", \"fixed_ips\": "
                   "[{\"subnet_id\": \"" SUB "\", \"ip_address\": "
                   "\"10.0.0.5\"}]}"
                 : "");
}

static enum hadron_l3_result
apply(const struct l3_provider *p, const char *resource,
      const char *operation, const char *id, const char *data,
      const char *router, char *msg, size_t size)
{
    static int64_t seq;
    struct hadron_l3_entry e = {
        .seq = ++seq, .resource = resource, .operation = operation,
        .resource_id = id, .router_id = R1, .revision = 1, .data = data,
        .router = router,
    };
    msg[0] = '\0';
    return l3_provider_apply(p, &e, msg, size);
}

/* Applies an entry twice: OK both times and the same state. */
static void
apply_twice(const struct l3_provider *p, const char *resource,
            const char *operation, const char *id, const char *data,
            const char *router)
{
    char msg[512];
    static const char *const plurals[] = {
        "networks", "subnets", "routers", "ports", "floatingips",
    };
    char *before[5];

    assert_int_equal(apply(p, resource, operation, id, data, router, msg,
                           sizeof msg), HADRON_L3_OK);
    for (int i = 0; i < 5; i++) {
        before[i] = held(plurals[i]);
    }
    if (apply(p, resource, operation, id, data, router, msg, sizeof msg)
        != HADRON_L3_OK) {
        fail_msg("again: %s", msg);
    }
    for (int i = 0; i < 5; i++) {
        char *after = held(plurals[i]);
        assert_string_equal(before[i], after);
        free(after);
        free(before[i]);
    }
}

static void
test_health_sync_apply(void **state)
{
    char msg[512];
    bool lost;

    yajl_tree_free(peer("POST", "/_peer/reset", NULL));
    const struct l3_provider *p = odl_provider(NULL);

    /* A fresh controller has lost its state (no canary). */
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_true(lost);
    char *d1 = doc("r1", 1, true);
    const char *docs[] = { d1 };
    assert_int_equal(l3_provider_sync_all(p, docs, 1, msg, sizeof msg),
                     HADRON_L3_OK);
    char *t = held("networks");
    assert_string_equal(t, NET " " ODL_CANARY_NETWORK_ID " " EXT);
    free(t);
    t = held("ports");
    assert_string_equal(t, IF_PORT " " VM_PORT " " GW_PORT);
    free(t);
    t = held("floatingips");
    assert_string_equal(t, FIP);
    free(t);
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_false(lost);

    /* The router body, as a controller gets it. */
    yajl_val r = peer("GET", NB "/routers/" R1, NULL);
    assert_string_equal(YAJL_GET_STRING(jget(r, "router", "tenant_id")),
                        "p1");
    assert_string_equal(YAJL_GET_STRING(jget(r, "router", "gw_port_id")),
                        GW_PORT);
    yajl_tree_free(r);

    /* Entries, each applied twice. */
    char *d2 = doc("r1-renamed", 2, true);
    apply_twice(p, "router", "update", R1, d2, d2);
    r = peer("GET", NB "/routers/" R1, NULL);
    assert_string_equal(YAJL_GET_STRING(jget(r, "router", "name")),
                        "r1-renamed");
    yajl_tree_free(r);

    /* The FIP leaves the router: removed, with the port it pointed at. */
    char *d3 = doc("r1-renamed", 3, false);
    apply_twice(p, "floatingip", "delete", FIP,
                "{\"id\": \"" FIP "\", \"port_id\": \"" VM_PORT "\"}", d3);
    t = held("ports");
    assert_string_equal(t, IF_PORT " " GW_PORT);
    free(t);
    t = held("floatingips");
    assert_string_equal(t, "");
    free(t);

    /* The interface goes: its port, subnet and network with it. */
    apply_twice(p, "router_interface", "delete", IF_PORT,
                "{\"id\": \"" IF_PORT "\", \"network_id\": \"" NET "\", "
                "\"fixed_ips\": [{\"subnet_id\": \"" SUB "\"}]}", d3);
    t = held("networks");
    assert_string_equal(t, ODL_CANARY_NETWORK_ID " " EXT);
    free(t);

    /* The router goes: its gateway port and the external network. */
    apply_twice(p, "router", "delete", R1, d3, NULL);
    t = held("networks");
    assert_string_equal(t, ODL_CANARY_NETWORK_ID);
    free(t);
    t = held("ports");
    assert_string_equal(t, "");
    free(t);

    /* A reset is noticed. */
    yajl_tree_free(peer("POST", "/_peer/reset", NULL));
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_true(lost);
    free(d1);
    free(d2);
    free(d3);
}

/* The document of an L2 entry for NET: touched or not, with SUB, the
 * interface port of R1 and (if 'vm') VM_PORT. */
static char *
net_doc(bool touched, bool vm)
{
    if (!touched) {
        return xstrdup("{\"network_id\": \"" NET "\", \"touched\": false, "
                       "\"l2\": {\"networks\": [], \"subnets\": [], "
                       "\"ports\": [], \"journaled\": true}}");
    }
    return xasprintf(
        "{\"network_id\": \"" NET "\", \"touched\": true, \"l2\": {"
        "\"networks\": [{\"id\": \"" NET "\", \"name\": \"int\", "
        "\"project_id\": \"p1\"}], "
        "\"subnets\": [{\"id\": \"" SUB "\", \"network_id\": \"" NET "\", "
        "\"cidr\": \"10.0.0.0/24\", \"project_id\": \"p1\"}], "
        "\"ports\": [{\"id\": \"" IF_PORT "\", \"network_id\": \"" NET "\", "
        "\"device_owner\": \"network:router_interface\", \"device_id\": \""
        R1 "\", \"fixed_ips\": [{\"subnet_id\": \"" SUB "\", "
        "\"ip_address\": \"10.0.0.1\"}]}%s], \"journaled\": true}}",
        vm ? ", {\"id\": \"" VM_PORT "\", \"network_id\": \"" NET "\", "
             "\"device_owner\": \"compute:nova\", \"device_id\": \"vm\", "
             "\"fixed_ips\": [{\"subnet_id\": \"" SUB "\", "
             "\"ip_address\": \"10.0.0.5\"}]}" : "");
}

static enum hadron_l3_result
apply_l2(const struct l3_provider *p, const char *resource,
         const char *operation, const char *id, const char *network_id,
         const char *router, char *msg, size_t size)
{
    static int64_t seq = 1000000;
    char *data = xasprintf("{\"id\": \"%s\", \"network_id\": \"%s\"}", id,
                           network_id);
    struct hadron_l3_entry e = {
        .seq = ++seq, .resource = resource, .operation = operation,
        .resource_id = id, .router_id = network_id, .revision = 1,
        .data = data, .router = router,
    };
    msg[0] = '\0';
    enum hadron_l3_result result = l3_provider_apply(p, &e, msg, size);
    free(data);
    return result;
}

static void
expect_held(const char *plural, const char *ids)
{
    char *t = held(plural);
    assert_string_equal(t, ids);
    free(t);
}

static void
test_l2_entries(void **state)
{
    char msg[512];

    yajl_tree_free(peer("POST", "/_peer/reset", NULL));
    const struct l3_provider *p = odl_provider(NULL);
    assert_int_equal(l3_provider_sync_all(p, NULL, 0, msg, sizeof msg),
                     HADRON_L3_OK);

    /* A VM port on a touched network: the network whole, but the
     * interface port of R1, which is not on the controller yet. */
    char *d = net_doc(true, true);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(apply_l2(p, "port", "create", VM_PORT, NET, d, msg,
                                  sizeof msg), HADRON_L3_OK);
        expect_held("networks", NET " " ODL_CANARY_NETWORK_ID);
        expect_held("subnets", SUB);
        expect_held("ports", VM_PORT);
    }

    /* R1 there: the next entry of the network sends its port. */
    yajl_tree_free(peer("POST", NB "/routers", "{\"router\": {\"id\": \""
                        R1 "\", \"name\": \"r1\"}}"));
    assert_int_equal(apply_l2(p, "network", "update", NET, NET, d, msg,
                              sizeof msg), HADRON_L3_OK);
    expect_held("ports", IF_PORT " " VM_PORT);
    free(d);

    /* The VM port deleted. */
    d = net_doc(true, false);
    assert_int_equal(apply_l2(p, "port", "delete", VM_PORT, NET, d, msg,
                              sizeof msg), HADRON_L3_OK);
    expect_held("ports", IF_PORT);
    free(d);

    /* The last interface gone: the network leaves whole. */
    d = net_doc(false, false);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(apply_l2(p, "port", "delete", IF_PORT, NET, d, msg,
                                  sizeof msg), HADRON_L3_OK);
        expect_held("networks", ODL_CANARY_NETWORK_ID);
        expect_held("subnets", "");
        expect_held("ports", "");
    }
    free(d);

    /* A network a router's gateway still holds on the controller: RETRY
     * until that router's own entry moves it. */
    d = net_doc(true, false);
    assert_int_equal(apply_l2(p, "network", "create", NET, NET, d, msg,
                              sizeof msg), HADRON_L3_OK);
    free(d);
    yajl_tree_free(peer("PUT", NB "/routers/" R1, "{\"router\": {\"id\": \""
                        R1 "\", \"external_gateway_info\": {\"network_id\": "
                        "\"" NET "\"}}}"));
    d = net_doc(false, false);
    assert_int_equal(apply_l2(p, "network", "update", NET, NET, d, msg,
                              sizeof msg), HADRON_L3_RETRY);
    assert_non_null(strstr(msg, "in use"));
    expect_held("ports", "");
    yajl_tree_free(peer("PUT", NB "/routers/" R1, "{\"router\": {\"id\": \""
                        R1 "\", \"external_gateway_info\": null}}"));
    assert_int_equal(apply_l2(p, "network", "update", NET, NET, d, msg,
                              sizeof msg), HADRON_L3_OK);
    expect_held("networks", ODL_CANARY_NETWORK_ID);
    free(d);
}

static void
test_answers(void **state)
{
    char msg[512];
    bool lost;
    char *d = doc("r1", 1, false);

    /* 503: RETRY. */
    yajl_tree_free(peer("POST", "/_peer/reset", NULL));
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"fail503\"}"));
    const struct l3_provider *p = odl_provider("username = admin\n"
                                               "password = admin\n");
    assert_int_equal(apply(p, "router", "create", R1, d, d, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_non_null(strstr(msg, "503"));
    assert_false(l3_provider_health(p, &lost, msg, sizeof msg));
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"normal\"}"));
    assert_int_equal(apply(p, "router", "create", R1, d, d, msg, sizeof msg),
                     HADRON_L3_OK);
    l3_registry_destroy();

    /* Bad credentials: FAILED, with the controller's answer. */
    p = odl_provider("username = admin\npassword = wrong\n");
    assert_int_equal(apply(p, "router", "update", R1, d, d, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_non_null(strstr(msg, "401"));
    l3_registry_destroy();

    /* No answer: a closed port, TLS to a plain HTTP server. */
    char *text = xasprintf("[service_providers]\n"
                           "service_provider = L3_ROUTER_NAT:odl:odl\n"
                           "[odl]\nurl = https://127.0.0.1:%d" NB "\n"
                           "timeout = 1\n", peer_port);
    assert_null(init_from(text));
    free(text);
    p = l3_provider_find("odl");
    assert_int_equal(apply(p, "router", "create", R1, d, d, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_non_null(strstr(msg, "unreachable"));
    assert_false(l3_provider_health(p, &lost, msg, sizeof msg));
    l3_registry_destroy();
    assert_null(init_from("[service_providers]\n"
                          "service_provider = L3_ROUTER_NAT:odl:odl\n"
                          "[odl]\nurl = http://127.0.0.1:1/x\n"));
    p = l3_provider_find("odl");
    assert_int_equal(apply(p, "router", "create", R1, d, d, msg, sizeof msg),
                     HADRON_L3_RETRY);
    const char *docs[] = { d };
    assert_int_equal(l3_provider_sync_all(p, docs, 1, msg, sizeof msg),
                     HADRON_L3_RETRY);
    free(d);
}

/* An entry answered 500 is retried retry_count times, then FAILED; one
 * answered 503 never counts. */
static void
test_retry_count(void **state)
{
    char msg[512];
    char *d = doc("r1", 1, false);
    struct hadron_l3_entry e = {
        .seq = 1000, .resource = "router", .operation = "create",
        .resource_id = R1, .router_id = R1, .revision = 1, .data = d,
        .router = d,
    };

    yajl_tree_free(peer("POST", "/_peer/reset", NULL));
    const struct l3_provider *p = odl_provider("retry_count = 2\n");
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"fail500\"}"));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                         HADRON_L3_RETRY);
        assert_non_null(strstr(msg, "500"));
    }
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_FAILED);
    assert_non_null(strstr(msg, "500"));
    assert_non_null(strstr(msg, "retry_count 2"));

    /* Another entry counts on its own; 503s do not count at all, nor do
     * the server errors of an entry that then succeeded. */
    e.seq = 1001;
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_RETRY);
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"fail503\"}"));
    for (int i = 0; i < 5; i++) {
        assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                         HADRON_L3_RETRY);
        assert_non_null(strstr(msg, "503"));
    }
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"fail500\"}"));
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_RETRY);
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"normal\"}"));
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_OK);
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"fail500\"}"));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                         HADRON_L3_RETRY);
    }
    assert_int_equal(l3_provider_apply(p, &e, msg, sizeof msg),
                     HADRON_L3_FAILED);
    yajl_tree_free(peer("POST", "/_peer/mode", "{\"mode\": \"normal\"}"));
    free(d);
}

/* ---- TLS: the peer behind socat ---- */

/* Runs 'argv' (from PATH) with its output to /dev/null; returns its exit
 * status, or -1. */
static int
run(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    int error = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (error || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

/* Makes a self-signed certificate for 127.0.0.1 in 'dir'/'name'.pem with
 * its key in 'dir'/'name'.key. */
static void
make_cert(const char *dir, const char *name)
{
    char *crt = xasprintf("%s/%s.pem", dir, name);
    char *key = xasprintf("%s/%s.key", dir, name);
    char *argv[] = {
        (char *) "openssl", (char *) "req", (char *) "-x509",
        (char *) "-newkey", (char *) "rsa:2048", (char *) "-nodes",
        (char *) "-subj", (char *) "/CN=127.0.0.1",
        (char *) "-addext", (char *) "subjectAltName=IP:127.0.0.1",
        (char *) "-days", (char *) "1", (char *) "-keyout", key,
        (char *) "-out", crt, NULL,
    };
    assert_int_equal(run(argv), 0);
    free(crt);
    free(key);
}

/* A free loopback TCP port (bound, read, closed). */
static int
free_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

static bool
port_open(int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = !connect(fd, (struct sockaddr *) &sin, sizeof sin);
    close(fd);
    return ok;
}

static char tls_dir[] = "/tmp/test_odl_driver_tls_XXXXXX";
static pid_t tls_socat;

/* Stops socat and removes the certificates, even after a failure. */
static int
tls_teardown(void **state)
{
    static const char *const files[] = {
        "server.pem", "server.key", "other.pem", "other.key",
    };

    if (tls_socat > 0) {
        int status;
        kill(tls_socat, SIGTERM);
        waitpid(tls_socat, &status, 0);
        tls_socat = 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *path = xasprintf("%s/%s", tls_dir, files[i]);
        unlink(path);
        free(path);
    }
    rmdir(tls_dir);
    return registry_teardown(state);
}

static void
test_tls(void **state)
{
    char *dir = tls_dir;
    char msg[512];
    bool lost;

    assert_non_null(mkdtemp(dir));
    make_cert(dir, "server");
    make_cert(dir, "other");
    int port = free_port();
    char *listen = xasprintf("OPENSSL-LISTEN:%d,bind=127.0.0.1,cert=%s/"
                             "server.pem,key=%s/server.key,verify=0,"
                             "reuseaddr,fork", port, dir, dir);
    char *connect_to = xasprintf("TCP:127.0.0.1:%d", peer_port);
    char *argv[] = { (char *) "socat", listen, connect_to, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    assert_int_equal(posix_spawnp(&tls_socat, "socat", &fa, NULL, argv,
                                  environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(listen);
    free(connect_to);
    for (int i = 0; i < 500 && !port_open(port); i++) {
        usleep(10000);
    }
    assert_true(port_open(port));

    /* ca_file the server's certificate: requests succeed over https. */
    yajl_tree_free(peer("POST", "/_peer/reset", NULL));
    char *text = xasprintf("[service_providers]\n"
                           "service_provider = L3_ROUTER_NAT:odl:odl\n"
                           "[odl]\nurl = https://127.0.0.1:%d" NB "\n"
                           "timeout = 2\nusername = admin\n"
                           "password = admin\nca_file = %s/server.pem\n",
                           port, dir);
    assert_null(init_from(text));
    free(text);
    const struct l3_provider *p = l3_provider_find("odl");
    char *d = doc("r1", 1, true);
    const char *docs[] = { d };
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_true(lost);
    if (l3_provider_sync_all(p, docs, 1, msg, sizeof msg) != HADRON_L3_OK) {
        fail_msg("sync_all over https: %s", msg);
    }
    assert_int_equal(apply(p, "router", "update", R1, d, d, msg, sizeof msg),
                     HADRON_L3_OK);
    assert_true(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_false(lost);
    char *t = held("routers");
    assert_string_equal(t, R1);
    free(t);
    l3_registry_destroy();

    /* Another CA: the server is not trusted, no answer (RETRY). */
    text = xasprintf("[service_providers]\n"
                     "service_provider = L3_ROUTER_NAT:odl:odl\n"
                     "[odl]\nurl = https://127.0.0.1:%d" NB "\n"
                     "timeout = 2\nusername = admin\n"
                     "password = admin\nca_file = %s/other.pem\n",
                     port, dir);
    assert_null(init_from(text));
    free(text);
    p = l3_provider_find("odl");
    yajl_tree_free(peer("DELETE", "/_peer/requests", NULL));
    assert_int_equal(apply(p, "router", "update", R1, d, d, msg, sizeof msg),
                     HADRON_L3_RETRY);
    assert_non_null(strstr(msg, "unreachable"));
    assert_false(l3_provider_health(p, &lost, msg, sizeof msg));
    assert_int_equal(l3_provider_sync_all(p, docs, 1, msg, sizeof msg),
                     HADRON_L3_RETRY);
    /* Nothing reached the controller. */
    yajl_val log = peer("GET", "/_peer/requests", NULL);
    yajl_val reqs = jget(log, "requests", NULL);
    assert_true(YAJL_IS_ARRAY(reqs));
    assert_int_equal(reqs->u.array.len, 0);
    yajl_tree_free(log);

    free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_options, registry_teardown),
        cmocka_unit_test_teardown(test_health_sync_apply, registry_teardown),
        cmocka_unit_test_teardown(test_answers, registry_teardown),
        cmocka_unit_test_teardown(test_l2_entries, registry_teardown),
        cmocka_unit_test_teardown(test_retry_count, registry_teardown),
        cmocka_unit_test_teardown(test_tls, tls_teardown),
    };
    return cmocka_run_group_tests(tests, peer_setup, peer_teardown);
}
