/* backends/dpdk/hadron-dpdk.c: the hadron-dpdk dataplane process.
 *
 *   hadron-dpdk --socket PATH [OPTIONS] [-- EAL ARGUMENTS]
 *
 * By default one lcore runs everything, run to completion: receive a burst
 * from each port, push it through the packet path (dataplane.h), transmit,
 * and every millisecond or so serve the control socket (control.h,
 * PROTOCOL.md).  Control commands therefore run between bursts and the
 * packet path needs no locks.  With --workers N, N lcores poll (workers.h):
 * every device gets N rx and N tx queues, worker w polls rx queue w of
 * each and sends on tx queue w, each router is pinned to one worker (its
 * NAT sessions live there), and the main lcore, worker 0, also serves the
 * control socket, parking the other workers while it applies a command.  Ports are DPDK vdevs (net_tap, net_af_packet, ...) created and
 * removed at run time through rte_dev_probe()/rte_eal_hotplug_remove().
 * SIGTERM or SIGINT stops the loop; ports are closed and EAL cleaned up.
 *
 * Without EAL arguments it runs with "-l 0 --no-huge -m 256 --no-pci
 * --file-prefix hadron-dpdk-PID" ("-l 0-(N-1)" with --workers N).
 *
 * Queues per device, as measured on Debian 12 (DPDK 22.11, kernel 6.18):
 * - net_tap: up to 16 queue pairs, opened as one multiqueue TAP; the
 *   kernel spreads the frames it sends into the TAP over the queues by
 *   flow hash (tun's automatic queue selection), so no RSS configuration
 *   is needed (and the PMD's RSS through rte_flow/eBPF is not used).
 * - net_af_packet: N sockets in one PACKET_FANOUT group (fanout by flow
 *   hash), created by the devarg qpairs=N, which this process appends to
 *   the device spec when it runs several workers.
 * - net_ring, net_null: as many queues as configured, no RSS (the test and
 *   the bench fill each rx queue themselves).
 * A device that cannot take one tx queue per worker is refused.  The TAP
 * spread is asserted by test_hadron_dpdk_2workers (64 UDP flows reach both
 * workers' queues); af_packet with qpairs=2 was checked by hand only (64
 * UDP flows from a veth: 34 and 38 frames on the two workers).
 *
 * A router's FIB takes about 260 KiB (fib.h), per worker, so memory does not bound the number of routers (--max-routers
 * does); the number of ports does: DPDK as Debian builds it has at most
 * RTE_MAX_ETHPORTS (32) ports per process. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "backends/dpdk/control.h"
#include "backends/dpdk/dataplane.h"
#include "backends/dpdk/workers.h"
#include "core/log.h"

#define MOD "hadron-dpdk"
#define MAX_CLIENTS 16
#define NB_RXD 1024
#define NB_TXD 1024

static volatile sig_atomic_t stop_requested;

/* --- Ports: the DPDK side of the ctl port class. --- */

struct ports {
    struct rte_mempool *pool;
    struct dpw *dpw;
    unsigned int n_workers;
    bool open[DP_MAX_PORTS];
    char name[DP_MAX_PORTS][RTE_DEV_NAME_MAX_LEN];
};

