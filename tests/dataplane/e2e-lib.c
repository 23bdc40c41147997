/* tests/dataplane/e2e-lib.c: see e2e-lib.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/dataplane/e2e-lib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/netns/netns.h"
#include "core/util.h"
#include "tests/lib/topo.h"

extern char **environ;

struct apitest_server *e2e_srv;

void
e2e_sleep_ms(int ms)
{
    topo_sleep_ms(ms);
}

int
e2e_run(char *out, size_t out_size, const char *fmt, ...)
{
    posix_spawn_file_actions_t fa;
    char line[1024], *argv[64], *save = NULL;
    int fds[2] = { -1, -1 };
    size_t argc = 0, len = 0;
    va_list args;
    pid_t child;
    int status;

    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    for (char *tok = strtok_r(line, " ", &save); tok && argc < 63;
         tok = strtok_r(NULL, " ", &save)) {
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    if (out && out_size) {
        out[0] = '\0';
    }

    posix_spawn_file_actions_init(&fa);
    if (out) {
        if (pipe(fds)) {
            posix_spawn_file_actions_destroy(&fa);
            return -1;
        }
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    if (posix_spawnp(&child, argv[0], &fa, NULL, argv, environ)) {
        posix_spawn_file_actions_destroy(&fa);
        if (out) {
            close(fds[0]);
            close(fds[1]);
        }
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (out) {
        ssize_t n;

        close(fds[1]);
        while (len + 1 < out_size
               && (n = read(fds[0], out + len, out_size - 1 - len)) > 0) {
            len += (size_t) n;
        }
        out[len] = '\0';
        close(fds[0]);
    }
    if (waitpid(child, &status, 0) < 0) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool
e2e_ping_ok(const char *ns, const char *dst)
{
    return e2e_run(NULL, 0, "ip netns exec %s ping -n -q -c 3 -i 0.2 -W 1 %s",
                   ns, dst) == 0;
}

bool
e2e_ping_fails(const char *ns, const char *dst)
{
    return e2e_run(NULL, 0, "ip netns exec %s ping -n -q -c 2 -i 0.2 -W 1 %s",
                   ns, dst) != 0;
}

/* ---- Threads and sockets inside namespaces ---- */

struct ns_call {
    const char *ns;
    void (*fn)(void *);
    void *aux;
    int error;
};

