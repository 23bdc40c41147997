/* tests/fuzz/fuzz_routes.c: request paths.
 *
 * The input is a raw request path (up to its first NUL), decoded as the
 * server does (api_url_decode(), trailing "/" and ".json" dropped) and
 * matched against every route api_init() registers, for each method. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/request.h"
#include "api/server.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum api_method methods[] = {
        API_GET, API_POST, API_PUT, API_DELETE, API_HEAD, API_PATCH,
        API_OTHER,
    };
    char *raw = xstrndup((const char *) data, size);
    char *path = api_url_decode(raw, strlen(raw), false);

    api_init();
    free(raw);
    if (!path) {
        return 0;
    }
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/') {
        path[--plen] = '\0';
    }
    if (str_ends_with(path, ".json")) {
        path[plen - 5] = '\0';
    }
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        struct api_request req;
        unsigned int allowed;

        memset(&req, 0, sizeof req);
        req.method = methods[i];
        req.path = path;
        const struct api_route *route = api_routes_match(&req, &allowed);
        if (route) {
            for (size_t j = 0; j < req.n_path_params; j++) {
                if (!req.path_params[j]) {
                    abort();
                }
                (void) strlen(req.path_params[j]);
            }
        }
        free(req.params_buf__);
    }
    free(path);
    return 0;
}
