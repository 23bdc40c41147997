/* backends/netns/names.c: names of kernel objects, address text, and the
 * checks a router passes before it touches the kernel.  Pure functions. */
#include "backends/netns/netns-private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"

/* ---- Addresses. ---- */

int
netns_addr_parse(const char *s, struct netns_addr *out)
{
    char text[NETNS_ADDR_STR_LEN];
    const char *slash;
    unsigned int max;

    memset(out, 0, sizeof *out);
    if (!s || !str_copy(text, s, sizeof text)) {
        return EINVAL;
    }
    slash = strchr(text, '/');
    if (slash) {
        text[slash - text] = '\0';
    }
    if (inet_pton(AF_INET, text, &out->u.in4) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, text, &out->u.in6) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return EINVAL;
    }
    out->plen = max;
    if (slash) {
        int64_t plen;

        if (!str_to_int64(slash + 1, 0, max, &plen)) {
            memset(out, 0, sizeof *out);
            return EINVAL;
        }
        out->plen = (unsigned int) plen;
    }
    return 0;
}

void
netns_addr_format(const struct netns_addr *a, bool with_plen,
                  char buf[NETNS_ADDR_STR_LEN])
{
    char text[INET6_ADDRSTRLEN];

    if (!a->family || !inet_ntop(a->family, &a->u, text, sizeof text)) {
        snprintf(buf, NETNS_ADDR_STR_LEN, "(none)");
    } else if (with_plen) {
        snprintf(buf, NETNS_ADDR_STR_LEN, "%s/%u", text, a->plen);
    } else {
        snprintf(buf, NETNS_ADDR_STR_LEN, "%s", text);
    }
}

bool
netns_addr_equal(const struct netns_addr *a, const struct netns_addr *b)
{
    if (a->family != b->family || a->plen != b->plen) {
        return false;
    }
    if (a->family == AF_INET) {
        return a->u.in4.s_addr == b->u.in4.s_addr;
    }
    if (a->family == AF_INET6) {
        return !memcmp(&a->u.in6, &b->u.in6, sizeof a->u.in6);
    }
    return true;
}

struct netns_addr
netns_addr_network(const struct netns_addr *a)
{
    struct netns_addr n = *a;
    unsigned int bytes = a->family == AF_INET ? 4 : 16;
    uint8_t *p = (uint8_t *) &n.u;

    if (a->family != AF_INET && a->family != AF_INET6) {
        return n;
    }
    for (unsigned int i = 0; i < bytes; i++) {
        unsigned int bit = i * 8;

        if (bit >= a->plen) {
            p[i] = 0;
        } else if (a->plen - bit < 8) {
            p[i] &= (uint8_t) (0xff << (8 - (a->plen - bit)));
        }
    }
    return n;
}

int
netns_mac_parse(const char *s, uint8_t mac[6])
{
    unsigned int b[6];
    char end;

    if (!s || strlen(s) != 17
        || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
                  &b[3], &b[4], &b[5], &end) != 6) {
        return EINVAL;
    }
    for (int i = 0; i < 6; i++) {
        if (!isxdigit((unsigned char) s[i * 3])
            || !isxdigit((unsigned char) s[i * 3 + 1])) {
            return EINVAL;
        }
        mac[i] = (uint8_t) b[i];
    }
    return 0;
}

/* ---- Names. ---- */

void
netns_router_ns_name(const char *router_id, char buf[NETNS_NSNAME_LEN])
{
    snprintf(buf, NETNS_NSNAME_LEN, "qrouter-%s", router_id);
}

void
netns_port_ifname(const char *prefix, const char *port_id,
                  char buf[NETNS_IFNAME_LEN])
{
    snprintf(buf, NETNS_IFNAME_LEN, "%s%.*s", prefix, NETNS_ID_PREFIX_LEN,
             port_id);
}

void
netns_bridge_name(const char *network_id, char buf[NETNS_IFNAME_LEN])
{
    snprintf(buf, NETNS_IFNAME_LEN, "brq%.*s", NETNS_ID_PREFIX_LEN,
             network_id);
}

void
netns_vxlan_ifname(uint32_t vni, char buf[NETNS_IFNAME_LEN])
{
    snprintf(buf, NETNS_IFNAME_LEN, "vxlan-%" PRIu32, vni);
}

void
netns_vlan_ifname(const char *physical, uint16_t vlan_id,
                  char buf[NETNS_IFNAME_LEN])
{
    char suffix[8];
    size_t room;

    size_t plen = strlen(physical), slen;

    snprintf(suffix, sizeof suffix, ".%u", (unsigned int) vlan_id);
    slen = strlen(suffix);
    if (plen + slen < NETNS_IFNAME_LEN) {
        memcpy(buf, physical, plen);
        memcpy(buf + plen, suffix, slen + 1);
        return;
    }

    /* Cut the name and keep 4 hex digits of its FNV-1a hash. */
    uint32_t h = 2166136261u;
    for (const char *p = physical; *p; p++) {
        h = (h ^ (uint8_t) *p) * 16777619u;
    }
    room = NETNS_IFNAME_LEN - 1 - slen - 4;
    snprintf(buf, NETNS_IFNAME_LEN, "%.*s%04x%s", (int) room, physical,
             (unsigned int) (h & 0xffff), suffix);
}

