/* tests/unit/netns/test_netns_unit.c: the pure parts of backends/netns:
 * address and name helpers, physnet mappings, router validation, the NAT
 * ruleset text, and the VLAN RTM_NEWLINK message byte for byte.  Touches
 * no kernel state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "backends/netns/netns.h"

#define UNUSED __attribute__((unused))

static struct netns_addr
A(const char *s)
{
    struct netns_addr a;

    assert_int_equal(netns_addr_parse(s, &a), 0);
    return a;
}

static void
test_addr_parse_format(void **state UNUSED)
{
    struct netns_addr a;
    char buf[NETNS_ADDR_STR_LEN];

    assert_int_equal(netns_addr_parse("10.0.1.5/24", &a), 0);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.plen, 24);
    netns_addr_format(&a, true, buf);
    assert_string_equal(buf, "10.0.1.5/24");
    netns_addr_format(&a, false, buf);
    assert_string_equal(buf, "10.0.1.5");

    assert_int_equal(netns_addr_parse("203.0.113.10", &a), 0);
    assert_int_equal(a.plen, 32);
    assert_int_equal(netns_addr_parse("2001:db8::1/64", &a), 0);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.plen, 64);
    netns_addr_format(&a, true, buf);
    assert_string_equal(buf, "2001:db8::1/64");
    assert_int_equal(netns_addr_parse("2001:db8::1", &a), 0);
    assert_int_equal(a.plen, 128);

    assert_int_equal(netns_addr_parse("10.0.0.1/33", &a), EINVAL);
    assert_int_equal(netns_addr_parse("10.0.0.1/", &a), EINVAL);
    assert_int_equal(netns_addr_parse("10.0.0.1/2x", &a), EINVAL);
    assert_int_equal(netns_addr_parse("10.0.0", &a), EINVAL);
    assert_int_equal(netns_addr_parse("", &a), EINVAL);
    assert_int_equal(netns_addr_parse(NULL, &a), EINVAL);
    assert_int_equal(netns_addr_parse("2001:db8::1/129", &a), EINVAL);

    a.family = 0;
    netns_addr_format(&a, true, buf);
    assert_string_equal(buf, "(none)");
}

static void
test_addr_network_equal(void **state UNUSED)
{
    struct netns_addr a = A("10.0.1.77/24"), n;
    struct netns_addr b = A("10.0.1.0/24");
    char buf[NETNS_ADDR_STR_LEN];

    n = netns_addr_network(&a);
    assert_true(netns_addr_equal(&n, &b));
    assert_false(netns_addr_equal(&a, &b));

    a = A("172.16.255.255/12");
    n = netns_addr_network(&a);
    netns_addr_format(&n, true, buf);
    assert_string_equal(buf, "172.16.0.0/12");

    a = A("192.0.2.200/27");
    n = netns_addr_network(&a);
    netns_addr_format(&n, true, buf);
    assert_string_equal(buf, "192.0.2.192/27");

    a = A("10.1.2.3/0");
    n = netns_addr_network(&a);
    netns_addr_format(&n, true, buf);
    assert_string_equal(buf, "0.0.0.0/0");

    a = A("2001:db8:1:2:3::9/62");
    n = netns_addr_network(&a);
    netns_addr_format(&n, true, buf);
    assert_string_equal(buf, "2001:db8:1::/62");

    /* Same address, other prefix: not equal. */
    a = A("10.0.0.1/24");
    b = A("10.0.0.1/32");
    assert_false(netns_addr_equal(&a, &b));
    b = A("::ffff:10.0.0.1/24");
    assert_false(netns_addr_equal(&a, &b));
}

static void
test_mac_parse(void **state UNUSED)
{
    uint8_t mac[6];

    assert_int_equal(netns_mac_parse("fa:16:3e:00:aB:ff", mac), 0);
    assert_memory_equal(mac, "\xfa\x16\x3e\x00\xab\xff", 6);
    assert_int_equal(netns_mac_parse("fa:16:3e:00:ab", mac), EINVAL);
    assert_int_equal(netns_mac_parse("fa:16:3e:00:ab:ff:00", mac), EINVAL);
    assert_int_equal(netns_mac_parse("fa-16-3e-00-ab-ff", mac), EINVAL);
    assert_int_equal(netns_mac_parse("fa:16:3e:00:ab:gg", mac), EINVAL);
    assert_int_equal(netns_mac_parse("f:016:3e:00:ab:ff", mac), EINVAL);
}

