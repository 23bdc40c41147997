/* tests/fuzz/fuzz.h: what the fuzz targets share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput().  Built with clang
 * and -fsanitize=fuzzer it is a libFuzzer binary; otherwise it links with
 * replay.c, whose main() feeds it every file of the corpus directories (or
 * files) named on the command line, so that the corpus replays under gcc. */
#ifndef HADRON_FUZZ_H
#define HADRON_FUZZ_H 1
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* tests/fuzz/fuzz.h */
