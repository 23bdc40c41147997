/* tests/unit/vendor_driver.h: the state of the test vendor driver
 * (vendor_driver.c), which test_registry loads as a shared object and
 * inspects through l3_provider_state(). */
#ifndef HADRON_TEST_VENDOR_DRIVER_H
#define HADRON_TEST_VENDOR_DRIVER_H 1

#include "flavors/driver.h"

struct vendor_state {
    unsigned int caps;          /* option "caps" (a number) */
    int answer;                 /* option "answer": what apply() returns */
    char label[64];             /* option "label" */
    int applies;
    char last_resource[32];
    char last_operation[16];
    char last_id[64];
    int syncs;
    size_t last_sync_n;
};

#endif /* tests/unit/vendor_driver.h */
