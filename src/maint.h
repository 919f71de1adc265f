/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Periodic maintenance driven by the main thread's one-second tick:
 * spool pruning (what every output has delivered) and the DNS index
 * retention (per-pair detail older than the configured number of days),
 * and the one-time migration of old per-record "records" entries.
 * Every deletion runs as bounded writer jobs, so ingest is never blocked
 * for long.
 */
#ifndef CD_MAINT_H
#define CD_MAINT_H

#include <stdint.h>

struct store;
struct outputs;
struct cd_conf;

/**
 * Run what is due at now_ms: spool pruning every call, index retention
 * once an hour (and at the first call) when conf->dns.retention_days > 0.
 * Errors are logged; the next tick tries again.
 */
void maint_tick(struct store *st, struct outputs *outs,
    const struct cd_conf *conf, int64_t now_ms);

/** Make the next maint_tick() run the retention (after a reload). */
void maint_reset(void);

/**
 * Drop index detail last seen before older_than_ms, in bounded
 * transactions. *deleted gets the total. CD_EOK or the store's error.
 */
int maint_retention(struct store *st, int64_t older_than_ms, uint64_t *deleted);

#endif
