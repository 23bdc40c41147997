/* backends/dpdk/workers.c: worker lcores around the dataplane (workers.h). */
#include "backends/dpdk/workers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "backends/dpdk/dataplane.h"

struct dpw;

struct dpw_worker {
    struct dpw *dpw;
    unsigned int id;
    unsigned int lcore;             /* UINT32_MAX until launched */
    struct dp *dp;
    struct dp_tx *tx;
    struct rte_ring *ring;          /* frames other workers pass to it */
    bool launched;                  /* runs worker_main() on 'lcore' */
    uint32_t parked_gen;            /* atomic: last pause it parked for */
    bool exited;                    /* atomic: worker_main() returned */
} __rte_cache_aligned;

struct dpw {
    unsigned int n;
    bool busy_poll;
    bool stop;                      /* atomic */
    uint32_t pause_gen;             /* atomic: last pause requested */
    uint32_t release_gen;           /* atomic: last pause released */

    /* Devices polled, changed only while the workers are parked. */
    uint16_t n_polled;
    uint16_t polled[DP_MAX_PORTS];
    uint16_t n_rxq[DP_MAX_PORTS];   /* 0 = not polled */

    struct dp *dps[DPW_MAX_WORKERS];
    struct dpw_worker w[DPW_MAX_WORKERS];
};

struct dpw *
dpw_create(const struct dp_config *c, struct rte_mempool *pool,
           unsigned int n_workers, unsigned int ring_size)
{
    struct dpw *dpw;

    if (!n_workers || n_workers > DPW_MAX_WORKERS
        || !rte_is_power_of_2(ring_size)) {
        rte_errno = EINVAL;
        return NULL;
    }
    dpw = rte_zmalloc_socket("dpw", sizeof *dpw, RTE_CACHE_LINE_SIZE,
                             c->socket_id);
    if (!dpw) {
        rte_errno = ENOMEM;
        return NULL;
    }
    dpw->n = n_workers;
    for (unsigned int i = 0; i < n_workers; i++) {
        struct dpw_worker *wk = &dpw->w[i];
        struct dp_config wc = *c;
        char name[32];

        snprintf(name, sizeof name, "%s%u", c->name, i);
        wc.name = name;
        wk->dpw = dpw;
        wk->id = i;
        wk->lcore = UINT32_MAX;
        wk->dp = dpw->dps[i] = dp_create(&wc, pool);
        wk->tx = calloc(1, sizeof *wk->tx);
        if (!wk->dp || !wk->tx) {
            goto fail;
        }
        if (n_workers > 1) {
            snprintf(name, sizeof name, "dpw_%s_%u", c->name, i);
            wk->ring = rte_ring_create(name, ring_size, c->socket_id,
                                       RING_F_SC_DEQ);
            if (!wk->ring) {
                goto fail;
            }
        }
    }
    return dpw;

fail:
    dpw_destroy(dpw);
    if (!rte_errno) {
        rte_errno = ENOMEM;
    }
    return NULL;
}

void
dpw_destroy(struct dpw *dpw)
{
    if (!dpw) {
        return;
    }
    for (unsigned int i = 0; i < dpw->n; i++) {
        struct dpw_worker *wk = &dpw->w[i];
        struct rte_mbuf *m;

        while (wk->ring && !rte_ring_dequeue(wk->ring, (void **) &m)) {
            rte_pktmbuf_free(m);
        }
        rte_ring_free(wk->ring);
        dp_destroy(wk->dp);
        free(wk->tx);
    }
    rte_free(dpw);
}

unsigned int
dpw_n_workers(const struct dpw *dpw)
{
    return dpw->n;
}

struct dp *
dpw_dp(const struct dpw *dpw, unsigned int w)
{
    return w < dpw->n ? dpw->dps[w] : NULL;
}

struct dp *const *
dpw_dps(const struct dpw *dpw)
{
    return dpw->dps;
}

unsigned int
dpw_lcore(const struct dpw *dpw, unsigned int w)
{
    return w < dpw->n ? dpw->w[w].lcore : UINT32_MAX;
}

