/* tests/lib/dbcheck.h: consistency checks of a Hadron database after
 * crashes and outages, straight in SQL (the API could hide a half-written
 * state). */
#ifndef HADRON_DBCHECK_H
#define HADRON_DBCHECK_H 1

struct db;

/* The first column of the first row of 'sql' (a COUNT), or -1.  Fails the
 * test if the SQL does not prepare. */
long long dbcheck_count(struct db *, const char *sql);

/* Counts what must never be: objects half there (a port without its IP
 * allocations on a network with subnets, an interface port without its
 * routerports row, a floating IP without its port...), allocations
 * duplicated (an IP or a MAC twice on a network, a VLAN used by two
 * segments) or leaked (allocations nothing uses).  Prints each finding on
 * stderr, prefixed by 'label', and returns their total (0: consistent). */
long long dbcheck_consistency(struct db *, const char *label);

#endif /* tests/lib/dbcheck.h */
