/* tests/fuzz/fuzz_dpdk.c: the hadron-dpdk control protocol and packet path.
 *
 * Built twice: FUZZ_DPDK_CTL feeds the input to ctl_handle(), one request
 * per line; otherwise the input is a burst of frames (each a 2-byte
 * big-endian length then that many bytes; the first byte picks the input
 * port) given to dp_process_burst() of a router with an internal and an
 * external port, SNAT, a floating IP and a default route.  The EAL runs
 * without hugepages or PCI (--no-huge --no-pci), once per process. */
#include <limits.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/dpdk/control.h"
#include "backends/dpdk/dataplane.h"
#include "tests/fuzz/fuzz.h"

static struct rte_mempool *pool;
static struct dp *dp;
static struct ctl *ctl;

static int
fake_open(void *aux, const char *devspec, const struct rte_ether_addr *mac,
          uint16_t mtu, uint16_t *port, char *err, size_t err_size)
{
    unsigned int n;
    if (sscanf(devspec, "fake:%u", &n) != 1 || n >= DP_MAX_PORTS) {
        snprintf(err, err_size, "bad device");
        return EINVAL;
    }
    *port = (uint16_t) n;
    return 0;
}

static void
fake_close(void *aux, uint16_t port)
{
}

static int
fake_attach(void *aux, uint16_t port, const char *bridge, char *err,
            size_t err_size)
{
    return 0;
}

static const struct ctl_port_class fake_class = {
    .type = "fake", .open = fake_open, .close = fake_close,
    .attach = fake_attach,
};

#ifndef FUZZ_DPDK_CTL
/* The configuration the packet path runs with. */
static const char *const setup_requests[] = {
    "{\"op\":\"router_add\",\"router\":\"r1\"}",
    "{\"op\":\"port_add\",\"router\":\"r1\",\"port\":\"qr-1\","
    "\"device\":\"fake:0\",\"mac\":\"fa:16:3e:00:00:01\","
    "\"ip\":\"10.0.0.1/24\"}",
    "{\"op\":\"port_add\",\"router\":\"r1\",\"port\":\"qg-1\","
    "\"device\":\"fake:1\",\"mac\":\"fa:16:3e:00:00:02\","
    "\"ip\":\"203.0.113.2/24\",\"external\":true}",
    "{\"op\":\"route_add\",\"router\":\"r1\","
    "\"destination\":\"0.0.0.0/0\",\"nexthop\":\"203.0.113.1\"}",
    "{\"op\":\"snat_set\",\"router\":\"r1\"}",
    "{\"op\":\"fip_add\",\"router\":\"r1\","
    "\"floating_ip\":\"203.0.113.50\",\"fixed_ip\":\"10.0.0.10\"}",
};
#endif

/* Frees the process-wide dataplane and the EAL at exit, before
 * LeakSanitizer's check (atexit handlers run in reverse order). */
static void
fini(void)
{
    ctl_destroy(ctl);
    dp_destroy(dp);
    rte_mempool_free(pool);
    ctl = NULL;
    dp = NULL;
    pool = NULL;

    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);              /* /var/run/dpdk/<file-prefix>, empty */
}

static void
init(void)
{
    char prefix[32];

    snprintf(prefix, sizeof prefix, "fuzz%d", (int) getpid());
    char *eal[] = { "fuzz", "--no-huge", "-m", "256", "--no-pci",
                    "--no-shconf", "--no-telemetry", "-l", "0",
                    "--log-level", "error", "--file-prefix", prefix };
    if (rte_eal_init((int) (sizeof eal / sizeof eal[0]), eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        abort();
    }
    pool = rte_pktmbuf_pool_create("fuzz", 1023, 0, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) {
        abort();
    }

    struct dp_config c;
    dp_config_default(&c);
    c.name = "f";
    c.max_routers = 4;
    c.max_flows = 256;
    c.max_neighbours = 64;
    c.max_fips = 16;
    c.lpm_rules = 32;
    c.hz = 1000;
    dp = dp_create(&c, pool);
    if (!dp) {
        abort();
    }
    ctl = ctl_create(dp, &fake_class, NULL);
    atexit(fini);
#ifndef FUZZ_DPDK_CTL
    for (size_t i = 0; i < sizeof setup_requests / sizeof *setup_requests;
         i++) {
        char *reply = ctl_handle(ctl, setup_requests[i],
                                 strlen(setup_requests[i]));
        if (!strstr(reply, "\"ok\":true")) {
            fprintf(stderr, "%s -> %s\n", setup_requests[i], reply);
            abort();
        }
        free(reply);
    }
#endif
}

#ifdef FUZZ_DPDK_CTL
/* The input is one or more requests, one per line as the socket carries
 * them, handled by a fresh ctl (ctl_destroy() removes what it created). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *) data, *end = p + size;

    if (!dp) {
        init();
        ctl_destroy(ctl);
    }
    ctl = ctl_create(dp, &fake_class, NULL);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
        char *reply = ctl_handle(ctl, p, len);
        if (!reply || strchr(reply, '\n')) {
            abort();
        }
        free(reply);
        p += len + 1;
    }
    ctl_destroy(ctl);
    ctl = NULL;
    return 0;
}
#else
static void
flush(struct dp_tx *tx)
{
    for (uint16_t i = 0; i < tx->n_ports; i++) {
        uint16_t p = tx->ports[i];
        for (uint16_t j = 0; j < tx->n[p]; j++) {
            rte_pktmbuf_free(tx->pkts[p][j]);
        }
    }
    dp_tx_reset(tx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dp_tx tx;
    static uint64_t now;
    struct rte_mbuf *pkts[DP_BURST_MAX];
    uint16_t n = 0;

    if (!dp) {
        init();
        dp_tx_reset(&tx);
    }
    if (!size) {
        return 0;
    }
    uint16_t in_port = data[0] % 3;     /* 2: a port of no router */
    size_t off = 1;
    while (off + 2 <= size && n < DP_BURST_MAX) {
        size_t len = (size_t) data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off) {
            len = size - off;
        }
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
        if (!m) {
            break;
        }
        if (len > rte_pktmbuf_tailroom(m)) {
            len = rte_pktmbuf_tailroom(m);
        }
        char *p = rte_pktmbuf_append(m, (uint16_t) len);
        if (len) {
            memcpy(p, data + off, len);
        }
        off += len;
        pkts[n++] = m;
    }
    now += 100;             /* 0.1 s per input: timers expire */
    dp_tick(dp, now, &tx);
    flush(&tx);
    dp_process_burst(dp, in_port, pkts, n, &tx);
    flush(&tx);
    return 0;
}
#endif
