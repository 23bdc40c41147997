/* backends/netns/nat.c: a router's NAT, as table `ip hadron` in its
 * namespace.
 *
 * The rules come from one plan (nat_plan__()): each floating IP is a DNAT
 * in prerouting and output and an SNAT in postrouting; with enable_snat,
 * each internal IPv4 subnet is SNATed to the gateway's first IPv4 address
 * on its way out of qg-.  Every rule carries a comment that states all it
 * does ("fip 203.0.113.10 10.0.0.5"), and the table a comment with the
 * format version and the SNAT switch.  A router with a gateway has the
 * table (possibly with empty chains), one without has none.  Applying
 * reads the kernel's table over nfnetlink and, if its comments already
 * match the plan, leaves it alone; otherwise one libnftables batch
 * (re)creates the table, which the kernel commits atomically.  Conntrack (implied by the nat chains) makes replies
 * return; entries of floating IPs that went away are deleted so that no
 * old flow keeps using them. */
#include "backends/netns/netns-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/util.h"

#define NAT_TABLE "hadron"

static const char *const nat_chains[] = { "prerouting", "output",
                                          "postrouting" };
static const char *const nat_chain_heads[] = {
    "type nat hook prerouting priority dstnat; policy accept;",
    "type nat hook output priority -100; policy accept;",
    "type nat hook postrouting priority srcnat; policy accept;",
};

/* ---- The plan. ---- */

static void
plan_add(struct nat_rule__ *rules, size_t max, size_t *n, const char *chain,
         const char *comment, const char *expr)
{
    if (*n < max) {
        rules[*n].chain = chain;
        str_copy(rules[*n].comment, comment, sizeof rules[*n].comment);
        str_copy(rules[*n].expr, expr, sizeof rules[*n].expr);
    }
    (*n)++;
}

static const struct netns_addr *
first_ipv4(const struct netns_port *p)
{
    for (size_t i = 0; i < p->n_ips; i++) {
        if (p->ips[i].family == AF_INET) {
            return &p->ips[i];
        }
    }
    return NULL;
}

size_t
nat_plan__(const struct netns_router *r, struct nat_rule__ *rules,
           size_t max)
{
    char qg[NETNS_IFNAME_LEN];
    char fip[NETNS_ADDR_STR_LEN], fixed[NETNS_ADDR_STR_LEN];
    char comment[128], expr[160];
    const struct netns_addr *gw_ip;
    size_t n = 0;

    if (!r->gw) {
        return 0;
    }
    netns_port_ifname("qg-", r->gw->port.id, qg);
    for (size_t c = 0; c < 3; c++) {
        for (size_t i = 0; i < r->n_fips; i++) {
            const struct netns_fip *f = &r->fips[i];

            netns_addr_format(&f->floating_ip, false, fip);
            netns_addr_format(&f->fixed_ip, false, fixed);
            if (c < 2) {
                snprintf(comment, sizeof comment, "fip %s %s", fip, fixed);
                snprintf(expr, sizeof expr, "ip daddr %s dnat to %s", fip,
                         fixed);
            } else {
                snprintf(comment, sizeof comment, "fip %s %s %s", fip, fixed,
                         qg);
                snprintf(expr, sizeof expr,
                         "oifname \"%s\" ip saddr %s snat to %s", qg, fixed,
                         fip);
            }
            plan_add(rules, max, &n, nat_chains[c], comment, expr);
        }
    }

    gw_ip = first_ipv4(&r->gw->port);
    if (!r->enable_snat || !gw_ip) {
        return n;
    }
    char gw[NETNS_ADDR_STR_LEN];
    netns_addr_format(gw_ip, false, gw);
    for (size_t i = 0; i < r->n_ports; i++) {
        const struct netns_port *p = &r->ports[i];

        for (size_t j = 0; j < p->n_ips; j++) {
            struct netns_addr net = netns_addr_network(&p->ips[j]);
            char cidr[NETNS_ADDR_STR_LEN];
            bool seen = false;

            if (net.family != AF_INET) {
                continue;
            }
            /* One rule per subnet, however many ports are on it. */
            for (size_t pi = 0; pi <= i && !seen; pi++) {
                size_t nj = pi < i ? r->ports[pi].n_ips : j;

                for (size_t pj = 0; pj < nj && !seen; pj++) {
                    struct netns_addr o
                        = netns_addr_network(&r->ports[pi].ips[pj]);
                    seen = netns_addr_equal(&o, &net);
                }
            }
            if (seen) {
                continue;
            }
            netns_addr_format(&net, true, cidr);
            snprintf(comment, sizeof comment, "snat %s %s %s", cidr, gw, qg);
            snprintf(expr, sizeof expr,
                     "oifname \"%s\" ip saddr %s snat to %s", qg, cidr, gw);
            plan_add(rules, max, &n, "postrouting", comment, expr);
        }
    }
    return n;
}