static void *
ns_call_main(void *c_)
{
    struct ns_call *c = c_;
    char path[128];
    int fd;

    snprintf(path, sizeof path, "/run/netns/%s", c->ns);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET)) {
        c->error = errno;
    } else {
        c->fn(c->aux);
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

int
e2e_in_ns(const char *ns, void (*fn)(void *), void *aux)
{
    struct ns_call c = { ns, fn, aux, 0 };
    pthread_t t;

    if (pthread_create(&t, NULL, ns_call_main, &c)) {
        return EAGAIN;
    }
    pthread_join(t, NULL);
    return c.error;
}

struct sock_req {
    int domain, type, proto;
    int fd;
};

static void
open_socket(void *r_)
{
    struct sock_req *r = r_;

    r->fd = socket(r->domain, r->type | SOCK_CLOEXEC, r->proto);
}

int
e2e_ns_socket(const char *ns, int domain, int type, int proto)
{
    struct sock_req r = { domain, type, proto, -1 };

    return e2e_in_ns(ns, open_socket, &r) ? -1 : r.fd;
}

bool
e2e_udp_probe(const char *from, const char *to, const char *dst,
              uint16_t port, char src[INET_ADDRSTRLEN])
{
    return e2e_udp_probe_sport(from, to, dst, port, 0, src);
}

bool
e2e_udp_probe_sport(const char *from, const char *to, const char *dst,
                    uint16_t port, uint16_t sport, char src[INET_ADDRSTRLEN])
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int rx = e2e_ns_socket(to, AF_INET, SOCK_DGRAM, 0);
    int tx = e2e_ns_socket(from, AF_INET, SOCK_DGRAM, 0);
    bool got = false;
    int one = 1;

    src[0] = '\0';
    assert_true(rx >= 0 && tx >= 0);
    a.sin_port = htons(port);
    setsockopt(rx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(rx, (struct sockaddr *) &a, sizeof a), 0);
    if (sport) {
        struct sockaddr_in s = { .sin_family = AF_INET,
                                 .sin_port = htons(sport) };

        setsockopt(tx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        assert_int_equal(bind(tx, (struct sockaddr *) &s, sizeof s), 0);
    }
    assert_int_equal(inet_pton(AF_INET, dst, &a.sin_addr), 1);
    for (int i = 0; i < 10 && !got; i++) {
        struct pollfd pfd = { .fd = rx, .events = POLLIN };

        sendto(tx, "hadron", 6, 0, (struct sockaddr *) &a, sizeof a);
        if (poll(&pfd, 1, 200) == 1) {
            struct sockaddr_in from_addr;
            socklen_t len = sizeof from_addr;
            char buf[16];

            if (recvfrom(rx, buf, sizeof buf, 0,
                         (struct sockaddr *) &from_addr, &len) == 6) {
                inet_ntop(AF_INET, &from_addr.sin_addr, src,
                          INET_ADDRSTRLEN);
                got = true;
            }
        }
    }
    close(rx);
    close(tx);
    return got;
}

/* ---- The API ---- */

/* e2e_call() with the body's arguments in 'args'. */
static struct apitest_resp *e2e_vcall(const char *method, const char *path,
                                      const char *project, const char *fmt,
                                      va_list args)
    __attribute__((format(printf, 4, 0)));

static struct apitest_resp *
e2e_vcall(const char *method, const char *path, const char *project,
          const char *fmt, va_list args)
{
    char *body = NULL;

    if (fmt && vasprintf(&body, fmt, args) < 0) {
        abort();
    }
    struct apitest_resp *r = api_call(e2e_srv, method, path, project, body);
    free(body);
    return r;
}

struct apitest_resp *
e2e_call(const char *method, const char *path, const char *project,
         const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    struct apitest_resp *r = e2e_vcall(method, path, project, fmt, args);
    va_end(args);
    return r;
}

char *
e2e_expect(long status, const char *key, const char *method, const char *path,
           const char *project, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    struct apitest_resp *r = e2e_vcall(method, path, project, fmt, args);
    va_end(args);
    assert_status(r, status);
    char *value = NULL;
    if (key) {
        const char *s = jstr(r->json, key);
        if (!s) {
            fail_msg("%s %s: no %s in %s", method, path, key, r->body);
        }
        value = xstrdup(s);
    }
    apitest_resp_free(r);
    return value;
}

char *
e2e_make_net(const char *project, const char *extra)
{
    return e2e_expect(201, "network/id", "POST", "/v2.0/networks", NULL,
                      "{\"network\": {\"name\": \"e2e\", \"project_id\": "
                      "\"%s\"%s%s}}", project, extra ? ", " : "",
                      extra ? extra : "");
}

char *
e2e_make_subnet(const char *project, const char *net_id, const char *cidr,
                const char *extra)
{
    return e2e_expect(201, "subnet/id", "POST", "/v2.0/subnets", NULL,
                      "{\"subnet\": {\"network_id\": \"%s\", \"cidr\": "
                      "\"%s\", \"ip_version\": 4, \"enable_dhcp\": false, "
                      "\"project_id\": \"%s\"%s%s}}", net_id, cidr, project,
                      extra ? ", " : "", extra ? extra : "");
}

char *
e2e_add_interface(const char *project, const char *router_id,
                  const char *subnet_id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/routers/%s/add_router_interface",
             router_id);
    return e2e_expect(200, "port_id", "PUT", path, project,
                      "{\"subnet_id\": \"%s\"}", subnet_id);
}

void
e2e_remove_interface(const char *project, const char *router_id,
                     const char *subnet_id)
{
    char path[160];

    snprintf(path, sizeof path, "/v2.0/routers/%s/remove_router_interface",
             router_id);
    free(e2e_expect(200, NULL, "PUT", path, project,
                    "{\"subnet_id\": \"%s\"}", subnet_id));
}

char *
e2e_make_vm_port(const char *project, const char *net_id, const char *host,
                 char ip[64])
{
    char *body = xasprintf("{\"port\": {\"network_id\": \"%s\", "
                           "\"project_id\": \"%s\", \"device_owner\": "
                           "\"compute:nova\", \"binding:host_id\": \"%s\"}}",
                           net_id, project, host);
    struct apitest_resp *r = api_call(e2e_srv, "POST", "/v2.0/ports", NULL,
                                      body);
    free(body);
    assert_status(r, 201);
    assert_string_equal(jstr(r->json, "port/binding:vif_type"), "bridge");
    assert_non_null(jstr(r->json, "port/binding:vif_details/bridge_name"));
    str_copy(ip, jstr(r->json, "port/fixed_ips/0/ip_address"), 64);
    char *id = xstrdup(jstr(r->json, "port/id"));
    apitest_resp_free(r);
    return id;
}

