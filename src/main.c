/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord: start-up order, signals and shutdown. Everything else lives in
 * the library; this file only wires it together.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "conf.h"
#include "err.h"
#include "evcache.h"
#include "indexer.h"
#include "listener.h"
#include "log.h"
#include "maint.h"
#include "lolbas.h"
#include "output.h"
#include "priv.h"
#include "soap.h"
#include "store.h"
#include "subscription.h"
#include "timeparse.h"
#include "wsman.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/collectord/collectord.xml"

/* Command-line settings; they override the configuration file, also after
 * a reload. */
struct opts {
	const char	*config;
	struct conf_strv listen, tls_listen, api_listen, tls_ca;
	const char	*data_dir, *subscriptions, *auth, *keytab;
	const char	*tls_cert, *tls_key, *advertise, *log_level;
	bool		 foreground, check_config, allow_root;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: collectord [options]\n"
"  --config FILE             XML configuration (default " DEFAULT_CONFIG ";\n"
"                            a missing default file means built-in defaults)\n"
"  --listen [ADDR:]PORT      WEF listener over HTTP; repeatable; default 5985\n"
"  --tls-listen [ADDR:]PORT  WEF listener over HTTPS (mutual TLS)\n"
"  --api-listen ADDR:PORT    REST API listener; default 127.0.0.1:8080\n"
"  --data-dir DIR            LMDB environment and everything durable\n"
"  --subscriptions DIR       subscription XML files\n"
"  --auth MODE               kerberos | tls | none (none: labs and tests only)\n"
"  --keytab FILE             Kerberos keytab (HTTP/ and HOST/ service principals)\n"
"  --tls-cert FILE           server certificate (PEM) for --tls-listen\n"
"  --tls-key FILE            its private key (PEM)\n"
"  --tls-ca FILE             CA certificate(s) client certificates chain to; repeatable\n"
"  --advertise HOST[:PORT]   name (and port) Windows hosts use to reach this collector\n"
"  --log-level LEVEL         error | warning | info | debug\n"
"  --foreground              stay in the foreground, log to stderr\n"
"  --allow-root              permit running as root without a <user> to drop to\n"
"  --check-config            validate configuration and subscriptions, then exit\n"
"  --version, --help\n");
}

static int
opts_parse(int argc, char **argv, struct opts *o)
{
	enum { O_CONFIG = 256, O_LISTEN, O_TLS_LISTEN, O_API_LISTEN, O_DATA_DIR,
	    O_SUBS, O_AUTH, O_KEYTAB, O_TLS_CERT, O_TLS_KEY, O_TLS_CA,
	    O_ADVERTISE, O_FOREGROUND, O_CHECK, O_VERSION, O_HELP, O_LOGLEVEL,
	    O_ALLOW_ROOT };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "tls-listen", required_argument, NULL, O_TLS_LISTEN },
		{ "api-listen", required_argument, NULL, O_API_LISTEN },
		{ "data-dir", required_argument, NULL, O_DATA_DIR },
		{ "subscriptions", required_argument, NULL, O_SUBS },
		{ "auth", required_argument, NULL, O_AUTH },
		{ "keytab", required_argument, NULL, O_KEYTAB },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "tls-ca", required_argument, NULL, O_TLS_CA },
		{ "advertise", required_argument, NULL, O_ADVERTISE },
		{ "log-level", required_argument, NULL, O_LOGLEVEL },
		{ "foreground", no_argument, NULL, O_FOREGROUND },
		{ "check-config", no_argument, NULL, O_CHECK },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ "allow-root", no_argument, NULL, O_ALLOW_ROOT },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG:	o->config = optarg; break;
		case O_LISTEN:	conf_strv_add(&o->listen, optarg); break;
		case O_TLS_LISTEN: conf_strv_add(&o->tls_listen, optarg); break;
		case O_API_LISTEN: conf_strv_add(&o->api_listen, optarg); break;
		case O_DATA_DIR: o->data_dir = optarg; break;
		case O_SUBS:	o->subscriptions = optarg; break;
		case O_AUTH:	o->auth = optarg; break;
		case O_KEYTAB:	o->keytab = optarg; break;
		case O_TLS_CERT: o->tls_cert = optarg; break;
		case O_TLS_KEY:	o->tls_key = optarg; break;
		case O_TLS_CA:	conf_strv_add(&o->tls_ca, optarg); break;
		case O_ADVERTISE: o->advertise = optarg; break;
		case O_LOGLEVEL: o->log_level = optarg; break;
		case O_FOREGROUND: o->foreground = true; break;
		case O_CHECK:	o->check_config = true; break;
		case O_ALLOW_ROOT: o->allow_root = true; break;
		case O_VERSION:	puts(PACKAGE_STRING); exit(0);
		case O_HELP:	usage(stdout); exit(0);
		default:	usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "collectord: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int
