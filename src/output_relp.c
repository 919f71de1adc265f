/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The RELP output: RFC 5424 messages over RELP with librelp, received by
 * rsyslog's imrelp. RELP acknowledges every message; this is the output
 * that gives at-least-once delivery into rsyslog.
 *
 * How acknowledgements become a confirmed batch. librelp (1.11) tells its
 * caller nothing about individual acks: relpCltSendSyslog() only blocks
 * while the window of unacknowledged messages is full, and no call reports
 * how many are still open. What it does offer is the close handshake:
 * destroying a client sends "close" and waits for the server's answer,
 * and the librelp server (imrelp) answers the commands of a session one
 * after the other, in order, so a close answered means every message
 * before it was answered. Every failure on the way (a negative response,
 * EOF, a reset, a timeout) reaches the engine's error callback. So each
 * send() carries its batch in a session of its own:
 *
 *   connect, send every message, close; CD_EOK only when every send
 *   succeeded and no error was reported until the close was answered.
 *
 * When the session fails after m messages were handed over, the window
 * still proves something: librelp handed over message m-1 only once fewer
 * than `window` messages were unanswered, so (answers being in order) the
 * first m - window were acknowledged and count as delivered; the rest of
 * the batch is resent. Duplicates are thus bounded by the window. A
 * negative response, which librelp also counts as an answer, voids that
 * credit: the whole batch is resent.
 *
 * Note that rsyslog acknowledges a message once it is in its main queue;
 * only with a direct or disk-assisted queue on the receiving side does the
 * acknowledgement survive a crash of rsyslog itself.
 *
 * Settings: host (required), port (default 2514), window (2..10000,
 * default 128), facility, max_message (as the syslog output; imrelp's
 * default maxDataSize is 128 KiB), connect_timeout and timeout (seconds,
 * default 10 and 30), tls (on|off, default off), ca_file, server_name
 * (the peer name required in the server certificate when ca_file is
 * given, default host), cert_file and key_file. TLS uses librelp's
 * OpenSSL driver.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librelp.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "output.h"
#include "output_kv.h"
#include "output_sinks.h"
#include "syslog_fmt.h"

#define OUTPUT_RELP_WINDOW_DEFAULT	128

struct output_relp {
	char		*name;
	struct output_kv_syslog cfg;	/* host, port, TLS files, facility, ... */
	int		 window;
	unsigned	 connect_timeout_s;
	unsigned	 timeout_s;
	bool		 tls;

	relpEngine_t	*engine;	/* made at the first send */
	relpRetVal	 err;		/* first error reported in this session */
	char		 errtext[256];
	bool		 failing;
	struct buf	 msg;
};

static int output_relp_create(const struct conf_output *conf, void **sinkp,
    char **errmsg);
static const char *output_relp_setting(void *sink, const struct conf_kv *kv);
static int output_relp_send(void *sink, const struct output_msg *msgs, size_t n,
    size_t *delivered);
static void output_relp_destroy(void *sink);
static int output_relp_engine(struct output_relp *r);
static int output_relp_client(struct output_relp *r, relpClt_t **out);
static void output_relp_on_err(void *usr, char *objinfo, char *errmsg,
    relpRetVal code);
static void output_relp_on_auth_err(void *usr, char *authinfo, char *errmsg,
    relpRetVal code);
static void output_relp_on_generic_err(char *objinfo, char *errmsg, relpRetVal code);
static void output_relp_dbgprint(char *fmt, ...) __attribute__((format(printf, 1, 2)));

const struct output_sink_ops output_relp_ops = {
	.type = "relp",
	.create = output_relp_create,
	.send = output_relp_send,
	.reopen = NULL,		/* every batch has a fresh session anyway */
	.destroy = output_relp_destroy,
};

static void
output_relp_on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct output_relp *r = usr;

	if (r == NULL)
		return;
	if (r->err == RELP_RET_OK || code == RELP_RET_RSP_STATE_ERR) {
		r->err = code;
		snprintf(r->errtext, sizeof(r->errtext), "%s: %s",
		    objinfo ? objinfo : "", errmsg ? errmsg : "");
	}
}

static void
output_relp_on_auth_err(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	output_relp_on_err(usr, authinfo, errmsg, code);
}

