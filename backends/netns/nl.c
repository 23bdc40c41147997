/* backends/netns/nl.c: rtnetlink and nfnetlink helpers over libmnl.
 *
 * One request at a time per socket: nl_talk__() sends a message and reads
 * until its ack or the end of its dump, so every helper here is a plain
 * synchronous call returning 0 or a positive errno.  Sockets carry the
 * kernel's extended ack text of the last failure for error messages. */
#include "backends/netns/netns-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#define NL_RECV_SIZE 32768      /* room for the largest dump message */

int
nl_open__(struct nl_sock__ *s, int bus)
{
    int one = 1;

    memset(s, 0, sizeof *s);
    s->mnl = mnl_socket_open2(bus, SOCK_CLOEXEC);
    if (!s->mnl) {
        return errno;
    }
    if (mnl_socket_bind(s->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int error = errno;
        mnl_socket_close(s->mnl);
        s->mnl = NULL;
        return error;
    }
    /* Both are optional: without them messages only lose detail. */
    mnl_socket_setsockopt(s->mnl, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(s->mnl, NETLINK_CAP_ACK, &one, sizeof one);
    s->portid = mnl_socket_get_portid(s->mnl);
    s->seq = (uint32_t) time(NULL);
    return 0;
}

void
nl_close__(struct nl_sock__ *s)
{
    if (s && s->mnl) {
        mnl_socket_close(s->mnl);
        s->mnl = NULL;
    }
}

static void
mnl_close_cb(void *mnl)
{
    mnl_socket_close(mnl);
}

void
nl_close_deferred__(struct nl_sock__ *s)
{
    if (s && s->mnl) {
        ns_defer__(mnl_close_cb, s->mnl);
        s->mnl = NULL;
    }
}

const char *
nl_strerror__(const struct nl_sock__ *s, int error, char *buf, size_t size)
{
    if (s && s->kmsg[0]) {
        snprintf(buf, size, "%s: %s", strerror(error), s->kmsg);
    } else {
        snprintf(buf, size, "%s", strerror(error));
    }
    return buf;
}

/* Reads the error of an NLMSG_ERROR message and keeps its extended ack
 * text in 's->kmsg'.  Returns the positive errno, 0 for an ack. */
static int
nl_parse_error(struct nl_sock__ *s, const struct nlmsghdr *nlh)
{
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    size_t off;

    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e)) {
        return EBADMSG;
    }
    if (e->error && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        const char *payload = mnl_nlmsg_get_payload(nlh);
        const char *end = (const char *) nlh + nlh->nlmsg_len;
        const struct nlattr *a;
        int len;

        off = sizeof *e;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
            off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        }
        off = MNL_ALIGN(off);
        len = payload + off <= end ? (int) (end - (payload + off)) : 0;
        for (a = (const struct nlattr *) (payload + off); mnl_attr_ok(a, len);
             a = mnl_attr_next(a)) {
            len -= MNL_ALIGN(a->nla_len);
            if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG
                && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
                str_copy(s->kmsg, mnl_attr_get_str(a), sizeof s->kmsg);
                /* The kernel's text may end in a newline. */
                s->kmsg[strcspn(s->kmsg, "\n")] = '\0';
            }
        }
    }
    return e->error < 0 ? -e->error : e->error;
}

int
nl_talk__(struct nl_sock__ *s, struct nlmsghdr *nlh, nl_msg_cb__ *cb,
          void *aux)
{
    bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    char *buf = xmalloc(NL_RECV_SIZE);
    int cb_error = 0;
    int error = 0;

    s->kmsg[0] = '\0';
    nlh->nlmsg_seq = ++s->seq;
    if (!dump) {
        nlh->nlmsg_flags |= NLM_F_ACK;
    }
    if (mnl_socket_sendto(s->mnl, nlh, nlh->nlmsg_len) < 0) {
        error = errno;
        goto out;
    }
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(s->mnl, buf, NL_RECV_SIZE);
        const struct nlmsghdr *m;
        int len;

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = errno;
            goto out;
        }
        len = (int) n;
        for (m = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_seq != nlh->nlmsg_seq
                || (m->nlmsg_pid && m->nlmsg_pid != s->portid)) {
                continue;       /* a late answer to something else */
            }
            if (m->nlmsg_type == NLMSG_ERROR) {
                error = nl_parse_error(s, m);
                if (!error) {
                    error = cb_error;
                }
                goto out;
            }
            if (m->nlmsg_type == NLMSG_DONE) {
                const int *done = mnl_nlmsg_get_payload(m);

                error = cb_error;
                if (!error && m->nlmsg_len >= mnl_nlmsg_size(sizeof *done)
                    && *done < 0) {
                    error = -*done;
                }
                goto out;
            }
            if (m->nlmsg_type == NLMSG_NOOP
                || m->nlmsg_type == NLMSG_OVERRUN) {
                continue;
            }
            if (cb && !cb_error) {
                cb_error = cb(m, aux);
            }
        }
    }
