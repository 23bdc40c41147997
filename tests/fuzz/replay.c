/* tests/fuzz/replay.c: runs a fuzz target over its corpus without
 * libFuzzer (see fuzz.h).
 *
 *   fuzz_<name> DIR-OR-FILE...
 *
 * Calls LLVMFuzzerTestOneInput() once per regular file, in the order the
 * directory lists them, and exits 0 once all ran (a crash or sanitizer
 * report ends the process before), 1 if a path cannot be read or holds no
 * file at all. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Feeds file 'path' to the target.  Returns 0, or -1 if it cannot be
 * read. */
static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t size = 0, cap = 0, n;

    if (!f) {
        perror(path);
        return -1;
    }
    do {
        if (size == cap) {
            cap = cap ? cap * 2 : 4096;
            data = realloc(data, cap);
            if (!data) {
                abort();
            }
        }
        n = fread(data + size, 1, cap - size, f);
        size += n;
    } while (n);
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

int
main(int argc, char *argv[])
{
    size_t n_files = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i])) {
                return 1;
            }
            n_files++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, alphasort);
        if (n < 0) {
            perror(argv[i]);
            return 1;
        }
        for (int j = 0; j < n; j++) {
            char path[4096];
            if (names[j]->d_name[0] != '.') {
                snprintf(path, sizeof path, "%s/%s", argv[i],
                         names[j]->d_name);
                if (replay_file(path)) {
                    return 1;
                }
                n_files++;
            }
            free(names[j]);
        }
        free(names);
    }
    printf("replayed %zu inputs\n", n_files);
    return n_files ? 0 : 1;
}