/* Errors librelp cannot tie to a session (no user pointer). */
static void
output_relp_on_generic_err(char *objinfo, char *errmsg, relpRetVal code)
{
	log_debug("output", "relp: %s: %s (%d)", objinfo ? objinfo : "",
	    errmsg ? errmsg : "", (int)code);
}

/* librelp calls its debug hook unconditionally and has none by default. */
static void
output_relp_dbgprint(char *fmt, ...)
{
	(void)fmt;
}

/* A setting of this output alone: NULL when taken, else why not. */
static const char *
output_relp_setting(void *sink, const struct conf_kv *kv)
{
	struct output_relp *r = sink;
	unsigned long v;
	unsigned s;

	if (strcmp(kv->key, "window") == 0) {
		/* librelp ignores windows below 2. */
		if (output_kv_ulong(kv->value, 2, 10000, &v) != CD_EOK)
			return "window must be 2..10000";
		r->window = (int)v;
	} else if (strcmp(kv->key, "connect_timeout") == 0 ||
	    strcmp(kv->key, "timeout") == 0) {
		if (output_kv_seconds(kv->value, &s) != CD_EOK)
			return "timeouts are 1..3600 seconds";
		if (kv->key[0] == 'c')
			r->connect_timeout_s = s;
		else
			r->timeout_s = s;
	} else if (strcmp(kv->key, "tls") == 0) {
		if (strcmp(kv->value, "on") == 0)
			r->tls = true;
		else if (strcmp(kv->value, "off") == 0)
			r->tls = false;
		else
			return "tls must be on or off";
	} else {
		return "unknown setting";
	}
	return NULL;
}

