/* tests/fuzz/fuzz_config.c: the INI configuration parser.
 *
 * The input is a configuration file: written to a private temporary file,
 * loaded over the defaults with config_load_file(), then config_validate(). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    static FILE *f;

    if (!f) {
        int fd;
        snprintf(path, sizeof path, "/tmp/hadron-fuzz-config-XXXXXX");
        fd = mkstemp(path);
        if (fd < 0 || !(f = fdopen(fd, "w+"))) {
            abort();
        }
        /* Unlinked at once: nothing stays behind however the run ends;
         * the loader reads it through /proc/self/fd. */
        unlink(path);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fileno(f), 0) || fseek(f, 0, SEEK_SET)
        || fwrite(data, 1, size, f) != size || fflush(f)) {
        abort();
    }

    struct config *cfg = config_create();
    char *error = config_load_file(cfg, path);
    if (!error) {
        error = config_validate(cfg);
    }
    free(error);
    config_destroy(cfg);
    return 0;
}
