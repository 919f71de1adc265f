/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST API (api.c, api_index.c, api_stats.c) behind api_handle(), on a
 * real store filled once with the DNS events of one Sysmon data file. The
 * input is a request in lines: the URL-decoded path, then "key=value"
 * query arguments (what libmicrohttpd hands over). Checked: never a 5xx on
 * a healthy store (every bad parameter is a 4xx), every JSON answer
 * parses, and with bearer tokens configured every /api/ and /metrics
 * request without the right token is a 401 while the right token gives the
 * same answer as no token check at all. The argument values also go to the
 * time parsers.
 */
#include "config.h"

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "dns.h"
#include "err.h"
#include "event.h"
#include "fuzz.h"
#include "hosts.h"
#include "index.h"
#include "soap.h"
#include "store.h"
#include "timeparse.h"

#define FUZZ_API_SEED	FUZZ_SRCDIR "/tests/data/sysmon/purplesharp_ad_playbook_i.xml"

static struct store *fuzz_store;
static struct api_ctx fuzz_ctx;
static struct api_ctx fuzz_ctx_tok;	/* the same with tokens required */
#define FUZZ_API_TOKEN	"fuzz-Token.123~"

struct fuzz_obs {
	char		*host;
	struct dns_obs	 obs;
};
static struct fuzz_obs *fuzz_obs;
static size_t fuzz_nobs;

static int
fuzz_api_fill(struct store_txn *txn, void *arg)
{
	int rc;

	(void)arg;
	for (size_t i = 0; i < fuzz_nobs; i++) {
		struct index_effects eff = { 0 };
		struct hosts_delta d = { .events = 1, .dns_queries = 1 };
		if ((rc = index_apply(txn, fuzz_obs[i].host, &fuzz_obs[i].obs,
		    &eff)) != CD_EOK)
			return rc;
		d.domains = eff.new_on_host;
		if ((rc = hosts_update(txn, fuzz_obs[i].host,
		    1700000000000LL + (int64_t)i, &d)) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

static void
fuzz_api_seed(void)
{
	FILE *f = fopen(FUZZ_API_SEED, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		fuzz_fail("cannot read " FUZZ_API_SEED);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct event *ev = NULL;
		struct dns_obs obs = { 0 };
		if (event_parse(line, (size_t)n, &ev) == CD_EOK &&
		    dns_from_event(ev, &obs) == CD_EOK) {
			fuzz_obs = realloc(fuzz_obs, (fuzz_nobs + 1) * sizeof(*fuzz_obs));
			if (fuzz_obs == NULL)
				abort();
			fuzz_obs[fuzz_nobs].host = strdup(ev->computer);
			fuzz_obs[fuzz_nobs++].obs = obs;
		}
		event_free(ev);
	}
	free(line);
	fclose(f);
	if (fuzz_nobs == 0 || store_run(fuzz_store, fuzz_api_fill, NULL) != CD_EOK)
		fuzz_fail("cannot fill the store");
	for (size_t i = 0; i < fuzz_nobs; i++) {
		free(fuzz_obs[i].host);
		dns_obs_clear(&fuzz_obs[i].obs);
	}
	free(fuzz_obs);
}

/* The daemon as /healthz and /api/v1/stats see it: listeners up. */
static void
fuzz_api_stats(void *arg, struct api_stats *out)
{
	(void)arg;
	out->listeners_up = true;
	out->events_received = 10;
	out->events_acked = 9;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_options opt = { .nosync = true };

	(void)argc; (void)argv;
	fuzz_quiet();
	soap_init();
	opt.dir = fuzz_mkdtemp();
	if (store_open(&fuzz_store, &opt) != CD_EOK)
		fuzz_fail("cannot open the store");
	fuzz_api_seed();
	fuzz_ctx.store = fuzz_store;
	fuzz_ctx.source.stats = fuzz_api_stats;
	/* A fixed "now": relative ages then give reproducible answers. */
	fuzz_ctx.now_ms = 1700000000000LL;
	fuzz_ctx_tok = fuzz_ctx;
	{
		char path[128];
		struct api_tokens *tok = NULL;
		snprintf(path, sizeof(path), "%s/tokens", opt.dir);
		fuzz_write_file(path, (const uint8_t *)FUZZ_API_TOKEN "\n",
		    strlen(FUZZ_API_TOKEN) + 1);
		if (apiauth_load(path, &tok) != CD_EOK)
			fuzz_fail("cannot load the tokens");
		fuzz_ctx_tok.tokens = tok;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request req = { .method = "GET" };
	struct api_response resp;
	char *text = fuzz_strndup(data, size), *save = NULL, *line;
	int64_t ms;

	line = strtok_r(text, "\n", &save);
	req.path = line != NULL ? line : "/";
	while ((line = strtok_r(NULL, "\n", &save)) != NULL &&
	    req.nargs < API_MAX_ARGS) {
		char *eq = strchr(line, '=');
		if (eq != NULL)
			*eq++ = '\0';
		req.args[req.nargs].key = line;
		req.args[req.nargs++].value = eq != NULL ? eq : "";
		if (eq != NULL) {
			(void)timeparse(eq, fuzz_ctx.now_ms, &ms);
			(void)timeparse_rfc3339(eq, &ms);
		}
	}
	api_response_init(&resp);
	api_handle(&fuzz_ctx, &req, &resp);
	if (resp.status >= 500) {
		fprintf(stderr, "status %d: %.*s\n", resp.status,
		    (int)resp.body.len, (const char *)resp.body.data);
		fuzz_fail("a 5xx from a healthy store");
	}
	if (resp.body.len > 0 && resp.content_type != NULL &&
	    strstr(resp.content_type, "json") != NULL) {
		json_error_t jerr;
		json_t *j = json_loadb((const char *)resp.body.data, resp.body.len,
		    0, &jerr);
		if (j == NULL) {
			fprintf(stderr, "%s\n", jerr.text);
			fuzz_fail("the API answered invalid JSON");
		}
		json_decref(j);
	}
	/* Authentication: every protected path needs the token, and the
	 * token changes nothing else. */
	bool protected = strncmp(req.path, "/api/", 5) == 0 ||
	    strcmp(req.path, "/api") == 0 || strcmp(req.path, "/metrics") == 0;
	struct api_response tr;
	const char *const creds[] = { NULL, "Bearer wrong", "Basic Zm9vOmJhcg==",
	    "Bearer " FUZZ_API_TOKEN };
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		bool good = i == 3;
		req.authorization = creds[i];
		api_response_init(&tr);
		api_handle(&fuzz_ctx_tok, &req, &tr);
		if (protected && !good && tr.status != 401)
			fuzz_fail("a protected request without the token was not a 401");
		if ((good || !protected) && tr.status != resp.status)
			fuzz_fail("the right token changed the answer");
		api_response_free(&tr);
	}
	api_response_free(&resp);
	free(text);
	return 0;
}