out:
    free(buf);
    return error;
}

/* ---- Attribute tables. ---- */

struct attr_table {
    const struct nlattr **tb;
    unsigned int max;
};

static int
attr_table_cb(const struct nlattr *a, void *aux)
{
    struct attr_table *t = aux;
    unsigned int type = mnl_attr_get_type(a);

    if (type <= t->max) {
        t->tb[type] = a;
    }
    return MNL_CB_OK;
}

static void
attrs_parse(const struct nlmsghdr *nlh, size_t hdr, const struct nlattr **tb,
            unsigned int max)
{
    struct attr_table t = { tb, max };

    memset(tb, 0, (max + 1) * sizeof *tb);
    mnl_attr_parse(nlh, hdr, attr_table_cb, &t);
}

static void
attrs_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
                   unsigned int max)
{
    struct attr_table t = { tb, max };

    memset(tb, 0, (max + 1) * sizeof *tb);
    mnl_attr_parse_nested(nest, attr_table_cb, &t);
}

static bool
attr_to_addr(const struct nlattr *a, int family, unsigned int plen,
             struct netns_addr *out)
{
    size_t len = a ? mnl_attr_get_payload_len(a) : 0;

    memset(out, 0, sizeof *out);
    if (family == AF_INET && len == 4) {
        memcpy(&out->u.in4, mnl_attr_get_payload(a), 4);
    } else if (family == AF_INET6 && len == 16) {
        memcpy(&out->u.in6, mnl_attr_get_payload(a), 16);
    } else {
        return false;
    }
    out->family = family;
    out->plen = plen;
    return true;
}

static void
attr_put_addr(struct nlmsghdr *nlh, uint16_t type,
              const struct netns_addr *a)
{
    mnl_attr_put(nlh, type, a->family == AF_INET ? 4 : 16, &a->u);
}

/* ---- Links. ---- */

static void
link_parse(const struct nlmsghdr *nlh, struct nl_link__ *l)
{
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFLA_MAX + 1];
    const struct nlattr *li[IFLA_INFO_MAX + 1];

    memset(l, 0, sizeof *l);
    l->ifindex = ifi->ifi_index;
    l->flags = ifi->ifi_flags;
    attrs_parse(nlh, sizeof *ifi, tb, IFLA_MAX);
    if (tb[IFLA_IFNAME]) {
        str_copy(l->name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof l->name);
    }
    if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
        memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
    }
    if (tb[IFLA_MASTER]) {
        l->master = (int) mnl_attr_get_u32(tb[IFLA_MASTER]);
    }
    if (tb[IFLA_LINK]) {
        l->link = (int) mnl_attr_get_u32(tb[IFLA_LINK]);
    }
    if (!tb[IFLA_LINKINFO]) {
        return;
    }
    attrs_parse_nested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX);
    if (li[IFLA_INFO_KIND]) {
        str_copy(l->kind, mnl_attr_get_str(li[IFLA_INFO_KIND]),
                 sizeof l->kind);
    }
    if (!li[IFLA_INFO_DATA]) {
        return;
    }
    if (!strcmp(l->kind, "vxlan")) {
        const struct nlattr *vx[IFLA_VXLAN_MAX + 1];

        attrs_parse_nested(li[IFLA_INFO_DATA], vx, IFLA_VXLAN_MAX);
        if (vx[IFLA_VXLAN_ID]) {
            l->vxlan_id = mnl_attr_get_u32(vx[IFLA_VXLAN_ID]);
        }
        if (vx[IFLA_VXLAN_PORT]) {
            l->vxlan_port = ntohs(mnl_attr_get_u16(vx[IFLA_VXLAN_PORT]));
        }
        if (vx[IFLA_VXLAN_LEARNING]) {
            l->vxlan_learning = mnl_attr_get_u8(vx[IFLA_VXLAN_LEARNING]);
        }
        if (!attr_to_addr(vx[IFLA_VXLAN_LOCAL], AF_INET, 32,
                          &l->vxlan_local)) {
            attr_to_addr(vx[IFLA_VXLAN_LOCAL6], AF_INET6, 128,
                         &l->vxlan_local);
        }
    } else if (!strcmp(l->kind, "vlan")) {
        const struct nlattr *vl[IFLA_VLAN_MAX + 1];

        attrs_parse_nested(li[IFLA_INFO_DATA], vl, IFLA_VLAN_MAX);
        if (vl[IFLA_VLAN_ID]) {
            l->vlan_id = mnl_attr_get_u16(vl[IFLA_VLAN_ID]);
        }
    }
}