void
e2e_plug_vm(const char *plug_bin, const char *ns, const char *port_id)
{
    E2E_RUN("%s plug --endpoint http://127.0.0.1:%d --port %s --netns %s",
            plug_bin, e2e_srv->port, port_id, ns);
}

void
e2e_unplug_vm(const char *plug_bin, const char *port_id)
{
    E2E_RUN("%s unplug --port %s", plug_bin, port_id);
}

void
e2e_wait_idle(void)
{
    topo_wait_journal_idle(e2e_srv);
}

void
e2e_wait_status(const char *collection, const char *key, const char *id,
                const char *status)
{
    char plural[64];

    snprintf(plural, sizeof plural, "%ss", key);
    assert_string_equal(collection, plural);
    topo_wait_status(e2e_srv, key, id, status);
}

const char *
e2e_router_gateway_ip(const char *router_id)
{
    static char ip[64];
    char path[200];

    snprintf(path, sizeof path, "/v2.0/routers/%s", router_id);
    struct apitest_resp *r = api_get(e2e_srv, path);
    assert_status(r, 200);
    const char *s = jstr(r->json, "router/external_gateway_info/"
                         "external_fixed_ips/0/ip_address");
    assert_non_null(s);
    str_copy(ip, s, sizeof ip);
    apitest_resp_free(r);
    return ip;
}

char *
e2e_make_flavor(const char *name, const char *driver)
{
    char *flavor = e2e_expect(201, "flavor/id", "POST", "/v2.0/flavors", NULL,
                              "{\"flavor\": {\"name\": \"%s\", "
                              "\"service_type\": \"L3_ROUTER_NAT\"}}", name);
    char *profile = e2e_expect(201, "service_profile/id", "POST",
                               "/v2.0/service_profiles", NULL,
                               "{\"service_profile\": {\"driver\": "
                               "\"%s\"}}", driver);
    char path[200];
    snprintf(path, sizeof path, "/v2.0/flavors/%s/service_profiles", flavor);
    free(e2e_expect(201, NULL, "POST", path, NULL,
                    "{\"service_profile\": {\"id\": \"%s\"}}", profile));
    free(profile);
    return flavor;
}

bool
e2e_ns_exists(const char *name)
{
    char path[128];

    snprintf(path, sizeof path, "/run/netns/%s", name);
    return !access(path, F_OK);
}

bool
e2e_router_ns_exists(const char *router_id)
{
    char ns[NETNS_NSNAME_LEN];

    netns_router_ns_name(router_id, ns);
    return e2e_ns_exists(ns);
}

bool
e2e_link_exists(const char *name)
{
    return if_nametoindex(name) != 0;
}

bool
e2e_link_gone(const char *name)
{
    for (int i = 0; i < 1000 && e2e_link_exists(name); i++) {
        e2e_sleep_ms(10);
    }
    return !e2e_link_exists(name);
}

void
e2e_remove_bridge_of(const char *network_id)
{
    char br[NETNS_IFNAME_LEN], err[NETNS_ERR_LEN];

    if (network_id) {
        netns_bridge_name(network_id, br);
        netns_bridge_remove(br, true, err, sizeof err);
    }
}

void
e2e_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (de->d_name[0] != '.') {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
}

int
e2e_outside_create(const char *ns, const char *phys, const char *address)
{
    if (e2e_run(NULL, 0, "ip netns add %s", ns)
        || e2e_run(NULL, 0, "ip link add %s type veth peer name eth0 netns %s",
                   phys, ns)
        || e2e_run(NULL, 0, "ip link set %s up", phys)
        || e2e_run(NULL, 0, "ip -n %s link set lo up", ns)
        || e2e_run(NULL, 0, "ip -n %s link set eth0 up", ns)
        || e2e_run(NULL, 0, "ip -n %s addr add %s dev eth0", ns, address)) {
        e2e_outside_destroy(ns, phys);
        return -1;
    }
    return 0;
}

void
e2e_outside_destroy(const char *ns, const char *phys)
{
    e2e_run(NULL, 0, "ip netns del %s", ns);
    e2e_run(NULL, 0, "ip link del %s", phys);
}