int
netns_physnet_lookup(const char *mappings, const char *physnet,
                     char iface[NETNS_IFNAME_LEN])
{
    const char *p = mappings;
    bool found = false;

    iface[0] = '\0';
    if (!mappings || !physnet || !physnet[0]) {
        return EINVAL;
    }
    while (*p) {
        const char *item, *colon, *end, *name;
        size_t item_len, name_len;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (!*p) {
            break;
        }
        item = p;
        end = strchr(p, ',');
        if (!end) {
            end = p + strlen(p);
        }
        p = end;
        while (end > item && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        colon = memchr(item, ':', (size_t) (end - item));
        if (!colon || colon == item || colon + 1 == end) {
            return EINVAL;
        }
        item_len = (size_t) (colon - item);
        while (item_len && (item[item_len - 1] == ' '
                            || item[item_len - 1] == '\t')) {
            item_len--;
        }
        name = colon + 1;
        while (name < end && (*name == ' ' || *name == '\t')) {
            name++;
        }
        name_len = (size_t) (end - name);
        if (!item_len || !name_len || name_len >= NETNS_IFNAME_LEN) {
            return EINVAL;
        }
        if (!found && item_len == strlen(physnet)
            && !memcmp(item, physnet, item_len)) {
            memcpy(iface, name, name_len);
            iface[name_len] = '\0';
            found = true;
        }
    }
    return found ? 0 : ENOENT;
}

bool
names_port_suffix__(const char *name, const char *prefix,
                    char out[NETNS_ID_LEN])
{
    out[0] = '\0';
    if (!str_starts_with(name, prefix) || !name[strlen(prefix)]) {
        return false;
    }
    str_copy(out, name + strlen(prefix), NETNS_ID_LEN);
    return true;
}

/* ---- Checks. ---- */

static bool
id_is_valid(const char *id)
{
    size_t len = strnlen(id, NETNS_ID_LEN);

    if (len < NETNS_ID_PREFIX_LEN || len >= NETNS_ID_LEN) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char) id[i]) && id[i] != '-'
            && id[i] != '_') {
            return false;
        }
    }
    return true;
}

static int
check_port(const struct netns_port *p, const char *role,
           struct netns_status__ *st)
{
    if (!id_is_valid(p->id)) {
        return status_fail__(st, EINVAL, "%s port: bad id \"%.*s\"", role,
                             NETNS_ID_LEN - 1, p->id);
    }
    if (!p->bridge[0] || strnlen(p->bridge, NETNS_IFNAME_LEN)
                         >= NETNS_IFNAME_LEN) {
        return status_fail__(st, EINVAL, "port %s: bad bridge name", p->id);
    }
    if (p->n_ips > NETNS_PORT_MAX_IPS) {
        return status_fail__(st, EINVAL, "port %s: more than %d IPs", p->id,
                             NETNS_PORT_MAX_IPS);
    }
    if ((p->mac[0] & 1) || !memcmp(p->mac, "\0\0\0\0\0\0", 6)) {
        return status_fail__(st, EINVAL, "port %s: bad MAC", p->id);
    }
    for (size_t i = 0; i < p->n_ips; i++) {
        const struct netns_addr *a = &p->ips[i];

        if ((a->family != AF_INET && a->family != AF_INET6)
            || a->plen > (a->family == AF_INET ? 32u : 128u)) {
            return status_fail__(st, EINVAL, "port %s: bad IP #%zu", p->id,
                                 i);
        }
    }
    return 0;
}

int
names_check_router__(const struct netns_router *r, struct netns_status__ *st)
{
    size_t n_ifaces = r->n_ports + (r->gw ? 1 : 0);

    if (!id_is_valid(r->id)) {
        return status_fail__(st, EINVAL, "bad router id");
    }
    if ((r->n_ports && !r->ports) || (r->n_routes && !r->routes)
        || (r->n_fips && !r->fips)) {
        return status_fail__(st, EINVAL, "array count without array");
    }
    for (size_t i = 0; i < n_ifaces; i++) {
        const struct netns_port *p = i < r->n_ports ? &r->ports[i]
                                                    : &r->gw->port;
        int error = check_port(p, i < r->n_ports ? "internal" : "gateway",
                               st);
        if (error) {
            return error;
        }
        for (size_t j = 0; j < i; j++) {
            const struct netns_port *q = j < r->n_ports ? &r->ports[j]
                                                        : &r->gw->port;
            if (!strncmp(p->id, q->id, NETNS_ID_PREFIX_LEN)) {
                return status_fail__(st, EINVAL,
                                     "ports %s and %s share a name prefix",
                                     p->id, q->id);
            }
        }
    }
    if (r->gw) {
        if ((r->gw->gateway_ip.family
             && r->gw->gateway_ip.family != AF_INET)
            || (r->gw->gateway_ip6.family
                && r->gw->gateway_ip6.family != AF_INET6)) {
            return status_fail__(st, EINVAL, "gateway IP of wrong family");
        }
    }
    for (size_t i = 0; i < r->n_routes; i++) {
        const struct netns_route *rt = &r->routes[i];

        if (!rt->destination.family
            || rt->destination.family != rt->nexthop.family) {
            return status_fail__(st, EINVAL, "route #%zu: bad family", i);
        }
    }
    for (size_t i = 0; i < r->n_fips; i++) {
        const struct netns_fip *f = &r->fips[i];

        if (f->floating_ip.family != AF_INET
            || f->fixed_ip.family != AF_INET) {
            return status_fail__(st, EINVAL,
                                 "floating IP #%zu: not IPv4", i);
        }
        if (!r->gw) {
            return status_fail__(st, EINVAL,
                                 "floating IP #%zu without a gateway", i);
        }
    }
    return 0;
}
