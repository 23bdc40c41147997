/* tests/unit/dpdk/test_fib.c: the per-router FIB of hadron-dpdk (fib.h).
 *
 * Checks longest-prefix-match answers against a brute-force search over the
 * same rules (random rule sets of every prefix length, nested prefixes
 * around the /16 and /24 ply boundaries, the default route, host routes),
 * rebuilds that shrink and grow, refused rules, and that a table stays
 * small: a few hundred KiB, not rte_lpm's 64 MiB. */
#include "backends/dpdk/fib.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_memory.h>

#define IPV4(A, B, C, D)                                                    \
    ((uint32_t) (A) << 24 | (uint32_t) (B) << 16 | (uint32_t) (C) << 8      \
     | (uint32_t) (D))

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rand32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t) (rng >> 16);
}

static uint32_t
brute(const struct dp_fib_rule *rules, size_t n, uint32_t ip)
{
    int best = -1;
    uint32_t value = DP_FIB_MISS;

    for (size_t i = 0; i < n; i++) {
        uint32_t mask = rules[i].plen ? UINT32_MAX << (32 - rules[i].plen)
                                      : 0;
        if ((ip & mask) == (rules[i].prefix & mask)
            && (int) rules[i].plen > best) {
            best = rules[i].plen;
            value = rules[i].value;
        }
    }
    return value;
}

/* Adds a rule unless one with the same prefix and length exists. */
static void
add_rule(struct dp_fib_rule *rules, size_t *n, uint32_t prefix, uint8_t plen,
         uint32_t value)
{
    uint32_t mask = plen ? UINT32_MAX << (32 - plen) : 0;

    for (size_t i = 0; i < *n; i++) {
        if (rules[i].plen == plen && rules[i].prefix == (prefix & mask)) {
            return;
        }
    }
    rules[(*n)++] = (struct dp_fib_rule) {
        .prefix = prefix & mask, .plen = plen, .value = value,
    };
}

/* Checks 'fib' against brute force on addresses near every rule and on
 * random ones, singly and in bulk. */
static void
check(const struct dp_fib *fib, const struct dp_fib_rule *rules, size_t n)
{
    uint32_t ips[64], got[64];
    unsigned int k = 0;

    for (size_t i = 0; i < n + 2000; i++) {
        uint32_t ip;
        if (i < n) {
            uint32_t host = rules[i].plen < 32
                            ? rand32() & (UINT32_MAX >> rules[i].plen) : 0;
            ip = rules[i].prefix | host;
        } else {
            ip = rand32();
        }
        for (int d = -1; d <= 1; d++) {
            uint32_t a = ip + (uint32_t) d;
            assert_int_equal(dp_fib_lookup(fib, a), brute(rules, n, a));
            ips[k++] = a;
            if (k == 63) {
                dp_fib_lookup_bulk(fib, ips, got, k);
                for (unsigned int j = 0; j < k; j++) {
                    assert_int_equal(got[j], brute(rules, n, ips[j]));
                }
                k = 0;
            }
        }
    }
}

static void
test_empty(void **state)
{
    struct dp_fib *fib = dp_fib_create(SOCKET_ID_ANY);

    assert_non_null(fib);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 0, 0, 1)), DP_FIB_MISS);
    assert_int_equal(dp_fib_build(fib, NULL, 0), 0);
    assert_int_equal(dp_fib_lookup(fib, 0), DP_FIB_MISS);
    dp_fib_destroy(fib);
    dp_fib_destroy(NULL);
}

static void
test_nested(void **state)
{
    struct dp_fib *fib = dp_fib_create(SOCKET_ID_ANY);
    struct dp_fib_rule rules[] = {
        { IPV4(0, 0, 0, 0), 0, 1 },             /* default */
        { IPV4(10, 0, 0, 0), 8, 2 },
        { IPV4(10, 1, 0, 0), 16, 3 },
        { IPV4(10, 1, 2, 0), 23, 4 },
        { IPV4(10, 1, 2, 0), 24, 5 },
        { IPV4(10, 1, 2, 128), 25, 6 },
        { IPV4(10, 1, 2, 129), 32, 7 },
        { IPV4(10, 1, 3, 7), 32, 8 },
        { IPV4(192, 168, 0, 0), 17, 9 },
        { IPV4(255, 255, 255, 255), 32, DP_FIB_VALUE_MAX },
    };
    size_t n = sizeof rules / sizeof rules[0];

    assert_int_equal(dp_fib_build(fib, rules, n), 0);
    assert_int_equal(dp_fib_lookup(fib, IPV4(8, 8, 8, 8)), 1);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 9, 9, 9)), 2);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 9, 9)), 3);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 3, 9)), 4);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 2, 9)), 5);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 2, 200)), 6);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 2, 129)), 7);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 3, 7)), 8);
    assert_int_equal(dp_fib_lookup(fib, IPV4(192, 168, 127, 1)), 9);
    assert_int_equal(dp_fib_lookup(fib, IPV4(192, 168, 128, 1)), 1);
    assert_int_equal(dp_fib_lookup(fib, UINT32_MAX), DP_FIB_VALUE_MAX);
    check(fib, rules, n);

    /* Without the default route, what no rule covers misses; host bits
     * in a rule's prefix are ignored. */
    rules[0] = (struct dp_fib_rule) { IPV4(172, 16, 1, 1), 12, 10 };
    assert_int_equal(dp_fib_build(fib, rules, n), 0);
    assert_int_equal(dp_fib_lookup(fib, IPV4(8, 8, 8, 8)), DP_FIB_MISS);
    assert_int_equal(dp_fib_lookup(fib, IPV4(172, 31, 0, 1)), 10);
    rules[0].prefix = IPV4(172, 16, 0, 0);
    check(fib, rules, n);

    /* The old content is gone after a rebuild with fewer rules. */
    assert_int_equal(dp_fib_build(fib, &rules[1], 1), 0);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 1, 2, 129)), 2);
    assert_int_equal(dp_fib_lookup(fib, IPV4(192, 168, 0, 1)), DP_FIB_MISS);
    dp_fib_destroy(fib);
}

