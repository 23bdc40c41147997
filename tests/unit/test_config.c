/* tests/unit/test_config.c: configuration files as an operator writes
 * them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/util.h"

static char *
write_temp(const char *text)
{
    char *path = xstrdup("/tmp/hadron-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    return path;
}

static void
test_defaults(void **state)
{
    struct config *cfg = config_create();

    assert_string_equal(cfg->bind_host, "127.0.0.1");
    assert_int_equal(cfg->bind_port, 9696);
    assert_string_equal(cfg->auth_strategy, "noauth");
    assert_true(str_starts_with(cfg->connection, "sqlite://"));
    assert_null(config_validate(cfg));
    config_destroy(cfg);
}

static void
test_later_files_override(void **state)
{
    char *a = write_temp("[DEFAULT]\nbind_port = 1234\napi_workers = 4\n"
                         "[database]\nconnection = sqlite:///a.db\n");
    char *b = write_temp("# comment\n[DEFAULT]\nbind_port = 5678\n");
    struct config *cfg = config_create();

    assert_null(config_load_file(cfg, a));
    assert_null(config_load_file(cfg, b));
    assert_int_equal(cfg->bind_port, 5678);
    assert_int_equal(cfg->api_workers, 4);
    assert_string_equal(cfg->connection, "sqlite:///a.db");
    assert_int_equal(cfg->files.n, 2);
    assert_int_equal(cfg->warnings.n, 0);
    config_destroy(cfg);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static void
test_unknown_options_reported(void **state)
{
    char *a = write_temp("[DEFAULT]\nbind_prot = 1\n[nosuch]\nx = y\n");
    struct config *cfg = config_create();

    assert_null(config_load_file(cfg, a));
    assert_int_equal(cfg->warnings.n, 2);
    assert_non_null(strstr(cfg->warnings.items[0], "[DEFAULT] bind_prot"));
    assert_non_null(strstr(cfg->warnings.items[0], ":2:"));
    assert_non_null(strstr(cfg->warnings.items[1], "[nosuch] x"));
    assert_int_equal(cfg->bind_port, 9696);
    config_destroy(cfg);
    unlink(a);
    free(a);
}

static void
test_bad_values_refused(void **state)
{
    static const char *const bad[] = {
        "[DEFAULT]\nbind_port = 70000\n",
        "[DEFAULT]\nbind_port = nine\n",
        "[DEFAULT]\napi_workers = 0\n",
        "[DEFAULT]\ndebug = perhaps\n",
        "[DEFAULT\nbind_port = 1\n",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *path = write_temp(bad[i]);
        struct config *cfg = config_create();
        char *error = config_load_file(cfg, path);
        assert_non_null(error);
        assert_non_null(strstr(error, path));
        free(error);
        config_destroy(cfg);
        unlink(path);
        free(path);
    }
}

static void
test_missing_file(void **state)
{
    struct config *cfg = config_create();
    char *error = config_load_file(cfg, "/nonexistent/hadron.conf");

    assert_non_null(error);
    assert_non_null(strstr(error, "cannot open"));
    free(error);
    config_destroy(cfg);
}

static void
test_validate(void **state)
{
    char *a = write_temp("[DEFAULT]\nauth_strategy = magic\n");
    struct config *cfg = config_create();

    assert_null(config_load_file(cfg, a));
    char *error = config_validate(cfg);
    assert_non_null(error);
    assert_non_null(strstr(error, "auth_strategy"));
    free(error);
    config_destroy(cfg);
    unlink(a);
    free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_later_files_override),
        cmocka_unit_test(test_unknown_options_reported),
        cmocka_unit_test(test_bad_values_refused),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
