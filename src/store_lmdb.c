/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The LMDB side of the store: environment, named databases, transactions
 * and cursors. This is the only file that includes <lmdb.h>; every LMDB
 * error is translated by store_lmdb_err() before it leaves.
 *
 * The growth gate is a rwlock: every transaction of this process (readers
 * and the writer's) holds it shared for its whole life, and changing the map
 * size (mdb_env_set_mapsize requires that no transaction is active in the
 * process) holds it exclusive. It prefers writers, so a pending growth stops
 * new readers instead of waiting for a moment with none.
 */
#include "config.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "be.h"
#include "err.h"
#include "log.h"
#include "store_int.h"

#define STORE_LMDB_MAP_INITIAL	((size_t)64 << 20)
#define STORE_LMDB_MAP_MAX	((size_t)64 << 30)
#define STORE_LMDB_MAX_READERS	254
/* Reset read transactions kept for renewal (each keeps a reader slot). */
#define STORE_LMDB_TXN_CACHE	32
#define STORE_LMDB_FORMAT	1
/* Below this much free space a failed write means the disk is full: LMDB
 * reports a short write (the usual form of ENOSPC on a nearly full file
 * system) as EIO. */
#define STORE_LMDB_LOW_SPACE	((uint64_t)1 << 20)

struct store_txn {
	struct store_env *env;
	MDB_txn		*txn;
	bool		 rdonly;
	int		 ret;		/**< sticky error (write) */
};

struct store_env {
	MDB_env		*env;
	MDB_dbi		 dbi[STORE_DBI_COUNT];
	pthread_rwlock_t gate;
	bool		 gate_init;
	size_t		 map_size;	/**< changed under the gate */
	size_t		 map_max;
	char		*dir;
	struct store_txn wtxn;		/**< the writer's transaction */
	/* Read transactions are reset, not aborted, and renewed by the next
	 * reader (any thread, thanks to MDB_NOTLS): renewal skips the reader
	 * slot search and the allocation (back-mdb, Knot Resolver). */
	pthread_mutex_t	 cache_lock;
	MDB_txn		*cache[STORE_LMDB_TXN_CACHE];
	int		 ncache;
};

struct store_iter {
	struct store_txn *txn;
	MDB_cursor	*cur;
	MDB_val		 key;
	MDB_val		 val;
	bool		 valid;		/**< key, val are set */
};

static const char *const store_lmdb_names[STORE_DBI_COUNT] = {
	[STORE_DBI_META] = "meta",
	[STORE_DBI_BOOKMARKS] = "bookmarks",
	[STORE_DBI_SOURCES] = "sources",
	[STORE_DBI_HOSTS] = "hosts",
	[STORE_DBI_RECORDS] = "records",
	[STORE_DBI_SPOOL] = "spool",
	[STORE_DBI_CURSORS] = "cursors",
	[STORE_DBI_DNS_DOMAIN] = "dns_domain",
	[STORE_DBI_DNS_HOSTDOM] = "dns_hostdom",
	[STORE_DBI_DNS_REGDOM] = "dns_regdom",
	[STORE_DBI_DNS_FIRST] = "dns_first",
	[STORE_DBI_DNS_HOSTFIRST] = "dns_hostfirst",
	[STORE_DBI_DNS_IP] = "dns_ip",
	[STORE_DBI_PROCS] = "procs",
};

static int	store_lmdb_err(int, const char *);
static bool	store_lmdb_poisons(int);
static int	store_lmdb_mkdirs(const char *);
static int	store_lmdb_setup(struct store_env *);
static int	store_lmdb_begin(struct store_env *, struct store_txn *,
		    bool);
static void	store_lmdb_end(struct store_txn *);
static int	store_lmdb_start(struct store_env *, bool, MDB_txn **);
static void	store_lmdb_read_end(struct store_txn *);
static int	store_lmdb_op_err(struct store_txn *, int, const char *);
static void	store_lmdb_resized(struct store_env *);
static bool	store_lmdb_disk_low(const struct store_env *);
static int	store_lmdb_key(const struct store_txn *, enum store_dbi,
		    size_t);
static int	store_iter_move(struct store_iter *, MDB_cursor_op);

/*
 * The one place where LMDB codes become ours. The library's text goes to the
 * log with the context; expected outcomes (not found, map full: the writer
 * grows the map) are not logged as errors.
 */
static int
store_lmdb_err(int rc, const char *ctx)
{
	switch (rc) {
	case MDB_SUCCESS:
		return CD_EOK;
	case MDB_NOTFOUND:
		return CD_ENOTFOUND;
	case MDB_MAP_FULL:
		log_debug("store", "%s: %s", ctx, mdb_strerror(rc));
		return CD_EMAPFULL;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_BAD_VALSIZE:
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
		log_warn("store", "%s: %s", ctx, mdb_strerror(rc));
		return CD_ETOOBIG;
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		log_warn("store", "%s: %s", ctx, mdb_strerror(rc));
		return CD_EBUSY;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		log_err("store", "%s: %s", ctx, mdb_strerror(rc));
		return CD_ECORRUPT;
	case ENOSPC:
	case EDQUOT:
		log_err("store", "%s: %s", ctx, mdb_strerror(rc));
		return CD_EDISKFULL;
	case ENOMEM:
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOENT:
	case EAGAIN:
	case EINVAL:
		log_err("store", "%s: %s", ctx, mdb_strerror(rc));
		return -rc;
	}
	log_err("store", "%s: %s", ctx, mdb_strerror(rc));
	return CD_ESTORE;
}

/* Errors after which LMDB refuses further work in the transaction
 * (MDB_TXN_ERROR); everything else leaves it usable. */
static bool
store_lmdb_poisons(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
	case MDB_NOTFOUND:
	case MDB_KEYEXIST:
	case MDB_BAD_VALSIZE:
	case EINVAL:
	case EACCES:
		return false;
	}
	return true;
}

