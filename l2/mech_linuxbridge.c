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
 * derives the same name) so that a compute side can plug a device. */
#include "l2/l2-internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/resource.h"
#include "core/util.h"

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
    LOG_INFO("linuxbridge", "binds ports on host %s (%zu interface and %zu "
             "bridge mappings, vxlan %s)", lb_host, lb_interfaces.n,
             lb_bridges.n, lb_vxlan ? "on" : "off");
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

const struct l2_mech_class l2_mech_linuxbridge__ = {
    .name = "linuxbridge",
    .init = lb_init,
    .bind_port = lb_bind_port,
};