/* The table's comment: the format version and the SNAT switch, so that
 * enable_snat reads back even when there is no subnet to SNAT. */
static void
table_comment(const struct netns_router *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s snat=%s", NAT_TABLE_COMMENT,
             r->enable_snat ? "on" : "off");
}

static struct nat_rule__ *
plan_new(const struct netns_router *r, size_t *n)
{
    size_t need = nat_plan__(r, NULL, 0);
    struct nat_rule__ *rules = xcalloc(need ? need : 1, sizeof *rules);

    *n = nat_plan__(r, rules, need);
    return rules;
}

/* Appends 'fmt' to 'buf' of 'size' at '*len', counting what did not fit. */
static void __attribute__((format(printf, 4, 5)))
text_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list args;
    int n;

    va_start(args, fmt);
    n = vsnprintf(*len < size ? buf + *len : NULL,
                  *len < size ? size - *len : 0, fmt, args);
    va_end(args);
    if (n > 0) {
        *len += (size_t) n;
    }
}

/* The batch for 'r'.  With 'replace', it first deletes the table that
 * exists; without, it assumes there is none (deleting anything leaves the
 * kernel work to do after an RCU grace period, which the next nfnetlink
 * socket close anywhere would wait for). */
static size_t
ruleset_text(const struct netns_router *r, const struct nat_rule__ *rules,
             size_t n, bool replace, char *buf, size_t size)
{
    char comment[128];
    size_t len = 0;

    if (size) {
        buf[0] = '\0';
    }
    if (!r->gw) {
        return 0;
    }
    table_comment(r, comment, sizeof comment);
    /* "add" makes the "delete" safe when the table does not exist yet;
     * the kernel commits all of it, or none, in one transaction.  nft
     * 1.0.6 wants every closing brace on its own line. */
    if (replace) {
        text_add(buf, size, &len, "add table ip %s\n", NAT_TABLE);
        text_add(buf, size, &len, "delete table ip %s\n", NAT_TABLE);
    }
    text_add(buf, size, &len, "table ip %s {\n", NAT_TABLE);
    text_add(buf, size, &len, "\tcomment \"%s\"\n", comment);
    for (size_t c = 0; c < 3; c++) {
        text_add(buf, size, &len, "\tchain %s {\n\t\t%s\n", nat_chains[c],
                 nat_chain_heads[c]);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(rules[i].chain, nat_chains[c])) {
                text_add(buf, size, &len, "\t\t%s comment \"%s\"\n",
                         rules[i].expr, rules[i].comment);
            }
        }
        text_add(buf, size, &len, "\t}\n");
    }
    text_add(buf, size, &len, "}\n");
    return len;
}

size_t
netns_nat_ruleset(const struct netns_router *r, char *buf, size_t size)
{
    size_t n;
    struct nat_rule__ *rules = plan_new(r, &n);
    size_t len = ruleset_text(r, rules, n, true, buf, size);

    free(rules);
    return len;
}

/* ---- What the kernel has. ---- */

struct kernel_rule {
    char chain[32];
    char comment[128];
};

struct kernel_nat {
    bool table;                 /* table `ip hadron` exists */
    char table_comment[128];
    struct kernel_rule *rules;
    size_t n_rules;
};

static void
kernel_nat_free(struct kernel_nat *k)
{
    free(k->rules);
    memset(k, 0, sizeof *k);
}

static struct nlmsghdr *
nf_msg(char *buf, uint16_t subsys_type, uint16_t flags, uint8_t family)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct nfgenmsg *nfg;

    nlh->nlmsg_type = subsys_type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(0);
    return nlh;
}

/* Finds the comment (user data TLV type 0, as nft writes it) in an
 * NFTA_*_USERDATA attribute. */