const char *
store_dbi_name(enum store_dbi dbi)
{
	if ((unsigned)dbi >= STORE_DBI_COUNT)
		return NULL;
	return store_lmdb_names[dbi];
}

/* mkdir -p with mode 0700 for the directories it creates. */
static int
store_lmdb_mkdirs(const char *dir)
{
	char *path = strdup(dir);
	int rc = CD_EOK;

	if (path == NULL)
		return -ENOMEM;
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			rc = -errno;
			log_err("store", "mkdir %s: %s", path, strerror(errno));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
out:
	free(path);
	return rc;
}

/*
 * Open every named database in one transaction and check the format record.
 * A new environment (an empty main database) gets the record; an existing one
 * must carry ours, anything else is another format or another program's env.
 */
static int
store_lmdb_setup(struct store_env *e)
{
	MDB_txn *txn = NULL;
	MDB_dbi main_dbi;
	MDB_stat ms;
	MDB_val k = { 6, "format" }, v;
	uint8_t fmt[4] = { STORE_LMDB_FORMAT >> 24, STORE_LMDB_FORMAT >> 16,
	    STORE_LMDB_FORMAT >> 8, STORE_LMDB_FORMAT };
	bool fresh;
	int rc;

	rc = mdb_txn_begin(e->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS)
		goto fail;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != MDB_SUCCESS ||
	    (rc = mdb_stat(txn, main_dbi, &ms)) != MDB_SUCCESS)
		goto fail;
	fresh = ms.ms_entries == 0;
	for (int i = 0; i < STORE_DBI_COUNT; i++) {
		rc = mdb_dbi_open(txn, store_lmdb_names[i], MDB_CREATE,
		    &e->dbi[i]);
		if (rc != MDB_SUCCESS)
			goto fail;
	}
	if (fresh) {
		v.mv_size = sizeof(fmt);
		v.mv_data = fmt;
		rc = mdb_put(txn, e->dbi[STORE_DBI_META], &k, &v, 0);
		if (rc != MDB_SUCCESS)
			goto fail;
	} else {
		rc = mdb_get(txn, e->dbi[STORE_DBI_META], &k, &v);
		if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS &&
		    (v.mv_size != sizeof(fmt) ||
		    memcmp(v.mv_data, fmt, sizeof(fmt)) != 0))) {
			log_err("store", "%s: not a collectord store of format "
			    "%d", e->dir, STORE_LMDB_FORMAT);
			mdb_txn_abort(txn);
			return CD_ECORRUPT;
		}
		if (rc != MDB_SUCCESS)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != MDB_SUCCESS)
		goto fail;
	return CD_EOK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return store_lmdb_err(rc, "open databases");
}

