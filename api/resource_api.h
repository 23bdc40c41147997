/* api/resource_api.h: the REST face of a resource described by a
 * `struct resource_def` (core/resource.h).
 *
 * api_resource_register() adds the routes Neutron has for a collection:
 *   GET/POST        /v2.0/{plural}
 *   GET/PUT/DELETE  /v2.0/{plural}/{id}
 *   GET/PUT/DELETE  /v2.0/{plural}/{id}/tags          (when def->tags)
 *   GET/PUT/DELETE  /v2.0/{plural}/{id}/tags/{tag}
 * with Neutron's request and answer shapes, list filters, fields, sorting
 * and pagination, If-Match, bulk create and policy by attribute. */
#ifndef HADRON_RESOURCE_API_H
#define HADRON_RESOURCE_API_H 1

struct api_request;
struct neutron_error;
struct resource_def;

void api_resource_register(const struct resource_def *);

/* Parses the list query of 'req' (filters, fields, sort, paging, tags) for
 * 'def' as GET /v2.0/{plural} does, and throws the result away: returns
 * NULL, or the 400 the list would answer.  For the fuzzers. */
struct neutron_error *api_parse_list_query(const struct api_request *req,
                                           const struct resource_def *def);

#endif /* api/resource_api.h */
