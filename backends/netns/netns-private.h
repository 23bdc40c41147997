/* backends/netns/netns-private.h: what the files of backends/netns share.
 *
 *   nl.c      rtnetlink and nfnetlink over libmnl: one request or dump at a
 *             time, answers checked, the kernel's extended ack text kept.
 *   ns.c      named namespaces in /run/netns, worker threads that enter
 *             them, first-error bookkeeping.
 *   names.c   names and text helpers (pure).
 *   l2.c      bridges and their uplinks (flat, VLAN, VXLAN).
 *   router.c  router namespaces: interfaces, addresses, routes.
 *   nat.c     the `ip hadron` nftables table and conntrack cleanup.
 *
 * Nothing here is part of the API; names end in "__". */
#ifndef HADRON_NETNS_PRIVATE_H
#define HADRON_NETNS_PRIVATE_H 1

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/netns/netns.h"

struct nlmsghdr;

/* ---- Status: the first error of an operation, with its message. ---- */

struct netns_status__ {
    int error;                  /* first error, 0 if none yet */
    char *err;                  /* caller's message buffer, may be NULL */
    size_t err_size;
    const char *what;           /* prefix of every message ("qrouter-X") */
};

void status_init__(struct netns_status__ *, const char *what,
                   char *err, size_t err_size);

/* Records 'error' (a positive errno) with a message made from 'fmt' unless
 * an earlier error is already recorded.  Returns 'error'. */
