/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The file output. Each record becomes one line, appended with write();
 * the file is fsync'd before send() confirms a batch, which is the file
 * output's guarantee: a confirmed record is on disk. A record whose write
 * fails half-way is cut off again (ftruncate), so a resend never leaves a
 * torn line behind.
 *
 * Rotation: before a record that would take the file past rotate_bytes, or
 * once the file is older than rotate_seconds (counted from when collectord
 * opened it), the file is fsync'd and renamed to NAME.TIMESTAMP, a new one
 * is opened, and (compress) the rotated file is compressed (zstd by
 * default, or gzip: zwriter.h) into NAME.TIMESTAMP.zst (.gz) through a
 * temporary name and a rename. Then only the newest `keep` rotated files
 * are kept. Compression runs in a thread of its own (one at a time: the
 * next rotation waits for the previous one), so the output goes on
 * delivering meanwhile. TIMESTAMP is
 * YYYYMMDDTHHMMSS.mmmZ (UTC), bumped by a millisecond when taken, so names
 * sort in rotation order. reopen() (SIGHUP) closes the file; the next send
 * opens the path again, for logrotate-style external rotation.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "output.h"
#include "output_file.h"
#include "output_kv.h"
#include "output_sinks.h"
#include "thread.h"
#include "timeparse.h"
#include "zwriter.h"

#define OUTPUT_FILE_ROTATE_BYTES	(100ULL * 1024 * 1024)
#define OUTPUT_FILE_ROTATE_SECONDS	86400
#define OUTPUT_FILE_KEEP		10
#define OUTPUT_FILE_MODE		0640
#define OUTPUT_FILE_STAMP_LEN		20	/* YYYYMMDDTHHMMSS.mmmZ */

struct output_file {
	char		*name;		/* the output's name, for the log */
	char		*path;
	char		*dir;		/* directory of path */
	char		*base;		/* file name part of path */
	uint64_t	 rotate_bytes;	/* 0: never by size */
	int64_t		 rotate_seconds; /* 0: never by age */
	unsigned	 keep;		/* 0: keep all */
	enum zwriter_codec codec;	/* of rotated files */
	mode_t		 mode;

	int		 fd;		/* -1: closed, open at the next send */
	uint64_t	 size;
	int64_t		 opened_ms;
	int64_t		 last_stamp;	/* last rotation stamp used, ms */
	bool		 failing;	/* log state changes only */

	/* The compression of the last rotated file, when one was started. */
	pthread_t	 gz_thread;
	bool		 gz_running;
	atomic_bool	 gz_hurry;	/* set: stop pacing, someone waits */
	atomic_bool	 gz_stop;	/* set: give up, the output stops */
	atomic_bool	 gz_done;	/* set by the thread as it ends */
};

static int	output_file_create(const struct conf_output *, void **, char **);
static int	output_file_send(void *, const struct output_msg *, size_t, size_t *);
static void	output_file_reopen(void *);
static void	output_file_destroy(void *);
static int	output_file_open(struct output_file *);
static int	output_file_rotate(struct output_file *);
static void	output_file_sync_dir(const char *);
static int	output_file_compress(const char *, const char *, const char *,
		    enum zwriter_codec, atomic_bool *, atomic_bool *);
static void	output_file_remove(const char *);
static void	output_file_prune(struct output_file *);
static void	*output_file_gz_main(void *);
static void	output_file_gz_wait(struct output_file *, bool);
static bool	output_file_next_plain(struct output_file *, char *, char *, size_t);
static bool	output_file_is_rotated(const struct output_file *, const char *);
static int	output_file_cmp(const void *, const void *);
static void	output_file_fail(struct output_file *, const char *, int);

const struct output_sink_ops output_file_ops = {
	.type = "file",
	.create = output_file_create,
	.send = output_file_send,
	.reopen = output_file_reopen,
	.destroy = output_file_destroy,
};

static int64_t (*output_file_now)(void) = timeparse_now_ms;

void
output_file_set_clock(int64_t (*now_ms)(void))
{
	output_file_now = now_ms != NULL ? now_ms : timeparse_now_ms;
}

