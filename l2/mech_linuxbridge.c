/* l2/mech_linuxbridge.c: the "linuxbridge" mechanism driver.
 *
 * Neutron's linuxbridge driver binds a port on a host whose linuxbridge
 * agent is alive and can reach one of the network's segments, learning
 * what the agent can reach from the agent's reported configuration.
 * Hadron has no agents: the only host whose configuration it knows is its
 * own, so this driver binds ports whose binding:host_id is this server's
 * [DEFAULT] host (the machine's host name when unset), using this server's
 * [linux_bridge] and [vxlan] options as the agent's configuration:
 *   local          always;
 *   flat, vlan     when the segment's physical network is in
 *                  [linux_bridge] physical_interface_mappings or
 *                  bridge_mappings;
 *   vxlan          when [vxlan] enable_vxlan is true and local_ip is set;
 *   gre, geneve    never (the linuxbridge agent has no such tunnels).
 * It binds vnic_type "normal" only, to the first segment it can reach,
 * and answers binding:vif_type "bridge" with binding:vif_details
 *   {"port_filter": true, "bridge_name": B, "connectivity": "l2"}
 * where B is the bridge the agent would plug the port into: the mapped
 * bridge for a physical network in bridge_mappings, else "brq" followed by
 * the first 11 characters of the network id (the agent's name, at most
 * 14 characters as Linux allows).  bridge_name is Hadron's addition (Nova
 * derives the same name) so that a compute side can plug a device.
 *
 * Realization ([linux_bridge] realize = true; off by default, since it
 * needs root).  The linuxbridge agent's L2 work for this host is done
 * here, in the port postcommit: when a port is bound here, the bridge its
 * vif_details name is made (or repaired) with the network's uplink (the
 * mapped physical interface of a flat network, a VLAN sub-interface of it,
 * or a VXLAN device with the segment's VNI over [vxlan] local_ip) before
 * the API answers, so a compute side can plug into it at once; when a port
 * bound here is deleted or moves away, the bridge is removed if no other
 * port of the network is bound here and no interface (a VM's or a
 * router's tap) is still on it.  A bridge that cannot be made fails the
 * port's create with a 500 MechanismDriverError saying why (VLAN on a
 * kernel without 8021q, a missing physical interface) and is logged on
 * update.  A postcommit rather than an agent thread: the work is a few
 * netlink requests (about a millisecond), it makes the answer mean "you
 * can plug now", and every bridge change of the process is serialized in
 * backends/netns/netns_host.h, which the `netns` router driver shares.
 * This driver's init also hands [linux_bridge] and [vxlan] to that module
 * whether or not realize is on: they describe this host's L2 for the
 * router driver too. */
#include "l2/l2-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/netns/netns_host.h"
#include "core/config.h"
#include "core/context.h"
#include "core/log.h"
#include "core/neutron_error.h"
#include "core/resource.h"
#include "core/txn.h"
#include "core/util.h"
#include "db/db.h"

#define LB_MAX_MAPPINGS 64
#define LB_NAME_MAX 65

struct lb_mapping {
    char physnet[LB_NAME_MAX];
    char device[LB_NAME_MAX];       /* interface or bridge */
};

struct lb_mappings {
    struct lb_mapping m[LB_MAX_MAPPINGS];
    size_t n;
};

/* The "agent configuration", set by init and read-only afterwards. */
static char lb_host[256];
static struct lb_mappings lb_interfaces;
static struct lb_mappings lb_bridges;
static bool lb_vxlan;
static bool lb_realize;

/* Parses "physnet:device, ..." into 'out' as Neutron's parse_mappings()
 * does (keys and values unique).  Returns NULL or a malloc'd message. */
