/* tests/unit/netns/test_netns_host.c: this host's L2 description
 * (backends/netns/netns_host.h): how a network segment maps to a bridge
 * and its uplink from the linuxbridge agent's options.  Pure: no kernel,
 * no root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "backends/netns/netns_host.h"

#define UNUSED __attribute__((unused))

static char err[NETNS_ERR_LEN];

static void
configure(const char *ifaces, const char *bridges, bool vxlan,
          const char *local_ip, const char *group)
{
    struct netns_host_config c = {
        .physical_interface_mappings = ifaces,
        .bridge_mappings = bridges,
        .enable_vxlan = vxlan,
        .local_ip = local_ip,
        .vxlan_group = group,
    };
    if (netns_host_configure(&c, err, sizeof err)) {
        fail_msg("configure: %s", err);
    }
}

static int
describe(const char *type, const char *physnet, int64_t seg,
         struct netns_network *net, bool *op)
{
    return netns_host_network("brq0123456789a", type, physnet, seg, net, op,
                              err, sizeof err);
}

static void
test_bad_options(void **state UNUSED)
{
    struct netns_host_config c = {
        .physical_interface_mappings = "physnet1:eth1,physnet2",
    };
    assert_int_equal(netns_host_configure(&c, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "physical_interface_mappings"));

    c.physical_interface_mappings = "physnet1:an-interface-name-too-long";
    assert_int_equal(netns_host_configure(&c, err, sizeof err), EINVAL);

    c.physical_interface_mappings = "physnet1:eth1";
    c.local_ip = "192.0.2.0/24";
    assert_int_equal(netns_host_configure(&c, err, sizeof err), EINVAL);
    assert_non_null(strstr(err, "local_ip"));

    c.local_ip = "192.0.2.1";
    c.vxlan_group = "ff05::1";
    assert_int_equal(netns_host_configure(&c, err, sizeof err), EINVAL);
}

static void
test_flat_and_vlan(void **state UNUSED)
{
    struct netns_network net;
    bool op;

    configure(" physnet1 : eth1 , physnet2:eth2", "physnet3:br-ex", false,
              "", "");
    assert_int_equal(describe("flat", "physnet1", -1, &net, &op), 0);
    assert_int_equal(net.type, NETNS_NET_FLAT);
    assert_string_equal(net.physical_interface, "eth1");
    assert_string_equal(net.bridge, "brq0123456789a");
    assert_false(op);

    assert_int_equal(describe("vlan", "physnet2", 150, &net, &op), 0);
    assert_int_equal(net.type, NETNS_NET_VLAN);
    assert_string_equal(net.physical_interface, "eth2");
    assert_int_equal(net.vlan_id, 150);
    assert_int_equal(describe("vlan", "physnet2", 4095, &net, &op), EINVAL);

    /* Not mapped here. */
    assert_int_equal(describe("flat", "physnet9", -1, &net, &op), ENOENT);
    assert_non_null(strstr(err, "physnet9"));
    assert_int_equal(describe("flat", NULL, -1, &net, &op), EINVAL);

    /* The operator's bridge, used as it is. */
    assert_int_equal(describe("flat", "physnet3", -1, &net, &op), 0);
    assert_true(op);
    assert_string_equal(net.bridge, "br-ex");
}

static void
test_vxlan(void **state UNUSED)
{
    struct netns_network net;
    char text[NETNS_ADDR_STR_LEN];
    bool op;

    configure("", "", true, "", "");
    assert_int_equal(describe("vxlan", NULL, 1001, &net, &op), ENOENT);
    assert_non_null(strstr(err, "VXLAN"));

    configure("", "", true, "192.0.2.1", "239.1.1.1");
    assert_int_equal(describe("vxlan", NULL, 1001, &net, &op), 0);
    assert_int_equal(net.type, NETNS_NET_VXLAN);
    assert_int_equal(net.vni, 1001);
    netns_addr_format(&net.local_ip, false, text);
    assert_string_equal(text, "192.0.2.1");
    netns_addr_format(&net.group, false, text);
    assert_string_equal(text, "239.1.1.1");
    assert_int_equal(describe("vxlan", NULL, 0, &net, &op), EINVAL);

    /* Off: not reachable, even with a local_ip. */
    configure("", "", false, "192.0.2.1", "");
    assert_int_equal(describe("vxlan", NULL, 1001, &net, &op), ENOENT);
}

static void
test_other_types(void **state UNUSED)
{
    struct netns_network net;
    bool op;

    configure("physnet1:eth1", "", true, "192.0.2.1", "");
    assert_int_equal(describe("local", NULL, -1, &net, &op), 0);
    assert_int_equal(net.type, NETNS_NET_LOCAL);
    assert_int_equal(describe("gre", NULL, 5, &net, &op), EOPNOTSUPP);
    assert_int_equal(describe("geneve", NULL, 5, &net, &op), EOPNOTSUPP);
    assert_int_equal(describe(NULL, NULL, -1, &net, &op), EINVAL);
    assert_int_equal(netns_host_network("", "local", NULL, -1, &net, &op,
                                        err, sizeof err), EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_flat_and_vlan),
        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_other_types),
    };

    return cmocka_run_group_tests_name("netns_host", tests, NULL, NULL);
}
