/* backends/dpdk/workers.h: the packet loop of hadron-dpdk on one or more
 * worker lcores.
 *
 * With N workers every DPDK device has N rx and N tx queues; worker w
 * polls rx queue w of every device (the device spreads flows over its
 * queues: RSS, the TAP's multiqueue, af_packet's fanout) and transmits on
 * tx queue w only, so transmission needs no lock.
 *
 * Each router is pinned to one worker, its owner (router index modulo N),
 * and each worker has a 'struct dp' of its own (dataplane.h) holding the
 * same configuration: every router, port, route and floating IP, in every
 * dp, with the same indices.  A worker that receives a frame asks its dp
 * which router it is for (dp_frame_router(), which reads only
 * configuration); if another worker owns that router, it passes the frame
 * to that worker through a ring, and only the owner runs the packet path
 * for it.  So a router's mutable state (NAT sessions and SNAT ports,
 * neighbours and the frames waiting for them, ICMP rate limit, counters)
 * lives in its owner's dp and is only ever touched by that lcore: the two
 * directions of a NATed flow, which hash to different queues, meet in one
 * session table without atomics or locks, and the one-worker path is the
 * single-lcore path it always was.  The price is that one router's
 * traffic is processed on one lcore (the others only receive and pass it
 * on); many routers spread over the workers.  The alternative, one flow
 * table shared by all lcores (rte_hash with lock-free readers and
 * multi-writer add, atomic SNAT port allocation, expiry racing with use),
 * would let one router scale, but every other piece of per-router state
 * the packet path writes (neighbours and their queues, counters, the ICMP
 * token bucket) would need the same treatment, and the one-lcore path
 * would pay for it.  What a worker pays here instead: a second demux of
 * each frame and, for frames received by a non-owner, a ring and a cache
 * line moving between cores.  Full rings drop (handoff_dropped), as a full
 * NIC queue would.
 *
 * Each worker's dp has the full table sizes (flows, neighbours, FIBs:
 * memory grows with N) and its own ICMP error rate limit (so the process
 * sends up to N times the configured rate).
 *
 * Configuration changes (the control socket) are applied to all N dps
 * while every worker is parked between two bursts: dpw_pause() returns
 * once all of them are, dpw_resume() lets them go.  A worker parks at the
 * top of its loop, holding no frame of the packet path in flight, so a
 * burst never sees half a change, exactly as with one lcore.
 *
 * Threading: dpw_poll(dpw, w, ...) is called only by worker w's lcore; the
 * other functions by the control thread (which may be worker 0 itself,
 * between its polls). */
#ifndef HADRON_DPDK_WORKERS_H
#define HADRON_DPDK_WORKERS_H 1

#include <stdbool.h>
#include <stdint.h>

struct dp;
struct dp_config;
struct rte_mempool;

#define DPW_MAX_WORKERS 16      /* TAP and af_packet carry at most 16 queues */
#define DPW_RX_BURST 32
#define DPW_NONE UINT32_MAX     /* "the caller is no worker" for dpw_pause() */

struct dpw;

/* Creates 'n_workers' (1..DPW_MAX_WORKERS) dataplanes from 'c' (whose
 * name gets the worker number appended) and the rings between them, each
 * 'ring_size' (a power of 2) frames.  Returns NULL with rte_errno set on
 * failure. */
struct dpw *dpw_create(const struct dp_config *c, struct rte_mempool *pool,
                       unsigned int n_workers, unsigned int ring_size);

/* Frees everything, the frames still in the rings too.  The workers must
 * have stopped (dpw_stop()).  Accepts NULL. */
void dpw_destroy(struct dpw *dpw);

unsigned int dpw_n_workers(const struct dpw *dpw);

/* Worker 'w's dataplane; dpw_dps() all of them, [dpw_n_workers()]. */
struct dp *dpw_dp(const struct dpw *dpw, unsigned int w);
struct dp *const *dpw_dps(const struct dpw *dpw);

/* The lcore worker 'w' runs on (after dpw_launch()), or UINT32_MAX. */
unsigned int dpw_lcore(const struct dpw *dpw, unsigned int w);

/* Starts or stops polling DPDK device 'port', which must have been
 * configured with 'n_rxq' rx queues (>= 1; worker w polls queue w if
 * w < n_rxq) and at least dpw_n_workers() tx queues.  Call with the
 * workers paused (or not yet launched); stop polling a device before
 * closing it. */
void dpw_port_poll(struct dpw *dpw, uint16_t port, uint16_t n_rxq, bool on);

/* One pass of worker 'w's loop at time 'now' (TSC ticks): parks if a pause
 * is requested, advances its dp's clock, processes the frames other
 * workers passed to it, then a burst from its queue of each polled device;
 * transmits everything on its tx queues.  Returns how many frames it
 * handled (0: idle). */
unsigned int dpw_poll(struct dpw *dpw, unsigned int w, uint64_t now);

/* Launches workers first..N-1 on the lcores EAL has besides the main one,
 * in order, each looping on dpw_poll() until dpw_stop() (and, unless
 * 'busy_poll', sleeping 100 us after 1000 idle passes).  The caller polls
 * workers 0..first-1 itself.  Returns 0, or ENODEV if EAL has too few
 * lcores (nothing is launched then). */
int dpw_launch(struct dpw *dpw, unsigned int first, bool busy_poll);

/* Tells the launched workers to return and waits for them. */
void dpw_stop(struct dpw *dpw);

/* Waits until every worker other than 'self' (a worker number, or
 * DPW_NONE) is parked or stopped, and returns; they stay parked until
 * dpw_resume().  Worker 'self', if any, must not poll in between.  Pauses
 * do not nest. */
void dpw_pause(struct dpw *dpw, unsigned int self);
void dpw_resume(struct dpw *dpw);

#endif /* backends/dpdk/workers.h */