static int
dpdk_port_open(void *aux, const char *devspec,
               const struct rte_ether_addr *mac, uint16_t mtu,
               uint16_t *portp, char *err, size_t err_size)
{
    struct ports *ports = aux;
    char name[RTE_DEV_NAME_MAX_LEN];
    size_t n = strcspn(devspec, ",");
    uint16_t port;
    int rc;

    if (strncmp(devspec, "net_", 4) || n >= sizeof name || n <= 4) {
        snprintf(err, err_size, "expected a DPDK vdev such as "
                 "net_tap0,iface=NAME");
        return EINVAL;
    }
    memcpy(name, devspec, n);
    name[n] = '\0';

    /* af_packet: one socket (queue pair) per worker, in a fanout group. */
    char spec[CTL_DEVSPEC_MAX + 32];
    snprintf(spec, sizeof spec, "%s", devspec);
    if (ports->n_workers > 1 && !strncmp(name, "net_af_packet", 13)
        && !strstr(devspec, "qpairs=")) {
        snprintf(spec, sizeof spec, "%s,qpairs=%u", devspec,
                 ports->n_workers);
    }
    rc = rte_dev_probe(spec);
    if (rc < 0) {
        snprintf(err, err_size, "probe failed: %s", rte_strerror(-rc));
        return EINVAL;
    }
    if (rte_eth_dev_get_port_by_name(name, &port)) {
        snprintf(err, err_size, "probed but no ethdev named %s", name);
        rte_eal_hotplug_remove("vdev", name);
        return EINVAL;
    }
    if (port >= DP_MAX_PORTS) {
        snprintf(err, err_size, "port id %u out of range", port);
        goto fail;
    }

    /* One rx and one tx queue per worker; RSS where the device has it. */
    struct rte_eth_conf conf = { 0 };
    struct rte_eth_dev_info info;
    uint16_t nq = (uint16_t) ports->n_workers;
    uint16_t nb_rxd = NB_RXD, nb_txd = NB_TXD;
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0) {
        socket = (int) rte_socket_id();
    }
    if ((rc = rte_eth_dev_info_get(port, &info)) < 0) {
        snprintf(err, err_size, "device info: %s", rte_strerror(-rc));
        goto fail;
    }
    if (info.max_tx_queues < nq || info.max_rx_queues < nq) {
        snprintf(err, err_size, "the device has %u rx and %u tx queues, "
                 "fewer than the %u workers", info.max_rx_queues,
                 info.max_tx_queues, nq);
        goto fail;
    }
    if (nq > 1 && info.flow_type_rss_offloads
        && strncmp(name, "net_tap", 7)) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads
            & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
    }
    rc = rte_eth_dev_configure(port, nq, nq, &conf);
    if (!rc) {
        rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
    }
    for (uint16_t q = 0; !rc && q < nq; q++) {
        rc = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, NULL,
                                    ports->pool);
        if (!rc) {
            rc = rte_eth_tx_queue_setup(port, q, nb_txd, socket, NULL);
        }
    }
    if (rc < 0) {
        snprintf(err, err_size, "configure failed: %s", rte_strerror(-rc));
        goto fail;
    }
    /* Best effort: the dataplane filters by its own MAC, so the device only
     * needs to pass frames for it (promiscuous) and carry the MTU.  The
     * device's own MAC is left alone: on a TAP in a Linux bridge it would
     * become a local bridge address and swallow our traffic. */
    rte_eth_promiscuous_enable(port);
    rte_eth_dev_set_mtu(port, mtu);
    (void) mac;
    if ((rc = rte_eth_dev_start(port)) < 0) {
        snprintf(err, err_size, "start failed: %s", rte_strerror(-rc));
        goto fail;
    }
    ports->open[port] = true;
    dpw_port_poll(ports->dpw, port, nq, true);
    snprintf(ports->name[port], sizeof ports->name[port], "%s", name);
    *portp = port;
    LOG_INFO(MOD, "port %u: %s started", port, devspec);
    return 0;

fail:
    rte_eth_dev_close(port);
    rte_eal_hotplug_remove("vdev", name);
    return EIO;
}

static void
dpdk_port_close(void *aux, uint16_t port)
{
    struct ports *ports = aux;

    if (port >= DP_MAX_PORTS || !ports->open[port]) {
        return;
    }
    dpw_port_poll(ports->dpw, port, 0, false);
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_eal_hotplug_remove("vdev", ports->name[port]);
    ports->open[port] = false;
    LOG_INFO(MOD, "port %u: %s removed", port, ports->name[port]);
}

/* Sends netlink request 'req' and waits for its acknowledgement.  Returns
 * 0 or a positive errno. */
