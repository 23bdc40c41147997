/* api/api.h: the Networking API as a whole: the version documents, the
 * extension and resource registries, and api_init() that registers every
 * route table.
 *
 * A capability appears in GET /v2.0/extensions only when its module
 * registers it, which it does only once it works. */
#ifndef HADRON_API_H
#define HADRON_API_H 1

#include <stddef.h>

struct api_extension {
    const char *alias;
    const char *name;
    const char *description;
    const char *updated;            /* "2013-02-03T10:00:00-00:00" */
};

struct api_resource_link {
    const char *name;               /* "network" */
    const char *collection;         /* "networks" */
};

/* Registration, at start, before the server runs.  Tables are kept by
 * pointer and must outlive the server. */
void api_extensions_register(const struct api_extension *, size_t n);
void api_resources_register(const struct api_resource_link *, size_t n);

/* Registers the L2 core's resources and extensions (api/l2_api.c). */
void api_l2_register(void);

/* Registers flavors, service profiles, their association and the service
 * providers (api/flavors_api.c). */
void api_flavors_register(void);

/* Registers routers, floating IPs, the router actions and the L3
 * extensions (api/l3_api.c). */
void api_l3_register(void);

/* Registers the admin-only journal view (api/journal_api.c). */
void api_journal_register(void);

/* Registers all route tables, extensions and resources.  Idempotent. */
void api_init(void);

#endif /* api/api.h */