struct link_list {
    struct nl_link__ *links;
    size_t n, allocated;
};

static int
link_dump_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct link_list *ll = aux;

    if (nlh->nlmsg_type != RTM_NEWLINK) {
        return 0;
    }
    if (ll->n == ll->allocated) {
        ll->allocated = ll->allocated ? 2 * ll->allocated : 16;
        ll->links = xrealloc(ll->links, ll->allocated * sizeof *ll->links);
    }
    link_parse(nlh, &ll->links[ll->n++]);
    return 0;
}

static struct nlmsghdr *
link_msg(char *buf, uint16_t type, uint16_t flags, int ifindex)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifi;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return nlh;
}

int
nl_link_dump__(struct nl_sock__ *s, struct nl_link__ **links, size_t *n)
{
    char buf[NL_MSG_MAX];
    struct link_list ll = { NULL, 0, 0 };
    int error;

    error = nl_talk__(s, link_msg(buf, RTM_GETLINK, NLM_F_DUMP, 0),
                      link_dump_cb, &ll);
    if (error) {
        free(ll.links);
        ll.links = NULL;
        ll.n = 0;
    }
    *links = ll.links;
    *n = ll.n;
    return error;
}

static int
link_get_cb(const struct nlmsghdr *nlh, void *aux)
{
    if (nlh->nlmsg_type == RTM_NEWLINK) {
        link_parse(nlh, aux);
        return 0;
    }
    return EBADMSG;
}

int
nl_link_get__(struct nl_sock__ *s, const char *name, int ifindex,
              struct nl_link__ *l)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, ifindex);
    int error;

    if (name) {
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    }
    memset(l, 0, sizeof *l);
    error = nl_talk__(s, nlh, link_get_cb, l);
    if (!error && !l->ifindex) {
        error = ENODEV;
    }
    return error;
}

int
nl_link_del__(struct nl_sock__ *s, int ifindex)
{
    char buf[NL_MSG_MAX];

    return nl_talk__(s, link_msg(buf, RTM_DELLINK, 0, ifindex), NULL, NULL);
}

int
nl_link_del_group__(struct nl_sock__ *s, uint32_t group)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, 0);

    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    return nl_talk__(s, nlh, NULL, NULL);
}

int
nl_link_set_group__(struct nl_sock__ *s, int ifindex, uint32_t group)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);

    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    return nl_talk__(s, nlh, NULL, NULL);
}

int
nl_link_set__(struct nl_sock__ *s, int ifindex, int up, int master,
              const uint8_t *mac)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, ifindex);
    struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

    if (up >= 0) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = up ? IFF_UP : 0;
    }
    if (master >= 0) {
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master);
    }
    if (mac) {
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
    }
    return nl_talk__(s, nlh, NULL, NULL);
}

int
nl_veth_create__(struct nl_sock__ *s, const char *name, int master,
                 const char *peer_name, int peer_ns_fd,
                 const uint8_t peer_mac[6])
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK,
                                    NLM_F_CREATE | NLM_F_EXCL, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    struct nlattr *linkinfo, *data, *peer;
    struct ifinfomsg *pifi;

    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = IFF_UP;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (master) {
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master);
    }
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    pifi = mnl_nlmsg_put_extra_header(nlh, sizeof *pifi);
    pifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) peer_ns_fd);
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_talk__(s, nlh, NULL, NULL);
}

int
nl_bridge_create__(struct nl_sock__ *s, const char *name)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK,
                                    NLM_F_CREATE | NLM_F_EXCL, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    struct nlattr *linkinfo;

    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = IFF_UP;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_talk__(s, nlh, NULL, NULL);
}

