/* tests/bench/dpdk/bench_dataplane.c: packets per second through the
 * hadron-dpdk packet path on one core.
 *
 * Traffic: 64-byte Ethernet frames (60 + FCS), UDP from N inside hosts/ports
 * (10.x.y.z:sport) to 198.18.1.1-200:9, through one router that SNATs them to
 * its gateway address and routes them by LPM via a default gateway: the
 * full path (parse, LPM, SNAT session lookup, rewrite with incremental
 * checksums, neighbour, tx queue).  Flows are visited in a scrambled order.
 *
 *   bench_dpdk_dataplane [--flows N[,N...]] [--seconds S]
 *       Path mode: frames are made in memory and handed to
 *       dp_process_burst() in bursts of 32; only dp_process_burst() is
 *       timed (rdtsc), so the figures exclude traffic generation.  The
 *       first pass creates the sessions and is reported separately.
 *
 *   bench_dpdk_dataplane ... --shared N
 *       The same, with N more routers whose ports share the two devices
 *       (as router ports on one Linux bridge share one TAP): frames are
 *       demultiplexed by destination MAC before the path.
 *
 *   bench_dpdk_dataplane --vdev PCAP --flows N [--seconds S]
 *       Device mode: the real rx -> dp -> tx loop, receiving from net_pcap
 *       (rx_pcap=PCAP, infinite_rx=1) and sending to net_null: the vdevs
 *       DPDK's l3fwd is measured on by run_l3fwd_compare.sh.
 *
 *   bench_dpdk_dataplane --write-pcap FILE --flows N [--packets P]
 *       Writes the synthetic traffic as a pcap (P frames, default N).
 *
 * Figures: Mpps, and cycles per packet at the TSC rate. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include "backends/dpdk/dataplane.h"

/* RTE_IPV4() shifts an int: undefined for a first octet above 127. */
#define IPV4(A, B, C, D)                                                    \
    ((uint32_t) (A) << 24 | (uint32_t) (B) << 16 | (uint32_t) (C) << 8      \
     | (uint32_t) (D))

#define BURST 32
#define FRAME_LEN 60                    /* 64 on the wire with the FCS */
#define PORT_IN 0
#define PORT_OUT 1

static const struct rte_ether_addr MAC_IN = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr MAC_OUT = {{ 0x02, 0, 0, 0, 0, 0x02 }};
static const struct rte_ether_addr MAC_HOST = {{ 0x02, 0xaa, 0, 0, 0, 1 }};
static const struct rte_ether_addr MAC_GW = {{ 0x02, 0xbb, 0, 0, 0, 1 }};

/* Flow 'i' of 'n', in scrambled order: a multiplicative permutation. */
static uint32_t
flow_of(uint64_t seq, uint32_t n)
{
    return (uint32_t) ((seq % n) * 2654435761u % n);
}

/* Writes the frame of flow 'f' into 'd' (FRAME_LEN bytes). */
static void
make_frame(uint8_t *d, uint32_t f)
{
    memset(d, 0, FRAME_LEN);
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *) d;
    eth->dst_addr = MAC_IN;
    eth->src_addr = MAC_HOST;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *) (eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(FRAME_LEN - 14);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    /* 64 ports per host: 10.0.0.0/8 hosts, ports 1024.. */
    ip->src_addr = rte_cpu_to_be_32(IPV4(10, 0, 0, 0) + 1 + f / 64);
    /* 200 servers: one SNAT address has only 64512 ports per server. */
    ip->dst_addr = rte_cpu_to_be_32(IPV4(198, 18, 1, 1) + f % 200);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    struct rte_udp_hdr *u = (struct rte_udp_hdr *) (ip + 1);
    u->src_port = rte_cpu_to_be_16(1024 + f % 64);
    u->dst_port = rte_cpu_to_be_16(9);
    u->dgram_len = rte_cpu_to_be_16(FRAME_LEN - 14 - 20);
    u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
}

