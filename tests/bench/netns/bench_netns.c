/* tests/bench/netns/bench_netns.c: how long backends/netns takes to make
 * routers real.
 *
 * A router here has two internal interfaces, a gateway with SNAT and one
 * floating IP, on three bridges of a "local" network type (bridges with
 * no uplink; the kernel's work per router is the same).  Measures one
 * router's create, no-op re-apply, floating IP change and destroy, then
 * N routers (default 100) brought up, re-applied, listed and torn down.
 * Needs root.  Usage: bench_netns [N]. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/netns/netns.h"

struct bench_router {
    struct netns_port ports[2];
    struct netns_gateway gw;
    struct netns_fip fip;
    struct netns_router r;
};

static unsigned int pid;
static char brs[3][NETNS_IFNAME_LEN];

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void
die(const char *what, const char *err)
{
    fprintf(stderr, "bench_netns: %s: %s\n", what, err);
    exit(1);
}

static void
port_init(struct netns_port *p, unsigned int router, unsigned int n,
          const char *ip, const char *bridge)
{
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%04x%04x-%02x00-4000-8000-000000000000",
             pid & 0xffff, router, n);
    p->mac[0] = 0xfa;
    p->mac[1] = 0x16;
    p->mac[2] = 0x3e;
    p->mac[3] = (uint8_t) (router >> 8);
    p->mac[4] = (uint8_t) router;
    p->mac[5] = (uint8_t) n;
    netns_addr_parse(ip, &p->ips[0]);
    p->n_ips = 1;
    snprintf(p->bridge, sizeof p->bridge, "%s", bridge);
}

static void
router_init(struct bench_router *b, unsigned int i)
{
    char ip[32];

    memset(b, 0, sizeof *b);
    port_init(&b->ports[0], i, 1, "10.0.1.1/24", brs[1]);
    port_init(&b->ports[1], i, 2, "10.0.2.1/24", brs[2]);
    /* 198.18.0.0/15, the benchmarking range: gateways in the first half,
     * floating IPs in the second. */
    snprintf(ip, sizeof ip, "198.18.%u.%u/15", 1 + i / 250, 1 + i % 250);
    port_init(&b->gw.port, i, 3, ip, brs[0]);
    netns_addr_parse("198.18.0.1", &b->gw.gateway_ip);
    snprintf(ip, sizeof ip, "198.19.%u.%u", i / 250, 1 + i % 250);
    netns_addr_parse(ip, &b->fip.floating_ip);
    netns_addr_parse("10.0.1.5", &b->fip.fixed_ip);
    snprintf(b->r.id, sizeof b->r.id, "%04x%04x-ffff-4000-8000-000000000000",
             pid & 0xffff, i);
    b->r.admin_up = true;
    b->r.enable_snat = true;
    b->r.ports = b->ports;
    b->r.n_ports = 2;
    b->r.gw = &b->gw;
    b->r.fips = &b->fip;
    b->r.n_fips = 1;
}

static double
apply(const struct netns_router *r)
{
    char err[NETNS_ERR_LEN];
    double t = now_ms();

    if (netns_router_apply(r, err, sizeof err)) {
        die("apply", err);
    }
    return now_ms() - t;
}

static double
destroy(const struct netns_router *r)
{
    char err[NETNS_ERR_LEN];
    double t = now_ms();

    if (netns_router_destroy(r->id, err, sizeof err)) {
        die("destroy", err);
    }
    return now_ms() - t;
}

static void
bridges(bool up)
{
    char err[NETNS_ERR_LEN];

    for (size_t i = 0; i < 3; i++) {
        struct netns_network net;

        memset(&net, 0, sizeof net);
        net.type = NETNS_NET_LOCAL;
        memcpy(net.bridge, brs[i], sizeof net.bridge);
        if (up ? netns_bridge_ensure(&net, err, sizeof err)
               : netns_bridge_remove(brs[i], true, err, sizeof err)) {
            die("bridge", err);
        }
    }
}

int
main(int argc, char *argv[])
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    struct bench_router *rs;
    struct netns_router *listed;
    char err[NETNS_ERR_LEN];
    double t, total, worst;
    size_t n_listed;

    if (n < 1 || n > 5000) {
        fprintf(stderr, "usage: bench_netns [N (1..5000)]\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "bench_netns: needs root\n");
        return 2;
    }
    pid = (unsigned int) getpid();
    snprintf(brs[0], sizeof brs[0], "hxk%ue", pid);
    snprintf(brs[1], sizeof brs[1], "hxk%u1", pid);
    snprintf(brs[2], sizeof brs[2], "hxk%u2", pid);
    bridges(true);
    rs = calloc((size_t) n, sizeof *rs);
    if (!rs) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        router_init(&rs[i], (unsigned int) i);
    }

    printf("bench_netns: one router (2 interfaces, gateway, SNAT, "
           "1 floating IP)\n");
    printf("  create (namespace, veths, addresses, routes, NAT): %7.2f ms\n",
           apply(&rs[0].r));
    printf("  apply again, nothing to change:                    %7.2f ms\n",
           apply(&rs[0].r));
    rs[0].r.n_fips = 0;
    printf("  remove the floating IP:                            %7.2f ms\n",
           apply(&rs[0].r));
    rs[0].r.n_fips = 1;
    printf("  add it back:                                       %7.2f ms\n",
           apply(&rs[0].r));
    printf("  destroy:                                           %7.2f ms\n",
           destroy(&rs[0].r));
    netns_wait_idle();

    printf("bench_netns: %d routers\n", n);
    total = worst = 0;
    for (int i = 0; i < n; i++) {
        t = apply(&rs[i].r);
        total += t;
        worst = t > worst ? t : worst;
    }
    printf("  up:        %8.1f ms total, %6.2f ms/router (worst %.2f)\n",
           total, total / n, worst);

    total = 0;
    for (int i = 0; i < n; i++) {
        total += apply(&rs[i].r);
    }
    printf("  re-apply:  %8.1f ms total, %6.2f ms/router (no change)\n",
           total, total / n);

    t = now_ms();
    if (netns_list_routers(&listed, &n_listed, err, sizeof err)) {
        die("list", err);
    }
    t = now_ms() - t;
    printf("  list:      %8.1f ms for %zu routers, %6.2f ms/router\n", t,
           n_listed, t / (double) (n_listed ? n_listed : 1));
    netns_routers_free(listed, n_listed);

    total = worst = 0;
    for (int i = 0; i < n; i++) {
        t = destroy(&rs[i].r);
        total += t;
        worst = t > worst ? t : worst;
    }
    printf("  down:      %8.1f ms total, %6.2f ms/router (worst %.2f), "
           "one destroy call per router\n", total, total / n, worst);

    /* Again, torn down by one call for all. */
    const char **ids = calloc((size_t) n, sizeof *ids);
    total = 0;
    for (int i = 0; i < n; i++) {
        total += apply(&rs[i].r);
        ids[i] = rs[i].r.id;
    }
    printf("  up again:  %8.1f ms total, %6.2f ms/router\n", total,
           total / n);
    t = now_ms();
    if (netns_routers_destroy(ids, (size_t) n, err, sizeof err)) {
        die("destroy all", err);
    }
    t = now_ms() - t;
    printf("  down:      %8.1f ms total, %6.2f ms/router, "
           "netns_routers_destroy() of all\n", t, t / n);
    free(ids);

    t = now_ms();
    netns_wait_idle();
    printf("  background socket closes drained in %.1f ms more\n",
           now_ms() - t);
    bridges(false);
    free(rs);
    return 0;
}