int
nl_vxlan_create__(struct nl_sock__ *s, const char *name, uint32_t vni,
                  const struct netns_addr *local,
                  const struct netns_addr *group, uint16_t port,
                  bool learning)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK,
                                    NLM_F_CREATE | NLM_F_EXCL, 0);
    struct nlattr *linkinfo, *data;

    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, vni);
    if (local->family) {
        attr_put_addr(nlh, local->family == AF_INET ? IFLA_VXLAN_LOCAL
                      : IFLA_VXLAN_LOCAL6, local);
    }
    if (group && group->family) {
        attr_put_addr(nlh, group->family == AF_INET ? IFLA_VXLAN_GROUP
                      : IFLA_VXLAN_GROUP6, group);
    }
    mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(port));
    mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, learning);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_talk__(s, nlh, NULL, NULL);
}

struct nlmsghdr *
nl_vlan_msg__(void *buf, size_t size, const char *name, unsigned int parent,
              uint16_t vlan_id)
{
    struct nlmsghdr *nlh;
    struct nlattr *linkinfo, *data;

    /* Every attribute below fits in far less than NL_MSG_MAX; refuse a
     * smaller buffer rather than checking each put. */
    if (size < NL_MSG_MAX) {
        return NULL;
    }
    memset(buf, 0, NL_MSG_MAX);
    nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    mnl_attr_put_u32(nlh, IFLA_LINK, parent);
    linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u16(nlh, IFLA_VLAN_ID, vlan_id);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nlh;
}

/* ---- VXLAN flood list (bridge FDB). ---- */

struct fdb_list {
    int ifindex;
    struct nl_fdb__ *fdbs;
    size_t n;
};

static int
fdb_dump_cb(const struct nlmsghdr *nlh, void *aux)
{
    static const uint8_t zero[6];
    struct fdb_list *fl = aux;
    const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[NDA_MAX + 1];
    struct nl_fdb__ f;

    if (nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_ifindex != fl->ifindex
        || ndm->ndm_family != AF_BRIDGE) {
        return 0;
    }
    attrs_parse(nlh, sizeof *ndm, tb, NDA_MAX);
    if (!tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6
        || memcmp(mnl_attr_get_payload(tb[NDA_LLADDR]), zero, 6)) {
        return 0;
    }
    memset(&f, 0, sizeof f);
    if (!attr_to_addr(tb[NDA_DST], AF_INET, 32, &f.dst)
        && !attr_to_addr(tb[NDA_DST], AF_INET6, 128, &f.dst)) {
        return 0;
    }
    if (tb[NDA_PORT]) {
        f.port = ntohs(mnl_attr_get_u16(tb[NDA_PORT]));
    }
    fl->fdbs = xrealloc(fl->fdbs, (fl->n + 1) * sizeof *fl->fdbs);
    fl->fdbs[fl->n++] = f;
    return 0;
}

static struct nlmsghdr *
neigh_msg(char *buf, uint16_t type, uint16_t flags, int ifindex)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ndmsg *ndm;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
    ndm->ndm_family = AF_BRIDGE;
    ndm->ndm_ifindex = ifindex;
    return nlh;
}

int
nl_fdb_dump__(struct nl_sock__ *s, int ifindex, struct nl_fdb__ **fdbs,
              size_t *n)
{
    char buf[NL_MSG_MAX];
    struct fdb_list fl = { ifindex, NULL, 0 };
    int error;

    error = nl_talk__(s, neigh_msg(buf, RTM_GETNEIGH, NLM_F_DUMP, 0),
                      fdb_dump_cb, &fl);
    if (error) {
        free(fl.fdbs);
        fl.fdbs = NULL;
        fl.n = 0;
    }
    *fdbs = fl.fdbs;
    *n = fl.n;
    return error;
}

int
nl_fdb_change__(struct nl_sock__ *s, bool add, int ifindex,
                const struct nl_fdb__ *f)
{
    static const uint8_t zero[6];
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh;
    struct ndmsg *ndm;

    nlh = neigh_msg(buf, add ? RTM_NEWNEIGH : RTM_DELNEIGH,
                    add ? NLM_F_CREATE | NLM_F_APPEND : 0, ifindex);
    ndm = mnl_nlmsg_get_payload(nlh);
    ndm->ndm_state = NUD_NOARP | NUD_PERMANENT;
    ndm->ndm_flags = NTF_SELF;
    mnl_attr_put(nlh, NDA_LLADDR, 6, zero);
    attr_put_addr(nlh, NDA_DST, &f->dst);
    if (f->port) {
        mnl_attr_put_u16(nlh, NDA_PORT, htons(f->port));
    }
    return nl_talk__(s, nlh, NULL, NULL);
}

/* ---- Addresses. ---- */

struct addr_list {
    struct nl_addr__ *addrs;
    size_t n;
};