opts_apply_strv(struct conf_strv *dst, const struct conf_strv *src)
{
	if (src->n == 0)
		return CD_EOK;
	conf_strv_clear(dst);
	for (size_t i = 0; i < src->n; i++)
		if (conf_strv_add(dst, src->v[i]) != CD_EOK)
			return -ENOMEM;
	return CD_EOK;
}

/* Load the file (or defaults), apply the command line, check the result.
 * On failure prints the reasons to stderr/log and returns NULL. */
static struct cd_conf *
config_build(const struct opts *o)
{
	struct cd_conf *conf = NULL;
	char *err = NULL;
	const char *path = o->config ? o->config : DEFAULT_CONFIG;
	int rc;

	rc = conf_load(path, &conf, &err);
	if (rc == -ENOENT && o->config == NULL) {
		free(err);
		err = NULL;
		rc = conf_defaults(&conf);
	}
	if (rc != CD_EOK) {
		log_err("conf", "%s", err ? err : cd_strerror(rc));
		free(err);
		return NULL;
	}
	if (o->log_level != NULL && !log_level_parse(o->log_level, &conf->log_level)) {
		log_err("conf", "--log-level: unknown level '%s'", o->log_level);
		goto fail;
	}
	if (o->auth != NULL && !conf_auth_parse(o->auth, &conf->auth)) {
		log_err("conf", "--auth: expected kerberos, tls or none, not '%s'", o->auth);
		goto fail;
	}
	if (opts_apply_strv(&conf->listen, &o->listen) != CD_EOK ||
	    opts_apply_strv(&conf->tls_listen, &o->tls_listen) != CD_EOK ||
	    opts_apply_strv(&conf->api_listen, &o->api_listen) != CD_EOK ||
	    opts_apply_strv(&conf->tls_ca, &o->tls_ca) != CD_EOK ||
	    (o->data_dir && conf_set_str(&conf->data_dir, o->data_dir) != CD_EOK) ||
	    (o->subscriptions && conf_set_str(&conf->subscriptions_dir, o->subscriptions) != CD_EOK) ||
	    (o->keytab && conf_set_str(&conf->keytab, o->keytab) != CD_EOK) ||
	    (o->tls_cert && conf_set_str(&conf->tls_cert, o->tls_cert) != CD_EOK) ||
	    (o->tls_key && conf_set_str(&conf->tls_key, o->tls_key) != CD_EOK) ||
	    (o->advertise && conf_set_str(&conf->advertise, o->advertise) != CD_EOK))
		goto fail;
	/* --auth tls with only --tls-listen: no plain HTTP listener. */
	if (conf->auth == CONF_AUTH_TLS && o->listen.n == 0 && o->tls_listen.n > 0)
		conf_strv_clear(&conf->listen);
	if (conf_check(conf, &err) != CD_EOK ||
	    outputs_check(conf, &err) != CD_EOK) {
		log_err("conf", "%s", err ? err : "invalid configuration");
		free(err);
		goto fail;
	}
	return conf;
fail:
	conf_free(conf);
	return NULL;
}