int
store_lmdb_open(struct store_env **out, const struct store_options *opt)
{
	struct store_env *e = NULL;
	MDB_envinfo info;
	unsigned flags = MDB_NOTLS;
	int rc, dead;

	*out = NULL;
	if (opt == NULL || opt->dir == NULL || opt->dir[0] == '\0')
		return -EINVAL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -ENOMEM;
	e->map_size = opt->map_initial ? opt->map_initial :
	    STORE_LMDB_MAP_INITIAL;
	e->map_max = opt->map_max ? opt->map_max : STORE_LMDB_MAP_MAX;
	if (e->map_max < e->map_size)
		e->map_max = e->map_size;
	if ((e->dir = strdup(opt->dir)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = store_lmdb_mkdirs(opt->dir)) != CD_EOK)
		goto fail;

	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&e->gate, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0) {
		rc = -rc;
		goto fail;
	}
	e->gate_init = true;
	pthread_mutex_init(&e->cache_lock, NULL);

	if ((rc = mdb_env_create(&e->env)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_maxdbs(e->env, STORE_DBI_COUNT)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_maxreaders(e->env, STORE_LMDB_MAX_READERS)) !=
	    MDB_SUCCESS ||
	    (rc = mdb_env_set_mapsize(e->env, e->map_size)) != MDB_SUCCESS) {
		rc = store_lmdb_err(rc, "create environment");
		goto fail;
	}
	/* MDB_NOTLS: read transactions are not tied to threads, and MHD or
	 * API threads may come and go. Durability by default: a commit is an
	 * acknowledgement to a WEF client. */
	if (opt->nosync)
		flags |= MDB_NOSYNC;
	if ((rc = mdb_env_open(e->env, opt->dir, flags, 0600)) != MDB_SUCCESS) {
		log_err("store", "open %s", opt->dir);
		rc = store_lmdb_err(rc, "mdb_env_open");
		goto fail;
	}
	if (mdb_reader_check(e->env, &dead) == MDB_SUCCESS && dead > 0)
		log_info("store", "cleared %d stale reader slots", dead);
	if ((rc = store_lmdb_setup(e)) != CD_EOK)
		goto fail;
	/* LMDB keeps a map at least as large as the data file, so after a
	 * restart the map may be bigger than map_initial. */
	mdb_env_info(e->env, &info);
	e->map_size = info.me_mapsize;
	if (e->map_max < e->map_size)
		e->map_max = e->map_size;
	e->wtxn.env = e;
	*out = e;
	return CD_EOK;
fail:
	store_lmdb_close(e);
	return rc;
}

void
store_lmdb_close(struct store_env *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < e->ncache; i++)
		mdb_txn_abort(e->cache[i]);
	if (e->env != NULL)
		mdb_env_close(e->env);
	if (e->gate_init) {
		pthread_rwlock_destroy(&e->gate);
		pthread_mutex_destroy(&e->cache_lock);
	}
	free(e->dir);
	free(e);
}

/* Another process grew the map: adopt its size (only possible while no
 * transaction of ours is active, hence the exclusive gate). */
static void
store_lmdb_resized(struct store_env *e)
{
	MDB_envinfo info;
	int rc;

	pthread_rwlock_wrlock(&e->gate);
	rc = mdb_env_set_mapsize(e->env, 0);
	if (rc == MDB_SUCCESS) {
		mdb_env_info(e->env, &info);
		e->map_size = info.me_mapsize;
		log_info("store", "map resized by another process to %zu bytes",
		    e->map_size);
	} else
		store_lmdb_err(rc, "adopt new map size");
	pthread_rwlock_unlock(&e->gate);
}

/*
 * Begin a transaction holding the gate shared. MDB_MAP_RESIZED and
 * MDB_READERS_FULL are each handled and retried once.
 */
static int
store_lmdb_begin(struct store_env *e, struct store_txn *t, bool rdonly)
{
	bool resized = false, readers = false;
	int rc;

	t->env = e;
	t->txn = NULL;
	t->rdonly = rdonly;
	t->ret = CD_EOK;
	for (;;) {
		pthread_rwlock_rdlock(&e->gate);
		rc = store_lmdb_start(e, rdonly, &t->txn);
		if (rc == MDB_SUCCESS)
			return CD_EOK;
		pthread_rwlock_unlock(&e->gate);
		t->txn = NULL;
		if (rc == MDB_MAP_RESIZED && !resized) {
			resized = true;
			store_lmdb_resized(e);
		} else if (rc == MDB_READERS_FULL && !readers) {
			int dead = 0;

			readers = true;
			mdb_reader_check(e->env, &dead);
			log_warn("store", "reader table full, cleared %d stale "
			    "slots", dead);
		} else
			return store_lmdb_err(rc, "begin transaction");
	}
}

