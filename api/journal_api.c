/* api/journal_api.c: a read-only, admin-only view of the journal
 * (core/journal.h), Hadron's own addition to the API:
 *
 *   GET /v2.0/journal_entries          ?state=S (repeatable, OR-ed)
 *                                      ?driver=D (repeatable, OR-ed)
 *                                      ?limit=N&marker=SEQ (seq order)
 *   GET /v2.0/journal_entries/{seq}
 *
 * Entries are shown as stored, with 'data' as the JSON object it is.  To
 * anyone but an admin the collection does not exist (404, as for an
 * unknown path).  Operators change entries with `hadron-manage journal
 * retry|cancel`. */
#include "api/api.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/request.h"
#include "core/config.h"
#include "core/journal.h"
#include "core/neutron_error.h"
#include "core/util.h"

static struct neutron_error *
hidden(void)
{
    return neutron_error_create(NE_NOT_FOUND, "HTTPNotFound",
                                "The resource could not be found.");
}

static void
write_entry(yajl_gen g, const struct journal_row *row)
{
    yajl_val data = yajl_tree_parse(row->data, NULL, 0);

    yajl_gen_map_open(g);
    json_kv_int(g, "seq", row->seq);
    json_kv_str(g, "driver", row->driver);
    json_kv_str(g, "resource", row->resource);
    json_kv_str(g, "operation", row->operation);
    json_kv_str(g, "resource_id", row->resource_id);
    json_kv_str(g, "router_id", row->router_id);
    json_kv_int(g, "revision", row->revision);
    json_kv_str(g, "state", journal_state_name(row->state));
    json_kv_int(g, "attempts", row->attempts);
    json_kv_str(g, "last_error", row->last_error);
    json_kv_int(g, "next_attempt_ms", row->next_attempt_ms);
    json_kv_str(g, "claimed_by", row->claimed_by);
    json_kv_str(g, "created_at", row->created_at);
    json_kv_str(g, "updated_at", row->updated_at);
    json_key(g, "data");
    if (data) {
        json_value(g, data);
    } else {
        json_str(g, row->data);
    }
    yajl_gen_map_close(g);
    yajl_tree_free(data);
}

/* The "next" link of a page cut by 'limit': the same query from after
 * 'last_seq'. */
static void
write_next_link(struct api_request *req, int64_t last_seq)
{
    yajl_gen g = req->out;
    char *url = xasprintf("%s/v2.0/journal_entries?", req->base_url);

    for (size_t i = 0; i < req->n_query; i++) {
        if (strcmp(req->query[i].key, "marker")) {
            char *k = evhttp_encode_uri(req->query[i].key);
            char *v = evhttp_encode_uri(req->query[i].value);
            char *longer = xasprintf("%s%s=%s&", url, k, v);
            free(url);
            url = longer;
            free(k);
            free(v);
        }
    }
    char *href = xasprintf("%smarker=%" PRId64, url, last_seq);

    json_key(g, "journal_entries_links");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    json_kv_str(g, "href", href);
    json_kv_str(g, "rel", "next");
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    free(href);
    free(url);
}

static struct neutron_error *
list_entries(struct api_request *req, const void *aux)
{
    const char **states = xcalloc(req->n_query + 1, sizeof *states);
    const char **drivers = xcalloc(req->n_query + 1, sizeof *drivers);
    struct journal_filter f = { .states = states, .drivers = drivers };
    struct neutron_error *error = NULL;
    struct journal_row *rows = NULL;
    size_t n = 0;

    if (!req->auth.is_admin) {
        error = hidden();
        goto out;
    }
    for (size_t i = 0; i < req->n_query; i++) {
        const char *k = req->query[i].key;
        const char *v = req->query[i].value;
        int64_t x;

        if (!strcmp(k, "state")) {
            states[f.n_states++] = v;
        } else if (!strcmp(k, "driver")) {
            drivers[f.n_drivers++] = v;
        } else if (!strcmp(k, "limit")) {
            if (!str_to_int64(v, 0, INT32_MAX, &x)) {
                error = neutron_error_create(
                    NE_BAD_REQUEST, "HTTPBadRequest", "Bad limit request: "
                    "Limit must be an integer 0 or greater and not '%s'", v);
                goto out;
            }
            f.limit = x;
        } else if (!strcmp(k, "marker")) {
            if (!str_to_int64(v, 0, INT64_MAX, &x)) {
                error = neutron_error_create(
                    NE_BAD_REQUEST, "HTTPBadRequest", "Bad marker request: "
                    "marker must be a journal entry seq, not '%s'", v);
                goto out;
            }
            f.after_seq = x;
        } else if (strcmp(k, "fields")) {
            error = neutron_error_create(
                NE_BAD_REQUEST, "HTTPBadRequest",
                "[%s] is invalid attribute for filtering", k);
            goto out;
        }
    }

    /* [DEFAULT] pagination_max_limit caps pages as for every list. */
    if (req->cfg->pagination_max_limit > 0
        && (!f.limit || f.limit > (size_t) req->cfg->pagination_max_limit)) {
        f.limit = req->cfg->pagination_max_limit;
    }
    error = journal_query(req->db, &f, &rows, &n);
    if (error) {
        goto out;
    }
    yajl_gen g = req->out;
    yajl_gen_map_open(g);
    json_key(g, "journal_entries");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        write_entry(g, &rows[i]);
    }
    yajl_gen_array_close(g);
    if (f.limit && n == f.limit) {
        write_next_link(req, rows[n - 1].seq);
    }
    yajl_gen_map_close(g);

out:
    journal_rows_free(rows, n);
    free(states);
    free(drivers);
    return error;
}

static struct neutron_error *
show_entry(struct api_request *req, const void *aux)
{
    struct journal_row row;
    int64_t seq;

    if (!req->auth.is_admin) {
        return hidden();
    }
    if (!str_to_int64(req->path_params[0], 1, INT64_MAX, &seq)) {
        return neutron_error_create(NE_NOT_FOUND, "JournalEntryNotFound",
                                    "Journal entry %s could not be found.",
                                    req->path_params[0]);
    }
    struct neutron_error *error = journal_get(req->db, seq, &row);
    if (error) {
        return error;
    }
    yajl_gen_map_open(req->out);
    json_key(req->out, "journal_entry");
    write_entry(req->out, &row);
    yajl_gen_map_close(req->out);
    journal_row_destroy(&row);
    return NULL;
}

static const struct api_route journal_routes[] = {
    { "/v2.0/journal_entries", API_GET, list_entries, NULL },
    { "/v2.0/journal_entries/{}", API_GET, show_entry, NULL },
};

void
api_journal_register(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    api_routes_register(journal_routes, ARRAY_SIZE(journal_routes));
}