static int
addr_dump_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct addr_list *al = aux;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[IFA_MAX + 1];
    struct nl_addr__ a;

    if (nlh->nlmsg_type != RTM_NEWADDR) {
        return 0;
    }
    attrs_parse(nlh, sizeof *ifa, tb, IFA_MAX);
    memset(&a, 0, sizeof a);
    a.ifindex = (int) ifa->ifa_index;
    a.scope = ifa->ifa_scope;
    if (!attr_to_addr(tb[IFA_LOCAL], ifa->ifa_family, ifa->ifa_prefixlen,
                      &a.addr)
        && !attr_to_addr(tb[IFA_ADDRESS], ifa->ifa_family,
                         ifa->ifa_prefixlen, &a.addr)) {
        return 0;
    }
    al->addrs = xrealloc(al->addrs, (al->n + 1) * sizeof *al->addrs);
    al->addrs[al->n++] = a;
    return 0;
}

int
nl_addr_dump__(struct nl_sock__ *s, struct nl_addr__ **addrs, size_t *n)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;
    struct addr_list al = { NULL, 0 };
    int error;

    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = AF_UNSPEC;
    error = nl_talk__(s, nlh, addr_dump_cb, &al);
    if (error) {
        free(al.addrs);
        al.addrs = NULL;
        al.n = 0;
    }
    *addrs = al.addrs;
    *n = al.n;
    return error;
}

int
nl_addr_change__(struct nl_sock__ *s, bool add, int ifindex,
                 const struct netns_addr *a)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;

    nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST
                       | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = (unsigned char) a->family;
    ifa->ifa_prefixlen = (unsigned char) a->plen;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned int) ifindex;
    attr_put_addr(nlh, IFA_LOCAL, a);
    attr_put_addr(nlh, IFA_ADDRESS, a);
    if (add && a->family == AF_INET6) {
        /* A router's address is its own; skip duplicate detection so it
         * is usable at once. */
        mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    }
    return nl_talk__(s, nlh, NULL, NULL);
}

/* ---- Routes. ---- */

struct route_list {
    struct nl_route__ *routes;
    size_t n;
};

static int
route_dump_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct route_list *rl = aux;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[RTA_MAX + 1];
    struct nl_route__ r;
    uint32_t table;
    unsigned int full;

    if (nlh->nlmsg_type != RTM_NEWROUTE
        || (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)) {
        return 0;
    }
    attrs_parse(nlh, sizeof *rtm, tb, RTA_MAX);
    table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
    if (table != RT_TABLE_MAIN) {
        return 0;
    }
    memset(&r, 0, sizeof r);
    full = rtm->rtm_family == AF_INET ? 32 : 128;
    if (!attr_to_addr(tb[RTA_DST], rtm->rtm_family, rtm->rtm_dst_len,
                      &r.dst)) {
        r.dst.family = rtm->rtm_family;   /* default route: all zeros */
        r.dst.plen = 0;
    }
    attr_to_addr(tb[RTA_GATEWAY], rtm->rtm_family, full, &r.gw);
    if (tb[RTA_OIF]) {
        r.oif = (int) mnl_attr_get_u32(tb[RTA_OIF]);
    }
    r.protocol = rtm->rtm_protocol;
    r.type = rtm->rtm_type;
    rl->routes = xrealloc(rl->routes, (rl->n + 1) * sizeof *rl->routes);
    rl->routes[rl->n++] = r;
    return 0;
}

int
nl_route_dump__(struct nl_sock__ *s, struct nl_route__ **routes, size_t *n)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct rtmsg *rtm;
    struct route_list rl = { NULL, 0 };
    int error;

    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = AF_UNSPEC;
    error = nl_talk__(s, nlh, route_dump_cb, &rl);
    if (error) {
        free(rl.routes);
        rl.routes = NULL;
        rl.n = 0;
    }
    *routes = rl.routes;
    *n = rl.n;
    return error;
}

int
nl_route_change__(struct nl_sock__ *s, bool add, const struct nl_route__ *r)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct rtmsg *rtm;

    nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST
                       | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = (unsigned char) r->dst.family;
    rtm->rtm_dst_len = (unsigned char) r->dst.plen;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    if (r->dst.plen) {
        attr_put_addr(nlh, RTA_DST, &r->dst);
    }
    if (r->gw.family) {
        attr_put_addr(nlh, RTA_GATEWAY, &r->gw);
    }
    if (r->oif) {
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) r->oif);
    }
    return nl_talk__(s, nlh, NULL, NULL);
}
