/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * WEF message handling (wef-protocol.md §1): decode, parse, dispatch on the
 * Action, reply. Events and Heartbeats are answered only after the store
 * committed what they carry: the client advances its bookmark on our Ack.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "conf.h"
#include "err.h"
#include "evcache.h"
#include "event.h"
#include "ingest.h"
#include "log.h"
#include "sldc.h"
#include "soap.h"
#include "store.h"
#include "subscription.h"
#include "timeparse.h"
#include "utf16.h"
#include "wsman.h"

#define WSMAN_SOAP_CTYPE "application/soap+xml;charset=UTF-16"
#define WSMAN_SUB_PATH "/wsman/subscriptions/"

struct wsman {
	struct store			*st;
	pthread_rwlock_t		 lock;	/**< guards conf, subs, thumbs, stopping */
	const struct cd_conf		*conf;
	const struct subscription_set	*subs;
	char				**thumbs; /**< issuer CA thumbprints (tls) */
	size_t				 nthumbs;
	bool				 stopping;
	struct lolbas			*lolbas;
	struct indexer			*indexer;
	struct evcache			*evcache;	/**< parsed events for the outputs, or NULL */
	bool				(*gate_full)(void *, char *, size_t);
	void				*gate_arg;
	/* The gate's refusals since it last let a batch through (0: open),
	 * and when the first of them was (CLOCK_MONOTONIC ms). */
	atomic_uint_fast64_t		 gate_refused;
	atomic_int_fast64_t		 gate_since_ms;
	/* Acknowledged deliveries, freed by the next request's thread: the
	 * store writer spent a fifth of its time in free() on batches the
	 * HTTP threads had allocated, and the writer is the serial stage. */
	_Atomic(struct wsman_pending *)	 spent;

	atomic_uint_fast64_t requests, enumerates, heartbeats, batches_acked,
	    batches_refused, events_received, events_acked, events_duplicate,
	    events_malformed, events_foreign, dns_events, bad_requests;
};

/* Whether the gate refuses this Events batch. The first refusal after the
 * gate was open logs the reason; the first batch let through after
 * refusals logs how many there were. */
static bool
wsman_gate_refuses(struct wsman *w, const char *source)
{
	char why[256] = "";
	uint64_t n;

	if (w->gate_full == NULL)
		return false;
	if (w->gate_full(w->gate_arg, why, sizeof(why))) {
		if (atomic_fetch_add(&w->gate_refused, 1) == 0) {
			atomic_store(&w->gate_since_ms, timeparse_mono_ms());
			log_warn("wsman", "refusing Events batches with 503 from "
			    "now on (first: source=%s): %s; sources keep their "
			    "events and send them again", source, why);
		}
		return true;
	}
	if (atomic_load(&w->gate_refused) != 0 &&
	    (n = atomic_exchange(&w->gate_refused, 0)) != 0)
		log_info("wsman", "accepting Events batches again, after "
		    "refusing %" PRIu64 " in %.1f s", n,
		    (double)(timeparse_mono_ms() - atomic_load(&w->gate_since_ms)) / 1e3);
	return false;
}

/* What an asynchronous delivery needs when the writer calls back. */
struct wsman_pending {
	struct wsman		*w;
	struct wsman_reply	*rep;
	wsman_done_fn		 done;
	void			*arg;
	char			*message_id;
	size_t			 nevents;
	size_t			 nmalformed;
	struct ingest_batch	*batch;	/**< kept until freed from w->spent */
	struct wsman_pending	*next;	/**< in w->spent */
};

static void	wsman_spent_free(struct wsman *);

/* Free the deliveries the writer has finished with (any thread). */
static void
wsman_spent_free(struct wsman *w)
{
	struct wsman_pending *p, *next;

	/* The events the cache evicted were allocated by these threads too. */
	evcache_reap(w->evcache);
	if (atomic_load_explicit(&w->spent, memory_order_relaxed) == NULL)
		return;
	for (p = atomic_exchange(&w->spent, NULL); p != NULL; p = next) {
		next = p->next;
		ingest_batch_free(p->batch);
		free(p->message_id);
		free(p);
	}
}

void
wsman_reply_init(struct wsman_reply *rep)
{
	rep->status = 500;
	buf_init(&rep->body, 0);
	rep->content_type = NULL;
}