static char *
parse_mappings(const char *option, const char *text, struct lb_mappings *out)
{
    memset(out, 0, sizeof *out);
    for (const char *p = text ? text : ""; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (!len) {
            continue;
        }
        const char *colon = memchr(p, ':', len);
        if (!colon) {
            return xasprintf("%s: invalid mapping '%.*s' (physnet:device)",
                             option, (int) len, p);
        }
        size_t klen = colon - p, vlen = len - klen - 1;
        while (klen && p[klen - 1] == ' ') {
            klen--;
        }
        const char *v = colon + 1;
        while (vlen && *v == ' ') {
            v++;
            vlen--;
        }
        if (!klen || !vlen) {
            return xasprintf("%s: missing %s in mapping '%.*s'", option,
                             klen ? "value" : "key", (int) len, p);
        }
        if (klen >= LB_NAME_MAX || vlen >= LB_NAME_MAX
            || out->n >= LB_MAX_MAPPINGS) {
            return xasprintf("%s: mapping '%.*s' too long", option,
                             (int) len, p);
        }
        struct lb_mapping *m = &out->m[out->n];
        memcpy(m->physnet, p, klen);
        memcpy(m->device, v, vlen);
        for (size_t i = 0; i < out->n; i++) {
            if (!strcmp(out->m[i].physnet, m->physnet)) {
                return xasprintf("%s: key %s in mapping '%.*s' not unique",
                                 option, m->physnet, (int) len, p);
            }
            if (!strcmp(out->m[i].device, m->device)) {
                return xasprintf("%s: value %s in mapping '%.*s' not unique",
                                 option, m->device, (int) len, p);
            }
        }
        out->n++;
        p += strcspn(p, ",");
    }
    return NULL;
}

static const char *
lookup(const struct lb_mappings *maps, const char *physnet)
{
    for (size_t i = 0; i < maps->n; i++) {
        if (!strcmp(maps->m[i].physnet, physnet)) {
            return maps->m[i].device;
        }
    }
    return NULL;
}

static char *
lb_init(const struct config *cfg)
{
    char *error = parse_mappings("[linux_bridge] physical_interface_mappings",
                                 cfg->lb_physical_interface_mappings,
                                 &lb_interfaces);
    if (!error) {
        error = parse_mappings("[linux_bridge] bridge_mappings",
                               cfg->lb_bridge_mappings, &lb_bridges);
    }
    if (error) {
        return error;
    }
    if (cfg->host && *cfg->host) {
        str_copy(lb_host, cfg->host, sizeof lb_host);
    } else if (gethostname(lb_host, sizeof lb_host - 1)) {
        str_copy(lb_host, "localhost", sizeof lb_host);
    }
    lb_vxlan = cfg->vxlan_enable && cfg->vxlan_local_ip
               && *cfg->vxlan_local_ip;
    lb_realize = cfg->lb_realize;

    struct netns_host_config host = {
        .physical_interface_mappings = cfg->lb_physical_interface_mappings,
        .bridge_mappings = cfg->lb_bridge_mappings,
        .enable_vxlan = cfg->vxlan_enable,
        .local_ip = cfg->vxlan_local_ip,
        .vxlan_group = cfg->vxlan_group,
    };
    char err[256];
    if (netns_host_configure(&host, err, sizeof err)) {
        if (lb_realize) {
            return xstrdup(err);
        }
        /* Binding does not need it; realizing bridges here would. */
        LOG_WARN("linuxbridge", "%s: bridges cannot be realized on this "
                 "host", err);
    }
    LOG_INFO("linuxbridge", "binds ports on host %s (%zu interface and %zu "
             "bridge mappings, vxlan %s)%s", lb_host, lb_interfaces.n,
             lb_bridges.n, lb_vxlan ? "on" : "off",
             lb_realize ? "; realizes their bridges here" : "");
    return NULL;
}

/* The bridge a port on 'seg' of 'network_id' is plugged into, or false if
 * this host cannot reach the segment. */
