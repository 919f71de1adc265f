/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * syslog_drive: drive the syslog or RELP sink directly, as output.c would,
 * for tests/test_output_syslog.py.
 *
 *   syslog_drive [-n COUNT] [-b BATCH] [-d DELAY_MS] [-o] FILE TYPE KEY=VALUE...
 *
 * Sends COUNT messages (default: the lines of FILE once), made from the
 * event lines of FILE in turn (repeating), with spool sequence numbers
 * 1..COUNT. Each batch is passed to send() until it is confirmed, resuming
 * after the confirmed part and retrying every 50 ms, like the output
 * thread. -o: one attempt only, exit 1 when it fails. Prints
 * "confirmed=N attempts=A failures=F" at the end.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "output.h"
#include "output_sinks.h"

/*
 * The sinks call output_kv_is_common() from output.c. This program must
 * not need the rest of output.c (threads, store), so a weak stand-in
 * answers for it; when output.o is linked anyway, its definition wins.
 */
__attribute__((weak)) bool
output_kv_is_common(const char *key)
{
	static const char *const common[] = { "format", "stream", "subscriptions",
	    "channels", "event_ids", "rules", "batch" };

	for (size_t i = 0; i < sizeof(common) / sizeof(*common); i++)
		if (strcmp(key, common[i]) == 0)
			return true;
	return false;
}

struct line {
	char		*text;
	size_t		 len;
	struct event	*ev;
};

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	size_t count = 0, batch = 500, nlines = 0;
	long delay = 0;
	bool once = false;
	int c;

	while ((c = getopt(argc, argv, "n:b:d:o")) != -1) {
		switch (c) {
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'd': delay = strtol(optarg, NULL, 10); break;
		case 'o': once = true; break;
		default: return 2;
		}
	}
	if (argc - optind < 2 || batch == 0) {
		fprintf(stderr, "usage: syslog_drive [-n COUNT] [-b BATCH] [-d MS] [-o] "
		    "FILE TYPE KEY=VALUE...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_DEBUG);

	size_t flen;
	char *file = read_all(argv[optind], &flen);
	if (file == NULL) {
		perror(argv[optind]);
		return 2;
	}
	struct line *lines = calloc(flen / 2 + 1, sizeof(*lines));
	for (char *p = file; p < file + flen;) {
		char *nl = memchr(p, '\n', (size_t)(file + flen - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(file + flen - p);
		if (len > 0) {
			lines[nlines].text = p;
			lines[nlines].len = len;
			if (event_parse(p, len, &lines[nlines].ev) != CD_EOK)
				return 2;
			nlines++;
		}
		p += len + 1;
	}
	if (nlines == 0)
		return 2;
	if (count == 0)
		count = nlines;

	struct conf_output co = { .name = "test", .type = argv[optind + 1], .line = 1 };
	co.nkv = (size_t)(argc - optind - 2);
	co.kv = calloc(co.nkv + 1, sizeof(*co.kv));
	for (size_t i = 0; i < co.nkv; i++) {
		char *kv = argv[optind + 2 + i], *eq = strchr(kv, '=');
		if (eq == NULL)
			return 2;
		*eq = '\0';
		co.kv[i].key = kv;
		co.kv[i].value = eq + 1;
		co.kv[i].line = (unsigned)(i + 2);
	}
	/* Not output_sink_find(): that lives in output.c with the threads. */
	const struct output_sink_ops *ops = strcmp(co.type, "relp") == 0 ?
	    &output_relp_ops : strcmp(co.type, "syslog") == 0 ?
	    &output_syslog_ops : NULL;
	if (ops == NULL) {
		fprintf(stderr, "no sink %s\n", co.type);
		return 2;
	}
	void *sink = NULL;
	char *err = NULL;
	if (ops->create(&co, &sink, &err) != CD_EOK) {
		fprintf(stderr, "create: %s\n", err ? err : "?");
		free(err);
		return 2;
	}

	struct output_msg *msgs = calloc(batch, sizeof(*msgs));
	size_t done = 0;
	unsigned long attempts = 0, failures = 0;
	int status = 0;
	while (done < count) {
		size_t n = count - done < batch ? count - done : batch;
		for (size_t i = 0; i < n; i++) {
			const struct line *l = &lines[(done + i) % nlines];
			msgs[i] = (struct output_msg){
				.seq = done + i + 1, .kind = OUTPUT_KIND_EVENT,
				.data = l->text, .len = l->len, .host = l->ev->computer,
				.time_ms = l->ev->time_created_ms,
				.channel = l->ev->channel ? l->ev->channel : "",
				.provider = l->ev->provider ? l->ev->provider : "",
				.event_id = l->ev->event_id, .format = "raw",
			};
		}
		size_t got = 0;
		attempts++;
		int rc = ops->send(sink, msgs, n, &got);
		if (got > n)
			abort();
		done += got;
		if (rc != CD_EOK) {
			failures++;
			if (once) {
				status = 1;
				break;
			}
			sleep_ms(50);
		} else if (delay > 0) {
			sleep_ms(delay);
		}
	}
	printf("confirmed=%zu attempts=%lu failures=%lu\n", done, attempts, failures);
	ops->destroy(sink);
	free(msgs);
	free(co.kv);
	for (size_t i = 0; i < nlines; i++)
		event_free(lines[i].ev);
	free(lines);
	free(file);
	return status;
}