static int
netlink_request(struct nlmsghdr *req)
{
    union {
        struct nlmsghdr nh;
        char buf[1024];
    } ack;
    int fd, error = 0;

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        return errno;
    }
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *) &kernel,
               sizeof kernel) < 0) {
        error = errno;
    } else {
        ssize_t n = recv(fd, &ack, sizeof ack, 0);
        if (n < 0) {
            error = errno;
        } else if ((size_t) n < NLMSG_LENGTH(sizeof(struct nlmsgerr))
                   || ack.nh.nlmsg_type != NLMSG_ERROR) {
            error = EPROTO;
        } else {
            const struct nlmsgerr *e = NLMSG_DATA(&ack.nh);
            error = -e->error;
        }
    }
    close(fd);
    return error;
}

/* Enslaves the kernel interface of 'port' (a TAP, or the interface an
 * af_packet port is bound to) to Linux bridge 'bridge' and sets it up, in
 * one RTM_NEWLINK request (the kernel leaves a link that already has that
 * master alone, so this is idempotent; sysfs is not used, since it may
 * show another network namespace than the process's).  Then turns on the
 * bridge port's hairpin mode: the routers sharing the device talk to each
 * other through the bridge (one's floating IP from another's network), and
 * without hairpin the bridge never sends a frame back out of the port it
 * came in by. */
static int
dpdk_port_attach(void *aux, uint16_t port, const char *bridge, char *err,
                 size_t err_size)
{
    struct rte_eth_dev_info info;
    char ifname[IF_NAMESIZE];
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
        char attrs[RTA_SPACE(sizeof(uint32_t))];
    } req;
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
        char attrs[RTA_SPACE(RTA_SPACE(sizeof(uint8_t)))];
    } hp;
    int error;

    (void) aux;
    if (rte_eth_dev_info_get(port, &info) || !info.if_index
        || !if_indextoname(info.if_index, ifname)) {
        snprintf(err, err_size, "the device has no kernel interface");
        return EINVAL;
    }
    uint32_t master = if_nametoindex(bridge);
    if (!master) {
        snprintf(err, err_size, "no such bridge");
        return ENOENT;
    }

    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
    req.nh.nlmsg_type = RTM_NEWLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.nh.nlmsg_seq = 1;
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = (int) info.if_index;
    req.ifi.ifi_flags = IFF_UP;
    req.ifi.ifi_change = IFF_UP;
    struct rtattr *rta = (struct rtattr *) ((char *) &req
                                            + NLMSG_ALIGN(req.nh.nlmsg_len));
    rta->rta_type = IFLA_MASTER;
    rta->rta_len = RTA_LENGTH(sizeof master);
    memcpy(RTA_DATA(rta), &master, sizeof master);
    req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    error = netlink_request(&req.nh);
    if (error) {
        snprintf(err, err_size, "attaching %s: %s", ifname, strerror(error));
        return error;
    }

    memset(&hp, 0, sizeof hp);
    hp.nh.nlmsg_len = NLMSG_LENGTH(sizeof hp.ifi);
    hp.nh.nlmsg_type = RTM_SETLINK;
    hp.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    hp.nh.nlmsg_seq = 2;
    hp.ifi.ifi_family = AF_BRIDGE;
    hp.ifi.ifi_index = (int) info.if_index;
    struct rtattr *nest = (struct rtattr *) ((char *) &hp
                                             + NLMSG_ALIGN(hp.nh.nlmsg_len));
    nest->rta_type = IFLA_PROTINFO | NLA_F_NESTED;
    struct rtattr *mode = RTA_DATA(nest);
    mode->rta_type = IFLA_BRPORT_MODE;
    mode->rta_len = RTA_LENGTH(sizeof(uint8_t));
    *(uint8_t *) RTA_DATA(mode) = 1;    /* BRIDGE_MODE_HAIRPIN */
    nest->rta_len = RTA_LENGTH(RTA_ALIGN(mode->rta_len));
    hp.nh.nlmsg_len = NLMSG_ALIGN(hp.nh.nlmsg_len) + RTA_ALIGN(nest->rta_len);
    error = netlink_request(&hp.nh);
    if (error) {
        snprintf(err, err_size, "hairpin mode on %s: %s", ifname,
                 strerror(error));
        return error;
    }
    LOG_DBG(MOD, "port %u: %s is a hairpin port of bridge %s, up", port,
            ifname, bridge);
    return 0;
}

