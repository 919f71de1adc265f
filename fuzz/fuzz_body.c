/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The whole WEF request path after authentication, as the listener drives
 * it: wsman_handle() on a real store (no fsync) with the built-in Sysmon
 * subscription, so SLDC, charset detection, the SOAP envelope, every
 * <Event>, the DNS parser, the index and the writer all see the input.
 * The first input byte chooses the framing (bit 0: Content-Encoding SLDC,
 * bits 1-2: the charset label, bit 3: the delivery path), the rest is the
 * body. Checked: an asynchronous reply completes, and every reply status
 * is one the protocol uses (never 500 for a bad body).
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>

#include "conf.h"
#include "err.h"
#include "fuzz.h"
#include "soap.h"
#include "store.h"
#include "subscription.h"
#include "wsman.h"

static struct store *fuzz_store;
static struct cd_conf *fuzz_conf;
static struct subscription_set fuzz_subs;
static struct subscription *fuzz_sub[1];
static struct wsman *fuzz_wsman;

struct fuzz_wait {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	bool		done;
};

static void
fuzz_body_done(void *arg)
{
	struct fuzz_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_options opt = { .nosync = true };

	(void)argc; (void)argv;
	fuzz_quiet();
	soap_init();
	opt.dir = fuzz_mkdtemp();
	if (store_open(&fuzz_store, &opt) != CD_EOK ||
	    conf_defaults(&fuzz_conf) != CD_EOK ||
	    subscription_builtin(&fuzz_sub[0]) != CD_EOK)
		fuzz_fail("set-up");
	fuzz_conf->auth = CONF_AUTH_NONE;
	/* Small caps so that the 413 paths are reachable by the fuzzer. */
	fuzz_conf->limits.max_decompressed_bytes = 1u << 20;
	fuzz_conf->limits.max_events_per_batch = 64;
	fuzz_subs.subs = fuzz_sub;
	fuzz_subs.n = 1;
	if (wsman_new(&fuzz_wsman, fuzz_store, fuzz_conf, &fuzz_subs) != CD_EOK)
		fuzz_fail("wsman_new");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = {
		"application/soap+xml;charset=UTF-16",
		"application/soap+xml;charset=UTF-8",
		"application/soap+xml",
		"text/xml; charset=\"utf-16BE\"",
	};
	struct fuzz_wait w = { .done = false };
	struct wsman_request req = { .peer = "127.0.0.1" };
	struct wsman_reply rep;
	uint8_t flags;
	int st;

	if (size < 1)
		return 0;
	flags = data[0];
	req.content_encoding = (flags & 1) ? "SLDC" : NULL;
	req.content_type = ctypes[(flags >> 1) & 3];
	req.path = (flags & 8) ? "/wsman/subscriptions/Sysmon" :
	    "/wsman/SubscriptionManager/WEC";
	req.host_header = "collector.example.com:5985";
	/* An exact-size copy: any read past the end is an ASan report. */
	uint8_t *body = malloc(size - 1 ? size - 1 : 1);
	if (body == NULL)
		abort();
	memcpy(body, data + 1, size - 1);
	req.body = body;
	req.len = size - 1;

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	wsman_reply_init(&rep);
	if (wsman_handle(fuzz_wsman, &req, &rep, fuzz_body_done, &w) == 1) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	st = rep.status;
	if (!(st == 200 || st == 204 || st == 400 || st == 403 || st == 404 ||
	    st == 413 || st == 503)) {
		fprintf(stderr, "status %d\n", st);
		fuzz_fail("an unexpected reply status");
	}
	wsman_reply_free(&rep);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	free(body);
	return 0;
}
