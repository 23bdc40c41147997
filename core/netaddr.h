/* core/netaddr.h: IPv4/IPv6 addresses and prefixes, as IPAM needs them. */
#ifndef HADRON_NETADDR_H
#define HADRON_NETADDR_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipaddr {
    int version;                /* 4 or 6 */
    uint8_t b[16];              /* network order; IPv4 uses b[0..3] */
};

struct ipnet {
    struct ipaddr addr;
    int prefix;
};

#define IPADDR_STR_MAX 46
#define IPNET_STR_MAX 50

/* Parses an address (no prefix).  Returns true on success. */
bool ipaddr_parse(const char *s, struct ipaddr *out);
/* Canonical text: dotted quad, or RFC 5952 IPv6. */
void ipaddr_format(const struct ipaddr *, char buf[IPADDR_STR_MAX]);
int ipaddr_cmp(const struct ipaddr *, const struct ipaddr *);
/* a + n (n may be negative); false on overflow out of the family. */
bool ipaddr_add(const struct ipaddr *a, int64_t n, struct ipaddr *out);
/* b - a when it fits in int64 (else clamps to INT64_MAX). */
int64_t ipaddr_diff(const struct ipaddr *a, const struct ipaddr *b);

/* Parses "addr/prefix" (prefix required unless 'prefix_optional', which
 * then means a host prefix).  Host bits are kept. */
bool ipnet_parse(const char *s, bool prefix_optional, struct ipnet *out);
void ipnet_format(const struct ipnet *, char buf[IPNET_STR_MAX]);
/* The network address (host bits cleared) and the last address. */
void ipnet_first(const struct ipnet *, struct ipaddr *out);
void ipnet_last(const struct ipnet *, struct ipaddr *out);
bool ipnet_has_host_bits(const struct ipnet *);
bool ipnet_contains(const struct ipnet *, const struct ipaddr *);
bool ipnet_overlaps(const struct ipnet *, const struct ipnet *);

/* MAC addresses: parse "aa:bb:cc:dd:ee:ff" (also '-' separated), format
 * lower case. */
bool mac_parse(const char *s, uint8_t out[6]);
void mac_format(const uint8_t mac[6], char buf[18]);

#endif /* core/netaddr.h */
