/* tests/unit/test_keystone_cache.c: the token cache of api/keystone.h:
 * entries end at their time, the least recently used goes first when
 * full, tokens are told apart (by their SHA-256), and threads share it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/keystone.h"

static struct auth_context
ctx_for(const char *project, bool admin)
{
    struct auth_context c = { .is_admin = admin, .has_member_role = true };
    snprintf(c.project_id, sizeof c.project_id, "%s", project);
    snprintf(c.user_id, sizeof c.user_id, "user-%s", project);
    return c;
}

static void
test_expiry(void **state)
{
    (void) state;
    struct token_cache *c = token_cache_create(10);
    struct auth_context a = ctx_for("A", false), got;

    token_cache_put(c, "tok-a", &a, 1000);
    assert_true(token_cache_get(c, "tok-a", 999, &got));
    assert_string_equal(got.project_id, "A");
    assert_string_equal(got.user_id, "user-A");
    assert_false(got.is_admin);
    /* At its end, and after: gone (and dropped). */
    assert_false(token_cache_get(c, "tok-a", 1000, &got));
    assert_int_equal(token_cache_count(c), 0);
    assert_false(token_cache_get(c, "tok-a", 999, &got));
    /* Another token, even a prefix of one cached, is not that one. */
    token_cache_put(c, "tok-a", &a, 2000);
    assert_false(token_cache_get(c, "tok-", 10, &got));
    assert_false(token_cache_get(c, "tok-ab", 10, &got));
    /* Put again: replaced, not doubled. */
    struct auth_context b = ctx_for("B", true);
    token_cache_put(c, "tok-a", &b, 2000);
    assert_int_equal(token_cache_count(c), 1);
    assert_true(token_cache_get(c, "tok-a", 10, &got));
    assert_string_equal(got.project_id, "B");
    assert_true(got.is_admin);
    token_cache_destroy(c);
}

static void
test_lru(void **state)
{
    (void) state;
    struct token_cache *c = token_cache_create(3);
    struct auth_context a = ctx_for("A", false), got;

    token_cache_put(c, "t1", &a, 100);
    token_cache_put(c, "t2", &a, 100);
    token_cache_put(c, "t3", &a, 100);
    assert_true(token_cache_get(c, "t1", 0, &got));   /* t2 is now oldest */
    token_cache_put(c, "t4", &a, 100);
    assert_int_equal(token_cache_count(c), 3);
    assert_false(token_cache_get(c, "t2", 0, &got));
    assert_true(token_cache_get(c, "t1", 0, &got));
    assert_true(token_cache_get(c, "t3", 0, &got));
    assert_true(token_cache_get(c, "t4", 0, &got));
    token_cache_destroy(c);
}

static void *
hammer(void *c_)
{
    struct token_cache *c = c_;
    struct auth_context a = ctx_for("A", false), got;
    char tok[32];

    for (int i = 0; i < 20000; i++) {
        snprintf(tok, sizeof tok, "t%d", i % 300);
        if (!token_cache_get(c, tok, 0, &got)) {
            token_cache_put(c, tok, &a, 100);
        } else {
            assert_string_equal(got.project_id, "A");
        }
    }
    return NULL;
}

static void
test_threads(void **state)
{
    (void) state;
    struct token_cache *c = token_cache_create(100);
    pthread_t t[4];

    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(token_cache_count(c), 100);
    token_cache_destroy(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_lru),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
