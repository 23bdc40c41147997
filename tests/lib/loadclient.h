/* tests/lib/loadclient.h: the client side of the load tests.
 *
 * The crash and outage tests (tests/api/test_crash_load.c, test_db_outage.c,
 * test_backend_outage.c) run many client threads against one hadron-server
 * and judge every answer.  The mechanics they share are here: a client per
 * thread on apitest_send() (its own curl handle, as the member of one
 * project, with the test's timeout), and the list of the objects the
 * clients wrote, shared by the threads, with create and delete helpers that
 * keep it.  The policy stays in each test: how an answer is judged (which
 * codes are clean, a latency bound, what is counted) is the test's
 * loadclient_judge_fn, so that the same create or delete serves a test that
 * allows 503s and one that allows none. */
#ifndef HADRON_LOADCLIENT_H
#define HADRON_LOADCLIENT_H 1

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct apitest_resp;

#define LOADCLIENT_ID_LEN 40    /* a UUID and its NUL, with room */

/* Judges the answer 'a' to 'method' 'path', which should be 'expect', for
 * the test whose 'aux' it is: counts what the test counts and records
 * what it calls unclean.  Returns true if 'a' is the expected answer.
 * Runs on the client's thread, so it locks what it shares. */
typedef bool loadclient_judge_fn(void *aux, const char *method,
                                 const char *path,
                                 const struct apitest_resp *a, long expect);

/* One client thread's connection; not shared between threads. */
struct loadclient {
    void *curl;                 /* CURL *, this thread's own */
    int port;
    long timeout_ms;
    char headers[128];          /* the project's, for apitest_send() */
    loadclient_judge_fn *judge;
    void *aux;
};

/* A client of 127.0.0.1:'port' as the member of 'project', each request
 * at most 'timeout_ms', its answers judged by 'judge' with 'aux'. */
void loadclient_init(struct loadclient *, int port, const char *project,
                     long timeout_ms, loadclient_judge_fn *judge, void *aux);
void loadclient_destroy(struct loadclient *);

/* One request ('body' may be NULL), not judged: for a test that judges
 * this one answer its own way.  Never fails the test; status 0 means no
 * answer.  Free the answer with apitest_resp_free(). */
struct apitest_resp *loadclient_request(struct loadclient *,
                                        const char *method, const char *path,
                                        const char *body);

/* One request, judged against 'expect'.  Returns the judge's verdict;
 * the answer goes to '*answer' (the caller frees it) if 'answer' is
 * nonnull, else it is freed. */
bool loadclient_call(struct loadclient *, const char *method,
                     const char *path, const char *body, long expect,
                     struct apitest_resp **answer);

/* ---- The objects the clients wrote ---- */

enum loadclient_kind {
    LC_NET, LC_SUBNET, LC_PORT, LC_ROUTER, LC_IFACE, LC_FIP,
};

/* The collection of each kind under /v2.0 (an interface is a port). */
extern const char *const loadclient_paths[];

/* One object, recorded once its create was acknowledged.  'delete_sent'
 * once its removal went out, answered or not (it may or may not have
 * happened); 'deleted' once that was acknowledged. */
struct loadclient_obj {
    enum loadclient_kind kind;
    char id[LOADCLIENT_ID_LEN]; /* LC_IFACE: the interface port */
    char router[LOADCLIENT_ID_LEN];     /* LC_IFACE: its router */
    bool delete_sent, deleted;
};

/* The objects of all clients.  While they run, 'mutex' guards the rest
 * (a test that samples 'acked' meanwhile takes it as approximate); once
 * they are joined, the test reads and resets objects without it. */
struct loadclient_objs {
    pthread_mutex_t mutex;
    struct loadclient_obj *objs;
    size_t n, alloc;
    long acked;                 /* acknowledged writes: creates, removals */
};

void loadclient_objs_init(struct loadclient_objs *);
void loadclient_objs_destroy(struct loadclient_objs *);

/* Records an acknowledged create of 'kind' with 'id' ("?" if NULL) and,
 * for an interface, its 'router' (may be NULL).  Returns its index. */
long loadclient_objs_add(struct loadclient_objs *, enum loadclient_kind,
                         const char *id, const char *router);

/* Marks the removal of object 'idx' sent; with 'deleted', acknowledged
 * as well (an acknowledged write). */
void loadclient_objs_mark(struct loadclient_objs *, long idx, bool deleted);

/* POSTs 'body' to the collection of 'kind', judged against 201, and
 * records the object by the id at 'key' in the answer, which it also
 * copies into 'id' (if nonnull).  Returns the object's index, or -1. */
long loadclient_create(struct loadclient *, struct loadclient_objs *,
                       enum loadclient_kind, const char *body,
                       const char *key, char id[LOADCLIENT_ID_LEN]);

/* Removes object 'idx' with 'method' 'path' 'body' (may be NULL), judged
 * against 'expect'; marks the removal sent before and acknowledged after.
 * Returns true if it was acknowledged. */
bool loadclient_remove(struct loadclient *, struct loadclient_objs *,
                       long idx, const char *method, const char *path,
                       const char *body, long expect);

/* loadclient_remove() of object 'idx' by DELETE of its URL (204). */
bool loadclient_delete(struct loadclient *, struct loadclient_objs *,
                       long idx);

#endif /* tests/lib/loadclient.h */
