/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "thread.h"

/* sched_setattr(2)'s argument, as the kernel defines it (glibc has no
 * wrapper and linux/sched/types.h clashes with <sched.h>). */
struct thread_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t	 sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

/* For SCHED_OTHER, sched_runtime is the thread's slice (EEVDF, Linux
 * 6.12: "sched/eevdf: Allow shorter slices to wakeup-preempt"). A thread
 * with a shorter slice than the running ones gets an earlier deadline and
 * preempts them on wake-up instead of waiting for their slice to end. */
#define THREAD_SLICE_NS	100000

void
thread_latency_hint(void)
{
	static _Thread_local bool done;

	if (done)
		return;
	done = true;
#ifdef SYS_sched_setattr
	struct thread_sched_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = 0;	/* SCHED_OTHER */
	a.sched_runtime = THREAD_SLICE_NS;
	if (syscall(SYS_sched_setattr, 0, &a, 0) != 0)
		log_debug("main", "no short time slice for this thread (sched_setattr failed)");
#endif
}

/* Measured at 20,000 events/s offered on 2 cores, with the output
 * thread reniced from outside: Ack p99 0 -> 333-1,612 ms, 5 -> 193-812 ms,
 * 10 -> 112-176 ms (three runs each, on a busy machine). */
#define THREAD_DEFERRABLE_NICE	10

void
thread_deferrable_hint(void)
{
	/* Linux: nice is per thread, and who 0 is the calling thread. */
	if (setpriority(PRIO_PROCESS, 0, THREAD_DEFERRABLE_NICE) != 0)
		log_debug("main", "cannot lower this thread's priority");
}

/* ioprio_set(2)'s values, as linux/ioprio.h defines them (glibc has no
 * wrapper). */
#define THREAD_IOPRIO_WHO_PROCESS	1
#define THREAD_IOPRIO_CLASS_IDLE	3
#define THREAD_IOPRIO_CLASS_SHIFT	13

void
thread_background_hint(void)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
#ifdef SCHED_IDLE
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		log_debug("main", "no idle CPU priority for this thread");
#endif
#ifdef SYS_ioprio_set
	/* Who 0 is the calling thread. */
	if (syscall(SYS_ioprio_set, THREAD_IOPRIO_WHO_PROCESS, 0,
	    THREAD_IOPRIO_CLASS_IDLE << THREAD_IOPRIO_CLASS_SHIFT) != 0)
		log_debug("main", "no idle I/O priority for this thread");
#endif
}

void
thread_name(const char *name)
{
	char n[16];

	/* pthread_setname_np() refuses names past 15 bytes; truncate instead. */
	strncpy(n, name, sizeof(n) - 1);
	n[sizeof(n) - 1] = '\0';
	(void)pthread_setname_np(pthread_self(), n);
}