static bool
segment_bridge(const struct l2_segment *seg, const char *network_id,
               char *bridge, size_t size)
{
    const char *type = seg->network_type;

    if (!strcmp(type, "flat") || !strcmp(type, "vlan")) {
        const char *mapped = lookup(&lb_bridges, seg->physical_network);
        if (mapped) {
            str_copy(bridge, mapped, size);
            return true;
        }
        if (!lookup(&lb_interfaces, seg->physical_network)) {
            return false;
        }
    } else if (!strcmp(type, "vxlan")) {
        if (!lb_vxlan) {
            return false;
        }
    } else if (strcmp(type, "local")) {
        return false;
    }
    snprintf(bridge, size, "brq%.11s", network_id);
    return true;
}

/* Appends 's' to 'buf' as a JSON string. */
static size_t
json_string(char *buf, size_t size, size_t len, const char *s)
{
    len += snprintf(buf + len, len < size ? size - len : 0, "\"");
    for (; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            len += snprintf(buf + len, len < size ? size - len : 0, "\\%c",
                            c);
        } else if (c < 0x20) {
            len += snprintf(buf + len, len < size ? size - len : 0,
                            "\\u%04x", c);
        } else {
            len += snprintf(buf + len, len < size ? size - len : 0, "%c", c);
        }
    }
    return len + snprintf(buf + len, len < size ? size - len : 0, "\"");
}

static bool
lb_bind_port(const struct l2_mech_context *mc, const char *host,
             const char *vnic_type, struct l2_binding *out)
{
    int net_idx = resource_attr_index(mc->cur->def, "network_id");
    const char *network_id = net_idx >= 0
                             ? value_str(&mc->cur->v[net_idx]) : NULL;

    if (!host || strcmp(host, lb_host) || !network_id
        || !vnic_type || strcmp(vnic_type, "normal")) {
        return false;
    }
    for (size_t i = 0; i < mc->n_segments; i++) {
        char bridge[LB_NAME_MAX], details[512];
        size_t len;

        if (!segment_bridge(&mc->segments[i], network_id, bridge,
                            sizeof bridge)) {
            continue;
        }
        len = snprintf(details, sizeof details,
                       "{\"port_filter\": true, \"bridge_name\": ");
        len = json_string(details, sizeof details, len, bridge);
        snprintf(details + len, len < sizeof details ? sizeof details - len
                                                     : 0,
                 ", \"connectivity\": \"l2\"}");
        str_copy(out->vif_type, "bridge", sizeof out->vif_type);
        out->vif_details = xstrdup(details);
        out->segment = i;
        return true;
    }
    return false;
}

/* ---- Realization ---- */

/* The text of attribute 'name' of 'obj' (a string or raw JSON), or NULL. */
static const char *
attr_text(const struct res_obj *obj, const char *name)
{
    int idx = obj ? resource_attr_index(obj->def, name) : -1;

    if (idx < 0) {
        return NULL;
    }
    const struct value *v = &obj->v[idx];
    return v->kind == VALUE_STRING || v->kind == VALUE_RAW ? v->s : NULL;
}

/* True if 'port' is bound to this host by a bridge driver. */
static bool
bound_here(const struct res_obj *port)
{
    const char *host = attr_text(port, "binding:host_id");
    const char *vif_type = attr_text(port, "binding:vif_type");

    return host && !strcmp(host, lb_host) && vif_type
           && !strcmp(vif_type, "bridge");
}

/* How this host realizes the network of the port in 'mc': the first
 * segment it can reach, as lb_bind_port() chose.  Returns 0 with '*net'
 * filled; ENOENT when no segment is reachable (or known), leaving the
 * default bridge name in net->bridge; another errno with a message. */
static int
port_network(const struct l2_mech_context *mc, const char *network_id,
             struct netns_network *net, bool *operator_bridge, char *err,
             size_t err_size)
{
    memset(net, 0, sizeof *net);
    *operator_bridge = false;
    snprintf(net->bridge, sizeof net->bridge, "brq%.11s", network_id);
    for (size_t i = 0; i < mc->n_segments; i++) {
        const struct l2_segment *seg = &mc->segments[i];
        char bridge[LB_NAME_MAX];

        if (segment_bridge(seg, network_id, bridge, sizeof bridge)) {
            return netns_host_network(bridge, seg->network_type,
                                      seg->physical_network,
                                      seg->segmentation_id, net,
                                      operator_bridge, err, err_size);
        }
    }
    snprintf(err, err_size, "no segment of network %s reachable here",
             network_id);
    return ENOENT;
}

