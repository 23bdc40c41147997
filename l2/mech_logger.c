/* l2/mech_logger.c: the "logger" mechanism driver, ML2's fake.
 *
 * Logs every call it gets at INFO, one line each, and changes nothing:
 *   "logger: create_port_precommit <port id>"
 *   "logger: bind_port <port id> host <host> vnic_type <type>"
 * It never binds a port, so it can sit in front of a real driver.  Tests
 * read the lines from the server log to see which calls were made and in
 * what order. */
#include "l2/l2-internal.h"

#include "core/log.h"
#include "core/resource.h"

/* The id of the resource a context is about ('cur', or 'orig' on a
 * delete). */
static const char *
resource_id(const struct l2_mech_context *mc)
{
    const struct res_obj *obj = mc->cur ? mc->cur : mc->orig;
    int idx = obj ? resource_attr_index(obj->def, "id") : -1;
    const char *id = idx >= 0 ? value_str(&obj->v[idx]) : NULL;

    return id ? id : "?";
}

static void
log_call(const struct l2_mech_context *mc, const char *kind,
         const char *phase)
{
    static const char *const ops[] = { "create", "update", "delete" };

    LOG_INFO("logger", "%s_%s_%s %s", ops[mc->op], kind, phase,
             resource_id(mc));
}

#define LOGGER_OP(KIND, PHASE)                                          \
    static struct neutron_error *                                       \
    logger_##KIND##_##PHASE(const struct l2_mech_context *mc)           \
    {                                                                   \
        log_call(mc, #KIND, #PHASE);                                    \
        return NULL;                                                    \
    }

LOGGER_OP(network, precommit)
LOGGER_OP(network, postcommit)
LOGGER_OP(subnet, precommit)
LOGGER_OP(subnet, postcommit)
LOGGER_OP(port, precommit)
LOGGER_OP(port, postcommit)

static bool
logger_bind_port(const struct l2_mech_context *mc, const char *host,
                 const char *vnic_type, struct l2_binding *out)
{
    (void) out;
    LOG_INFO("logger", "bind_port %s host %s vnic_type %s", resource_id(mc),
             host, vnic_type);
    return false;
}

const struct l2_mech_class l2_mech_logger__ = {
    .name = "logger",
    .network_precommit = logger_network_precommit,
    .network_postcommit = logger_network_postcommit,
    .subnet_precommit = logger_subnet_precommit,
    .subnet_postcommit = logger_subnet_postcommit,
    .port_precommit = logger_port_precommit,
    .port_postcommit = logger_port_postcommit,
    .bind_port = logger_bind_port,
};