static const struct ctl_port_class dpdk_port_class = {
    .type = "dpdk",
    .open = dpdk_port_open,
    .close = dpdk_port_close,
    .attach = dpdk_port_attach,
};

/* --- Control socket: newline-framed JSON, one reply line per request. --- */

struct client {
    int fd;                     /* -1 if the slot is free */
    char *in;                   /* [CTL_REQUEST_MAX + 1] */
    size_t in_len;
    char *out;
    size_t out_len, out_cap;
    bool closing;               /* close once 'out' is written */
};

struct server {
    int fd;
    struct client clients[MAX_CLIENTS];
    struct ctl *ctl;
    struct dpw *dpw;            /* parked while a command runs */
};

static int
server_open(struct server *s, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof sa.sun_path) {
        return ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        return errno;
    }
    unlink(path);
    mode_t old = umask(0077);
    int rc = bind(s->fd, (struct sockaddr *) &sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(s->fd, MAX_CLIENTS) < 0) {
        int error = errno;
        close(s->fd);
        s->fd = -1;
        return error;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        s->clients[i].fd = -1;
    }
    return 0;
}

static void
client_close(struct client *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    *c = (struct client) { .fd = -1 };
}

static void
client_queue(struct client *c, const char *text, size_t len)
{
    if (c->out_len + len + 1 > c->out_cap) {
        size_t cap = (c->out_len + len + 1) * 2;
        char *out = realloc(c->out, cap);
        if (!out) {
            abort();
        }
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, text, len);
    c->out_len += len;
    c->out[c->out_len++] = '\n';
}

/* Handles every complete line in 'c's input. */
static void
client_process(struct server *s, struct client *c)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        if (!nl) {
            break;
        }
        size_t len = nl - (c->in + start);
        if (len && c->in[start + len - 1] == '\r') {
            len--;
        }
        if (len) {
            dpw_pause(s->dpw, 0);
            char *reply = ctl_handle(s->ctl, c->in + start, len);
            dpw_resume(s->dpw);
            client_queue(c, reply, strlen(reply));
            free(reply);
        }
        start = nl + 1 - c->in;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len > CTL_REQUEST_MAX) {
        const char *e = "{\"ok\":false,\"error\":{\"type\":\"BadRequest\","
                        "\"message\":\"request too large\"}}";
        client_queue(c, e, strlen(e));
        c->in_len = 0;
        c->closing = true;
    }
}

static void
client_io(struct server *s, struct client *c, short revents)
{
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        for (;;) {
            ssize_t n = read(c->fd, c->in + c->in_len,
                             CTL_REQUEST_MAX + 1 - c->in_len);
            if (n > 0) {
                c->in_len += n;
                client_process(s, c);
                if (c->closing) {
                    break;
                }
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                c->closing = true;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
    }
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }
            c->out_len = 0;
            c->closing = true;
            break;
        }
        memmove(c->out, c->out + n, c->out_len - n);
        c->out_len -= n;
    }
    if (c->closing) {
        client_close(c);
    }
}