static int
output_file_create(const struct conf_output *conf, void **sinkp, char **errmsg)
{
	struct output_file *f;
	struct buf errs;
	int rc = CD_EOK;

	*sinkp = NULL;
	*errmsg = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	atomic_init(&f->gz_hurry, false);
	atomic_init(&f->gz_stop, false);
	atomic_init(&f->gz_done, false);
	buf_init(&errs, 0);
	f->fd = -1;
	f->rotate_bytes = OUTPUT_FILE_ROTATE_BYTES;
	f->rotate_seconds = OUTPUT_FILE_ROTATE_SECONDS;
	f->keep = OUTPUT_FILE_KEEP;
	f->codec = ZWRITER_ZSTD;
	f->mode = OUTPUT_FILE_MODE;
	if ((f->name = strdup(conf->name)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < conf->nkv; i++) {
		const struct conf_kv *kv = &conf->kv[i];
		unsigned long v;
		char *end;

		if (output_kv_is_common(kv->key))
			continue;
		if (strcmp(kv->key, "path") == 0) {
			free(f->path);
			f->path = NULL;
			if (kv->value[0] == '\0' || kv->value[strlen(kv->value) - 1] == '/') {
				output_kv_err(&errs, conf, kv->line, "path must name a file");
				rc = CD_ECONFIG;
			} else if ((f->path = strdup(kv->value)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
		} else if (strcmp(kv->key, "rotate_bytes") == 0) {
			if (output_kv_ulong(kv->value, 0, ULONG_MAX, &v) != CD_EOK) {
				output_kv_err(&errs, conf, kv->line,
				    "rotate_bytes must be a number of bytes");
				rc = CD_ECONFIG;
			} else
				f->rotate_bytes = v;
		} else if (strcmp(kv->key, "rotate_seconds") == 0) {
			if (output_kv_ulong(kv->value, 0, INT64_MAX / 1000, &v) != CD_EOK) {
				output_kv_err(&errs, conf, kv->line,
				    "rotate_seconds must be a number of seconds");
				rc = CD_ECONFIG;
			} else
				f->rotate_seconds = (int64_t)v;
		} else if (strcmp(kv->key, "keep") == 0) {
			if (output_kv_ulong(kv->value, 0, 100000, &v) != CD_EOK) {
				output_kv_err(&errs, conf, kv->line, "keep must be 0..100000");
				rc = CD_ECONFIG;
			} else
				f->keep = (unsigned)v;
		} else if (strcmp(kv->key, "compress") == 0) {
			bool on;
			/* The booleans every setting takes (true: the default
			 * codec), or a codec's name. */
			if (output_kv_bool(kv->value, &on) == CD_EOK)
				f->codec = on ? ZWRITER_ZSTD : ZWRITER_NONE;
			else if (zwriter_codec_parse(kv->value, &f->codec) != CD_EOK) {
				output_kv_err(&errs, conf, kv->line,
				    "compress must be zstd, gzip, true (zstd) or false");
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "mode") == 0) {
			/* Octal, as chmod takes it: the one setting that is. */
			errno = 0;
			v = strtoul(kv->value, &end, 8);
			if (kv->value[0] < '0' || kv->value[0] > '9' || errno != 0 ||
			    *end != '\0' || v > 07777) {
				output_kv_err(&errs, conf, kv->line,
				    "mode must be octal, like 0640");
				rc = CD_ECONFIG;
			} else
				f->mode = (mode_t)v;
		} else {
			output_kv_err(&errs, conf, kv->line,
			    "unknown setting \"%s\" for a file output", kv->key);
			rc = CD_ECONFIG;
		}
	}
	if (f->path == NULL && rc == CD_EOK) {
		output_kv_err(&errs, conf, 0, "path is required");
		rc = CD_ECONFIG;
	}
	if (rc != CD_EOK)
		goto fail;
	char *d1 = strdup(f->path), *d2 = strdup(f->path);
	if (d1 == NULL || d2 == NULL || (f->dir = strdup(dirname(d1))) == NULL ||
	    (f->base = strdup(basename(d2))) == NULL)
		rc = -ENOMEM;
	free(d1);
	free(d2);
	if (rc != CD_EOK)
		goto fail;
	buf_free(&errs);
	*sinkp = f;
	return CD_EOK;
fail:
	output_kv_errs_end(rc, &errs, errmsg);
	output_file_destroy(f);
	return rc;
}

static void
output_file_fail(struct output_file *f, const char *what, int err)
{
	if (!f->failing)
		log_err("output", "output=%s %s %s: %s", f->name, what, f->path,
		    cd_strerror(err));
	f->failing = true;
}

static int
output_file_open(struct output_file *f)
{
	struct stat st;

	f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, f->mode);
	if (f->fd < 0) {
		int rc = -errno;
		output_file_fail(f, "cannot open", rc);
		return rc;
	}
	if (fstat(f->fd, &st) != 0) {
		int rc = -errno;
		close(f->fd);
		f->fd = -1;
		return rc;
	}
	f->size = (uint64_t)st.st_size;
	f->opened_ms = output_file_now();
	return CD_EOK;
}

/* fsync of the directory makes the renames durable. */
static void
output_file_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Write what the compressor has written so far to disk, once a step's
 * worth has piled up, and wait for it. Left to the final fsync, 20 MB of
 * compressed output reach the disk as one burst, and every fdatasync of the
 * store queued behind it waits too: measured at 20,000 events/s, such a
 * burst each rotation took the Ack p99 from about 60 ms to 400-600 ms.
 * Small waited-for steps (from this background thread, in the idle I/O
 * class) keep the disk's queue short for the store.
 */
#define OUTPUT_FILE_PACE_BYTES	(512 * 1024)

static void
output_file_pace(int fd, off_t *synced)
{
#ifdef SYNC_FILE_RANGE_WRITE
	off_t at = lseek(fd, 0, SEEK_CUR);

	if (at < 0 || at - *synced < OUTPUT_FILE_PACE_BYTES)
		return;
	/* Best effort: the fsync at the end is what makes the file durable. */
	(void)sync_file_range(fd, *synced, at - *synced,
	    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
	    SYNC_FILE_RANGE_WAIT_AFTER);
	*synced = at;
#else
	(void)fd;
	(void)synced;
#endif
}

/*
 * Remove a rotated file a step at a time: truncate it from the end, pause,
 * and unlink what is left. Freeing 100 MB at once makes the filesystem
 * discard it all at once (ext4 mounted with -o discard, usual on cloud
 * disks), which stalled the store's next commit for about 100 ms; RocksDB
 * deletes its files in truncated chunks for the same reason
 * (DeleteScheduler, bytes_max_delete_chunk).
 */
#define OUTPUT_FILE_REMOVE_STEP		(8 * 1024 * 1024)
#define OUTPUT_FILE_REMOVE_PAUSE_NS	5000000L

static void
output_file_remove(const char *path)
{
	struct timespec pause = { 0, OUTPUT_FILE_REMOVE_PAUSE_NS };
	struct stat st;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			off_t size = st.st_size;
			while (size > OUTPUT_FILE_REMOVE_STEP) {
				size -= OUTPUT_FILE_REMOVE_STEP;
				if (ftruncate(fd, size) != 0)
					break;
				nanosleep(&pause, NULL);
			}
		}
		close(fd);
	}
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("output", "cannot remove %s: %s", path, strerror(errno));
}