/* Renew a cached read transaction or begin a new one (gate held). */
static int
store_lmdb_start(struct store_env *e, bool rdonly, MDB_txn **out)
{
	MDB_txn *txn = NULL;

	if (rdonly) {
		pthread_mutex_lock(&e->cache_lock);
		if (e->ncache > 0)
			txn = e->cache[--e->ncache];
		pthread_mutex_unlock(&e->cache_lock);
	}
	if (txn != NULL) {
		if (mdb_txn_renew(txn) == MDB_SUCCESS) {
			*out = txn;
			return MDB_SUCCESS;
		}
		/* A fresh begin reports the same condition, if any. */
		mdb_txn_abort(txn);
	}
	return mdb_txn_begin(e->env, NULL, rdonly ? MDB_RDONLY : 0, out);
}

/* End a read transaction: reset it, leave the gate, keep it for reuse. */
static void
store_lmdb_read_end(struct store_txn *t)
{
	struct store_env *e = t->env;
	MDB_txn *txn = t->txn;

	mdb_txn_reset(txn);
	store_lmdb_end(t);
	pthread_mutex_lock(&e->cache_lock);
	if (e->ncache < STORE_LMDB_TXN_CACHE) {
		e->cache[e->ncache++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&e->cache_lock);
	if (txn != NULL)
		mdb_txn_abort(txn);
}

static void
store_lmdb_end(struct store_txn *t)
{
	t->txn = NULL;
	pthread_rwlock_unlock(&t->env->gate);
}

int
store_read_begin(struct store *st, struct store_txn **out)
{
	struct store_txn *t;
	int rc;

	*out = NULL;
	if ((t = malloc(sizeof(*t))) == NULL)
		return -ENOMEM;
	if ((rc = store_lmdb_begin(st->st_env, t, true)) != CD_EOK) {
		free(t);
		return rc;
	}
	*out = t;
	return CD_EOK;
}

void
store_read_end(struct store_txn *t)
{
	if (t == NULL)
		return;
	store_lmdb_read_end(t);
	free(t);
}

int
store_lmdb_write_begin(struct store_env *e, struct store_txn **out)
{
	int rc = store_lmdb_begin(e, &e->wtxn, false);

	*out = rc == CD_EOK ? &e->wtxn : NULL;
	return rc;
}

/* Free space is tested only after a failed write, to tell a full disk
 * from a real I/O error. */
static bool
store_lmdb_disk_low(const struct store_env *e)
{
	struct statvfs sv;

	if (statvfs(e->dir, &sv) != 0)
		return false;
	return (uint64_t)sv.f_bavail * sv.f_frsize < STORE_LMDB_LOW_SPACE;
}

int
store_lmdb_commit(struct store_txn *t)
{
	int rc;

	if (t->ret != CD_EOK) {
		rc = t->ret;
		mdb_txn_abort(t->txn);
		store_lmdb_end(t);
		return rc;
	}
	rc = mdb_txn_commit(t->txn);
	store_lmdb_end(t);
	if (rc == EIO && store_lmdb_disk_low(t->env))
		rc = ENOSPC;
	return store_lmdb_err(rc, "commit");
}

void
store_lmdb_abort(struct store_txn *t)
{
	mdb_txn_abort(t->txn);
	store_lmdb_end(t);
}

int
store_lmdb_txn_err(const struct store_txn *t)
{
	return t->ret;
}

int
store_lmdb_grow(struct store_env *e)
{
	size_t next;
	int rc = CD_EOK, mrc;

	pthread_rwlock_wrlock(&e->gate);
	if (e->map_size >= e->map_max) {
		rc = CD_EMAPFULL;
		goto out;
	}
	next = e->map_size > e->map_max / 2 ? e->map_max : e->map_size * 2;
	if ((mrc = mdb_env_set_mapsize(e->env, next)) != MDB_SUCCESS) {
		rc = store_lmdb_err(mrc, "grow map");
		goto out;
	}
	log_info("store", "map grown from %zu to %zu bytes", e->map_size, next);
	e->map_size = next;
out:
	pthread_rwlock_unlock(&e->gate);
	return rc;
}

void
store_lmdb_reader_check(struct store_env *e)
{
	int dead = 0;

	if (mdb_reader_check(e->env, &dead) == MDB_SUCCESS && dead > 0)
		log_info("store", "cleared %d stale reader slots", dead);
}

int
store_lmdb_stats(struct store_env *e, struct store_stats *out)
{
	struct store_txn t;
	MDB_envinfo info;
	MDB_stat ms;
	int rc;

	if ((rc = store_lmdb_begin(e, &t, true)) != CD_EOK)
		return rc;
	mdb_env_info(e->env, &info);
	mdb_env_stat(e->env, &ms);
	out->map_size = info.me_mapsize;
	out->page_size = ms.ms_psize;
	out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	for (int i = 0; i < STORE_DBI_COUNT; i++) {
		if ((rc = mdb_stat(t.txn, e->dbi[i], &ms)) != MDB_SUCCESS) {
			rc = store_lmdb_err(rc, "stat");
			goto out;
		}
		out->entries[i] = ms.ms_entries;
	}
	rc = CD_EOK;
out:
	store_lmdb_read_end(&t);
	return rc;
}

/* Translate the failure of a data operation; one that leaves LMDB's write
 * transaction unusable becomes the transaction's sticky error. */
static int
store_lmdb_op_err(struct store_txn *t, int mrc, const char *ctx)
{
	int rc = store_lmdb_err(mrc, ctx);

	if (!t->rdonly && t->ret == CD_EOK && store_lmdb_poisons(mrc))
		t->ret = rc;
	return rc;
}

/* Common checks of a data operation: a live txn, a known database and a
 * key LMDB accepts. */
static int
store_lmdb_key(const struct store_txn *t, enum store_dbi dbi, size_t klen)
{
	if (t == NULL || (unsigned)dbi >= STORE_DBI_COUNT || klen == 0)
		return -EINVAL;
	if (t->ret != CD_EOK)
		return t->ret;
	if (klen > (size_t)mdb_env_get_maxkeysize(t->env->env))
		return CD_ETOOBIG;
	return CD_EOK;
}

int
store_get(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen, struct store_val *val)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	if ((rc = store_lmdb_key(t, dbi, klen)) != CD_EOK)
		return rc;
	rc = mdb_get(t->txn, t->env->dbi[dbi], &k, &v);
	if (rc != MDB_SUCCESS)
		return store_lmdb_op_err(t, rc, "get");
	val->data = v.mv_data;
	val->len = v.mv_size;
	return CD_EOK;
}