void
wsman_reply_free(struct wsman_reply *rep)
{
	buf_free(&rep->body);
}

static void
wsman_thumbs_free(char **t, size_t n)
{
	auth_tls_thumbprints_free(t, n);
}

/* Thumbprints of the configured CAs go into the subscriptions' policy. */
static void
wsman_thumbs_load(const struct cd_conf *conf, char ***out, size_t *nout)
{
	char **all = NULL;
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < conf->tls_ca.n; i++) {
		char **t = NULL;
		size_t nt = 0;
		if (auth_tls_thumbprint_file(conf->tls_ca.v[i], &t, &nt) != CD_EOK) {
			log_warn("wsman", "cannot read CA file %s", conf->tls_ca.v[i]);
			continue;
		}
		char **p = realloc(all, (n + nt) * sizeof(*p));
		if (p == NULL) {
			auth_tls_thumbprints_free(t, nt);
			break;
		}
		all = p;
		memcpy(all + n, t, nt * sizeof(*t));
		n += nt;
		free(t);	/* the strings moved into all */
	}
	*out = all;
	*nout = n;
}

int
wsman_new(struct wsman **out, struct store *st, const struct cd_conf *conf,
    const struct subscription_set *subs)
{
	struct wsman *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	w->st = st;
	w->conf = conf;
	w->subs = subs;
	pthread_rwlock_init(&w->lock, NULL);
	wsman_thumbs_load(conf, &w->thumbs, &w->nthumbs);
	*out = w;
	return CD_EOK;
}

void
wsman_free(struct wsman *w)
{
	if (w == NULL)
		return;
	wsman_spent_free(w);
	wsman_thumbs_free(w->thumbs, w->nthumbs);
	pthread_rwlock_destroy(&w->lock);
	free(w);
}

void
wsman_set_config(struct wsman *w, const struct cd_conf *conf,
    const struct subscription_set *subs)
{
	char **thumbs, **old;
	size_t n, nold;

	wsman_thumbs_load(conf, &thumbs, &n);
	pthread_rwlock_wrlock(&w->lock);
	w->conf = conf;
	w->subs = subs;
	old = w->thumbs;
	nold = w->nthumbs;
	w->thumbs = thumbs;
	w->nthumbs = n;
	pthread_rwlock_unlock(&w->lock);
	wsman_thumbs_free(old, nold);
}

void
wsman_set_indexer(struct wsman *w, struct indexer *ix)
{
	w->indexer = ix;
}

void
wsman_set_lolbas(struct wsman *w, struct lolbas *lb)
{
	w->lolbas = lb;
}

void
wsman_set_evcache(struct wsman *w, struct evcache *ec)
{
	w->evcache = ec;
}

void
wsman_set_gate(struct wsman *w, bool (*full)(void *, char *, size_t),
    void *arg)
{
	pthread_rwlock_wrlock(&w->lock);
	w->gate_full = full;
	w->gate_arg = arg;
	pthread_rwlock_unlock(&w->lock);
}

void
wsman_shutdown(struct wsman *w)
{
	if (w == NULL)
		return;
	/* The write lock waits for every handler still inside. */
	pthread_rwlock_wrlock(&w->lock);
	w->stopping = true;
	pthread_rwlock_unlock(&w->lock);
}

void
wsman_stats_get(struct wsman *w, struct wsman_stats *o)
{
	o->requests = atomic_load(&w->requests);
	o->enumerates = atomic_load(&w->enumerates);
	o->heartbeats = atomic_load(&w->heartbeats);
	o->batches_acked = atomic_load(&w->batches_acked);
	o->batches_refused = atomic_load(&w->batches_refused);
	o->events_received = atomic_load(&w->events_received);
	o->events_acked = atomic_load(&w->events_acked);
	o->events_duplicate = atomic_load(&w->events_duplicate);
	o->events_malformed = atomic_load(&w->events_malformed);
	o->events_foreign = atomic_load(&w->events_foreign);
	o->dns_events = atomic_load(&w->dns_events);
	o->bad_requests = atomic_load(&w->bad_requests);
}

int
wsman_source_count(struct wsman *w, const char *subscription, uint64_t *out)
{
	struct store_txn *txn;
	int rc;

	*out = 0;
	if ((rc = store_read_begin(w->st, &txn)) != CD_EOK)
		return rc;
	rc = ingest_source_count(txn, subscription, out);
	store_read_end(txn);
	return rc;
}