/*
 * Compress src into dst (through dst.tmp); once the rename is durable (dir
 * fsync'd), remove src. With hurry (the background thread), the work is
 * paced: after each chunk it sleeps as long as the chunk took, so the
 * compression takes at most half a core in small slices instead of a whole
 * one for a second. Even at idle priority a second-long burst every
 * rotation took the Ack p99 from 52 to 112-145 ms at 20,000 events/s (1,000
 * hosts, 100 MB rotations every ~4 s); paced like this, 60 ms. Once hurry
 * is set (output_file_settle() waits for it) it runs flat out; once stop
 * is set it gives up after the current chunk (CD_ESHUTDOWN, src kept).
 */
static int
output_file_compress(const char *src, const char *dst, const char *dir,
    enum zwriter_codec codec, atomic_bool *hurry, atomic_bool *stop)
{
	char tmp[4096], chunk[65536];
	int in = -1, out = -1, rc = CD_EOK;
	struct zwriter *z = NULL;
	ssize_t n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = zwriter_open(&z, out, codec)) != CD_EOK)
		goto out;
	off_t synced = 0;
	while ((n = read(in, chunk, sizeof(chunk))) > 0) {
		struct timespec t0, t1;
		if (stop != NULL && atomic_load(stop)) {
			/* Left uncompressed; compressed after a restart. */
			rc = CD_ESHUTDOWN;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((rc = zwriter_write(z, chunk, (size_t)n)) != CD_EOK)
			break;
		output_file_pace(out, &synced);
		if (hurry != NULL && !atomic_load(hurry)) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 +
			    (t1.tv_nsec - t0.tv_nsec);
			struct timespec nap = { (time_t)(ns / 1000000000),
			    (long)(ns % 1000000000) };
			if (ns > 0)
				nanosleep(&nap, NULL);
		}
	}
	if (n < 0 && rc == CD_EOK)
		rc = -errno;
	int zrc = zwriter_close(z);
	z = NULL;
	if (rc == CD_EOK)
		rc = zrc;
	if (rc == CD_EOK && fsync(out) != 0)
		rc = -errno;
	if (rc == CD_EOK) {
		struct stat st;
		if (fstat(in, &st) == 0)
			fchmod(out, st.st_mode & 07777);
		if (rename(tmp, dst) != 0)
			rc = -errno;
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc != CD_EOK)
		unlink(tmp);
	else {
		output_file_sync_dir(dir);
		output_file_remove(src);
	}
	return rc;
}

