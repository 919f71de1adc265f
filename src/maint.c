/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>

#include "conf.h"
#include "err.h"
#include "index.h"
#include "log.h"
#include "maint.h"
#include "output.h"
#include "records.h"
#include "store.h"

#define MAINT_PRUNE_BATCH	5000
#define MAINT_RETENTION_EVERY_MS (3600 * 1000)
/* Steps (transactions) of the records migration per tick. */
#define MAINT_MIGRATE_STEPS	8

struct maint_prune {
	int64_t		older;
	unsigned	deleted;
};

static int
maint_prune_apply(struct store_txn *txn, void *arg)
{
	struct maint_prune *p = arg;

	p->deleted = 0;
	return index_prune(txn, p->older, MAINT_PRUNE_BATCH, &p->deleted);
}

int
maint_retention(struct store *st, int64_t older_than_ms, uint64_t *deleted)
{
	struct maint_prune p = { .older = older_than_ms };
	int rc;

	*deleted = 0;
	do {
		if ((rc = store_run(st, maint_prune_apply, &p)) != CD_EOK)
			return rc;
		*deleted += p.deleted;
	} while (p.deleted == MAINT_PRUNE_BATCH);
	return CD_EOK;
}

/* Only the main thread runs maintenance: a plain static is enough. */
static int64_t maint_last_retention;
static struct records_migration maint_records;
static bool maint_records_started;

static int
maint_migrate_apply(struct store_txn *txn, void *arg)
{
	return records_migrate(txn, arg);
}

/*
 * Fold the per-record entries of stores written before the interval format
 * (records.h), a few bounded transactions per tick, until none remain: the
 * writer folds the pairs it claims on its own, this takes the rest (hosts
 * that no longer send), so the old entries do not stay forever.
 */
static void
maint_records_migrate(struct store *st)
{
	int rc = CD_EOK;

	if (!maint_records_started) {
		records_migration_init(&maint_records);
		maint_records_started = true;
	}
	for (int i = 0; i < MAINT_MIGRATE_STEPS && !maint_records.done &&
	    rc == CD_EOK; i++)
		rc = store_run(st, maint_migrate_apply, &maint_records);
	if (rc != CD_EOK)
		log_warn("maint", "records migration failed: %s", cd_strerror(rc));
	else if (maint_records.done && maint_records.folded > 0) {
		log_info("maint", "records migration: %" PRIu64
		    " per-record entries folded into intervals", maint_records.folded);
		maint_records.folded = 0;
	}
}

void
maint_reset(void)
{
	maint_last_retention = 0;
}

void
maint_tick(struct store *st, struct outputs *outs, const struct cd_conf *conf,
    int64_t now_ms)
{
	int64_t last_retention = maint_last_retention;
	uint64_t deleted;
	int rc;

	if ((rc = outputs_prune(outs)) != CD_EOK)
		log_warn("maint", "spool pruning failed: %s", cd_strerror(rc));
	if (!maint_records.done)
		maint_records_migrate(st);
	if (conf->dns.retention_days == 0 ||
	    (last_retention != 0 && now_ms - last_retention < MAINT_RETENTION_EVERY_MS))
		return;
	maint_last_retention = now_ms;
	int64_t older = now_ms - (int64_t)conf->dns.retention_days * 86400 * 1000;
	rc = maint_retention(st, older, &deleted);
	if (rc != CD_EOK)
		log_warn("maint", "index retention failed: %s", cd_strerror(rc));
	else if (deleted > 0)
		log_info("maint", "index retention: %" PRIu64 " entries older than %u days removed",
		    deleted, conf->dns.retention_days);
}
