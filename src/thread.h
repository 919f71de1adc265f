/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Scheduling hints for the daemon's own threads. collectord shares few
 * cores between busy ingest threads and a REST API whose answers should not
 * wait behind them; these hints are best effort (no privilege is needed,
 * and an older kernel that ignores them changes nothing but latency).
 */
#ifndef CD_THREAD_H
#define CD_THREAD_H

/**
 * Ask the scheduler to run the calling thread soon after it wakes up:
 * a short time slice (100 us) for the fair scheduler, which on Linux 6.12
 * and later (EEVDF with custom slices) lets the thread preempt busy
 * threads when a request arrives. Once per thread; later calls are
 * no-ops. Never fails.
 */
void thread_latency_hint(void);

/**
 * Let the calling thread yield to the threads an Ack waits for (HTTP
 * workers, the store writer) when the CPUs are short: nice +10, which the
 * fair scheduler turns into about a tenth of a nice-0 thread's share under
 * contention and changes nothing when CPU time is spare. For the outputs:
 * they deliver from the durable spool at their own pace, and the spool's
 * cap (503 until drained) is the backpressure if they fall too far behind.
 * Never fails.
 */
void thread_deferrable_hint(void);

/**
 * Make the calling thread background work: it runs only on CPU time no
 * other thread wants (SCHED_IDLE) and its own disk requests go in the idle
 * I/O class, served when the disk has nothing else queued (I/O schedulers
 * that know priorities: mq-deadline since Linux 5.14, BFQ). For work that
 * may take longer but must not delay an Ack, like compressing a rotated
 * file. Never fails.
 */
void thread_background_hint(void);

/** The calling thread's name for ps/top/perf (at most 15 bytes used). */
void thread_name(const char *name);

#endif