/* NAME.YYYYMMDDTHHMMSS.mmmZ, or the same with ".zst" or ".gz". */
static bool
output_file_is_rotated(const struct output_file *f, const char *name)
{
	size_t bl = strlen(f->base), nl = strlen(name);

	if (nl < bl + 1 + OUTPUT_FILE_STAMP_LEN || strncmp(name, f->base, bl) != 0 ||
	    name[bl] != '.')
		return false;
	const char *s = name + bl + 1, *rest = s + OUTPUT_FILE_STAMP_LEN;
	for (int i = 0; i < OUTPUT_FILE_STAMP_LEN; i++) {
		char c = s[i];
		bool ok = i == 8 ? c == 'T' : i == 15 ? c == '.' : i == 19 ? c == 'Z' :
		    c >= '0' && c <= '9';
		if (!ok)
			return false;
	}
	return *rest == '\0' || strcmp(rest, ".zst") == 0 ||
	    strcmp(rest, ".gz") == 0;
}

static int
output_file_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove all but the newest `keep` rotated files. */
static void
output_file_prune(struct output_file *f)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	if (f->keep == 0 || (d = opendir(f->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!output_file_is_rotated(f, de->d_name))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **v = realloc(names, nc * sizeof(*v));
			if (v == NULL)
				break;
			names = v;
			cap = nc;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	if (n > 1)	/* qsort() wants an array, even of nothing */
		qsort(names, n, sizeof(*names), output_file_cmp);
	for (size_t i = 0; i + f->keep < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		output_file_remove(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Close the current file (already fsync'd by the caller), rename it aside
 * and start a new one. A failed compression leaves the rotated file
 * uncompressed (still counted by keep) and is logged, not an error: the
 * records in it are safe.
 */
static int
output_file_rotate(struct output_file *f)
{
	char stamp[64], rot[4096];
	int64_t ms = output_file_now();
	struct tm tm;
	time_t t;
	int rc;

	if (ms <= f->last_stamp)
		ms = f->last_stamp + 1;
	f->last_stamp = ms;
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) != 15)
		return -ERANGE;
	snprintf(stamp + 15, sizeof(stamp) - 15, ".%03dZ", (int)(ms % 1000));
	/* With room left for the longest suffix a compressor adds (".zst"). */
	int rl = snprintf(rot, sizeof(rot), "%s.%s", f->path, stamp);
	if (rl < 0 || (size_t)rl + sizeof(".zst") > sizeof(rot))
		return -ENAMETOOLONG;
	if (rename(f->path, rot) != 0) {
		rc = -errno;
		output_file_fail(f, "cannot rotate", rc);
		return rc;
	}
	close(f->fd);
	f->fd = -1;
	if ((rc = output_file_open(f)) != CD_EOK)
		return rc;
	output_file_sync_dir(f->dir);
	log_info("output", "output=%s rotated %s to %s", f->name, f->path, rot);
	if (f->codec != ZWRITER_NONE) {
		/* A compression still running takes this file next (it works
		 * through every uncompressed rotated file, oldest first): the
		 * output never waits for it, whatever CPU it gets. */
		if (f->gz_running && !atomic_load(&f->gz_done))
			return CD_EOK;
		output_file_gz_wait(f, false);
		/* Set before the thread starts: it reads the flags. */
		f->gz_running = true;
		atomic_store(&f->gz_hurry, false);
		atomic_store(&f->gz_stop, false);
		atomic_store(&f->gz_done, false);
		if (pthread_create(&f->gz_thread, NULL, output_file_gz_main, f) == 0)
			return CD_EOK;
		f->gz_running = false;
		/* No thread: compress here, as before. */
		output_file_gz_main(f);
		return CD_EOK;
	}
	output_file_prune(f);
	return CD_EOK;
}

/*
 * The oldest rotated file not compressed yet: its path in src, the
 * compressed file's path (with the codec's suffix) in dst. Files the compressor already failed on this run are
 * skipped by the caller's count, not here.
 */
static bool
output_file_next_plain(struct output_file *f, char *src, char *dst, size_t len)
{
	struct dirent *de;
	char best[256] = "";
	DIR *d;

	if ((d = opendir(f->dir)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (!output_file_is_rotated(f, de->d_name) ||
		    (nl > 3 && strcmp(de->d_name + nl - 3, ".gz") == 0) ||
		    (nl > 4 && strcmp(de->d_name + nl - 4, ".zst") == 0) ||
		    nl >= sizeof(best))
			continue;
		if (best[0] == '\0' || strcmp(de->d_name, best) < 0)
			memcpy(best, de->d_name, nl + 1);
	}
	closedir(d);
	return best[0] != '\0' &&
	    (size_t)snprintf(src, len, "%s/%s", f->dir, best) < len &&
	    (size_t)snprintf(dst, len, "%s/%s%s", f->dir, best,
	    zwriter_suffix(f->codec)) < len;
}

/*
 * Compress every rotated file not compressed yet, oldest first, applying
 * keep after each (from the compression thread, or inline). A file that
 * cannot be compressed is kept as it is, and this run stops there (it
 * would be found again); the next rotation's run retries it.
 */
static void *
output_file_gz_main(void *arg)
{
	struct output_file *f = arg;
	bool thread = f->gz_running;
	char src[4096], dst[4096];
	int rc;

	if (thread) {
		/* Its own thread: compression is background work; it must not
		 * take CPU or disk time from the threads an Ack waits for. */
		thread_name("cd-compress");
		thread_background_hint();
	}
	while (!(thread && atomic_load(&f->gz_stop)) &&
	    output_file_next_plain(f, src, dst, sizeof(src))) {
		rc = output_file_compress(src, dst, f->dir, f->codec,
		    thread ? &f->gz_hurry : NULL, thread ? &f->gz_stop : NULL);
		if (rc == CD_ESHUTDOWN) {
			log_info("output", "output=%s compression of %s stopped: "
			    "it is compressed after the next rotation", f->name, src);
			break;
		}
		if (rc != CD_EOK) {
			log_warn("output", "output=%s cannot compress %s: %s (kept uncompressed)",
			    f->name, src, cd_strerror(rc));
			break;
		}
		log_info("output", "output=%s compressed %s", f->name, dst);
		output_file_sync_dir(f->dir);
		output_file_prune(f);
	}
	output_file_prune(f);
	atomic_store(&f->gz_done, true);
	return NULL;
}

void
output_file_settle(void *sink)
{
	struct output_file *f = sink;

	output_file_gz_wait(f, false);
	/* A file rotated as the thread ended: compress it here. */
	if (f->codec != ZWRITER_NONE)
		output_file_gz_main(f);
}

/*
 * Wait for the compression thread, if any: flat out (hurry), or, with
 * stop, giving up after its current chunk (what is left uncompressed is
 * compressed after the next rotation, also after a restart).
 */
static void
output_file_gz_wait(struct output_file *f, bool stop)
{
	if (!f->gz_running)
		return;
	atomic_store(stop ? &f->gz_stop : &f->gz_hurry, true);
	pthread_join(f->gz_thread, NULL);
	f->gz_running = false;
}

/* Records written with one writev() each run: one call per record was
 * the output thread's largest syscall cost. */
#define OUTPUT_FILE_IOV	512	/* iovecs per writev(), two per record */

/*
 * Append msgs[0..n) to the file, each with its newline. On an error the
 * records written whole stay (f->size covers them, *written counts them)
 * and a torn one is cut off, so the next send writes it again.
 */
static int
output_file_append(struct output_file *f, const struct output_msg *msgs, size_t n,
    size_t *written)
{
	struct iovec iov[OUTPUT_FILE_IOV];
	size_t i = 0;
	int rc = CD_EOK;

	*written = 0;
	while (i < n && rc == CD_EOK) {
		size_t k = 0, j = i, bytes = 0, done = 0, first = 0;
		for (; j < n && k + 2 <= OUTPUT_FILE_IOV; j++) {
			iov[k++] = (struct iovec){ (void *)msgs[j].data, msgs[j].len };
			iov[k++] = (struct iovec){ (void *)"\n", 1 };
			bytes += msgs[j].len + 1;
		}
		/* A short write (disk full, a signal): go on from where it
		 * stopped; the error, if any, comes with the next call. */
		while (done < bytes) {
			ssize_t w = writev(f->fd, iov + first, (int)(k - first));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = w < 0 ? -errno : -EIO;
				break;
			}
			done += (size_t)w;
			while (first < k && (size_t)w >= iov[first].iov_len)
				w -= (ssize_t)iov[first++].iov_len;
			if (first < k) {
				iov[first].iov_base = (char *)iov[first].iov_base + w;
				iov[first].iov_len -= (size_t)w;
			}
		}
		/* Whole records of this run. */
		size_t whole = 0;
		while (i < j && whole + msgs[i].len + 1 <= done) {
			whole += msgs[i].len + 1;
			i++;
			(*written)++;
		}
		f->size += whole;
		if (rc != CD_EOK && done > whole &&
		    ftruncate(f->fd, (off_t)f->size) != 0)
			log_warn("output", "output=%s cannot truncate a partial record in %s",
			    f->name, f->path);
	}
	return rc;
}

static int
output_file_send(void *sink, const struct output_msg *msgs, size_t n, size_t *delivered)
{
	struct output_file *f = sink;
	size_t synced = 0, i = 0;
	int rc = CD_EOK;

	*delivered = 0;
	if (f->fd < 0 && (rc = output_file_open(f)) != CD_EOK)
		return rc;
	while (i < n) {
		/* The run of records that fit before the next rotation. */
		size_t j = i;
		uint64_t size = f->size;
		bool by_age = f->rotate_seconds > 0 && f->size > 0 &&
		    output_file_now() - f->opened_ms >= f->rotate_seconds * 1000;
		while (j < n && !by_age && !(f->rotate_bytes > 0 && size > 0 &&
		    size + msgs[j].len + 1 > f->rotate_bytes)) {
			size += msgs[j].len + 1;
			j++;
		}
		if (j == i) {
			/* Everything before this record goes with the old file. */
			if (fsync(f->fd) != 0) {
				rc = -errno;
				output_file_fail(f, "cannot fsync", rc);
				return rc;
			}
			synced = i;
			if ((rc = output_file_rotate(f)) != CD_EOK) {
				*delivered = synced;
				return rc;
			}
			/* A record larger than rotate_bytes goes alone. */
			j = i + 1;
		}
		size_t written;
		rc = output_file_append(f, msgs + i, j - i, &written);
		i += written;
		if (rc != CD_EOK) {
			output_file_fail(f, "cannot write", rc);
			break;
		}
	}
	if (fsync(f->fd) != 0) {
		int e = -errno;
		output_file_fail(f, "cannot fsync", e);
		*delivered = synced;
		return e;
	}
	*delivered = i;
	if (rc == CD_EOK && f->failing) {
		log_info("output", "output=%s writing %s again", f->name, f->path);
		f->failing = false;
	}
	return rc;
}

static void
output_file_reopen(void *sink)
{
	struct output_file *f = sink;

	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static void
output_file_destroy(void *sink)
{
	struct output_file *f = sink;

	if (f == NULL)
		return;
	output_file_gz_wait(f, true);
	if (f->fd >= 0)
		close(f->fd);
	free(f->name);
	free(f->path);
	free(f->dir);
	free(f->base);
	free(f);
}