static char *
wsman_lower_dup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d != NULL)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Encode a UTF-8 SOAP reply as Windows sends it: UTF-16LE with a BOM. */
static void
wsman_reply_soap(struct wsman_reply *rep, int status, const struct buf *xml)
{
	buf_reset(&rep->body);
	if (utf8_to_utf16le_bom((const char *)xml->data, xml->len, &rep->body) != CD_EOK) {
		rep->status = 500;
		buf_reset(&rep->body);
		return;
	}
	rep->status = status;
	rep->content_type = WSMAN_SOAP_CTYPE;
}

static void
wsman_reply_fault(struct wsman *w, struct wsman_reply *rep, int status,
    const char *relates_to, const char *code, const char *subcode,
    const char *reason)
{
	struct buf xml;

	atomic_fetch_add(&w->bad_requests, 1);
	buf_init(&xml, 0);
	if (soap_build_fault(relates_to, code, subcode, reason, &xml) == CD_EOK)
		wsman_reply_soap(rep, status, &xml);
	else
		rep->status = status;
	rep->status = status;
	buf_free(&xml);
}

/* The charset label of a Content-Type, or NULL. */
static const char *
wsman_charset(const char *ctype, char *out, size_t outlen)
{
	const char *p = ctype ? strcasestr(ctype, "charset=") : NULL;
	size_t n = 0;

	if (p == NULL)
		return NULL;
	p += 8;
	if (*p == '"')
		p++;
	while (p[n] && p[n] != ';' && p[n] != '"' && n + 1 < outlen)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

/* The body as UTF-8: SLDC (when labelled, with the raw fallback), then the
 * UTF-16/UTF-8 detection with illegal XML characters replaced. */
static int
wsman_decode(const struct cd_conf *conf, const struct wsman_request *req,
    struct buf *utf8)
{
	struct buf raw;
	const uint8_t *body = req->body;
	size_t len = req->len;
	char label[32];
	int rc;

	buf_init(&raw, 0);
	if (req->content_encoding != NULL && strcasecmp(req->content_encoding, "SLDC") == 0) {
		bool compressed = false;
		rc = sldc_decode_body(body, len, conf->limits.max_decompressed_bytes,
		    &raw, &compressed);
		if (rc != CD_EOK)
			goto out;
		body = raw.data;
		len = raw.len;
	}
	rc = utf16_to_utf8(body, len, wsman_charset(req->content_type, label,
	    sizeof(label)), conf->limits.max_decompressed_bytes, utf8);
out:
	buf_free(&raw);
	return rc;
}

/* "http://name:port" for NotifyTo: --advertise, else the Host header. */
static void
wsman_base_url(const struct cd_conf *conf, const struct wsman_request *req,
    char *out, size_t outlen)
{
	const char *scheme = req->tls ? "https" : "http";
	const char *host = conf->advertise ? conf->advertise : req->host_header;

	if (host == NULL || *host == '\0')
		host = "localhost";
	if (conf->advertise != NULL && strchr(conf->advertise, ':') == NULL &&
	    req->host_header != NULL && strchr(req->host_header, ':') != NULL)
		snprintf(out, outlen, "%s://%s%s", scheme, conf->advertise,
		    strrchr(req->host_header, ':'));
	else
		snprintf(out, outlen, "%s://%s", scheme, host);
}

static const char *
wsman_source(const struct wsman_request *req, const struct soap_msg *msg)
{
	if (req->source != NULL)
		return req->source;
	/* --auth none: the unauthenticated MachineID is all there is. */
	if (msg->machine_id != NULL && msg->machine_id[0] != '\0')
		return msg->machine_id;
	return req->peer ? req->peer : "unknown";
}

/*
 * AllowedSources patterns match the source identity (a Kerberos principal
 * such as "DC1$@EXAMPLE.COM", a certificate CN, or the MachineID with
 * --auth none) or its host name ("dc1"), so "DC*$@EXAMPLE.COM" and "dc*"
 * both work.
 */
static bool
wsman_allowed(const struct subscription *sub, const struct wsman_request *req,
    const char *source)
{
	char *host = NULL;
	bool ok;

	if (subscription_allows(sub, source))
		return true;
	if (req->source == NULL || auth_identity_host(req->source, &host) != CD_EOK)
		return false;
	ok = subscription_allows(sub, host);
	free(host);
	return ok;
}

static void
wsman_enumerate(struct wsman *w, const struct wsman_request *req,
    const struct soap_msg *msg, struct wsman_reply *rep)
{
	const struct cd_conf *conf = w->conf;
	const char *source = wsman_source(req, msg);
	struct store_txn *txn = NULL;
	struct buf xml;
	char base[512], mid[SOAP_MESSAGE_ID_SIZE];
	int rc;

	atomic_fetch_add(&w->enumerates, 1);
	wsman_base_url(conf, req, base, sizeof(base));
	buf_init(&xml, 0);
	soap_new_message_id(mid);
	buf_printf(&xml,
	    "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"" SOAP_NS_ENVELOPE "\" xmlns:a=\""
	    SOAP_NS_ADDRESSING "\" xmlns:n=\"" SOAP_NS_ENUMERATION "\" xmlns:w=\""
	    SOAP_NS_WSMAN "\" xmlns:p=\"" SOAP_NS_WSMV "\">"
	    "<s:Header><a:Action>" SOAP_ACTION_ENUMERATE_RESPONSE "</a:Action>"
	    "<a:MessageID>%s</a:MessageID><a:To>" SOAP_ADDRESS_ANONYMOUS "</a:To>"
	    "<a:RelatesTo>", mid);
	soap_xml_escape(&xml, msg->message_id);
	buf_puts(&xml, "</a:RelatesTo></s:Header><s:Body><n:EnumerateResponse>"
	    "<n:EnumerationContext></n:EnumerationContext><w:Items>");

	rc = store_read_begin(w->st, &txn);
	for (size_t i = 0; rc == CD_EOK && i < w->subs->n; i++) {
		const struct subscription *sub = w->subs->subs[i];
		char *bookmark = NULL;
		if (!sub->enabled || !wsman_allowed(sub, req, source))
			continue;
		/* Every subscription is offered on the listener the host
		 * enumerated on: NotifyTo takes that listener's scheme and the
		 * policy the configured authentication (TransportName is
		 * what Windows WEC would use; here the listener decides). */
		ingest_bookmark_get(txn, source, sub->id, &bookmark);
		struct subscription_render_ctx ctx = {
			.base_url = base,
			.auth = conf->auth,
			.thumbprints = (const char *const *)w->thumbs,
			.nthumbprints = w->nthumbs,
			.bookmark = bookmark,
		};
		rc = subscription_render(sub, &ctx, &xml);
		free(bookmark);
	}
	store_read_end(txn);
	if (rc != CD_EOK) {
		log_err("wsman", "source=%s cannot build EnumerateResponse: %s",
		    source, cd_strerror(rc));
		rep->status = 500;
		buf_free(&xml);
		return;
	}
	buf_puts(&xml, "</w:Items><w:EndOfSequence/></n:EnumerateResponse></s:Body></s:Envelope>");
	wsman_reply_soap(rep, 200, &xml);
	log_debug("wsman", "source=%s client=%s enumerated", source, req->peer);
	buf_free(&xml);
}

/* Writer-thread callback: the Ack, or a 503 so that the client retries. */
static void
wsman_delivered(struct ingest_batch *b, int rc)
{
	struct wsman_pending *p = b->on_done_arg;
	struct wsman *w = p->w;

	if (rc == CD_EOK) {
		struct buf xml;
		buf_init(&xml, 0);
		if (soap_build_ack(p->message_id, &xml) == CD_EOK)
			wsman_reply_soap(p->rep, 200, &xml);
		else
			p->rep->status = 500;
		buf_free(&xml);
		if (b->kind == INGEST_EVENTS) {
			/* The parsed events go to the outputs' cache (which then
			 * owns them) instead of being parsed again there. */
			for (size_t i = 0; w->evcache != NULL && i < b->n; i++)
				if (b->items[i].seq != 0 && b->items[i].ev != NULL &&
				    evcache_put(w->evcache, b->items[i].seq, b->items[i].ev))
					b->items[i].ev = NULL;
			atomic_fetch_add(&w->batches_acked, 1);
			atomic_fetch_add(&w->events_acked, p->nevents);
			atomic_fetch_add(&w->events_duplicate, b->res_dup);
			atomic_fetch_add(&w->dns_events, b->res_dns);
		}
		if (b->kind == INGEST_END) {
			/* SubscriptionEnd: an empty 200, as openwec answers. */
			buf_reset(&p->rep->body);
			p->rep->content_type = NULL;
		}
	} else {
		atomic_fetch_add(&w->batches_refused, 1);
		p->rep->status = 503;
		buf_reset(&p->rep->body);
	}
	wsman_done_fn done = p->done;
	void *arg = p->arg;
	p->batch = b;
	p->next = atomic_load(&w->spent);
	while (!atomic_compare_exchange_weak(&w->spent, &p->next, p))
		;
	done(arg);
}

/* Find the subscription a delivery is for: e:Identifier, else the path. */
static const struct subscription *
wsman_delivery_sub(struct wsman *w, const struct wsman_request *req,
    const struct soap_msg *msg)
{
	const struct subscription *sub = NULL;

	if (msg->identifier != NULL)
		sub = subscription_set_find(w->subs, msg->identifier);
	if (sub == NULL && req->path != NULL) {
		const char *p = strstr(req->path, WSMAN_SUB_PATH);
		if (p != NULL) {
			char id[128];
			snprintf(id, sizeof(id), "%s", p + strlen(WSMAN_SUB_PATH));
			id[strcspn(id, "/")] = '\0';
			sub = subscription_set_find(w->subs, id);
		}
	}
	return sub;
}

static int
wsman_delivery(struct wsman *w, const struct wsman_request *req,
    const struct soap_msg *msg, enum ingest_kind kind,
    struct wsman_reply *rep, wsman_done_fn done, void *arg)
{
	const struct cd_conf *conf = w->conf;
	const char *source = wsman_source(req, msg);
	const struct subscription *sub = wsman_delivery_sub(w, req, msg);
	struct ingest_batch *b = NULL;
	struct wsman_pending *p = NULL;
	char *source_host = NULL;
	bool relay;
	int rc;

	if (sub == NULL) {
		log_info("wsman", "source=%s delivery for unknown subscription '%s'",
		    source, msg->identifier ? msg->identifier : req->path);
		atomic_fetch_add(&w->bad_requests, 1);
		rep->status = 404;
		return 0;
	}
	if (!wsman_allowed(sub, req, source)) {
		log_info("wsman", "source=%s not allowed by subscription %s",
		    source, sub->name);
		rep->status = 403;
		return 0;
	}
	if (req->source != NULL)
		rc = auth_identity_host(req->source, &source_host);
	else
		source_host = wsman_lower_dup(source), rc = source_host ? CD_EOK : -ENOMEM;
	if (rc != CD_EOK) {
		rep->status = 403;
		return 0;
	}
	if (kind == INGEST_EVENTS && wsman_gate_refuses(w, source)) {
		atomic_fetch_add(&w->batches_refused, 1);
		free(source_host);
		rep->status = 503;
		return 0;
	}
	relay = auth_acl_match_any((const char *const *)conf->relays.v,
	    conf->relays.n, source);

	if ((rc = ingest_batch_new(&b, kind)) != CD_EOK)
		goto fail;
	p = calloc(1, sizeof(*p));
	if (p == NULL || (b->source = strdup(source)) == NULL ||
	    (b->subscription = strdup(sub->id)) == NULL ||
	    (b->version = strdup(sub->version)) == NULL ||
	    (p->message_id = strdup(msg->message_id)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	b->source_host = source_host;
	source_host = NULL;
	b->now_ms = timeparse_now_ms();
	b->alert_regdom = conf->dns.alert_registered_domain;
	b->lolbas = w->lolbas;
	b->indexer = w->indexer;
	if (msg->bookmark != NULL && (b->bookmark = strdup(msg->bookmark)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < msg->nevents; i++) {
		struct event *ev = NULL;
		if ((rc = event_parse(msg->events[i].xml, msg->events[i].len, &ev)) != CD_EOK)
			goto fail;
		char *host = wsman_lower_dup(ev->computer);
		bool foreign = !relay && ev->computer != NULL &&
		    !auth_identity_matches_computer(b->source_host, ev->computer);
		if (ev->malformed) {
			p->nmalformed++;
			log_info("wsman", "source=%s kept a malformed event: %s",
			    source, ev->error ? ev->error : "?");
		}
		if (foreign)
			atomic_fetch_add(&w->events_foreign, 1);
		if ((rc = ingest_batch_add(b, ev, host, foreign)) != CD_EOK)
			goto fail;
	}
	p->w = w;
	p->rep = rep;
	p->done = done;
	p->arg = arg;
	p->nevents = msg->nevents;
	b->on_done = wsman_delivered;
	b->on_done_arg = p;
	atomic_fetch_add(&w->events_received, msg->nevents);
	atomic_fetch_add(&w->events_malformed, p->nmalformed);
	if (w->stopping || (rc = ingest_submit(w->st, b)) != CD_EOK) {
		rc = CD_ESHUTDOWN;
		goto fail;
	}
	return 1;
fail:
	log_warn("wsman", "source=%s delivery refused: %s", source, cd_strerror(rc));
	atomic_fetch_add(&w->batches_refused, 1);
	if (p != NULL)
		free(p->message_id);
	free(p);
	free(source_host);
	ingest_batch_free(b);
	rep->status = 503;
	return 0;
}

int
wsman_handle(struct wsman *w, const struct wsman_request *req,
    struct wsman_reply *rep, wsman_done_fn done, void *arg)
{
	struct buf utf8;
	struct soap_msg *msg = NULL;
	const char *why = NULL;
	int rc, ret = 0;

	atomic_fetch_add(&w->requests, 1);
	wsman_spent_free(w);
	pthread_rwlock_rdlock(&w->lock);
	const struct cd_conf *conf = w->conf;
	buf_init(&utf8, 0);
	rc = wsman_decode(conf, req, &utf8);
	if (rc != CD_EOK) {
		log_info("wsman", "client=%s undecodable body: %s", req->peer,
		    cd_strerror(rc));
		atomic_fetch_add(&w->bad_requests, 1);
		rep->status = rc == CD_ETOOBIG ? 413 : 400;
		goto out;
	}
	struct soap_limits lim = {
		.max_events = conf->limits.max_events_per_batch,
		.max_depth = conf->limits.max_xml_depth,
		.max_nodes = conf->limits.max_xml_nodes,
	};
	rc = soap_parse((const char *)utf8.data, utf8.len, &lim, &msg);
	if (rc != CD_EOK) {
		why = soap_last_error();
		log_info("wsman", "client=%s bad envelope: %s", req->peer,
		    why ? why : cd_strerror(rc));
		wsman_reply_fault(w, rep, rc == CD_ETOOBIG ? 413 : 400, NULL,
		    "s:Sender", "w:InvalidMessageInformationHeader",
		    why ? why : "malformed SOAP envelope");
		goto out;
	}
	if (strcmp(msg->action, SOAP_ACTION_ENUMERATE) == 0) {
		wsman_enumerate(w, req, msg, rep);
	} else if (strcmp(msg->action, SOAP_ACTION_END) == 0) {
		/* End after an EnumerateResponse: 204, as Windows answers. */
		rep->status = 204;
	} else if (strcmp(msg->action, SOAP_ACTION_EVENTS) == 0) {
		ret = wsman_delivery(w, req, msg, INGEST_EVENTS, rep, done, arg);
	} else if (strcmp(msg->action, SOAP_ACTION_HEARTBEAT) == 0) {
		atomic_fetch_add(&w->heartbeats, 1);
		ret = wsman_delivery(w, req, msg, INGEST_HEARTBEAT, rep, done, arg);
	} else if (strcmp(msg->action, SOAP_ACTION_SUBSCRIPTION_END) == 0 ||
	    strcmp(msg->action, SOAP_ACTION_UNSUBSCRIBE) == 0) {
		ret = wsman_delivery(w, req, msg, INGEST_END, rep, done, arg);
	} else {
		log_info("wsman", "client=%s unsupported action %s", req->peer,
		    msg->action);
		wsman_reply_fault(w, rep, 400, msg->message_id, "s:Sender",
		    "a:ActionNotSupported", "the action is not supported by this service");
	}
out:
	pthread_rwlock_unlock(&w->lock);
	soap_msg_free(msg);
	buf_free(&utf8);
	return ret;
}