void
dpw_port_poll(struct dpw *dpw, uint16_t port, uint16_t n_rxq, bool on)
{
    if (port >= DP_MAX_PORTS) {
        return;
    }
    dpw->n_rxq[port] = on ? RTE_MAX(n_rxq, (uint16_t) 1) : 0;
    dpw->n_polled = 0;
    for (uint16_t p = 0; p < DP_MAX_PORTS; p++) {
        if (dpw->n_rxq[p]) {
            dpw->polled[dpw->n_polled++] = p;
        }
    }
}

/* --- The loop. --- */

/* Sends what the packet path queued, on worker 'wk's tx queue. */
static void
tx_flush(struct dpw_worker *wk)
{
    struct dp_tx *tx = wk->tx;

    for (uint16_t i = 0; i < tx->n_ports; i++) {
        uint16_t p = tx->ports[i];
        uint16_t sent = rte_eth_tx_burst(p, (uint16_t) wk->id, tx->pkts[p],
                                         tx->n[p]);
        if (sent < tx->n[p]) {
            dp_tx_done(wk->dp, p, tx, sent);
            rte_pktmbuf_free_bulk(&tx->pkts[p][sent], tx->n[p] - sent);
        }
    }
    dp_tx_reset(tx);
}

/* Parks worker 'wk' if a pause was requested, until it is released.
 * Returns true if it should not poll now (stopping). */
static bool
park(struct dpw *dpw, struct dpw_worker *wk)
{
    uint32_t g = __atomic_load_n(&dpw->pause_gen, __ATOMIC_ACQUIRE);

    if (g == wk->parked_gen) {
        return false;
    }
    __atomic_store_n(&wk->parked_gen, g, __ATOMIC_RELEASE);
    for (unsigned int spins = 0;
         __atomic_load_n(&dpw->release_gen, __ATOMIC_ACQUIRE) != g;
         spins++) {
        if (__atomic_load_n(&dpw->stop, __ATOMIC_ACQUIRE)) {
            return true;
        }
        if (spins < 1000) {
            rte_pause();
        } else {
            rte_delay_us_sleep(20);
        }
    }
    return false;
}

/* Passes the frames of 'pkts[0..n)' (received on device 'port') whose
 * router another worker owns to that worker and processes the rest. */
static void
dispatch(struct dpw *dpw, struct dpw_worker *wk, uint16_t port,
         struct rte_mbuf **pkts, uint16_t n, uint64_t *out,
         uint64_t *dropped)
{
    struct rte_mbuf *mine[DPW_RX_BURST];
    struct rte_mbuf *other[DPW_MAX_WORKERS][DPW_RX_BURST];
    uint16_t n_other[DPW_MAX_WORKERS] = { 0 };
    uint16_t n_mine = 0;

    for (uint16_t i = 0; i < n; i++) {
        uint32_t r = dp_frame_router(wk->dp, port, pkts[i]);
        unsigned int o = r == UINT32_MAX ? wk->id : r % dpw->n;
        if (o == wk->id) {
            mine[n_mine++] = pkts[i];
        } else {
            pkts[i]->port = port;
            other[o][n_other[o]++] = pkts[i];
        }
    }
    if (n_mine) {
        dp_process_burst(wk->dp, port, mine, n_mine, wk->tx);
    }
    for (unsigned int o = 0; o < dpw->n; o++) {
        if (!n_other[o]) {
            continue;
        }
        unsigned int k = rte_ring_mp_enqueue_burst(dpw->w[o].ring,
                                                   (void **) other[o],
                                                   n_other[o], NULL);
        *out += k;
        if (k < n_other[o]) {
            *dropped += n_other[o] - k;
            rte_pktmbuf_free_bulk(&other[o][k], n_other[o] - k);
        }
    }
}

