/* tests/api/test_l2_concurrency.c: two hadron-server processes on one
 * database, 32 clients at once, until the allocation ranges run out.
 * Nothing may be handed out twice (VLAN ids, IP addresses, MACs), and
 * every refusal must be a clean 503/409, never a 500. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "core/util.h"
#include "tests/lib/apitest.h"
#include "tests/lib/testdb.h"

#define N_CLIENTS 32
#define N_VLANS 120
#define PROJECT "cccccccccccccccccccccccccccccccc"

static const char config[] =
    "[DEFAULT]\ndebug = false\napi_workers = 4\n"
    "[ml2]\ntype_drivers = vlan,flat\ntenant_network_types = vlan\n"
    "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:1:120\n";

struct shared {
    struct apitest_server *srv[2];
    pthread_mutex_t mutex;
    /* results */
    long long vlans[N_VLANS * 2];
    size_t n_vlans;
    char (*ips)[64];
    char (*macs)[32];
    size_t n_ports;
    int refusals, failures;
    char failure[512];
    const char *net_id;
    bool ports_phase;
};

struct client {
    struct shared *sh;
    int index;
};

static void
record_failure(struct shared *sh, const struct apitest_resp *r)
{
    pthread_mutex_lock(&sh->mutex);
    if (!sh->failures++) {
        snprintf(sh->failure, sizeof sh->failure, "HTTP %ld: %.400s",
                 r->status, r->body);
    }
    pthread_mutex_unlock(&sh->mutex);
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    struct shared *sh = c->sh;
    /* Each thread has its own server handle copy: curl handles are not
     * shared between threads. */
    struct apitest_server mine = *sh->srv[c->index % 2];
    mine.curl = curl_easy_init();

    for (;;) {
        struct apitest_resp *r;
        if (!sh->ports_phase) {
            r = apitest_request(&mine, "POST", "/v2.0/networks", NULL,
                                "{\"network\": {\"tenant_id\": \"" PROJECT
                                "\"}}");
            if (r->status == 201) {
                long long vlan = jint(r->json,
                                      "network/provider:segmentation_id");
                pthread_mutex_lock(&sh->mutex);
                sh->vlans[sh->n_vlans++] = vlan;
                pthread_mutex_unlock(&sh->mutex);
            } else if (r->status == 503
                       && !strcmp(jstr(r->json, "NeutronError/type")
                                  ? jstr(r->json, "NeutronError/type") : "",
                                  "NoNetworkAvailable")) {
                pthread_mutex_lock(&sh->mutex);
                sh->refusals++;
                pthread_mutex_unlock(&sh->mutex);
                apitest_resp_free(r);
                break;
            } else {
                record_failure(sh, r);
                apitest_resp_free(r);
                break;
            }
        } else {
            char body[256];
            snprintf(body, sizeof body, "{\"port\": {\"network_id\": \"%s\", "
                     "\"tenant_id\": \"" PROJECT "\"}}", sh->net_id);
            r = apitest_request(&mine, "POST", "/v2.0/ports", NULL, body);
            if (r->status == 201) {
                pthread_mutex_lock(&sh->mutex);
                str_copy(sh->ips[sh->n_ports],
                         jstr(r->json, "port/fixed_ips/0/ip_address")
                         ? jstr(r->json, "port/fixed_ips/0/ip_address") : "?",
                         64);
                str_copy(sh->macs[sh->n_ports],
                         jstr(r->json, "port/mac_address")
                         ? jstr(r->json, "port/mac_address") : "?", 32);
                sh->n_ports++;
                pthread_mutex_unlock(&sh->mutex);
            } else if (r->status == 409
                       && !strcmp(jstr(r->json, "NeutronError/type")
                                  ? jstr(r->json, "NeutronError/type") : "",
                                  "IpAddressGenerationFailure")) {
                pthread_mutex_lock(&sh->mutex);
                sh->refusals++;
                pthread_mutex_unlock(&sh->mutex);
                apitest_resp_free(r);
                break;
            } else {
                record_failure(sh, r);
                apitest_resp_free(r);
                break;
            }
        }
        apitest_resp_free(r);
    }
    curl_easy_cleanup(mine.curl);
    return NULL;
}