/* Serves the control socket without blocking. */
static void
server_poll(struct server *s)
{
    struct pollfd pfd[MAX_CLIENTS + 1];
    int map[MAX_CLIENTS + 1];
    int n = 0;

    pfd[n] = (struct pollfd) { .fd = s->fd, .events = POLLIN };
    map[n++] = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &s->clients[i];
        if (c->fd >= 0) {
            pfd[n] = (struct pollfd) {
                .fd = c->fd,
                .events = POLLIN | (c->out_len ? POLLOUT : 0),
            };
            map[n++] = i;
        }
    }
    if (poll(pfd, n, 0) <= 0) {
        return;
    }
    for (int k = 1; k < n; k++) {
        if (pfd[k].revents) {
            client_io(s, &s->clients[map[k]], pfd[k].revents);
        }
    }
    if (pfd[0].revents & POLLIN) {
        for (;;) {
            int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                break;
            }
            int i;
            for (i = 0; i < MAX_CLIENTS && s->clients[i].fd >= 0; i++) {
                continue;
            }
            if (i == MAX_CLIENTS) {
                LOG_RL(LOG_LEVEL_WARN, MOD, "control: too many clients");
                close(fd);
                continue;
            }
            s->clients[i] = (struct client) {
                .fd = fd, .in = malloc(CTL_REQUEST_MAX + 1),
            };
            if (!s->clients[i].in) {
                abort();
            }
        }
    }
}

static void
server_close(struct server *s, const char *path)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (s->clients[i].fd >= 0) {
            client_close(&s->clients[i]);
        }
    }
    if (s->fd >= 0) {
        close(s->fd);
        unlink(path);
    }
}

/* Removes EAL's runtime directory (/var/run/dpdk/<file-prefix>) at exit:
 * this process runs no secondary processes, so nothing else needs its
 * files, and a prefix per process would otherwise leave one directory per
 * run behind. */
static void
remove_runtime_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (de->d_name[0] != '.') {
            char path[PATH_MAX];
            if ((size_t) snprintf(path, sizeof path, "%s/%s", dir,
                                  de->d_name) < sizeof path) {
                unlink(path);
            }
        }
    }
    if (d) {
        closedir(d);
        rmdir(dir);
    }
}

/* --- Main loop. --- */