static int
output_relp_create(const struct conf_output *conf, void **sinkp, char **errmsg)
{
	struct output_relp *r;
	struct buf errs;
	int rc;

	*sinkp = NULL;
	*errmsg = NULL;
	buf_init(&errs, 0);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	output_kv_syslog_init(&r->cfg);
	r->window = OUTPUT_RELP_WINDOW_DEFAULT;
	r->connect_timeout_s = 10;
	r->timeout_s = 30;
	buf_init(&r->msg, 0);
	if ((r->name = strdup(conf->name)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = output_kv_syslog_parse(&r->cfg, conf, output_relp_setting, r, &errs);
	if (rc == -ENOMEM)
		goto fail;
	if (output_kv_syslog_check(&r->cfg, r->tls, "tls on", &errs, conf) != CD_EOK)
		rc = CD_ECONFIG;
	if (rc != CD_EOK)
		goto fail;
	if (r->cfg.port[0] == '\0')
		snprintf(r->cfg.port, sizeof(r->cfg.port), "2514");
	*sinkp = r;
	buf_free(&errs);
	return CD_EOK;
fail:
	output_kv_errs_end(rc, &errs, errmsg);
	output_relp_destroy(r);
	return rc;
}

static int
output_relp_engine(struct output_relp *r)
{
	relpEngine_t *e = NULL;

	if (r->engine != NULL)
		return CD_EOK;
	if (relpEngineConstruct(&e) != RELP_RET_OK)
		return -ENOMEM;
	/* Without "syslog" enabled the open handshake offers no command and
	 * every relpCltSendSyslog() fails with CMD_DISABLED. */
	if (relpEngineSetDbgprint(e, output_relp_dbgprint) != RELP_RET_OK ||
	    relpEngineSetEnableCmd(e, (unsigned char *)"syslog",
	    eRelpCmdState_Required) != RELP_RET_OK ||
	    relpEngineSetOnErr(e, output_relp_on_err) != RELP_RET_OK ||
	    relpEngineSetOnAuthErr(e, output_relp_on_auth_err) != RELP_RET_OK ||
	    relpEngineSetOnGenericErr(e, output_relp_on_generic_err) != RELP_RET_OK ||
	    (r->tls && relpEngineSetTLSLibByName(e, "openssl") != RELP_RET_OK)) {
		relpEngineDestruct(&e);
		return CD_ECONFIG;
	}
	r->engine = e;
	return CD_EOK;
}

static int
output_relp_client(struct output_relp *r, relpClt_t **out)
{
	relpClt_t *c = NULL;
	relpRetVal rv;

	if (relpEngineCltConstruct(r->engine, &c) != RELP_RET_OK)
		return -ENOMEM;
	rv = relpCltSetUsrPtr(c, r);
	rv = rv ? rv : relpCltSetTimeout(c, r->timeout_s);
	rv = rv ? rv : relpCltSetConnTimeout(c, (int)r->connect_timeout_s);
	rv = rv ? rv : relpCltSetWindowSize(c, r->window);
	if (r->tls) {
		rv = rv ? rv : relpCltEnableTLS(c);
		if (r->cfg.ca_file != NULL) {
			rv = rv ? rv : relpCltSetCACert(c, r->cfg.ca_file);
			rv = rv ? rv : relpCltSetAuthMode(c, "name");
			rv = rv ? rv : relpCltAddPermittedPeer(c,
			    r->cfg.server_name ? r->cfg.server_name : r->cfg.host);
		}
		if (r->cfg.cert_file != NULL) {
			rv = rv ? rv : relpCltSetOwnCert(c, r->cfg.cert_file);
			rv = rv ? rv : relpCltSetPrivKey(c, r->cfg.key_file);
		}
	}
	if (rv != RELP_RET_OK) {
		relpEngineCltDestruct(r->engine, &c);
		return CD_ECONFIG;
	}
	*out = c;
	return CD_EOK;
}

static int
output_relp_send(void *sink, const struct output_msg *msgs, size_t n,
    size_t *delivered)
{
	struct output_relp *r = sink;
	relpClt_t *clt = NULL;
	relpRetVal rv = RELP_RET_OK;
	size_t sent = 0;
	int rc;

	*delivered = 0;
	if ((rc = output_relp_engine(r)) != CD_EOK ||
	    (rc = output_relp_client(r, &clt)) != CD_EOK)
		goto out;
	r->err = RELP_RET_OK;
	r->errtext[0] = '\0';
	rv = relpCltConnect(clt, 0, (unsigned char *)r->cfg.port,
	    (unsigned char *)r->cfg.host);
	if (rv != RELP_RET_OK) {
		rc = -ECONNREFUSED;
		goto out;
	}
	relpCltHintBurstBegin(clt);
	for (size_t i = 0; i < n; i++) {
		const struct output_msg *m = &msgs[i];
		bool cut = false;

		buf_reset(&r->msg);
		/* output_msg carries no event Level yet: events go out as info. */
		rc = syslog_fmt_message(&r->msg, m, r->cfg.facility,
		    syslog_fmt_severity(m->kind, m->level), r->cfg.max_message, &cut);
		if (rc != CD_EOK)
			break;
		if (cut)
			log_warn("output", "output=%s seq=%llu: record of %zu bytes "
			    "truncated to max_message %zu", r->name,
			    (unsigned long long)m->seq, m->len, r->cfg.max_message);
		rv = relpCltSendSyslog(clt, r->msg.data, r->msg.len);
		if (rv != RELP_RET_OK || r->err != RELP_RET_OK)
			break;
		sent++;
	}
	relpCltHintBurstEnd(clt);
out:
	/* The close handshake: returns once the server answered "close"
	 * (or the session failed, which the error callback records). */
	if (clt != NULL)
		relpEngineCltDestruct(r->engine, &clt);
	if (rc == CD_EOK && rv == RELP_RET_OK && r->err == RELP_RET_OK && sent == n) {
		if (r->failing)
			log_info("output", "output=%s relp %s:%s: delivering again",
			    r->name, r->cfg.host, r->cfg.port);
		r->failing = false;
		*delivered = n;
		return CD_EOK;
	}
	if (r->err != RELP_RET_RSP_STATE_ERR && sent > (size_t)r->window)
		*delivered = sent - (size_t)r->window;
	if (rc == CD_EOK)
		rc = r->err == RELP_RET_RSP_STATE_ERR ? -EPROTO : -ECONNRESET;
	log_msg(r->failing ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "output",
	    "output=%s relp %s:%s: %s (librelp %d%s%s); %zu of %zu confirmed",
	    r->name, r->cfg.host, r->cfg.port, cd_strerror(rc),
	    (int)(rv != RELP_RET_OK ? rv : r->err), r->errtext[0] ? ": " : "",
	    r->errtext, *delivered, n);
	r->failing = true;
	return rc;
}

static void
output_relp_destroy(void *sink)
{
	struct output_relp *r = sink;

	if (r == NULL)
		return;
	if (r->engine != NULL)
		relpEngineDestruct(&r->engine);
	buf_free(&r->msg);
	free(r->name);
	output_kv_syslog_clear(&r->cfg);
	free(r);
}