static void
test_names(void **state UNUSED)
{
    char ns[NETNS_NSNAME_LEN], ifn[NETNS_IFNAME_LEN];
    const char *id = "8c7e5c2a-52a4-4e0c-a43d-3c4f0e1a7b11";

    netns_router_ns_name(id, ns);
    assert_string_equal(ns, "qrouter-8c7e5c2a-52a4-4e0c-a43d-3c4f0e1a7b11");
    netns_port_ifname("qr-", id, ifn);
    assert_string_equal(ifn, "qr-8c7e5c2a-52");
    netns_port_ifname("qg-", id, ifn);
    assert_string_equal(ifn, "qg-8c7e5c2a-52");
    netns_port_ifname("tap", id, ifn);
    assert_string_equal(ifn, "tap8c7e5c2a-52");
    assert_int_equal(strlen(ifn), 14);
    netns_bridge_name(id, ifn);
    assert_string_equal(ifn, "brq8c7e5c2a-52");
    netns_vxlan_ifname(16777215, ifn);
    assert_string_equal(ifn, "vxlan-16777215");
    netns_vxlan_ifname(42, ifn);
    assert_string_equal(ifn, "vxlan-42");
}

static void
test_vlan_ifname(void **state UNUSED)
{
    char a[NETNS_IFNAME_LEN], b[NETNS_IFNAME_LEN];

    netns_vlan_ifname("eth1", 100, a);
    assert_string_equal(a, "eth1.100");
    netns_vlan_ifname("enp0s31f6", 4094, a);
    assert_string_equal(a, "enp0s31f6.4094");      /* 14: fits */

    /* Too long: cut, 4 hex digits of hash, suffix; 15 characters. */
    netns_vlan_ifname("enp0s31f6abcdef", 4094, a);
    assert_int_equal(strlen(a), 15);
    assert_memory_equal(a, "enp0s3", 6);
    assert_string_equal(a + 10, ".4094");
    netns_vlan_ifname("enp0s31f6abcdeg", 4094, b);
    assert_int_equal(strlen(b), 15);
    assert_string_not_equal(a, b);
    /* Stable. */
    netns_vlan_ifname("enp0s31f6abcdef", 4094, b);
    assert_string_equal(a, b);
}

static void
test_physnet_lookup(void **state UNUSED)
{
    char ifn[NETNS_IFNAME_LEN];

    assert_int_equal(netns_physnet_lookup("physnet1:eth1", "physnet1", ifn),
                     0);
    assert_string_equal(ifn, "eth1");
    assert_int_equal(netns_physnet_lookup(" physnet1 : eth1 , extnet:br-ex ,",
                                          "extnet", ifn), 0);
    assert_string_equal(ifn, "br-ex");
    assert_int_equal(netns_physnet_lookup("physnet1:eth1", "physnet", ifn),
                     ENOENT);
    assert_string_equal(ifn, "");
    assert_int_equal(netns_physnet_lookup("", "physnet1", ifn), ENOENT);
    assert_int_equal(netns_physnet_lookup("physnet1", "physnet1", ifn),
                     EINVAL);
    assert_int_equal(netns_physnet_lookup("physnet1:", "physnet1", ifn),
                     EINVAL);
    assert_int_equal(netns_physnet_lookup(":eth0", "physnet1", ifn), EINVAL);
    assert_int_equal(netns_physnet_lookup("p:averyveryverylongname",
                                          "p", ifn), EINVAL);
    /* The first mapping of a physnet wins. */
    assert_int_equal(netns_physnet_lookup("a:eth1,a:eth2", "a", ifn), 0);
    assert_string_equal(ifn, "eth1");
}

/* A router: two internal ports (10.0.1.1/24, 10.0.2.1/24 and a second
 * address on the first subnet's port), a gateway 203.0.113.5/24 with
 * SNAT, and a floating IP 203.0.113.10 -> 10.0.1.5. */
struct sample {
    struct netns_port ports[2];
    struct netns_gateway gw;
    struct netns_fip fips[2];
    struct netns_route routes[1];
    struct netns_router r;
};

