/* api/l2_api.c: the L2 core's resources and extensions in the API. */
#include "api/api.h"

#include <stdbool.h>

#include "api/resource_api.h"
#include "core/util.h"
#include "l2/l2.h"

/* The extensions the L2 core implements, listed in /v2.0/extensions.
 * Names and descriptions as Neutron's, so clients that probe for them
 * find what they expect. */
static const struct api_extension l2_extensions[] = {
    { "network", "Neutron L2 Network", "Layer 2 network abstraction",
      "2012-01-01T10:00:00-00:00" },
    { "subnet", "Neutron L3 Subnet", "Layer 3 subnet abstraction",
      "2012-01-01T10:00:00-00:00" },
    { "port", "Neutron Port", "Network port abstraction",
      "2012-01-01T10:00:00-00:00" },
    { "provider", "Provider Network",
      "Expose mapping of virtual networks to physical networks",
      "2012-09-07T10:00:00-00:00" },
    { "multi-provider", "Multi Provider Network",
      "Expose mapping of virtual networks to multiple physical networks",
      "2013-06-27T10:00:00-00:00" },
    { "segment", "Segment", "Segments extension.",
      "2016-02-24T17:00:00-00:00" },
    { "external-net", "Neutron external network",
      "Adds external network attribute to network resource.",
      "2013-01-14T10:00:00-00:00" },
    { "net-mtu", "Network MTU",
      "Provides MTU attribute for a network resource.",
      "2015-03-25T10:00:00-00:00" },
    { "port-security", "Port Security", "Provides port security",
      "2012-07-23T10:00:00-00:00" },
    { "binding", "Port Binding",
      "Expose port bindings of a virtual port to external application",
      "2014-02-03T10:00:00-00:00" },
    { "allowed-address-pairs", "Allowed Address Pairs",
      "Provides allowed address pairs", "2013-07-23T10:00:00-00:00" },
    { "standard-attr-description", "standard-attr-description",
      "Extension to add descriptions to standard attributes",
      "2016-02-10T10:00:00-00:00" },
    { "standard-attr-revisions", "Resource revision numbers",
      "This extension will display the revision number of neutron "
      "resources.", "2016-04-11T10:00:00-00:00" },
    { "standard-attr-timestamp", "Resource timestamps",
      "Adds created_at and updated_at fields to all Neutron resources that "
      "have Neutron standard attributes.", "2016-09-12T10:00:00-00:00" },
    { "standard-attr-tag", "Tag support for resources with standard "
      "attribute: subnet, trunk, network_segment_range, router, network, "
      "policy, subnetpool, port, security_group, floatingip",
      "Enables to set tag on resources with standard attribute.",
      "2017-01-01T00:00:00-00:00" },
    { "sorting", "Sorting support",
      "Extension that indicates that sorting is enabled.",
      "2016-06-12T00:00:00-00:00" },
    { "pagination", "Pagination support",
      "Extension that indicates that pagination is enabled.",
      "2016-06-12T00:00:00-00:00" },
    { "fields", "Fields support",
      "Extension that indicates that fields selection is enabled.",
      "2016-06-12T00:00:00-00:00" },
    { "filter-validation", "Filter parameters validation",
      "Provides validation on filter parameters.",
      "2018-03-21T10:00:00-00:00" },
    { "project-id", "project_id field enabled",
      "Extension that indicates that project_id field is enabled.",
      "2016-09-09T09:09:09-09:09" },
    { "revision-if-match", "If-Match constraints based on revision_number",
      "Extension indicating that If-Match based on revision_number is "
      "supported.", "2016-12-11T00:00:00-00:00" },
};

void
api_l2_register(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    api_resource_register(&l2_network_def);
    api_resource_register(&l2_subnet_def);
    api_resource_register(&l2_port_def);
    api_resource_register(&l2_segment_def);
    api_extensions_register(l2_extensions, ARRAY_SIZE(l2_extensions));
}
