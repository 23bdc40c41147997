/* tests/driver-kit/driver-kit-run.c: runs the driver kit (driver-kit.h) on
 * one driver and prints TAP.
 *
 *   driver-kit-run --driver noop|/path/to/driver.so
 *                  [--option 'key = value']... [--db URL] [--timeout S]
 *
 * Exits 0 when every check passed, 1 when some failed, 2 on bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "tests/driver-kit/driver-kit.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: driver-kit-run --driver NAME|PATH [--option 'KEY = VALUE']..."
            "\n                      [--db URL] [--timeout SECONDS] "
            "[--log FILE]\n"
            "Runs an L3 flavor driver through Hadron's journal and checks it "
            "conforms.\n"
            "  --driver     a built-in driver (noop) or a vendor shared "
            "object\n"
            "  --option     a line of the driver's configuration section "
            "(repeatable)\n"
            "  --db         database URL (default: a fresh SQLite database;\n"
            "               HADRON_TEST_ENGINE=mariadb with "
            "HADRON_TEST_MYSQL_URL for MariaDB)\n"
            "  --timeout    seconds a step may take (default 30)\n"
            "  --log        where Hadron's log goes (default stderr)\n");
}

int
main(int argc, char *argv[])
{
    static const struct option longopts[] = {
        { "driver", required_argument, NULL, 'd' },
        { "option", required_argument, NULL, 'o' },
        { "db", required_argument, NULL, 'b' },
        { "timeout", required_argument, NULL, 't' },
        { "log", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct driver_kit_options opt = { .timeout = 30 };
    const char **options = xcalloc(argc + 1, sizeof *options);
    int64_t timeout;
    int c, rc = 2;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            opt.driver = optarg;
            break;
        case 'o':
            options[opt.n_options++] = optarg;
            break;
        case 'b':
            opt.db_url = optarg;
            break;
        case 't':
            if (!str_to_int64(optarg, 1, 3600, &timeout)) {
                usage(stderr);
                goto out;
            }
            opt.timeout = timeout;
            break;
        case 'l':
            if (log_open(optarg)) {
                fprintf(stderr, "driver-kit-run: cannot open %s\n", optarg);
                goto out;
            }
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (!opt.driver || optind != argc) {
        usage(stderr);
        goto out;
    }
    opt.options = options;
    rc = driver_kit_run(&opt) ? 1 : 0;
out:
    free(options);
    return rc;
}
