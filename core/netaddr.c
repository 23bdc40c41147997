/* core/netaddr.c: see netaddr.h. */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

bool
ipaddr_parse(const char *s, struct ipaddr *out)
{
    memset(out, 0, sizeof *out);
    if (!s) {
        return false;
    }
    if (inet_pton(AF_INET, s, out->b) == 1) {
        out->version = 4;
        return true;
    }
    if (strchr(s, ':') && inet_pton(AF_INET6, s, out->b) == 1) {
        out->version = 6;
        return true;
    }
    return false;
}

void
ipaddr_format(const struct ipaddr *a, char buf[IPADDR_STR_MAX])
{
    inet_ntop(a->version == 4 ? AF_INET : AF_INET6, a->b, buf,
              IPADDR_STR_MAX);
}

static int
ipaddr_len(const struct ipaddr *a)
{
    return a->version == 4 ? 4 : 16;
}

int
ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
    if (a->version != b->version) {
        return a->version < b->version ? -1 : 1;
    }
    return memcmp(a->b, b->b, ipaddr_len(a));
}

bool
ipaddr_add(const struct ipaddr *a, int64_t n, struct ipaddr *out)
{
    int len = ipaddr_len(a);
    int carry = 0;
    uint64_t mag = n < 0 ? (uint64_t) -(n + 1) + 1 : (uint64_t) n;

    *out = *a;
    for (int i = len - 1; i >= 0; i--) {
        int delta = (int) (mag & 0xff);
        int v;
        mag >>= 8;
        if (n >= 0) {
            v = out->b[i] + delta + carry;
            carry = v > 0xff;
            out->b[i] = v & 0xff;
        } else {
            v = out->b[i] - delta - carry;
            carry = v < 0;
            out->b[i] = (v + 0x100) & 0xff;
        }
    }
    return !carry && !mag;
}

int64_t
ipaddr_diff(const struct ipaddr *a, const struct ipaddr *b)
{
    int len = ipaddr_len(a);
    int64_t diff = 0;

    for (int i = 0; i < len; i++) {
        if (diff > (INT64_MAX >> 8) || diff < (INT64_MIN >> 8)) {
            return diff > 0 ? INT64_MAX : INT64_MIN;
        }
        diff = diff * 256 + ((int) b->b[i] - (int) a->b[i]);
    }
    return diff;
}

bool
ipnet_parse(const char *s, bool prefix_optional, struct ipnet *out)
{
    char buf[IPNET_STR_MAX + 8];
    const char *slash = strchr(s, '/');
    int64_t prefix = -1;

    memset(out, 0, sizeof *out);
    if (!slash) {
        if (!prefix_optional || !ipaddr_parse(s, &out->addr)) {
            return false;
        }
        out->prefix = out->addr.version == 4 ? 32 : 128;
        return true;
    }
    if ((size_t) (slash - s) >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, slash - s);
    buf[slash - s] = '\0';
    if (!ipaddr_parse(buf, &out->addr)
        || !str_to_int64(slash + 1, 0, out->addr.version == 4 ? 32 : 128,
                         &prefix)) {
        return false;
    }
    out->prefix = prefix;
    return true;
}

void
ipnet_format(const struct ipnet *n, char buf[IPNET_STR_MAX])
{
    char a[IPADDR_STR_MAX];
    ipaddr_format(&n->addr, a);
    snprintf(buf, IPNET_STR_MAX, "%s/%d", a, n->prefix);
}

static void
mask_host_bits(const struct ipnet *n, struct ipaddr *out, bool set)
{
    int len = ipaddr_len(&n->addr);

    *out = n->addr;
    for (int i = 0; i < len; i++) {
        int bits = n->prefix - i * 8;
        uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : 0xff << (8 - bits);
        out->b[i] = set ? (out->b[i] | ~mask) : (out->b[i] & mask);
    }
}

void
ipnet_first(const struct ipnet *n, struct ipaddr *out)
{
    mask_host_bits(n, out, false);
}

void
ipnet_last(const struct ipnet *n, struct ipaddr *out)
{
    mask_host_bits(n, out, true);
}

bool
ipnet_has_host_bits(const struct ipnet *n)
{
    struct ipaddr first;
    ipnet_first(n, &first);
    return ipaddr_cmp(&first, &n->addr) != 0;
}

bool
ipnet_contains(const struct ipnet *n, const struct ipaddr *a)
{
    struct ipaddr first, last;

    if (a->version != n->addr.version) {
        return false;
    }
    ipnet_first(n, &first);
    ipnet_last(n, &last);
    return ipaddr_cmp(&first, a) <= 0 && ipaddr_cmp(a, &last) <= 0;
}

bool
ipnet_overlaps(const struct ipnet *x, const struct ipnet *y)
{
    struct ipaddr xf, xl, yf, yl;

    if (x->addr.version != y->addr.version) {
        return false;
    }
    ipnet_first(x, &xf);
    ipnet_last(x, &xl);
    ipnet_first(y, &yf);
    ipnet_last(y, &yl);
    return ipaddr_cmp(&xf, &yl) <= 0 && ipaddr_cmp(&yf, &xl) <= 0;
}

bool
mac_parse(const char *s, uint8_t out[6])
{
    unsigned int v[6];
    char sep1, sep2, sep3, sep4, sep5;
    int n;

    if (strlen(s) != 17
        || sscanf(s, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%n", &v[0], &sep1, &v[1],
                  &sep2, &v[2], &sep3, &v[3], &sep4, &v[4], &sep5, &v[5],
                  &n) != 11
        || n != 17) {
        return false;
    }
    char seps[] = { sep1, sep2, sep3, sep4, sep5 };
    for (int i = 0; i < 5; i++) {
        if (seps[i] != seps[0] || (seps[i] != ':' && seps[i] != '-')) {
            return false;
        }
    }
    for (int i = 0; i < 17; i++) {
        if (i % 3 != 2 && !strchr("0123456789abcdefABCDEF", s[i])) {
            return false;
        }
    }
    for (int i = 0; i < 6; i++) {
        out[i] = v[i];
    }
    return true;
}

void
mac_format(const uint8_t mac[6], char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
             mac[2], mac[3], mac[4], mac[5]);
}
