/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The output thread's formatting cost in isolation: every event of the
 * Sysmon data (one event per line in each *.xml of a directory, default
 * tests/data/sysmon) is parsed once, then formatted N times as json and as
 * ecs, and the events per CPU-second of this thread are printed per
 * format. Built on demand (make bench-format), never by make check.
 *
 *	bench/bench_format [-n ROUNDS] [-f json|ecs] [-d DUMPFILE] [DIR]
 *
 * -d writes every formatted document once (json then ecs, one a line) to
 * DUMPFILE, so two builds can be compared byte for byte with cmp(1).
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "format.h"
#include "spool.h"

#ifndef BENCH_DATA_DIR
#define BENCH_DATA_DIR "tests/data/sysmon"
#endif

struct bench_ev {
	struct spool_rec	 rec;
	struct event		*ev;
};

struct bench_set {
	struct bench_ev	*v;
	size_t		 n, cap;
	char		**texts;	/* file contents, kept for rec.data */
	size_t		 ntexts;
};

static int	bench_load_file(struct bench_set *, const char *);
static int	bench_load_dir(struct bench_set *, const char *);
static double	bench_cpu_now(void);
static int	bench_run(const struct bench_set *, enum format_kind, long);
static int	bench_dump(const struct bench_set *, const char *);
static int	bench_name_cmp(const void *, const void *);

static int
bench_load_file(struct bench_set *s, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL, **nt;
	long len;
	size_t n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)len + 1)) == NULL ||
	    fread(text, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	text[len] = '\0';
	if ((nt = realloc(s->texts, (s->ntexts + 1) * sizeof(*nt))) == NULL) {
		free(text);
		return -1;
	}
	s->texts = nt;
	s->texts[s->ntexts++] = text;
	for (char *p = text, *nl; *p != '\0'; p += n + (nl != NULL)) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (strncmp(p, "<Event", 6) != 0)
			continue;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 1024;
			struct bench_ev *v = realloc(s->v, cap * sizeof(*v));
			if (v == NULL)
				return -1;
			s->v = v;
			s->cap = cap;
		}
		struct bench_ev *b = &s->v[s->n];
		memset(b, 0, sizeof(*b));
		if (event_parse(p, n, &b->ev) != CD_EOK)
			return -1;
		b->rec.seq = s->n + 1;
		b->rec.type = SPOOL_EVENT;
		b->rec.received_ms = 1700000000123LL + (int64_t)s->n;
		b->rec.source = "10.0.0.5";
		b->rec.host = b->ev->computer != NULL ? b->ev->computer : "ws01.example.com";
		b->rec.subscription = "sysmon";
		b->rec.data = p;
		b->rec.data_len = n;
		s->n++;
	}
	return 0;
}

static int
bench_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.xml of dir, in name order (the dump must not depend on readdir). */
static int
bench_load_dir(struct bench_set *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (nn == NULL || (nn[n] = malloc(strlen(dir) + l + 2)) == NULL) {
			names = nn != NULL ? nn : names;
			rc = -1;
			break;
		}
		names = nn;
		sprintf(names[n++], "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (rc == 0)
		qsort(names, n, sizeof(*names), bench_name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && bench_load_file(s, names[i]) != 0) {
			fprintf(stderr, "bench_format: %s: cannot load\n", names[i]);
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static double
bench_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench_run(const struct bench_set *s, enum format_kind f, long rounds)
{
	struct format_meta meta = { .output = "bench" };
	struct buf out;
	size_t bytes = 0;
	double t0, t1;

	buf_init(&out, 0);
	t0 = bench_cpu_now();
	for (long r = 0; r < rounds; r++) {
		for (size_t i = 0; i < s->n; i++) {
			meta.received_ms = s->v[i].rec.received_ms;
			buf_reset(&out);
			if (format_event(f, &s->v[i].rec, s->v[i].ev, &meta, &out) != CD_EOK) {
				fprintf(stderr, "bench_format: event %zu: format failed\n", i);
				buf_free(&out);
				return -1;
			}
			bytes += out.len;
		}
	}
	t1 = bench_cpu_now();
	buf_free(&out);
	double evs = (double)s->n * (double)rounds;
	printf("format=%s events=%.0f cpu_s=%.3f events_per_cpu_s=%.0f "
	    "us_per_event=%.3f bytes_per_event=%.0f\n", format_name(f), evs, t1 - t0,
	    evs / (t1 - t0), (t1 - t0) * 1e6 / evs, (double)bytes / evs);
	return 0;
}

static int
bench_dump(const struct bench_set *s, const char *path)
{
	static const enum format_kind kinds[] = { FORMAT_JSON, FORMAT_ECS };
	struct format_meta meta = { .output = "bench" };
	FILE *f = fopen(path, "wb");
	struct buf out;
	int rc = 0;

	if (f == NULL)
		return -1;
	buf_init(&out, 0);
	for (size_t k = 0; k < 2 && rc == 0; k++) {
		for (size_t i = 0; i < s->n && rc == 0; i++) {
			meta.received_ms = s->v[i].rec.received_ms;
			buf_reset(&out);
			if (format_event(kinds[k], &s->v[i].rec, s->v[i].ev, &meta,
			    &out) != CD_EOK || fwrite(out.data, 1, out.len, f) != out.len ||
			    fputc('\n', f) == EOF)
				rc = -1;
		}
	}
	buf_free(&out);
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int
main(int argc, char **argv)
{
	struct bench_set s = { 0 };
	const char *dump = NULL, *only = NULL, *dir = BENCH_DATA_DIR;
	long rounds = 50;
	int c, rc = EXIT_SUCCESS;

	while ((c = getopt(argc, argv, "n:f:d:")) != -1) {
		switch (c) {
		case 'n':
			rounds = strtol(optarg, NULL, 10);
			break;
		case 'f':
			only = optarg;
			break;
		case 'd':
			dump = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_format [-n ROUNDS] [-f json|ecs] "
			    "[-d DUMPFILE] [DIR]\n");
			return EXIT_FAILURE;
		}
	}
	if (optind < argc)
		dir = argv[optind];
	if (rounds < 1)
		rounds = 1;
	if (bench_load_dir(&s, dir) != 0 || s.n == 0) {
		fprintf(stderr, "bench_format: no events loaded from %s\n", dir);
		rc = EXIT_FAILURE;
		goto out;
	}
	if (dump != NULL) {
		if (bench_dump(&s, dump) != 0) {
			fprintf(stderr, "bench_format: %s: cannot write\n", dump);
			rc = EXIT_FAILURE;
		}
		goto out;
	}
	if ((only == NULL || strcmp(only, "json") == 0) &&
	    bench_run(&s, FORMAT_JSON, rounds) != 0)
		rc = EXIT_FAILURE;
	if ((only == NULL || strcmp(only, "ecs") == 0) &&
	    bench_run(&s, FORMAT_ECS, rounds) != 0)
		rc = EXIT_FAILURE;
out:
	for (size_t i = 0; i < s.n; i++)
		event_free(s.v[i].ev);
	free(s.v);
	for (size_t i = 0; i < s.ntexts; i++)
		free(s.texts[i]);
	free(s.texts);
	event_thread_cleanup();
	return rc;
}