static void
test_bad_rules_change_nothing(void **state)
{
    struct dp_fib *fib = dp_fib_create(SOCKET_ID_ANY);
    struct dp_fib_rule ok = { IPV4(10, 0, 0, 0), 8, 1 };
    struct dp_fib_rule bad[] = {
        { IPV4(11, 0, 0, 0), 8, 2 },
        { IPV4(12, 0, 0, 0), 33, 3 },
    };

    assert_int_equal(dp_fib_build(fib, &ok, 1), 0);
    assert_int_equal(dp_fib_build(fib, bad, 2), EINVAL);
    bad[1] = (struct dp_fib_rule) { IPV4(12, 0, 0, 0), 8,
                                    DP_FIB_VALUE_MAX + 1 };
    assert_int_equal(dp_fib_build(fib, bad, 2), EINVAL);
    assert_int_equal(dp_fib_lookup(fib, IPV4(10, 0, 0, 1)), 1);
    assert_int_equal(dp_fib_lookup(fib, IPV4(11, 0, 0, 1)), DP_FIB_MISS);
    dp_fib_destroy(fib);
}

static void
test_random_against_brute_force(void **state)
{
    enum { MAX = 400 };
    struct dp_fib_rule *rules = calloc(MAX, sizeof *rules);
    struct dp_fib *fib = dp_fib_create(SOCKET_ID_ANY);

    for (int round = 0; round < 30; round++) {
        size_t n = 0, want = 1 + rand32() % (MAX - 40);
        /* Cluster the prefixes in a few /8s so that they nest. */
        uint32_t base = (rand32() % 4 + 10) << 24;
        while (n < want) {
            uint8_t plen = rand32() % 33;
            uint32_t prefix = (round & 1 ? base | (rand32() & 0x00ffffff)
                                         : rand32());
            add_rule(rules, &n, prefix, plen, rand32() % 1000);
        }
        assert_int_equal(dp_fib_build(fib, rules, n), 0);
        check(fib, rules, n);
    }
    free(rules);
    dp_fib_destroy(fib);
}

/* A router's worth of rules (addresses, subnets, a default route and a few
 * extra routes) takes a few hundred KiB, and a thousand of them fit where
 * two rte_lpm tables did. */
static void
test_small(void **state)
{
    struct dp_fib_rule rules[16];
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        add_rule(rules, &n, IPV4(10, 0, i, 1), 32, 0);
        add_rule(rules, &n, IPV4(10, 0, i, 0), 24, 1 + i);
    }
    add_rule(rules, &n, 0, 0, 6);
    for (int i = 0; i < 4; i++) {
        add_rule(rules, &n, IPV4(192, 168, 16 * i, 0), 20, 7);
    }

    struct dp_fib **fibs = calloc(1000, sizeof *fibs);
    size_t total = 0;
    for (int i = 0; i < 1000; i++) {
        fibs[i] = dp_fib_create(SOCKET_ID_ANY);
        assert_non_null(fibs[i]);
        assert_int_equal(dp_fib_build(fibs[i], rules, n), 0);
        total += dp_fib_memory(fibs[i]);
    }
    assert_true(dp_fib_memory(fibs[0]) < 300 * 1024);
    assert_true(total < 300 * 1024 * 1024);
    check(fibs[999], rules, n);
    for (int i = 0; i < 1000; i++) {
        dp_fib_destroy(fibs[i]);
    }
    free(fibs);
}

int
main(int argc, char **argv)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tfib%d", (int) getpid());
    char *eal[] = { argv[0], "--no-huge", "-m", "512", "--no-pci",
                    "--no-shconf", "--no-telemetry", "-l", "0",
                    "--log-level", "error", "--file-prefix", prefix };
    if (rte_eal_init((int) (sizeof eal / sizeof eal[0]), eal) < 0) {
        fprintf(stderr, "rte_eal_init failed\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_bad_rules_change_nothing),
        cmocka_unit_test(test_random_against_brute_force),
        cmocka_unit_test(test_small),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char rundir[256];
    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    return rc;
}