static void
udata_comment(const struct nlattr *a, char *out, size_t size)
{
    const uint8_t *p = mnl_attr_get_payload(a);
    size_t len = mnl_attr_get_payload_len(a);

    out[0] = '\0';
    while (len >= 2 && (size_t) p[1] + 2 <= len) {
        if (p[0] == 0) {
            size_t n = p[1];

            if (n && p[2 + n - 1] == '\0') {
                n--;
            }
            if (n >= size) {
                n = size - 1;
            }
            memcpy(out, p + 2, n);
            out[n] = '\0';
            return;
        }
        len -= (size_t) p[1] + 2;
        p += (size_t) p[1] + 2;
    }
}

static int
table_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct kernel_nat *k = aux;
    const struct nlattr *a;

    if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWTABLE) {
        return 0;
    }
    k->table = true;
    mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
        if (mnl_attr_get_type(a) == NFTA_TABLE_USERDATA) {
            udata_comment(a, k->table_comment, sizeof k->table_comment);
        }
    }
    return 0;
}

static int
rule_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct kernel_nat *k = aux;
    struct kernel_rule kr;
    const struct nlattr *a;

    if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE) {
        return 0;
    }
    memset(&kr, 0, sizeof kr);
    mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
        if (mnl_attr_get_type(a) == NFTA_RULE_CHAIN
            && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
            str_copy(kr.chain, mnl_attr_get_str(a), sizeof kr.chain);
        } else if (mnl_attr_get_type(a) == NFTA_RULE_USERDATA) {
            udata_comment(a, kr.comment, sizeof kr.comment);
        }
    }
    k->rules = xrealloc(k->rules, (k->n_rules + 1) * sizeof *k->rules);
    k->rules[k->n_rules++] = kr;
    return 0;
}

/* Reads table `ip hadron` of the calling thread's namespace. */
static int
kernel_nat_read(struct nl_sock__ *nf, struct kernel_nat *k)
{
    char buf[NL_MSG_MAX];
    struct nlmsghdr *nlh;
    int error;

    memset(k, 0, sizeof *k);
    nlh = nf_msg(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, 0,
                 NFPROTO_IPV4);
    mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NAT_TABLE);
    error = nl_talk__(nf, nlh, table_cb, k);
    if (error == ENOENT) {
        return 0;
    }
    if (error) {
        return error;
    }
    nlh = nf_msg(buf, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
                 NLM_F_DUMP, NFPROTO_IPV4);
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NAT_TABLE);
    error = nl_talk__(nf, nlh, rule_cb, k);
    if (error) {
        kernel_nat_free(k);
    }
    return error;
}

/* True if the kernel's table is exactly what the plan asks for. */
static bool
kernel_nat_matches(const struct kernel_nat *k, const struct netns_router *r,
                   const struct nat_rule__ *rules, size_t n)
{
    char comment[128];

    if (!r->gw) {
        return !k->table;
    }
    table_comment(r, comment, sizeof comment);
    if (!k->table || strcmp(k->table_comment, comment)) {
        return false;
    }
    if (k->n_rules != n) {
        return false;
    }
    for (size_t c = 0; c < 3; c++) {
        size_t ki = 0, pi = 0;

        for (;;) {
            while (ki < k->n_rules && strcmp(k->rules[ki].chain,
                                             nat_chains[c])) {
                ki++;
            }
            while (pi < n && strcmp(rules[pi].chain, nat_chains[c])) {
                pi++;
            }
            if (ki == k->n_rules || pi == n) {
                if (ki != k->n_rules || pi != n) {
                    return false;
                }
                break;
            }
            if (strcmp(k->rules[ki].comment, rules[pi].comment)) {
                return false;
            }
            ki++;
            pi++;
        }
    }
    return true;
}

/* ---- Loading a ruleset. ---- */

/* libnftables has process-wide state (one-time library setup, symbol
 * tables); one context is created and run at a time. */
static pthread_mutex_t nft_mutex = PTHREAD_MUTEX_INITIALIZER;

static void
nft_ctx_free_cb(void *ctx)
{
    nft_ctx_free(ctx);
}

/* Runs batch 'text' in the calling thread's namespace (the context's
 * socket is opened where it is created). */