unsigned int
dpw_poll(struct dpw *dpw, unsigned int w, uint64_t now)
{
    struct dpw_worker *wk = &dpw->w[w];
    struct rte_mbuf *pkts[DPW_RX_BURST];
    uint64_t dev_rx = 0, out = 0, in = 0, dropped = 0;

    if (park(dpw, wk)) {
        return 0;
    }
    dp_tick(wk->dp, now, wk->tx);
    tx_flush(wk);

    /* Frames for our routers that other workers received: each carries
     * its device in 'port'; keep runs of one device together. */
    if (wk->ring) {
        unsigned int n = rte_ring_sc_dequeue_burst(wk->ring, (void **) pkts,
                                                   DPW_RX_BURST, NULL);
        in = n;
        for (unsigned int i = 0; i < n;) {
            unsigned int j = i + 1;
            while (j < n && pkts[j]->port == pkts[i]->port) {
                j++;
            }
            dp_process_burst(wk->dp, pkts[i]->port, &pkts[i],
                             (uint16_t) (j - i), wk->tx);
            i = j;
        }
        if (n) {
            tx_flush(wk);
        }
    }

    for (uint16_t i = 0; i < dpw->n_polled; i++) {
        uint16_t p = dpw->polled[i];
        if (w >= dpw->n_rxq[p]) {
            continue;
        }
        uint16_t n = rte_eth_rx_burst(p, (uint16_t) w, pkts, DPW_RX_BURST);
        if (!n) {
            continue;
        }
        dev_rx += n;
        if (dpw->n == 1) {
            dp_process_burst(wk->dp, p, pkts, n, wk->tx);
        } else {
            dispatch(dpw, wk, p, pkts, n, &out, &dropped);
        }
        tx_flush(wk);
    }
    if (dev_rx || in) {
        dp_count_worker(wk->dp, dev_rx, out, in, dropped);
    }
    return (unsigned int) (dev_rx + in);
}

static int
worker_main(void *arg)
{
    struct dpw_worker *wk = arg;
    struct dpw *dpw = wk->dpw;
    unsigned int idle = 0;

    while (!__atomic_load_n(&dpw->stop, __ATOMIC_ACQUIRE)) {
        if (dpw_poll(dpw, wk->id, rte_rdtsc())) {
            idle = 0;
        } else if (!dpw->busy_poll && ++idle > 1000) {
            rte_delay_us_sleep(100);
        }
    }
    __atomic_store_n(&wk->exited, true, __ATOMIC_RELEASE);
    return 0;
}

int
dpw_launch(struct dpw *dpw, unsigned int first, bool busy_poll)
{
    unsigned int lcores[DPW_MAX_WORKERS];
    unsigned int n = 0, lc;

    RTE_LCORE_FOREACH_WORKER(lc) {
        if (n < DPW_MAX_WORKERS) {
            lcores[n++] = lc;
        }
    }
    if (first > dpw->n || n < dpw->n - first) {
        return ENODEV;
    }
    dpw->busy_poll = busy_poll;
    for (unsigned int w = 0; w < first; w++) {
        dpw->w[w].lcore = rte_lcore_id();
    }
    for (unsigned int w = first; w < dpw->n; w++) {
        struct dpw_worker *wk = &dpw->w[w];
        wk->lcore = lcores[w - first];
        wk->launched = true;
        if (rte_eal_remote_launch(worker_main, wk, wk->lcore)) {
            wk->launched = false;
            dpw_stop(dpw);
            return ENODEV;
        }
    }
    return 0;
}

void
dpw_stop(struct dpw *dpw)
{
    __atomic_store_n(&dpw->stop, true, __ATOMIC_RELEASE);
    for (unsigned int w = 0; w < dpw->n; w++) {
        if (dpw->w[w].launched) {
            /* 'exited' (release) orders the worker's last writes before
             * ours; EAL's join does too, but out of sanitizers' sight. */
            while (!__atomic_load_n(&dpw->w[w].exited, __ATOMIC_ACQUIRE)) {
                rte_delay_us_sleep(100);
            }
            rte_eal_wait_lcore(dpw->w[w].lcore);
            dpw->w[w].launched = false;
        }
    }
}

void
dpw_pause(struct dpw *dpw, unsigned int self)
{
    uint32_t g = __atomic_add_fetch(&dpw->pause_gen, 1, __ATOMIC_ACQ_REL);

    for (unsigned int w = 0; w < dpw->n; w++) {
        struct dpw_worker *wk = &dpw->w[w];
        if (w == self || !wk->launched) {
            continue;
        }
        for (unsigned int spins = 0;
             __atomic_load_n(&wk->parked_gen, __ATOMIC_ACQUIRE) != g
             && !__atomic_load_n(&wk->exited, __ATOMIC_ACQUIRE); spins++) {
            if (spins < 1000) {
                rte_pause();
            } else {
                rte_delay_us_sleep(10);
            }
        }
    }
}

void
dpw_resume(struct dpw *dpw)
{
    __atomic_store_n(&dpw->release_gen,
                     __atomic_load_n(&dpw->pause_gen, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
}