static void
sample_init(struct sample *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->ports[0].id, sizeof s->ports[0].id,
             "11111111-aaaa-4000-8000-000000000001");
    netns_mac_parse("fa:16:3e:00:00:01", s->ports[0].mac);
    s->ports[0].ips[0] = A("10.0.1.1/24");
    s->ports[0].ips[1] = A("10.0.1.2/24");
    s->ports[0].ips[2] = A("2001:db8:1::1/64");
    s->ports[0].n_ips = 3;
    snprintf(s->ports[0].bridge, sizeof s->ports[0].bridge, "brq-one");
    snprintf(s->ports[1].id, sizeof s->ports[1].id,
             "22222222-bbbb-4000-8000-000000000002");
    netns_mac_parse("fa:16:3e:00:00:02", s->ports[1].mac);
    s->ports[1].ips[0] = A("10.0.2.1/24");
    s->ports[1].n_ips = 1;
    snprintf(s->ports[1].bridge, sizeof s->ports[1].bridge, "brq-two");
    snprintf(s->gw.port.id, sizeof s->gw.port.id,
             "33333333-cccc-4000-8000-000000000003");
    netns_mac_parse("fa:16:3e:00:00:03", s->gw.port.mac);
    s->gw.port.ips[0] = A("2001:db8:ff::5/64");
    s->gw.port.ips[1] = A("203.0.113.5/24");
    s->gw.port.n_ips = 2;
    snprintf(s->gw.port.bridge, sizeof s->gw.port.bridge, "brq-ext");
    s->gw.gateway_ip = A("203.0.113.1");
    s->fips[0].floating_ip = A("203.0.113.10");
    s->fips[0].fixed_ip = A("10.0.1.5");
    s->fips[1].floating_ip = A("203.0.113.11");
    s->fips[1].fixed_ip = A("10.0.2.6");
    s->routes[0].destination = A("10.9.0.0/16");
    s->routes[0].nexthop = A("10.0.2.254");

    snprintf(s->r.id, sizeof s->r.id, "44444444-dddd-4000-8000-000000000004");
    s->r.admin_up = true;
    s->r.enable_snat = true;
    s->r.ports = s->ports;
    s->r.n_ports = 2;
    s->r.gw = &s->gw;
    s->r.fips = s->fips;
    s->r.n_fips = 1;
    s->r.routes = s->routes;
    s->r.n_routes = 1;
}

static void
test_nat_ruleset(void **state UNUSED)
{
    static const char expected[] =
        "add table ip hadron\n"
        "delete table ip hadron\n"
        "table ip hadron {\n"
        "\tcomment \"hadron netns 1 snat=on\"\n"
        "\tchain prerouting {\n"
        "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
        "\t\tip daddr 203.0.113.10 dnat to 10.0.1.5"
        " comment \"fip 203.0.113.10 10.0.1.5\"\n"
        "\t}\n"
        "\tchain output {\n"
        "\t\ttype nat hook output priority -100; policy accept;\n"
        "\t\tip daddr 203.0.113.10 dnat to 10.0.1.5"
        " comment \"fip 203.0.113.10 10.0.1.5\"\n"
        "\t}\n"
        "\tchain postrouting {\n"
        "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
        "\t\toifname \"qg-33333333-cc\" ip saddr 10.0.1.5 snat to 203.0.113.10"
        " comment \"fip 203.0.113.10 10.0.1.5 qg-33333333-cc\"\n"
        "\t\toifname \"qg-33333333-cc\" ip saddr 10.0.1.0/24 snat to"
        " 203.0.113.5"
        " comment \"snat 10.0.1.0/24 203.0.113.5 qg-33333333-cc\"\n"
        "\t\toifname \"qg-33333333-cc\" ip saddr 10.0.2.0/24 snat to"
        " 203.0.113.5"
        " comment \"snat 10.0.2.0/24 203.0.113.5 qg-33333333-cc\"\n"
        "\t}\n"
        "}\n";
    struct sample s;
    char buf[4096];
    size_t len;

    sample_init(&s);
    len = netns_nat_ruleset(&s.r, buf, sizeof buf);
    assert_string_equal(buf, expected);
    assert_int_equal(len, strlen(expected));

    /* Every closing brace is alone on its line (nft 1.0.6). */
    for (const char *p = strchr(buf, '}'); p; p = strchr(p + 1, '}')) {
        assert_true(p[-1] == '\t' || p[-1] == '\n');
        assert_int_equal(p[1], '\n');
    }

    /* Cut short: says how much it needed, and stays terminated. */
    char small[64];
    assert_int_equal(netns_nat_ruleset(&s.r, small, sizeof small),
                     strlen(expected));
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(netns_nat_ruleset(&s.r, NULL, 0), strlen(expected));
}