/* What the REST API shows of the running daemon. */
struct main_state {
	pthread_mutex_t		 lock;	/**< guards outs against a reload */
	struct outputs		*outs;
	struct wsman		*wsman;
	/* Set after listener_start(), whose API thread may already read it. */
	_Atomic(struct listener *) lst;
	struct store		*st;
	struct indexer		*indexer;
	struct evcache		*evcache;	/**< or NULL: off */
	const struct subscription_set *subs;
};

static void
main_api_stats(void *arg, struct api_stats *out)
{
	struct main_state *ms = arg;
	struct wsman_stats ws;

	wsman_stats_get(ms->wsman, &ws);
	out->events_received = ws.events_received;
	out->events_acked = ws.events_acked;
	out->events_rejected = ws.events_received - ws.events_acked;
	out->dns_events = ws.dns_events;
	out->dns_index_pending = indexer_pending(ms->indexer);
	out->wef_requests = ws.requests;
	out->wef_enumerates = ws.enumerates;
	out->wef_heartbeats = ws.heartbeats;
	out->wef_batches_acked = ws.batches_acked;
	out->wef_batches_refused = ws.batches_refused;
	out->wef_bad_requests = ws.bad_requests;
	out->events_duplicate = ws.events_duplicate;
	out->events_malformed = ws.events_malformed;
	out->events_foreign = ws.events_foreign;
	out->listeners_up = listener_up(atomic_load(&ms->lst));
	pthread_mutex_lock(&ms->lock);
	outputs_stats(ms->outs, out);
	pthread_mutex_unlock(&ms->lock);
	out->have_cache = ms->evcache != NULL;
	evcache_stats_get(ms->evcache, &out->cache);
}

static bool
main_spool_full(void *arg, char *why, size_t whylen)
{
	struct main_state *ms = arg;

	pthread_mutex_lock(&ms->lock);
	bool full = outputs_spool_full(ms->outs);
	pthread_mutex_unlock(&ms->lock);
	if (full) {
		snprintf(why, whylen, "the spool is at its cap: an output is "
		    "store/spool-max-entries records behind (outputs[].backlog "
		    "in the stats)");
		return true;
	}
	/* The index falling behind (its queue is in memory) refuses new
	 * batches the same way: the sources keep their events. */
	if (indexer_full(ms->indexer)) {
		snprintf(why, whylen, "the DNS index is behind: %" PRIu64
		    " queries wait (store/index-pending-max %" PRIu64 ")",
		    indexer_pending(ms->indexer),
		    indexer_pending_max(ms->indexer));
		return true;
	}
	return false;
}

static void
main_api_subscriptions(void *arg, api_subscription_fn *fn, void *fnarg)
{
	struct main_state *ms = arg;
	const struct subscription_set *subs = ms->subs;

	for (size_t i = 0; i < subs->n; i++) {
		const struct subscription *s = subs->subs[i];
		struct api_subscription as = {
			.id = s->id, .name = s->name, .version = s->version,
			.enabled = s->enabled,
		};
		wsman_source_count(ms->wsman, s->id, &as.sources);
		fn(fnarg, &as);
	}
}

/* A missing subscriptions directory means the built-in Sysmon subscription,
 * so that `collectord --listen 5985` is useful as is; a directory named on
 * the command line must exist. */
