/* contrib/hadron-plug-vif/hadron-plug-vif.c: plugs an "instance" (a named
 * network namespace) into a Hadron port, as a compute node's VIF driver
 * plugs a VM.
 *
 *   hadron-plug-vif plug --endpoint http://127.0.0.1:9696 --port PORT_ID \
 *                        --netns NAME [--ifname eth0]
 *       reads the port (as admin: binding:vif_details is admin-only) and
 *       the subnets of its fixed IPs from the API, then plugs: a veth pair,
 *       tap<11 characters of the port id> on the bridge vif_details names,
 *       the other end in namespace NAME (created if missing) with the
 *       port's MAC, its fixed IPs with their subnets' prefixes and a
 *       default route via the first IPv4 (and IPv6) subnet's gateway.
 *
 *   hadron-plug-vif plug --port PORT_ID --netns NAME --bridge BR \
 *                        --mac MAC --ip ADDR/PLEN [--ip ...] \
 *                        [--gateway ADDR] [--ifname eth0]
 *       the same from the given values, without asking the API.
 *
 *   hadron-plug-vif unplug --port PORT_ID
 *       removes the port's tap (and so the pair).
 *
 * The port must be bound to this host (binding:host_id) by the
 * linuxbridge mechanism driver, whose [linux_bridge] realize makes the
 * bridge.  Needs root.  Exit status 0 on success, 1 on failure (a message
 * on stderr), 2 for bad usage. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "backends/netns/netns_vif.h"
#include "core/util.h"

struct opts {
    const char *endpoint;
    const char *token;
    const char *port;
    const char *netns;
    const char *ifname;
    const char *bridge;
    const char *mac;
    const char *ips[NETNS_PORT_MAX_IPS];
    size_t n_ips;
    const char *gateway;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: hadron-plug-vif plug --endpoint URL --port ID "
            "--netns NAME [--ifname IF]\n"
            "       hadron-plug-vif plug --port ID --netns NAME --bridge BR "
            "--mac MAC --ip A/P [--ip A/P]... [--gateway A] [--ifname IF]\n"
            "       hadron-plug-vif unplug --port ID\n"
            "Options: --token T sends X-Auth-Token: T.\n");
}

/* ---- The API ---- */

struct buf {
    char *data;
    size_t len;
};