static void
test_nat_ruleset_variants(void **state UNUSED)
{
    struct sample s;
    char buf[4096];

    /* No gateway: no NAT at all. */
    sample_init(&s);
    s.r.gw = NULL;
    s.r.n_fips = 0;
    assert_int_equal(netns_nat_ruleset(&s.r, buf, sizeof buf), 0);
    assert_string_equal(buf, "");

    /* SNAT off, no floating IPs: an empty table that says so. */
    sample_init(&s);
    s.r.enable_snat = false;
    s.r.n_fips = 0;
    assert_true(netns_nat_ruleset(&s.r, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "comment \"hadron netns 1 snat=off\"\n"));
    assert_null(strstr(buf, "snat to"));
    assert_null(strstr(buf, "dnat to"));

    /* SNAT off, two floating IPs: only theirs. */
    s.r.n_fips = 2;
    netns_nat_ruleset(&s.r, buf, sizeof buf);
    assert_non_null(strstr(buf, "ip daddr 203.0.113.11 dnat to 10.0.2.6"));
    assert_non_null(strstr(buf, "ip saddr 10.0.2.6 snat to 203.0.113.11"));
    assert_null(strstr(buf, "comment \"snat "));

    /* A gateway without IPv4: no SNAT rule even if asked. */
    sample_init(&s);
    s.gw.port.n_ips = 1;
    s.r.n_fips = 0;
    netns_nat_ruleset(&s.r, buf, sizeof buf);
    assert_null(strstr(buf, "snat to"));
}

static void
test_apply_rejects_bad_input(void **state UNUSED)
{
    char err[NETNS_ERR_LEN];
    struct sample s;

    sample_init(&s);
    snprintf(s.r.id, sizeof s.r.id, "x/y");
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "bad router id"));

    sample_init(&s);
    snprintf(s.ports[1].id, sizeof s.ports[1].id, "%s", s.ports[0].id);
    s.ports[1].id[20] = 'f';        /* same 11 first characters */
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "share a name prefix"));

    sample_init(&s);
    s.ports[0].mac[0] = 0x01;       /* multicast */
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "bad MAC"));

    sample_init(&s);
    s.ports[1].bridge[0] = '\0';
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "bad bridge name"));

    sample_init(&s);
    s.fips[0].floating_ip = A("2001:db8::10");
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "not IPv4"));

    sample_init(&s);
    s.r.gw = NULL;
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "without a gateway"));

    sample_init(&s);
    s.routes[0].nexthop = A("2001:db8::1");
    assert_int_equal(netns_router_apply(&s.r, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "route #0"));
    assert_non_null(strstr(err, "qrouter-44444444-dddd"));

    /* The message buffer may be absent. */
    assert_int_equal(netns_router_apply(&s.r, NULL, 0), EINVAL);
    assert_int_equal(netns_router_destroy("a/b", err, sizeof err), EINVAL);
}

/* The VLAN request, byte by byte: netlink header, ifinfomsg, IFLA_IFNAME,
 * IFLA_LINK, IFLA_LINKINFO { IFLA_INFO_KIND "vlan", IFLA_INFO_DATA {
 * IFLA_VLAN_ID } }, on a little-endian host like this one. */
