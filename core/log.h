/* core/log.h: leveled logging to stderr or a file.
 *
 * Lines read "2026-11-21T23:57:55.123Z LEVEL module: text".  Levels by who
 * must act: ERR (considerable fallout, an operator must look), WARN
 * (degraded or self-repairing), INFO (state changes), DBG (per module,
 * off unless debug is on).  Safe to call from any thread.  Anything caused
 * by input or the network goes through LOG_RL(), which drops lines beyond
 * a burst per call site and second. */
#ifndef HADRON_LOG_H
#define HADRON_LOG_H 1

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DBG };

/* Sends the log to 'path' (NULL or "" = stderr).  Returns 0 or an errno. */
int log_open(const char *path);

/* Reopens the current log file (after rotation; called on SIGHUP). */
int log_reopen(void);

void log_set_debug(bool);
bool log_debug_enabled(void);

void log_msg(enum log_level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_ERR(MOD, ...) log_msg(LOG_LEVEL_ERR, MOD, __VA_ARGS__)
#define LOG_WARN(MOD, ...) log_msg(LOG_LEVEL_WARN, MOD, __VA_ARGS__)
#define LOG_INFO(MOD, ...) log_msg(LOG_LEVEL_INFO, MOD, __VA_ARGS__)
#define LOG_DBG(MOD, ...)                                \
    do {                                                 \
        if (log_debug_enabled()) {                       \
            log_msg(LOG_LEVEL_DBG, MOD, __VA_ARGS__);    \
        }                                                \
    } while (0)

/* Rate limit: at most 'burst' lines per second from one call site. */
struct log_ratelimit {
    uint64_t window;        /* second the counts belong to */
    unsigned int count;     /* lines let through in that second */
    unsigned int dropped;   /* lines dropped since the last report */
};
bool log_ratelimit_allow__(struct log_ratelimit *, unsigned int burst,
                           unsigned int *dropped);

#define LOG_RL(LEVEL, MOD, ...)                                             \
    do {                                                                    \
        static struct log_ratelimit rl__;                                   \
        unsigned int dropped__;                                             \
        if (log_ratelimit_allow__(&rl__, 20, &dropped__)) {                 \
            if (dropped__) {                                                \
                log_msg(LOG_LEVEL_WARN, MOD, "%u similar lines dropped",    \
                        dropped__);                                         \
            }                                                               \
            log_msg(LEVEL, MOD, __VA_ARGS__);                               \
        }                                                                   \
    } while (0)

#endif /* core/log.h */