static int
nft_run(const char *text, struct netns_status__ *st)
{
    struct nft_ctx *ctx;
    int error = 0;

    pthread_mutex_lock(&nft_mutex);
    ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
        pthread_mutex_unlock(&nft_mutex);
        return status_fail__(st, ENOMEM, "nft: cannot create context");
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    if (nft_run_cmd_from_buffer(ctx, text)) {
        const char *msg = nft_ctx_get_error_buffer(ctx);
        char line[200];

        str_copy(line, msg ? msg : "", sizeof line);
        line[strcspn(line, "\n")] = '\0';
        error = status_fail__(st, EIO, "nft: %s", line[0] ? line : "failed");
    }
    pthread_mutex_unlock(&nft_mutex);

    /* Freeing closes the context's socket, which may wait for the kernel
     * to finish freeing what this batch replaced: let that happen in the
     * background.  nft_ctx_free() touches only the context and the
     * interface cache, which rules matching "oifname" by string never
     * fill, so it needs no lock. */
    ns_defer__(nft_ctx_free_cb, ctx);
    return error;
}

/* ---- Conntrack. ---- */

struct ct_victims {
    struct in_addr ip;          /* the floating IP going away */
    struct {
        uint8_t tuple[256];     /* CTA_TUPLE_ORIG payload */
        size_t tuple_len;
        uint16_t zone;          /* network order */
        bool has_zone;
    } *v;
    size_t n;
};

static bool
ct_tuple_dst(const struct nlattr *tuple, bool src, struct in_addr *out)
{
    const struct nlattr *a, *b;

    mnl_attr_for_each_nested(a, tuple) {
        if (mnl_attr_get_type(a) != CTA_TUPLE_IP) {
            continue;
        }
        mnl_attr_for_each_nested(b, a) {
            if (mnl_attr_get_type(b) == (src ? CTA_IP_V4_SRC : CTA_IP_V4_DST)
                && mnl_attr_get_payload_len(b) == 4) {
                memcpy(out, mnl_attr_get_payload(b), 4);
                return true;
            }
        }
    }
    return false;
}

static int
ct_dump_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct ct_victims *cv = aux;
    const struct nlattr *a, *orig = NULL, *reply = NULL, *zone = NULL;
    struct in_addr odst, rdst;

    mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
        switch (mnl_attr_get_type(a)) {
        case CTA_TUPLE_ORIG:
            orig = a;
            break;
        case CTA_TUPLE_REPLY:
            reply = a;
            break;
        case CTA_ZONE:
            zone = a;
            break;
        }
    }
    if (!orig || !reply
        || mnl_attr_get_payload_len(orig) > sizeof cv->v[0].tuple) {
        return 0;
    }
    /* Inbound to the floating IP, or outbound SNATed to it. */
    if ((ct_tuple_dst(orig, false, &odst)
         && odst.s_addr == cv->ip.s_addr)
        || (ct_tuple_dst(reply, false, &rdst)
            && rdst.s_addr == cv->ip.s_addr)) {
        cv->v = xrealloc(cv->v, (cv->n + 1) * sizeof *cv->v);
        memset(&cv->v[cv->n], 0, sizeof cv->v[cv->n]);
        cv->v[cv->n].tuple_len = mnl_attr_get_payload_len(orig);
        memcpy(cv->v[cv->n].tuple, mnl_attr_get_payload(orig),
               cv->v[cv->n].tuple_len);
        if (zone && mnl_attr_get_payload_len(zone) == 2) {
            cv->v[cv->n].zone = mnl_attr_get_u16(zone);
            cv->v[cv->n].has_zone = true;
        }
        cv->n++;
    }
    return 0;
}

/* Deletes the conntrack entries that use floating IP 'ip'.  A failure here
 * only delays the end of old flows, so it is logged, not returned. */
static void
ct_forget(struct nl_sock__ *nf, struct in_addr ip)
{
    char buf[NL_MSG_MAX];
    struct ct_victims cv = { ip, NULL, 0 };
    int error;

    error = nl_talk__(nf, nf_msg(buf, (NFNL_SUBSYS_CTNETLINK << 8)
                                 | IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_INET),
                      ct_dump_cb, &cv);
    for (size_t i = 0; !error && i < cv.n; i++) {
        struct nlmsghdr *nlh = nf_msg(buf, (NFNL_SUBSYS_CTNETLINK << 8)
                                      | IPCTNL_MSG_CT_DELETE, 0, AF_INET);

        mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, cv.v[i].tuple_len,
                     cv.v[i].tuple);
        if (cv.v[i].has_zone) {
            mnl_attr_put_u16(nlh, CTA_ZONE, cv.v[i].zone);
        }
        error = nl_talk__(nf, nlh, NULL, NULL);
        if (error == ENOENT) {
            error = 0;          /* it ended meanwhile */
        }
    }
    if (error) {
        char ipt[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, &ip, ipt, sizeof ipt);
        LOG_WARN("netns", "conntrack: forgetting floating IP %s: %s", ipt,
                 strerror(error));
    }
    free(cv.v);
}