static uint32_t shared_routers;        /* --shared */

static struct dp *
bench_dp(struct rte_mempool *pool, uint32_t flows)
{
    struct dp_config c;
    uint32_t r;

    dp_config_default(&c);
    c.name = "bench";
    c.max_routers = 1 + shared_routers;
    c.max_flows = RTE_MAX(flows * 2, 1024u);
    c.max_neighbours = 64;
    c.max_fips = 16;
    c.lpm_rules = 64;
    struct dp *dp = dp_create(&c, pool);
    if (!dp) {
        fprintf(stderr, "dp_create: %s\n", rte_strerror(rte_errno));
        exit(1);
    }
    struct dp_port_config in = { .mac = MAC_IN, .ip = IPV4(10, 0, 0, 1),
                                 .plen = 8 };
    struct dp_port_config out = { .mac = MAC_OUT,
                                  .ip = IPV4(192, 0, 2, 1), .plen = 24,
                                  .external = true };
    if (dp_router_create(dp, &r) || (in.router = out.router = r, 0)
        || dp_port_set(dp, PORT_IN, &in) || dp_port_set(dp, PORT_OUT, &out)
        || dp_route_add(dp, r, 0, 0, IPV4(192, 0, 2, 254))
        || dp_neigh_add(dp, PORT_OUT, IPV4(192, 0, 2, 254), &MAC_GW)
        || dp_snat_set(dp, r, IPV4(192, 0, 2, 1))) {
        fprintf(stderr, "bench: configuring the router failed\n");
        exit(1);
    }
    for (uint32_t k = 0; k < shared_routers; k++) {
        struct dp_port_config pc = {
            .mac = {{ 0x02, 0xee, 0, 0, k >> 8, k & 0xff }},
            .ip = IPV4(10, 0, 0, 1), .plen = 8,
        };
        uint32_t rk;
        if (dp_router_create(dp, &rk) || (pc.router = rk, 0)
            || dp_port_set_dev(dp, 100 + 2 * k, PORT_IN, &pc)
            || (pc.mac.addr_bytes[1] = 0xef, pc.ip = IPV4(192, 0, 3, 1),
                pc.plen = 24, pc.external = true, 0)
            || dp_port_set_dev(dp, 101 + 2 * k, PORT_OUT, &pc)) {
            fprintf(stderr, "bench: configuring shared router %u failed\n",
                    k);
            exit(1);
        }
    }
    return dp;
}

static void
print_row(const char *mode, uint32_t flows, uint64_t pkts, uint64_t cycles,
          const char *note)
{
    double hz = (double) rte_get_tsc_hz();
    double cpp = (double) cycles / (double) pkts;
    printf("%-7s %8u %9.2f %10.1f   %s\n", mode, flows, hz / cpp / 1e6, cpp,
           note);
    fflush(stdout);
}