int
store_get_be64(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen, uint64_t *out)
{
	struct store_val v;
	int rc = store_get(t, dbi, key, klen, &v);

	if (rc != CD_EOK)
		return rc;
	if (v.len != 8)
		return CD_ECORRUPT;
	*out = be64_get(v.data);
	return CD_EOK;
}

int
store_put(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc;

	if ((rc = store_lmdb_key(t, dbi, klen)) != CD_EOK)
		return rc;
	if (t->rdonly)
		return -EINVAL;
	rc = mdb_put(t->txn, t->env->dbi[dbi], &k, &v, 0);
	if (rc != MDB_SUCCESS)
		return store_lmdb_op_err(t, rc, "put");
	return CD_EOK;
}

/* A put that reserves vlen bytes for the caller to fill (MDB_RESERVE). With
 * append, MDB_APPEND is tried first: it refuses a key that is not past the
 * last one with MDB_KEYEXIST and changes nothing, and the ordinary put then
 * decides. */
static int
store_lmdb_reserve(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen, size_t vlen, bool append, void **out)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, NULL };
	int rc;

	*out = NULL;
	if ((rc = store_lmdb_key(t, dbi, klen)) != CD_EOK)
		return rc;
	if (t->rdonly)
		return -EINVAL;
	rc = MDB_KEYEXIST;
	if (append)
		rc = mdb_put(t->txn, t->env->dbi[dbi], &k, &v, MDB_RESERVE | MDB_APPEND);
	if (rc == MDB_KEYEXIST) {
		v.mv_size = vlen;
		v.mv_data = NULL;
		rc = mdb_put(t->txn, t->env->dbi[dbi], &k, &v, MDB_RESERVE);
	}
	if (rc != MDB_SUCCESS)
		return store_lmdb_op_err(t, rc, "put");
	*out = v.mv_data;
	return CD_EOK;
}