static struct subscription_set *
subscriptions_build(const struct cd_conf *conf, bool explicit_dir)
{
	struct subscription_set *subs = NULL;
	struct stat sb;
	char *err = NULL;
	int rc;

	if (!explicit_dir && stat(conf->subscriptions_dir, &sb) != 0 && errno == ENOENT) {
		struct subscription *sub = NULL;
		log_info("conf", "%s does not exist: using the built-in Sysmon subscription",
		    conf->subscriptions_dir);
		if ((subs = calloc(1, sizeof(*subs))) == NULL ||
		    (subs->subs = calloc(1, sizeof(*subs->subs))) == NULL ||
		    subscription_builtin(&sub) != CD_EOK) {
			subscription_set_free(subs);
			log_err("conf", "cannot build the built-in subscription");
			return NULL;
		}
		subs->subs[0] = sub;
		subs->n = 1;
		return subs;
	}
	rc = subscription_load_dir(conf->subscriptions_dir, &subs, &err);
	if (rc != CD_EOK) {
		log_err("conf", "%s", err ? err : cd_strerror(rc));
		free(err);
		return NULL;
	}
	return subs;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct cd_conf *conf = NULL;
	struct subscription_set *subs = NULL;
	struct store *st = NULL;
	struct wsman *wsman = NULL;
	struct api_ctx api = { 0 };
	struct api_tokens *tokens = NULL;
	struct main_state ms = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct listener *lst = NULL;
	struct lolbas *lolbas = NULL;
	struct indexer *indexer = NULL;
	struct evcache *evcache = NULL;
	/* Superseded configurations stay alive until exit: requests in
	 * flight may still read them. Reloads are rare, the cost is small. */
	struct cd_conf *old_confs[64];
	struct subscription_set *old_subs[64];
	size_t nold = 0;
	sigset_t sigs;
	int ret = 1;

	if (opts_parse(argc, argv, &o) != 0)
		return 2;
	/* Running from the source tree (tests, scripts/setup-and-run): the
	 * schemas are not installed yet. */
	if (getenv("COLLECTORD_SCHEMA_DIR") != NULL)
		conf_set_schema_dir(getenv("COLLECTORD_SCHEMA_DIR"));
	soap_init();

	if ((conf = config_build(&o)) == NULL)
		goto out;
	if ((subs = subscriptions_build(conf, o.subscriptions != NULL)) == NULL)
		goto out;
	if (o.check_config) {
		puts("configuration OK");
		ret = 0;
		goto out;
	}
	log_set_level(conf->log_level);
	/* COLLECTORD_ALLOW_ROOT: the test suite, which runs as root in CI. */
	if (priv_check(conf->user, conf->allow_root || o.allow_root ||
	    getenv("COLLECTORD_ALLOW_ROOT") != NULL) != CD_EOK)
		goto out;
	if (conf->auth == CONF_AUTH_NONE)
		log_warn("main", "--auth none: sources are NOT authenticated; "
		    "anyone who reaches this port can send events. Use it for labs "
		    "and tests only");
	if (!o.foreground) {
		/* Detach before the store is opened: LMDB must not be
		 * used across fork. */
		if (daemon(0, 0) != 0)
			fatal("main", "cannot detach: %s", strerror(errno));
		log_to_syslog("collectord");
	}

	/* Signals are taken by sigwait() in this thread only: block them
	 * before any thread starts so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct store_options so = {
		.dir = conf->data_dir,
		.map_max = conf->store.map_max_bytes,
		.nosync = conf->store.nosync,
	};
	struct priv_user pu = { .set = false };
	int rc = store_open(&st, &so);
	if (rc != CD_EOK) {
		log_err("main", "cannot open the store in %s: %s", conf->data_dir,
		    cd_strerror(rc));
		goto out;
	}
	/* The data directory and the files the store just created go to the
	 * unprivileged user, so they stay writable after the drop. */
	if ((rc = priv_prepare(conf->user, conf->data_dir, &pu)) != CD_EOK)
		goto out;
	if (conf->auth == CONF_AUTH_KERBEROS && (rc = auth_gss_init(conf->keytab)) != CD_EOK) {
		log_err("main", "Kerberos: cannot use keytab %s: %s",
		    conf->keytab ? conf->keytab : "(default)", cd_strerror(rc));
		goto out;
	}
	/* The parsed events ingest hands to the outputs: COLLECTORD_EVCACHE_MB
	 * sets its budget, 0 turns it off (every output parses the spool). */
	const char *ecmb = getenv("COLLECTORD_EVCACHE_MB");
	size_t ecbytes = ecmb != NULL ? (size_t)strtoul(ecmb, NULL, 10) << 20 :
	    EVCACHE_DEFAULT_BYTES;
	if (ecbytes > 0 && (rc = evcache_new(&evcache, ecbytes,
	    EVCACHE_DEFAULT_ENTRIES)) != CD_EOK)
		goto out;
	ms.evcache = evcache;
	char *oerr = NULL;
	if ((rc = outputs_start(&ms.outs, st, conf, &oerr)) != CD_EOK) {
		log_err("main", "cannot start the outputs: %s", oerr ? oerr : cd_strerror(rc));
		free(oerr);
		goto out;
	}
	outputs_set_evcache(ms.outs, evcache);
	if ((rc = wsman_new(&wsman, st, conf, subs)) != CD_EOK)
		goto out;
	wsman_set_evcache(wsman, evcache);
	/* The LOLBAS list (COLLECTORD_LOLBAS when running from the source
	 * tree): without it the detection is off, nothing else changes. */
	if ((rc = lolbas_load(getenv("COLLECTORD_LOLBAS"), &lolbas)) == CD_EOK) {
		lolbas_set_store(lolbas, st);
		wsman_set_lolbas(wsman, lolbas);
	} else {
		log_warn("main", "LOLBAS list not loaded (%s): LOLBAS alerts are off",
		    cd_strerror(rc));
	}
	wsman_set_gate(wsman, main_spool_full, &ms);
	/* After the LOLBAS list: the indexer checks the DNS queries of LOLBAS
	 * binaries. Before the listener: it reads back what the last run
	 * acknowledged but did not index. */
	if ((rc = indexer_new(&indexer, st, lolbas, conf->dns.alert_registered_domain)) != CD_EOK ||
	    (rc = indexer_start(indexer)) != CD_EOK)
		goto out;
	indexer_set_pending_max(indexer, conf->store.index_pending_max);
	wsman_set_indexer(wsman, indexer);
	outputs_set_prune_floor(ms.outs, indexer_prune_floor, indexer);
	if (conf->api.tokens_file != NULL &&
	    (rc = apiauth_load(conf->api.tokens_file, &tokens)) != CD_EOK) {
		log_err("main", "cannot load API tokens from %s: %s",
		    conf->api.tokens_file, cd_strerror(rc));
		goto out;
	}
	/* The API answers hunters' questions about the whole fleet: off the
	 * loopback interface it must require a token. */
	for (size_t i = 0; i < conf->api_listen.n; i++) {
		if (!apiauth_loopback(conf->api_listen.v[i]) && tokens == NULL) {
			log_err("main", "the REST API listens on %s, not on loopback: "
			    "set <api><tokens_file> so that requests need a bearer token",
			    conf->api_listen.v[i]);
			goto out;
		}
	}
	ms.wsman = wsman;
	ms.st = st;
	ms.indexer = indexer;
	ms.subs = subs;
	api.store = st;
	api.conf = conf;
	api.tokens = tokens;
	api.source.arg = &ms;
	api.source.stats = main_api_stats;
	api.source.subscriptions = main_api_subscriptions;
	if ((rc = listener_start(&lst, conf, wsman, &api)) != CD_EOK)
		goto out;
	atomic_store(&ms.lst, lst);
	/* Sockets bound (ports below 1024 too), store open, keys read:
	 * nothing more needs root. */
	if ((rc = priv_drop(&pu)) != CD_EOK)
		goto out;
	log_info("main", "%s started: auth %s, data in %s, %zu subscription(s)",
	    PACKAGE_STRING, conf_auth_name(conf->auth), conf->data_dir,
	    subs->n);

	for (;;) {
		struct timespec tick = { 1, 0 };
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig < 0) {
			/* Once a second: spool pruning, index retention.
			 * No lock: only this thread replaces ms.outs. */
			maint_tick(st, ms.outs, conf, timeparse_now_ms());
			continue;
		}
		if (sig == SIGHUP) {
			struct cd_conf *nconf = config_build(&o);
			struct subscription_set *nsubs = nconf ? subscriptions_build(nconf, o.subscriptions != NULL) : NULL;
			if (nconf == NULL || nsubs == NULL || nold == 64) {
				log_err("main", "reload refused: the running configuration is kept");
				conf_free(nconf);
				subscription_set_free(nsubs);
				continue;
			}
			/* Outputs restart with the new settings: their cursors are
			 * persisted, so each resumes where it stopped. */
			struct outputs *nouts = NULL;
			char *nerr = NULL;
			pthread_mutex_lock(&ms.lock);
			outputs_stop(ms.outs);
			ms.outs = NULL;
			if (outputs_start(&nouts, st, nconf, &nerr) != CD_EOK) {
				log_err("main", "reload: outputs: %s", nerr ? nerr : "cannot start");
				free(nerr);
			}
			ms.outs = nouts;
			outputs_set_evcache(nouts, evcache);
			outputs_set_prune_floor(nouts, indexer_prune_floor, indexer);
			pthread_mutex_unlock(&ms.lock);
			indexer_set_pending_max(indexer, nconf->store.index_pending_max);
			log_set_level(nconf->log_level);
			maint_reset();	/* a new retention applies at once */
			wsman_set_config(wsman, nconf, nsubs);
			api.conf = nconf;
			ms.subs = nsubs;
			old_confs[nold] = conf;
			old_subs[nold++] = subs;
			conf = nconf;
			subs = nsubs;
			log_info("main", "configuration reloaded (%zu subscription(s)); "
			    "listener addresses change only at restart",
			    subs->n);
			continue;
		}
		log_info("main", "signal %d: stopping", sig);
		break;
	}
	ret = 0;