/* Path mode: only dp_process_burst() is timed. */
static void
run_path(struct rte_mempool *pool, uint32_t flows, double seconds)
{
    static struct dp_tx tx;
    struct dp *dp = bench_dp(pool, flows);
    struct rte_mbuf *pkts[BURST];
    uint64_t seq = 0, npkts = 0, cycles = 0, setup_cycles = 0, setup_pkts = 0;
    uint64_t budget = (uint64_t) (seconds * rte_get_tsc_hz());
    uint64_t start = rte_rdtsc();
    bool warm = false;

    dp_tick(dp, start, &tx);
    while (!warm || rte_rdtsc() - start < budget) {
        if (rte_pktmbuf_alloc_bulk(pool, pkts, BURST)) {
            fprintf(stderr, "bench: out of mbufs\n");
            exit(1);
        }
        for (int i = 0; i < BURST; i++) {
            uint8_t *d = (uint8_t *) rte_pktmbuf_append(pkts[i], FRAME_LEN);
            make_frame(d, flow_of(seq + i, flows));
        }
        seq += BURST;

        dp_tx_reset(&tx);
        uint64_t t0 = rte_rdtsc();
        dp_process_burst(dp, PORT_IN, pkts, BURST, &tx);
        uint64_t t1 = rte_rdtsc();

        if (tx.n[PORT_OUT] != BURST || tx.n_ports != 1) {
            struct dp_global_stats gs;
            dp_global_stats_get(dp, &gs);
            fprintf(stderr, "bench: %u of %u frames forwarded (no port %llu, "
                    "table full %llu)\n", tx.n[PORT_OUT], BURST,
                    (unsigned long long) gs.drop_nat_no_port,
                    (unsigned long long) gs.drop_nat_table_full);
            exit(1);
        }
        rte_pktmbuf_free_bulk(tx.pkts[PORT_OUT], tx.n[PORT_OUT]);
        if (!warm) {
            setup_cycles += t1 - t0;
            if (seq >= flows) {
                warm = true;
                setup_pkts = seq;
                start = rte_rdtsc();
            }
        } else {
            cycles += t1 - t0;
            npkts += BURST;
        }
    }
    struct dp_router_stats rs;
    dp_router_stats_get(dp, 0, &rs);
    char note[96];
    snprintf(note, sizeof note, "first pass (session setup): %.0f cycles/pkt;"
             " %llu sessions", (double) setup_cycles / (double) setup_pkts,
             (unsigned long long) rs.flows_active);
    print_row("path", flows, npkts, cycles, note);
    dp_destroy(dp);
}

/* Device mode: rx from PORT_IN (pcap), tx to PORT_OUT (null). */
static void
run_vdev(struct rte_mempool *pool, uint32_t flows, double seconds)
{
    static struct dp_tx tx;
    struct rte_eth_conf conf = { 0 };
    struct rte_mbuf *pkts[BURST];

    for (uint16_t p = 0; p < 2; p++) {
        if (rte_eth_dev_configure(p, 1, 1, &conf)
            || rte_eth_rx_queue_setup(p, 0, 1024, rte_socket_id(), NULL, pool)
            || rte_eth_tx_queue_setup(p, 0, 1024, rte_socket_id(), NULL)
            || rte_eth_dev_start(p)) {
            fprintf(stderr, "bench: port %u setup failed\n", p);
            exit(1);
        }
    }
    struct dp *dp = bench_dp(pool, flows);
    uint64_t hz = rte_get_tsc_hz();
    uint64_t sent = 0, warm_until = rte_rdtsc() + hz, start = 0;
    uint64_t budget = (uint64_t) (seconds * hz);

    for (;;) {
        uint64_t now = rte_rdtsc();
        if (!start && now >= warm_until) {
            start = now;
            sent = 0;
        }
        if (start && now - start >= budget) {
            break;
        }
        dp_tick(dp, now, &tx);
        uint16_t n = rte_eth_rx_burst(PORT_IN, 0, pkts, BURST);
        if (!n) {
            continue;
        }
        dp_process_burst(dp, PORT_IN, pkts, n, &tx);
        for (uint16_t i = 0; i < tx.n_ports; i++) {
            uint16_t p = tx.ports[i];
            uint16_t k = rte_eth_tx_burst(p, 0, tx.pkts[p], tx.n[p]);
            if (k < tx.n[p]) {
                dp_tx_done(dp, p, &tx, k);
                rte_pktmbuf_free_bulk(&tx.pkts[p][k], tx.n[p] - k);
            }
            if (p == PORT_OUT) {
                sent += k;
            }
        }
        dp_tx_reset(&tx);
    }
    uint64_t cycles = rte_rdtsc() - start;
    print_row("vdev", flows, sent, cycles,
              "net_pcap infinite rx -> hadron dp -> net_null");
    dp_destroy(dp);
}

