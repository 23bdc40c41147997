/* tests/lib/dbcheck.c: see dbcheck.h. */
#include "tests/lib/dbcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/util.h"
#include "db/db.h"

long long
dbcheck_count(struct db *db, const char *sql)
{
    struct db_stmt *st = db_prepare(db, sql);
    if (!st) {
        fail_msg("prepare %s: %s", sql, db_errmsg(db));
    }
    long long n = -1;
    if (db_step(st) == DB_ROW) {
        n = db_col_int64(st, 0);
    }
    db_reset(st);
    return n;
}

static const struct {
    const char *what;
    const char *sql;
} half_there[] = {
    { "ports without IP allocations on a network with subnets",
      "SELECT COUNT(*) FROM ports p WHERE NOT EXISTS (SELECT 1 FROM "
      "ipallocations i WHERE i.port_id = p.id) AND EXISTS (SELECT 1 FROM "
      "subnets s WHERE s.network_id = p.network_id)" },
    { "IP allocations without a port",
      "SELECT COUNT(*) FROM ipallocations i WHERE NOT EXISTS (SELECT 1 FROM "
      "ports p WHERE p.id = i.port_id)" },
    { "IP allocations on a subnet that is gone",
      "SELECT COUNT(*) FROM ipallocations i WHERE NOT EXISTS (SELECT 1 FROM "
      "subnets s WHERE s.id = i.subnet_id)" },
    { "IP addresses allocated twice on a network",
      "SELECT COUNT(*) FROM (SELECT i.ip_address, i.network_id FROM "
      "ipallocations i GROUP BY i.ip_address, i.network_id "
      "HAVING COUNT(*) > 1) d" },
    { "MACs twice on a network",
      "SELECT COUNT(*) FROM (SELECT network_id, mac_address FROM ports "
      "GROUP BY network_id, mac_address HAVING COUNT(*) > 1) d" },
    { "ports on a network that is gone",
      "SELECT COUNT(*) FROM ports p WHERE NOT EXISTS (SELECT 1 FROM "
      "networks n WHERE n.id = p.network_id)" },
    { "subnets on a network that is gone",
      "SELECT COUNT(*) FROM subnets s WHERE NOT EXISTS (SELECT 1 FROM "
      "networks n WHERE n.id = s.network_id)" },
    { "networks without a segment",
      "SELECT COUNT(*) FROM networks n WHERE NOT EXISTS (SELECT 1 FROM "
      "network_segments g WHERE g.network_id = n.id)" },
    { "segments of a network that is gone",
      "SELECT COUNT(*) FROM network_segments g WHERE NOT EXISTS (SELECT 1 "
      "FROM networks n WHERE n.id = g.network_id)" },
    { "VLAN segments whose VLAN is not allocated",
      "SELECT COUNT(*) FROM network_segments g WHERE g.network_type = 'vlan'"
      " AND NOT EXISTS (SELECT 1 FROM ml2_vlan_allocations v WHERE "
      "v.physical_network = g.physical_network AND v.vlan_id = "
      "g.segmentation_id AND v.allocated = 1)" },
    { "allocated VLANs without a segment (leaked)",
      "SELECT COUNT(*) FROM ml2_vlan_allocations v WHERE v.allocated = 1 "
      "AND NOT EXISTS (SELECT 1 FROM network_segments g WHERE "
      "g.network_type = 'vlan' AND g.physical_network = v.physical_network"
      " AND g.segmentation_id = v.vlan_id)" },
    { "VLANs used by two segments",
      "SELECT COUNT(*) FROM (SELECT physical_network, segmentation_id FROM "
      "network_segments WHERE network_type = 'vlan' GROUP BY "
      "physical_network, segmentation_id HAVING COUNT(*) > 1) d" },
    { "router interface ports without a routerports row",
      "SELECT COUNT(*) FROM ports p WHERE p.device_owner = "
      "'network:router_interface' AND NOT EXISTS (SELECT 1 FROM routerports"
      " r WHERE r.port_id = p.id AND r.router_id = p.device_id)" },
    { "router gateway ports without their router",
      "SELECT COUNT(*) FROM ports p WHERE p.device_owner = "
      "'network:router_gateway' AND NOT EXISTS (SELECT 1 FROM routers r "
      "WHERE r.id = p.device_id AND r.gw_port_id = p.id)" },
    { "routerports rows without a port or router",
      "SELECT COUNT(*) FROM routerports r WHERE NOT EXISTS (SELECT 1 FROM "
      "ports p WHERE p.id = r.port_id) OR NOT EXISTS (SELECT 1 FROM routers"
      " o WHERE o.id = r.router_id)" },
    { "routers whose gateway port is gone",
      "SELECT COUNT(*) FROM routers r WHERE r.gw_port_id IS NOT NULL AND "
      "NOT EXISTS (SELECT 1 FROM ports p WHERE p.id = r.gw_port_id)" },
    { "routers without a provider",
      "SELECT COUNT(*) FROM routers r WHERE NOT EXISTS (SELECT 1 FROM "
      "router_provider v WHERE v.router_id = r.id)" },
    { "provider rows of routers that are gone",
      "SELECT COUNT(*) FROM router_provider v WHERE NOT EXISTS (SELECT 1 "
      "FROM routers r WHERE r.id = v.router_id)" },
    { "floating IPs without their port",
      "SELECT COUNT(*) FROM floatingips f WHERE NOT EXISTS (SELECT 1 FROM "
      "ports p WHERE p.id = f.floating_port_id)" },
    { "floating IP ports without a floating IP",
      "SELECT COUNT(*) FROM ports p WHERE p.device_owner = "
      "'network:floatingip' AND NOT EXISTS (SELECT 1 FROM floatingips f "
      "WHERE f.floating_port_id = p.id)" },
    { "floating IPs associated with a port that is gone",
      "SELECT COUNT(*) FROM floatingips f WHERE f.fixed_port_id IS NOT NULL"
      " AND NOT EXISTS (SELECT 1 FROM ports p WHERE p.id = f.fixed_port_id)"
    },
};
long long
dbcheck_consistency(struct db *db, const char *label)
{
    long long total = 0;

    for (size_t i = 0; i < ARRAY_SIZE(half_there); i++) {
        long long n = dbcheck_count(db, half_there[i].sql);
        if (n) {
            fprintf(stderr, "%s: %lld %s\n", label, n, half_there[i].what);
            total += n < 0 ? 1 : n;
        }
    }
    return total;
}