out:
	/* Stop order: refuse new connections, let the writer finish what was
	 * submitted (each waiting client gets its Ack or a 503), then close
	 * the connections and the store. */
	listener_quiesce(lst);
	wsman_shutdown(wsman);
	/* Every batch is answered: index what they brought, while the store
	 * is open. */
	indexer_stop(indexer);
	/* Under the lock, as on reload: listener threads still ask the spool
	 * gate (main_spool_full) until listener_stop(). */
	pthread_mutex_lock(&ms.lock);
	outputs_stop(ms.outs);
	ms.outs = NULL;
	pthread_mutex_unlock(&ms.lock);
	/* Every batch submitted gets its Ack or its 503, which resumes its
	 * suspended connection (libmicrohttpd must have none left when it
	 * stops). The API serves its keep-alive clients (a metrics scraper)
	 * until listener_stop(), and its requests read the store: the store
	 * is closed after it. */
	store_drain(st);
	listener_stop(lst);
	store_close(st);
	/* After the listener: the API's stats read its counters until then. */
	indexer_free(indexer);
	apiauth_free(tokens);
	wsman_free(wsman);
	evcache_free(evcache);
	lolbas_free(lolbas);
	auth_gss_shutdown();
	for (size_t i = 0; i < nold; i++) {
		conf_free(old_confs[i]);
		subscription_set_free(old_subs[i]);
	}
	subscription_set_free(subs);
	conf_free(conf);
	soap_cleanup();
	conf_strv_clear(&o.listen);
	conf_strv_clear(&o.tls_listen);
	conf_strv_clear(&o.api_listen);
	conf_strv_clear(&o.tls_ca);
	if (ret == 0 && st != NULL)
		log_info("main", "stopped");
	return ret;
}