struct still_needed_args {
    const struct op_ctx *ctx;
    const char *network_id;
    bool needed;
};

static struct neutron_error *
count_ports_in_txn(const struct op_ctx *ctx, void *args_)
{
    struct still_needed_args *a = args_;
    struct db_stmt *stmt = db_prepare(ctx->db,
                                      "SELECT COUNT(*) FROM ports "
                                      "WHERE network_id = ? "
                                      "AND binding_host_id = ? "
                                      "AND binding_vif_type = 'bridge'");
    if (!stmt) {
        return neutron_error_internal("counting ports: %s",
                                      db_errmsg(ctx->db));
    }
    db_bind_text(stmt, 1, a->network_id);
    db_bind_text(stmt, 2, lb_host);
    int rc = db_step(stmt);
    a->needed = rc != DB_ROW || db_col_int64(stmt, 0) > 0;
    db_reset(stmt);
    return NULL;
}

/* Whether a port of the network is still bound here (true when that
 * cannot be read: a bridge kept is harmless, one removed under a port is
 * not). */
static bool
still_needed(void *args_)
{
    struct still_needed_args *a = args_;
    struct neutron_error *error = txn_run(a->ctx, false, count_ports_in_txn,
                                          a);
    if (error) {
        LOG_RL(LOG_LEVEL_WARN, "linuxbridge", "network %s: %s",
               a->network_id, error->message);
        neutron_error_destroy(error);
        return true;
    }
    return a->needed;
}

static struct neutron_error *
lb_port_postcommit(const struct l2_mech_context *mc)
{
    const struct res_obj *port = mc->cur ? mc->cur : mc->orig;
    const char *network_id = attr_text(port, "network_id");
    const char *port_id = attr_text(port, "id");
    struct netns_network net;
    bool operator_bridge, removed;
    char err[NETNS_ERR_LEN];
    int error;

    if (!lb_realize || !network_id) {
        return NULL;
    }
    error = port_network(mc, network_id, &net, &operator_bridge, err,
                         sizeof err);
    if (mc->cur && bound_here(mc->cur)) {
        if (!error) {
            error = netns_host_bridge_ensure(&net, operator_bridge, err,
                                             sizeof err);
        }
        if (error) {
            return neutron_error_create(NE_INTERNAL, "MechanismDriverError",
                                        "linuxbridge: port %s: cannot "
                                        "realize network %s on host %s: %s",
                                        port_id ? port_id : "?", network_id,
                                        lb_host, err);
        }
        return NULL;
    }
    if (mc->op == L2_MECH_CREATE || operator_bridge) {
        return NULL;
    }

    /* Deleted, or not (or no longer) bound here: the bridge goes if no
     * port of the network is bound here any more. */
    struct still_needed_args a = { mc->ctx, network_id, true };
    error = netns_host_bridge_release(net.bridge, still_needed, &a, &removed,
                                      err, sizeof err);
    if (error) {
        return neutron_error_create(NE_INTERNAL, "MechanismDriverError",
                                    "linuxbridge: network %s on host %s: "
                                    "%s", network_id, lb_host, err);
    }
    if (removed) {
        LOG_INFO("linuxbridge", "network %s: bridge %s removed (no port "
                 "bound here any more)", network_id, net.bridge);
    }
    return NULL;
}

const struct l2_mech_class l2_mech_linuxbridge__ = {
    .name = "linuxbridge",
    .init = lb_init,
    .port_postcommit = lb_port_postcommit,
    .bind_port = lb_bind_port,
};