static size_t
on_data(char *p, size_t size, size_t n, void *aux)
{
    struct buf *b = aux;
    size_t len = size * n;

    b->data = xrealloc(b->data, b->len + len + 1);
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* GETs 'path' under the endpoint and parses the answer.  Returns the tree
 * or NULL with a message on stderr. */
static yajl_val
api_get(const struct opts *o, const char *path)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    struct buf b = { NULL, 0 };
    char *url, *auth = NULL;
    yajl_val tree = NULL;
    long status = 0;
    CURLcode rc;

    if (!curl) {
        fprintf(stderr, "hadron-plug-vif: cannot start libcurl\n");
        return NULL;
    }
    url = xasprintf("%s%s%s", o->endpoint,
                    str_ends_with(o->endpoint, "/") ? "" : "/",
                    path[0] == '/' ? path + 1 : path);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (o->token) {
        auth = xasprintf("X-Auth-Token: %s", o->token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "hadron-plug-vif: GET %s: %s\n", url,
                curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        fprintf(stderr, "hadron-plug-vif: GET %s: HTTP %ld: %s\n", url,
                status, b.data ? b.data : "");
        goto out;
    }
    tree = yajl_tree_parse(b.data ? b.data : "", NULL, 0);
    if (!tree) {
        fprintf(stderr, "hadron-plug-vif: GET %s: the answer is not JSON\n",
                url);
    }
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(auth);
    free(url);
    free(b.data);
    return tree;
}

static yajl_val
get(yajl_val v, const char *a, const char *b)
{
    const char *path[] = { a, b, NULL };

    return v ? yajl_tree_get(v, path, yajl_t_any) : NULL;
}

static const char *
get_str(yajl_val v, const char *a, const char *b)
{
    yajl_val s = get(v, a, b);

    return YAJL_IS_STRING(s) ? s->u.string : NULL;
}

/* Fills 'vif' from port o->port and its subnets.  Returns 0 or 1. */
static int
vif_from_api(const struct opts *o, struct netns_vif *vif)
{
    char *path = xasprintf("v2.0/ports/%s", o->port);
    yajl_val port = api_get(o, path);
    int rc = 1;

    free(path);
    if (!port) {
        return 1;
    }
    const char *bridge = get_str(get(port, "port", "binding:vif_details"),
                                 "bridge_name", NULL);
    const char *vif_type = get_str(port, "port", "binding:vif_type");
    const char *mac = get_str(port, "port", "mac_address");
    yajl_val ips = get(port, "port", "fixed_ips");

    if (!vif_type || strcmp(vif_type, "bridge") || !bridge) {
        fprintf(stderr, "hadron-plug-vif: port %s is not bound to a bridge "
                "(binding:vif_type %s); bind it to this host first\n",
                o->port, vif_type ? vif_type : "unknown");
        goto out;
    }
    if (!str_copy(vif->bridge, bridge, sizeof vif->bridge)
        || !mac || netns_mac_parse(mac, vif->mac)) {
        fprintf(stderr, "hadron-plug-vif: port %s: bad bridge or MAC\n",
                o->port);
        goto out;
    }
    for (size_t i = 0; YAJL_IS_ARRAY(ips) && i < ips->u.array.len; i++) {
        yajl_val ip = ips->u.array.values[i];
        const char *addr = get_str(ip, "ip_address", NULL);
        const char *subnet_id = get_str(ip, "subnet_id", NULL);
        struct netns_addr a, cidr, gw;

        if (!addr || !subnet_id || netns_addr_parse(addr, &a)
            || vif->n_ips >= NETNS_PORT_MAX_IPS) {
            continue;
        }
        path = xasprintf("v2.0/subnets/%s", subnet_id);
        yajl_val subnet = api_get(o, path);
        free(path);
        if (!subnet) {
            goto out;
        }
        const char *cidr_text = get_str(subnet, "subnet", "cidr");
        const char *gw_text = get_str(subnet, "subnet", "gateway_ip");
        if (cidr_text && !netns_addr_parse(cidr_text, &cidr)
            && cidr.family == a.family) {
            a.plen = cidr.plen;
        }
        vif->ips[vif->n_ips++] = a;
        if (gw_text && !netns_addr_parse(gw_text, &gw)) {
            struct netns_addr *slot = gw.family == AF_INET ? &vif->gateway
                                                           : &vif->gateway6;
            if (!slot->family) {
                *slot = gw;
            }
        }
        yajl_tree_free(subnet);
    }
    rc = 0;
out:
    yajl_tree_free(port);
    return rc;
}

/* Fills 'vif' from the command line.  Returns 0 or 2. */
static int
vif_from_args(const struct opts *o, struct netns_vif *vif)
{
    if (!o->bridge || !o->mac || !o->n_ips) {
        fprintf(stderr, "hadron-plug-vif: without --endpoint, --bridge, "
                "--mac and --ip are needed\n");
        return 2;
    }
    if (!str_copy(vif->bridge, o->bridge, sizeof vif->bridge)
        || netns_mac_parse(o->mac, vif->mac)) {
        fprintf(stderr, "hadron-plug-vif: bad --bridge or --mac\n");
        return 2;
    }
    for (size_t i = 0; i < o->n_ips; i++) {
        if (netns_addr_parse(o->ips[i], &vif->ips[vif->n_ips++])) {
            fprintf(stderr, "hadron-plug-vif: bad --ip %s\n", o->ips[i]);
            return 2;
        }
    }
    if (o->gateway) {
        struct netns_addr gw;
        if (netns_addr_parse(o->gateway, &gw)) {
            fprintf(stderr, "hadron-plug-vif: bad --gateway %s\n",
                    o->gateway);
            return 2;
        }
        *(gw.family == AF_INET ? &vif->gateway : &vif->gateway6) = gw;
    }
    return 0;
}

int
main(int argc, char *argv[])
{
    static const struct option long_opts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "token", required_argument, NULL, 't' },
        { "port", required_argument, NULL, 'p' },
        { "netns", required_argument, NULL, 'n' },
        { "ifname", required_argument, NULL, 'i' },
        { "bridge", required_argument, NULL, 'b' },
        { "mac", required_argument, NULL, 'm' },
        { "ip", required_argument, NULL, 'a' },
        { "gateway", required_argument, NULL, 'g' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct opts o = { 0 };
    struct netns_vif vif;
    char err[NETNS_ERR_LEN];
    const char *cmd;
    int c, rc;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    cmd = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            o.endpoint = optarg;
            break;
        case 't':
            o.token = optarg;
            break;
        case 'p':
            o.port = optarg;
            break;
        case 'n':
            o.netns = optarg;
            break;
        case 'i':
            o.ifname = optarg;
            break;
        case 'b':
            o.bridge = optarg;
            break;
        case 'm':
            o.mac = optarg;
            break;
        case 'g':
            o.gateway = optarg;
            break;
        case 'a':
            if (o.n_ips >= NETNS_PORT_MAX_IPS) {
                fprintf(stderr, "hadron-plug-vif: at most %d --ip\n",
                        NETNS_PORT_MAX_IPS);
                return 2;
            }
            o.ips[o.n_ips++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !o.port) {
        usage(stderr);
        return 2;
    }

    if (!strcmp(cmd, "unplug")) {
        if (netns_vif_unplug(o.port, err, sizeof err)) {
            fprintf(stderr, "hadron-plug-vif: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (strcmp(cmd, "plug") || !o.netns) {
        usage(stderr);
        return 2;
    }
    memset(&vif, 0, sizeof vif);
    if (!str_copy(vif.port_id, o.port, sizeof vif.port_id)
        || !str_copy(vif.netns, o.netns, sizeof vif.netns)
        || !str_copy(vif.ifname, o.ifname ? o.ifname : "eth0",
                     sizeof vif.ifname)) {
        fprintf(stderr, "hadron-plug-vif: --port, --netns or --ifname too "
                "long\n");
        return 2;
    }
    if (o.endpoint) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = vif_from_api(&o, &vif);
        curl_global_cleanup();
    } else {
        rc = vif_from_args(&o, &vif);
    }
    if (rc) {
        return rc;
    }
    if (netns_vif_plug(&vif, err, sizeof err)) {
        fprintf(stderr, "hadron-plug-vif: %s\n", err);
        return 1;
    }
    return 0;
}