static void
on_signal(int sig)
{
    (void) sig;
    stop_requested = 1;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: hadron-dpdk --socket PATH [OPTIONS] [-- EAL ARGUMENTS]\n"
            "  --socket PATH      control socket (newline-framed JSON)\n"
            "  --log FILE         log file (default: stderr)\n"
            "  --max-routers N    routers (default 256; each ~260 KiB)\n"
            "  --max-flows N      NAT sessions (default 262144)\n"
            "  --mbufs N          mbufs in the pool (default 16383)\n"
            "  --workers N        lcores polling (default 1; see workers.h)\n"
            "  --busy-poll        never sleep when idle\n"
            "  --debug            debug logging\n"
            "Default EAL arguments: -l 0 (0-N-1 with --workers N) --no-huge "
            "-m 256 --no-pci --file-prefix hadron-dpdk-PID\n");
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "log", required_argument, NULL, 'L' },
        { "max-routers", required_argument, NULL, 'R' },
        { "max-flows", required_argument, NULL, 'F' },
        { "mbufs", required_argument, NULL, 'M' },
        { "workers", required_argument, NULL, 'W' },
        { "busy-poll", no_argument, NULL, 'b' },
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *sock_path = NULL, *log_path = NULL;
    unsigned long max_routers = 256, max_flows = 262144, n_mbufs = 16383;
    unsigned long n_workers = 1;
    bool busy_poll = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 's':
            sock_path = optarg;
            break;
        case 'L':
            log_path = optarg;
            break;
        case 'R':
        case 'F':
        case 'M':
        case 'W': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || !v || (opt == 'W' && v > DPW_MAX_WORKERS)) {
                fprintf(stderr, "hadron-dpdk: bad number %s\n", optarg);
                return 2;
            }
            *(opt == 'R' ? &max_routers : opt == 'F' ? &max_flows
              : opt == 'M' ? &n_mbufs : &n_workers) = v;
            break;
        }
        case 'b':
            busy_poll = true;
            break;
        case 'd':
            log_set_debug(true);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!sock_path) {
        usage(stderr);
        return 2;
    }
    if (log_open(log_path)) {
        fprintf(stderr, "hadron-dpdk: cannot open log %s\n", log_path);
        return 1;
    }

    /* EAL arguments: those after "--", or the defaults. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "hadron-dpdk-%d", (int) getpid());
    char lcores[16];
    snprintf(lcores, sizeof lcores, "0-%lu", n_workers - 1);
    char *defaults[] = { argv[0], "-l", lcores, "--no-huge", "-m", "256",
                         "--no-pci", "--file-prefix", prefix };
    char **eal_argv = defaults;
    int eal_argc = (int) (sizeof defaults / sizeof defaults[0]);
    if (optind < argc) {
        eal_argv = &argv[optind - 1];
        eal_argv[0] = argv[0];
        eal_argc = argc - optind + 1;
    }
    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        LOG_ERR(MOD, "EAL init failed: %s", rte_strerror(rte_errno));
        return 1;
    }

    int rc = 1;
    struct ports ports = { 0 };
    struct server server = { .fd = -1 };
    struct dpw *dpw = NULL;
    struct dp_config cfg;
    bool launched = false;

    ports.pool = rte_pktmbuf_pool_create("hadron_mbufs", n_mbufs, 256, 0,
                                         RTE_MBUF_DEFAULT_BUF_SIZE,
                                         (int) rte_socket_id());
    if (!ports.pool) {
        LOG_ERR(MOD, "mbuf pool: %s", rte_strerror(rte_errno));
        goto out;
    }
    dp_config_default(&cfg);
    cfg.name = "hd";
    cfg.socket_id = (int) rte_socket_id();
    cfg.max_routers = max_routers;
    cfg.max_flows = max_flows;
    dpw = dpw_create(&cfg, ports.pool, (unsigned int) n_workers, 4096);
    if (!dpw) {
        LOG_ERR(MOD, "dataplane: %s", rte_strerror(rte_errno));
        goto out;
    }
    if (dpw_launch(dpw, 1, busy_poll)) {
        LOG_ERR(MOD, "%lu workers need %lu lcores; EAL has %u", n_workers,
                n_workers, rte_lcore_count());
        goto out;
    }
    launched = true;
    unsigned int worker_lcores[DPW_MAX_WORKERS];
    for (unsigned int w = 0; w < n_workers; w++) {
        worker_lcores[w] = dpw_lcore(dpw, w);
        LOG_INFO(MOD, "worker %u on lcore %u", w, worker_lcores[w]);
    }
    ports.dpw = dpw;
    ports.n_workers = (unsigned int) n_workers;
    server.dpw = dpw;
    server.ctl = ctl_create_workers(dpw_dps(dpw), worker_lcores,
                                    (unsigned int) n_workers,
                                    &dpdk_port_class, &ports);
    int error = server_open(&server, sock_path);
    if (error) {
        LOG_ERR(MOD, "control socket %s: %s", sock_path, strerror(error));
        goto out;
    }

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    LOG_INFO(MOD, "running on lcore %u, control socket %s, tsc %llu Hz",
             rte_lcore_id(), sock_path,
             (unsigned long long) rte_get_tsc_hz());

    uint64_t hz = rte_get_tsc_hz();
    uint64_t ctl_interval = hz / 1000;
    uint64_t last_ctl = 0;
    unsigned int idle = 0;

    while (!stop_requested) {
        uint64_t now = rte_rdtsc();
        unsigned int got = dpw_poll(dpw, 0, now);

        if (now - last_ctl >= ctl_interval) {
            last_ctl = now;
            server_poll(&server);
        }
        if (got) {
            idle = 0;
        } else if (!busy_poll && ++idle > 1000) {
            rte_delay_us_sleep(100);
        }
    }
    LOG_INFO(MOD, "stopping");
    rc = 0;

out:
    if (launched) {
        dpw_stop(dpw);
    }
    server_close(&server, sock_path);
    ctl_destroy(server.ctl);
    dpw_destroy(dpw);
    rte_mempool_free(ports.pool);
    char rundir[PATH_MAX];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    remove_runtime_dir(rundir);
    return rc;
}