static int
write_pcap(const char *path, uint32_t flows, uint32_t packets)
{
    FILE *f = fopen(path, "wb");
    uint8_t frame[FRAME_LEN];

    if (!f) {
        perror(path);
        return 1;
    }
    const uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
    fwrite(gh, sizeof gh, 1, f);
    for (uint32_t i = 0; i < packets; i++) {
        const uint32_t rh[4] = { 0, i, FRAME_LEN, FRAME_LEN };
        make_frame(frame, flow_of(i, flows));
        fwrite(rh, sizeof rh, 1, f);
        fwrite(frame, sizeof frame, 1, f);
    }
    return fclose(f) ? 1 : 0;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "flows", required_argument, NULL, 'f' },
        { "seconds", required_argument, NULL, 's' },
        { "vdev", required_argument, NULL, 'v' },
        { "write-pcap", required_argument, NULL, 'w' },
        { "packets", required_argument, NULL, 'p' },
        { "lcore", required_argument, NULL, 'l' },
        { "shared", required_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    const char *flows_arg = "1000,100000", *pcap = NULL, *out = NULL;
    const char *lcore = "0";
    double seconds = 3;
    unsigned long packets = 0;
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            flows_arg = optarg;
            break;
        case 'S':
            shared_routers = strtoul(optarg, NULL, 10);
            if (shared_routers > 1000) {
                fprintf(stderr, "--shared: at most 1000\n");
                return 2;
            }
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'v':
            pcap = optarg;
            break;
        case 'w':
            out = optarg;
            break;
        case 'p':
            packets = strtoul(optarg, NULL, 10);
            break;
        case 'l':
            lcore = optarg;
            break;
        default:
            fprintf(stderr, "usage: see the comment at the top of "
                    "bench_dataplane.c\n");
            return 2;
        }
    }

    uint32_t flows[8];
    int n_flows = 0;
    char *copy = strdup(flows_arg);
    for (char *tok = strtok(copy, ","); tok && n_flows < 8;
         tok = strtok(NULL, ",")) {
        flows[n_flows++] = (uint32_t) strtoul(tok, NULL, 10);
    }
    free(copy);
    if (!n_flows || !flows[0]) {
        fprintf(stderr, "bench: bad --flows\n");
        return 2;
    }
    if (out) {
        return write_pcap(out, flows[0], packets ? packets : flows[0]);
    }

    char prefix[32], vdev_rx[512];
    snprintf(prefix, sizeof prefix, "bench%d", (int) getpid());
    snprintf(vdev_rx, sizeof vdev_rx, "net_pcap0,rx_pcap=%s,infinite_rx=1",
             pcap ? pcap : "");
    char *eal[] = { argv[0], "--no-huge", "-m", "1024", "--no-pci",
                    "--no-shconf", "--no-telemetry", "-l", (char *) lcore,
                    "--log-level", "error", "--file-prefix", prefix,
                    "--vdev", vdev_rx, "--vdev", "net_null1" };
    int eal_argc = (int) (sizeof eal / sizeof eal[0]) - (pcap ? 0 : 4);
    if (rte_eal_init(eal_argc, eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    uint32_t max_flows = 0;
    for (int i = 0; i < n_flows; i++) {
        max_flows = RTE_MAX(max_flows, flows[i]);
    }
    struct rte_mempool *pool = rte_pktmbuf_pool_create(
        "bench", (pcap ? max_flows : 0) + 16383, 256, 0,
        RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (!pool) {
        fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
        return 1;
    }

    printf("hadron-dpdk dataplane: %d-byte frames, UDP, SNAT + LPM, one core"
           " (lcore %s), TSC %.2f GHz\n", FRAME_LEN + 4, lcore,
           rte_get_tsc_hz() / 1e9);
    printf("%-7s %8s %9s %10s\n", "mode", "flows", "Mpps", "cycles/pkt");
    for (int i = 0; i < n_flows; i++) {
        if (pcap) {
            run_vdev(pool, flows[i], seconds);
        } else {
            run_path(pool, flows[i], seconds);
        }
    }
    rte_mempool_free(pool);
    char rundir[256];                   /* empty with --no-shconf */
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return 0;
}