int status_fail__(struct netns_status__ *, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Netlink. ---- */

#define NL_MSG_MAX 4096         /* our requests are all smaller */

struct nl_sock__ {
    struct mnl_socket *mnl;
    unsigned int portid;
    uint32_t seq;
    char kmsg[160];             /* the kernel's extended ack text of the
                                 * last failed request, or "" */
};

/* Opens a netlink socket on 'bus' (NETLINK_ROUTE, NETLINK_NETFILTER) in
 * the calling thread's network namespace; the socket stays in that
 * namespace.  Returns 0 or an errno. */
int nl_open__(struct nl_sock__ *, int bus);
void nl_close__(struct nl_sock__ *);

/* Called for each answer message other than errors and dump ends.  Returns
 * 0 or an errno, which ends the exchange with that error. */
typedef int nl_msg_cb__(const struct nlmsghdr *, void *aux);

/* Sends the request 'nlh' (its sequence number is set here; a request that
 * is not a dump gets NLM_F_ACK) and reads the answer, calling 'cb' (may be
 * NULL) on each message of it.  Returns 0 or a positive errno; on error,
 * sock->kmsg has the kernel's explanation, if it gave one. */
int nl_talk__(struct nl_sock__ *, struct nlmsghdr *nlh,
              nl_msg_cb__ *cb, void *aux);

/* Formats "strerror(error)" followed by ": <kernel text>" when there is
 * one, for messages. */
const char *nl_strerror__(const struct nl_sock__ *, int error,
                          char *buf, size_t size);

/* A link as RTM_NEWLINK describes it. */
struct nl_link__ {
    int ifindex;
    char name[IFNAMSIZ];
    char kind[16];              /* IFLA_INFO_KIND, or "" */
    uint8_t mac[6];
    unsigned int flags;         /* IFF_* */
    int master;                 /* IFLA_MASTER, or 0 */
    int link;                   /* IFLA_LINK (veth peer, VLAN parent) */
    uint32_t vxlan_id;
    uint16_t vxlan_port;        /* host order */
    struct netns_addr vxlan_local;
    bool vxlan_learning;
    uint16_t vlan_id;
};

int nl_link_dump__(struct nl_sock__ *, struct nl_link__ **links, size_t *n);
/* Returns ENODEV if there is no such link. */
int nl_link_get__(struct nl_sock__ *, const char *name, int ifindex,
                  struct nl_link__ *);
int nl_link_del__(struct nl_sock__ *, int ifindex);

/* Deletes every link of interface group 'group' in the socket's namespace
 * in one request (so the kernel waits for one RCU grace period, not one per
 * link).  ENODEV if there was none. */
int nl_link_del_group__(struct nl_sock__ *, uint32_t group);
int nl_link_set_group__(struct nl_sock__ *, int ifindex, uint32_t group);

/* Changes link 'ifindex': 'up' (-1 leaves it), 'master' (-1 leaves it, 0
 * releases), 'mac' (NULL leaves it). */
int nl_link_set__(struct nl_sock__ *, int ifindex, int up, int master,
                  const uint8_t *mac);

/* Creates a veth pair: 'name' here, up, enslaved to 'master' (if not 0);
 * its peer 'peer_name' in the namespace of 'peer_ns_fd' with 'peer_mac',
 * down.  (Asking for the peer up in the same request fails with ENOTCONN
 * on current kernels: set it up afterwards.) */
int nl_veth_create__(struct nl_sock__ *, const char *name, int master,
                     const char *peer_name, int peer_ns_fd,
                     const uint8_t peer_mac[6]);

int nl_bridge_create__(struct nl_sock__ *, const char *name);

/* Creates VXLAN device 'name' (down). */
int nl_vxlan_create__(struct nl_sock__ *, const char *name, uint32_t vni,
                      const struct netns_addr *local,
                      const struct netns_addr *group, uint16_t port,
                      bool learning);

/* All-zeros FDB entries of a VXLAN device: the flood list. */
struct nl_fdb__ {
    struct netns_addr dst;
    uint16_t port;              /* host order, 0 = device default */
};
int nl_fdb_dump__(struct nl_sock__ *, int ifindex, struct nl_fdb__ **,
                  size_t *n);
int nl_fdb_change__(struct nl_sock__ *, bool add, int ifindex,
                    const struct nl_fdb__ *);

/* Addresses. */
struct nl_addr__ {
    int ifindex;
    struct netns_addr addr;
    unsigned char scope;
};
int nl_addr_dump__(struct nl_sock__ *, struct nl_addr__ **, size_t *n);
int nl_addr_change__(struct nl_sock__ *, bool add, int ifindex,
                     const struct netns_addr *);

/* Routes of the main table. */
struct nl_route__ {
    struct netns_addr dst;      /* prefix */
    struct netns_addr gw;       /* family 0 if none */
    int oif;
    unsigned char protocol;
    unsigned char type;
};
int nl_route_dump__(struct nl_sock__ *, struct nl_route__ **, size_t *n);
/* Adds (replacing) or deletes a unicast route of protocol "static".
 * 'oif' 0 lets the kernel choose. */
int nl_route_change__(struct nl_sock__ *, bool add,
                      const struct nl_route__ *);

/* Builds RTM_NEWLINK for a VLAN device into 'buf' (NL_MSG_MAX bytes). */
struct nlmsghdr *nl_vlan_msg__(void *buf, size_t size, const char *name,
                               unsigned int parent, uint16_t vlan_id);

/* ---- Namespaces and worker threads. ---- */

#define NETNS_RUN_DIR "/run/netns"

/* Runs 'fn(aux)' on a new thread (which starts in the caller's network
 * namespace and may setns() freely) and returns what it returns. */
int ns_run_thread__(int (*fn)(void *aux), void *aux);

/* In a worker thread: enters named namespace 'name', creating it first if
 * 'create' and it does not exist.  On success '*fd' is an open descriptor
 * of the namespace (the caller closes it) and '*created' says whether it
 * was made now.  Returns ENOENT if absent and not 'create'. */
int ns_enter__(const char *name, bool create, int *fd, bool *created);

/* Removes named namespace 'name' (unmount and unlink).  0 if absent. */
int ns_remove__(const char *name);

/* Runs 'fn(aux)' later on a background thread, in order.  For work whose
 * end nobody waits for but which can block: closing an nfnetlink socket
 * blocks for an RCU grace period (tens of ms) whenever nf_tables has
 * objects of a recent commit still to free, because the kernel flushes
 * that work on every such close. */
void ns_defer__(void (*fn)(void *aux), void *aux);

/* Closes 's' through ns_defer__(). */
void nl_close_deferred__(struct nl_sock__ *s);

/* Writes 'value' to sysctl file 'path' (under /proc/sys) unless it
 * already holds it.  ENOENT is returned as is for the caller to judge. */
int ns_sysctl_set__(const char *path, const char *value);

/* ---- Names. ---- */

/* Copies the id part of a qr-/qg-/tap name ("qr-0123456789a" ->
 * "0123456789a"), or "" if 'name' has no such prefix. */
bool names_port_suffix__(const char *name, const char *prefix,
                         char out[NETNS_ID_LEN]);

/* Validates a router for apply; returns 0 or EINVAL with a message. */
int names_check_router__(const struct netns_router *,
                         struct netns_status__ *);

/* ---- NAT. ---- */

/* One rule of the plan: its chain and its comment, which says all the rule
 * does and is how the kernel's rules are recognized again. */
struct nat_rule__ {
    const char *chain;          /* "prerouting", "output", "postrouting" */
    char comment[128];
    char expr[160];             /* the rule's match and action */
};

#define NAT_TABLE_COMMENT "hadron netns 1"

/* Fills 'rules' (room for 'max') with the rules 'router' needs, in order.
 * Returns how many it needs (which may exceed 'max'). */
size_t nat_plan__(const struct netns_router *, struct nat_rule__ *rules,
                  size_t max);

/* In a worker thread inside the router namespace: makes table `ip hadron`
 * hold exactly the plan for 'router', unless it already does; deletes the
 * conntrack entries of floating IPs that went away. */
int nat_apply__(const struct netns_router *, struct netns_status__ *);

/* In a worker thread inside the router namespace: reads the floating IPs
 * and whether SNAT is on back from table `ip hadron`. */
int nat_read__(struct netns_router *out, struct netns_status__ *);

#endif /* backends/netns/netns-private.h */