int
store_put_reserve(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen, size_t vlen, void **out)
{
	return store_lmdb_reserve(t, dbi, key, klen, vlen, false, out);
}

int
store_append_reserve(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen, size_t vlen, void **out)
{
	return store_lmdb_reserve(t, dbi, key, klen, vlen, true, out);
}

int
store_del(struct store_txn *t, enum store_dbi dbi, const void *key,
    size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int rc;

	if ((rc = store_lmdb_key(t, dbi, klen)) != CD_EOK)
		return rc;
	if (t->rdonly)
		return -EINVAL;
	rc = mdb_del(t->txn, t->env->dbi[dbi], &k, NULL);
	if (rc != MDB_SUCCESS)
		return store_lmdb_op_err(t, rc, "del");
	return CD_EOK;
}

int
store_count(struct store_txn *t, enum store_dbi dbi, uint64_t *out)
{
	MDB_stat ms;
	int rc;

	if (t == NULL || (unsigned)dbi >= STORE_DBI_COUNT)
		return -EINVAL;
	if (t->ret != CD_EOK)
		return t->ret;
	if ((rc = mdb_stat(t->txn, t->env->dbi[dbi], &ms)) != MDB_SUCCESS)
		return store_lmdb_err(rc, "count");
	*out = ms.ms_entries;
	return CD_EOK;
}

int
store_iter_open(struct store_txn *t, enum store_dbi dbi,
    struct store_iter **out)
{
	struct store_iter *it;
	int rc;

	*out = NULL;
	if (t == NULL || (unsigned)dbi >= STORE_DBI_COUNT)
		return -EINVAL;
	if (t->ret != CD_EOK)
		return t->ret;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return -ENOMEM;
	it->txn = t;
	rc = mdb_cursor_open(t->txn, t->env->dbi[dbi], &it->cur);
	if (rc != MDB_SUCCESS) {
		free(it);
		return store_lmdb_err(rc, "open cursor");
	}
	*out = it;
	return CD_EOK;
}

/* Move the cursor and remember where it stands. */
static int
store_iter_move(struct store_iter *it, MDB_cursor_op op)
{
	int rc;

	rc = mdb_cursor_get(it->cur, &it->key, &it->val, op);
	it->valid = rc == MDB_SUCCESS;
	if (rc != MDB_SUCCESS)
		return store_lmdb_op_err(it->txn, rc, "cursor");
	return CD_EOK;
}

int
store_iter_seek(struct store_iter *it, const void *key, size_t klen)
{
	if (klen == 0)
		return store_iter_move(it, MDB_FIRST);
	if (klen > (size_t)mdb_env_get_maxkeysize(it->txn->env->env))
		return CD_ETOOBIG;
	it->key.mv_size = klen;
	it->key.mv_data = (void *)key;
	return store_iter_move(it, MDB_SET_RANGE);
}

int
store_iter_last(struct store_iter *it)
{
	return store_iter_move(it, MDB_LAST);
}

int
store_iter_next(struct store_iter *it)
{
	return store_iter_move(it, MDB_NEXT);
}

int
store_iter_prev(struct store_iter *it)
{
	return store_iter_move(it, MDB_PREV);
}

void
store_iter_get(struct store_iter *it, struct store_val *key,
    struct store_val *val)
{
	if (key != NULL) {
		key->data = it->valid ? it->key.mv_data : NULL;
		key->len = it->valid ? it->key.mv_size : 0;
	}
	if (val != NULL) {
		val->data = it->valid ? it->val.mv_data : NULL;
		val->len = it->valid ? it->val.mv_size : 0;
	}
}

int
store_iter_del(struct store_iter *it)
{
	int rc;

	if (it->txn->rdonly || !it->valid)
		return -EINVAL;
	/* LMDB leaves the cursor on the entry after the deleted one, and the
	 * next MDB_NEXT returns that entry (MDB_PREV the one before). */
	rc = mdb_cursor_del(it->cur, 0);
	it->valid = false;
	if (rc != MDB_SUCCESS)
		return store_lmdb_op_err(it->txn, rc, "cursor del");
	return CD_EOK;
}

void
store_iter_close(struct store_iter *it)
{
	if (it == NULL)
		return;
	mdb_cursor_close(it->cur);
	free(it);
}