static void
test_vlan_msg_bytes(void **state UNUSED)
{
    static const uint8_t expected[] = {
        /* nlmsghdr: len 84, RTM_NEWLINK (16), REQUEST|EXCL|CREATE, seq
         * 0x01020304, pid 0. */
        84, 0, 0, 0,  16, 0,  0x01, 0x06,  4, 3, 2, 1,  0, 0, 0, 0,
        /* ifinfomsg: all zero (AF_UNSPEC, down). */
        0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
        /* IFLA_IFNAME (3), len 13, "eth1.100\0", 3 bytes padding. */
        13, 0, 3, 0,  'e', 't', 'h', '1', '.', '1', '0', '0', 0,  0, 0, 0,
        /* IFLA_LINK (5) = 7. */
        8, 0, 5, 0,  7, 0, 0, 0,
        /* IFLA_LINKINFO (18) | NLA_F_NESTED (0x8000), len 28. */
        28, 0, 18, 0x80,
        /* IFLA_INFO_KIND (1), len 9, "vlan\0", 3 padding. */
        9, 0, 1, 0,  'v', 'l', 'a', 'n', 0,  0, 0, 0,
        /* IFLA_INFO_DATA (2) | NLA_F_NESTED, len 12. */
        12, 0, 2, 0x80,
        /* IFLA_VLAN_ID (1), len 6, 100, 2 padding. */
        6, 0, 1, 0,  100, 0,  0, 0,
    };
    uint8_t buf[4096];
    size_t len;

    len = netns_vlan_build_msg(buf, sizeof buf, "eth1.100", 7, 100,
                               0x01020304);
    assert_int_equal(len, sizeof expected);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    assert_memory_equal(buf, expected, sizeof expected);
#endif

    /* The same, read back with libmnl as the kernel would parse it. */
    const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
    const struct nlattr *a, *b, *c;
    bool saw_kind = false, saw_id = false;

    assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
    mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
        if (mnl_attr_get_type(a) != IFLA_LINKINFO) {
            continue;
        }
        mnl_attr_for_each_nested(b, a) {
            if (mnl_attr_get_type(b) == IFLA_INFO_KIND) {
                assert_string_equal(mnl_attr_get_str(b), "vlan");
                saw_kind = true;
            } else if (mnl_attr_get_type(b) == IFLA_INFO_DATA) {
                mnl_attr_for_each_nested(c, b) {
                    assert_int_equal(mnl_attr_get_type(c), IFLA_VLAN_ID);
                    assert_int_equal(mnl_attr_get_u16(c), 100);
                    saw_id = true;
                }
            }
        }
    }
    assert_true(saw_kind && saw_id);

    /* Refusals. */
    assert_int_equal(netns_vlan_build_msg(buf, 40, "eth1.100", 7, 100, 1),
                     0);
    assert_int_equal(netns_vlan_build_msg(buf, sizeof buf, "eth1.0", 7, 0,
                                          1), 0);
    assert_int_equal(netns_vlan_build_msg(buf, sizeof buf, "eth1.4095", 7,
                                          4095, 1), 0);
    assert_int_equal(netns_vlan_build_msg(buf, sizeof buf, "eth1.5", 0, 5,
                                          1), 0);
    assert_int_equal(netns_vlan_build_msg(buf, sizeof buf,
                                          "a-name-far-too-long", 7, 5, 1),
                     0);
    assert_int_equal(netns_vlan_build_msg(buf, sizeof buf, "", 7, 5, 1), 0);
}

static void
test_bridge_rejects_bad_input(void **state UNUSED)
{
    struct netns_network net;
    char err[NETNS_ERR_LEN];

    memset(&net, 0, sizeof net);
    net.type = NETNS_NET_VLAN;
    snprintf(net.bridge, sizeof net.bridge, "brqtest");
    snprintf(net.physical_interface, sizeof net.physical_interface, "eth9");
    net.vlan_id = 4095;
    assert_int_equal(netns_bridge_ensure(&net, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "VLAN id 4095 out of range"));

    net.type = NETNS_NET_VXLAN;
    net.vni = 1 << 24;
    assert_int_equal(netns_bridge_ensure(&net, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "VNI"));
    net.vni = 5;
    assert_int_equal(netns_bridge_ensure(&net, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "local IP"));

    net.type = NETNS_NET_FLAT;
    net.physical_interface[0] = '\0';
    assert_int_equal(netns_bridge_ensure(&net, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "no physical interface"));
    assert_int_equal(netns_bridge_remove("", false, err, sizeof err), EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse_format),
        cmocka_unit_test(test_addr_network_equal),
        cmocka_unit_test(test_mac_parse),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_vlan_ifname),
        cmocka_unit_test(test_physnet_lookup),
        cmocka_unit_test(test_nat_ruleset),
        cmocka_unit_test(test_nat_ruleset_variants),
        cmocka_unit_test(test_apply_rejects_bad_input),
        cmocka_unit_test(test_vlan_msg_bytes),
        cmocka_unit_test(test_bridge_rejects_bad_input),
    };

    return cmocka_run_group_tests_name("netns_unit", tests, NULL, NULL);
}