/* Parses "fip F X" from a prerouting comment. */
static bool
parse_fip_comment(const char *comment, struct netns_fip *f)
{
    char fip[NETNS_ADDR_STR_LEN], fixed[NETNS_ADDR_STR_LEN];

    memset(f, 0, sizeof *f);
    return sscanf(comment, "fip %49s %49s", fip, fixed) == 2
           && !netns_addr_parse(fip, &f->floating_ip)
           && !netns_addr_parse(fixed, &f->fixed_ip)
           && f->floating_ip.family == AF_INET;
}

int
nat_apply__(const struct netns_router *r, struct netns_status__ *st)
{
    struct kernel_nat k = { 0 };
    struct nl_sock__ nf = { 0 };
    struct nat_rule__ *rules;
    size_t n;
    int error;

    rules = plan_new(r, &n);
    error = nl_open__(&nf, NETLINK_NETFILTER);
    if (error) {
        status_fail__(st, error, "nfnetlink socket: %s", strerror(error));
        goto out;
    }
    error = kernel_nat_read(&nf, &k);
    if (error) {
        char e[256];

        status_fail__(st, error, "reading table ip %s: %s", NAT_TABLE,
                      nl_strerror__(&nf, error, e, sizeof e));
    }
    nl_close_deferred__(&nf);
    if (error || kernel_nat_matches(&k, r, rules, n)) {
        goto out;
    }

    if (r->gw) {
        size_t size = ruleset_text(r, rules, n, k.table, NULL, 0) + 1;
        char *text = xmalloc(size);

        ruleset_text(r, rules, n, k.table, text, size);
        error = nft_run(text, st);
        free(text);
    } else {
        error = nft_run("delete table ip " NAT_TABLE "\n", st);
    }
    if (error) {
        goto out;
    }
    LOG_DBG("netns", "%s: NAT table rebuilt (%zu rules)", st->what, n);

    /* Floating IPs that were in the kernel and are no longer (or now map
     * elsewhere): end their flows. */
    for (size_t i = 0; i < k.n_rules; i++) {
        struct netns_fip kf;
        bool kept = false;

        if (strcmp(k.rules[i].chain, "prerouting")
            || !parse_fip_comment(k.rules[i].comment, &kf)) {
            continue;
        }
        for (size_t j = 0; j < r->n_fips && !kept; j++) {
            kept = r->fips[j].floating_ip.u.in4.s_addr
                       == kf.floating_ip.u.in4.s_addr
                   && r->fips[j].fixed_ip.u.in4.s_addr
                       == kf.fixed_ip.u.in4.s_addr;
        }
        if (!kept) {
            if (!nf.mnl && nl_open__(&nf, NETLINK_NETFILTER)) {
                LOG_WARN("netns", "%s: conntrack: no nfnetlink socket",
                         st->what);
                break;
            }
            ct_forget(&nf, kf.floating_ip.u.in4);
        }
    }
out:
    nl_close_deferred__(&nf);
    kernel_nat_free(&k);
    free(rules);
    return error;
}

int
nat_read__(struct netns_router *out, struct netns_status__ *st)
{
    struct kernel_nat k = { 0 };
    struct nl_sock__ nf;
    int error;

    error = nl_open__(&nf, NETLINK_NETFILTER);
    if (error) {
        return status_fail__(st, error, "nfnetlink socket: %s",
                             strerror(error));
    }
    error = kernel_nat_read(&nf, &k);
    if (error) {
        char e[256];

        status_fail__(st, error, "reading table ip %s: %s", NAT_TABLE,
                      nl_strerror__(&nf, error, e, sizeof e));
        goto out;
    }
    for (size_t i = 0; i < k.n_rules; i++) {
        struct netns_fip f;

        if (!strcmp(k.rules[i].chain, "prerouting")
            && parse_fip_comment(k.rules[i].comment, &f)) {
            out->fips = xrealloc(out->fips,
                                 (out->n_fips + 1) * sizeof *out->fips);
            out->fips[out->n_fips++] = f;
        }
    }
    out->enable_snat = k.table && str_ends_with(k.table_comment, " snat=on");
out:
    kernel_nat_free(&k);
    nl_close_deferred__(&nf);
    return error;
}