static void
run_clients(struct shared *sh)
{
    pthread_t threads[N_CLIENTS];
    struct client clients[N_CLIENTS];

    sh->refusals = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        clients[i] = (struct client) { sh, i };
        pthread_create(&threads[i], NULL, client_main, &clients[i]);
    }
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
    }
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return x < y ? -1 : x > y;
}

static void
test_two_servers_race_for_vlans_ips_macs(void **state)
{
    struct shared sh = { .mutex = PTHREAD_MUTEX_INITIALIZER };
    char *url = testdb_create();
    char *output = NULL;
    int status;

    /* The first server creates the schema; then both share it. */
    sh.srv[0] = apitest_server_try_start(url, config, &status, &output);
    if (!sh.srv[0]) {
        fail_msg("server 1: %s", output);
    }
    sh.srv[1] = apitest_server_try_start(url, config, &status, &output);
    if (!sh.srv[1]) {
        fail_msg("server 2: %s", output);
    }
    sh.srv[1]->keep_db = true;

    /* VLANs: exactly the range, each id once. */
    run_clients(&sh);
    if (sh.failures) {
        fail_msg("%d unclean answers, first: %s", sh.failures, sh.failure);
    }
    assert_int_equal(sh.n_vlans, N_VLANS);
    assert_int_equal(sh.refusals, N_CLIENTS);
    qsort(sh.vlans, sh.n_vlans, sizeof *sh.vlans, cmp_ll);
    for (size_t i = 0; i < sh.n_vlans; i++) {
        assert_int_equal(sh.vlans[i], (long long) i + 1);
    }

    /* Ports: a /25 has 125 addresses for ports (minus network, gateway
     * and broadcast); then the subnet is full. */
    struct apitest_resp *r = apitest_request(
        sh.srv[0], "POST", "/v2.0/networks", NULL,
        "{\"network\": {\"tenant_id\": \"" PROJECT "\", "
        "\"provider:network_type\": \"flat\", "
        "\"provider:physical_network\": \"physnet1\"}}");
    assert_status(r, 201);
    char net_id[UUID_STR_LEN];
    str_copy(net_id, jstr(r->json, "network/id"), sizeof net_id);
    apitest_resp_free(r);
    char body[256];
    snprintf(body, sizeof body, "{\"subnet\": {\"network_id\": \"%s\", "
             "\"tenant_id\": \"" PROJECT "\", \"ip_version\": 4, "
             "\"cidr\": \"192.168.7.0/25\"}}", net_id);
    r = apitest_request(sh.srv[1], "POST", "/v2.0/subnets", NULL, body);
    assert_status(r, 201);
    apitest_resp_free(r);

    sh.ips = xcalloc(256, sizeof *sh.ips);
    sh.macs = xcalloc(256, sizeof *sh.macs);
    sh.net_id = net_id;
    sh.ports_phase = true;
    run_clients(&sh);
    if (sh.failures) {
        fail_msg("%d unclean answers, first: %s", sh.failures, sh.failure);
    }
    assert_int_equal(sh.n_ports, 125);
    qsort(sh.ips, sh.n_ports, sizeof *sh.ips, cmp_str);
    qsort(sh.macs, sh.n_ports, sizeof *sh.macs, cmp_str);
    for (size_t i = 1; i < sh.n_ports; i++) {
        if (!strcmp(sh.ips[i], sh.ips[i - 1])) {
            fail_msg("IP %s handed out twice", sh.ips[i]);
        }
        if (!strcmp(sh.macs[i], sh.macs[i - 1])) {
            fail_msg("MAC %s handed out twice", sh.macs[i]);
        }
    }
    free(sh.ips);
    free(sh.macs);

    apitest_server_stop(sh.srv[1]);
    apitest_server_stop(sh.srv[0]);
    free(url);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_servers_race_for_vlans_ips_macs),
    };
    curl_global_init(CURL_GLOBAL_ALL);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
