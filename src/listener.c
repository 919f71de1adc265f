/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libmicrohttpd glue. Request lifecycle (libmicrohttpd's own model):
 *  1. first call, headers only: authenticate and check the declared length,
 *     so unauthenticated or oversized requests are answered from headers
 *     alone, before any body byte is read or parsed;
 *  2. body chunks are appended under a hard cap;
 *  3. last call: decrypt (Kerberos), hand the plaintext to wsman; an Events
 *     batch suspends the connection until the store has committed it;
 *  4. the resumed call encrypts and queues the reply.
 * Connection-scoped state (the Kerberos context, the peer identity) lives in
 * struct conn, request-scoped state in struct request.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "listener.h"
#include "log.h"
#include "thread.h"
#include "wsman.h"

#define LISTENER_BODY_RESERVE_MAX	(4u << 20)	/* bytes reserved from Content-Length */
#define LISTENER_MAX 32
/* listener_auth_kerberos(): the exchange continues in another leg. */
#define CD_EAGAIN_AUTH 1

enum listener_kind { LISTENER_WEF, LISTENER_WEF_TLS, LISTENER_API };

struct listener_ep {
	struct listener		*l;
	enum listener_kind	 kind;
	struct MHD_Daemon	*mhd;
	unsigned		 port;
	/* The listening socket MHD_quiesce_daemon() handed back: closed only
	 * after MHD_stop_daemon(), as libmicrohttpd asks, since its threads
	 * may still use it until then (microhttpd.h). */
	MHD_socket		 quiesced;
};

struct listener {
	const struct cd_conf	*conf;
	struct wsman		*wsman;
	struct api_ctx		*api;
	struct listener_ep	 ep[LISTENER_MAX];
	size_t			 nep;
	char			*tls_cert_pem;
	char			*tls_key_pem;
	char			*tls_ca_pem;
	struct auth_tls_cas	*cas;		/**< client certificates must chain to these */
	atomic_bool		 up;
};

/* One per TCP connection. */
struct conn {
	struct auth_gss_ctx	*gss;		/**< Kerberos context, once established */
	char			*principal;	/**< authenticated identity */
	char			 peer[64];
};

enum request_state { REQ_HEADERS, REQ_BODY, REQ_WAITING, REQ_READY };

struct request {
	struct listener_ep	*ep;
	struct conn		*conn;
	struct MHD_Connection	*mhd_conn;
	enum request_state	 state;
	struct buf		 body;
	bool			 encrypted;	/**< multipart/encrypted body (Kerberos) */
	struct multipart_form	 form;		/**< framing to mirror in the reply */
	char			*www_auth;	/**< WWW-Authenticate for this reply */
	struct wsman_reply	 reply;
	pthread_mutex_t		 lock;
	bool			 done;		/**< reply complete (async path) */
	bool			 suspended;	/**< connection suspended, waiting for done */
	struct timespec		 started;	/**< headers complete (CLOCK_MONOTONIC) */
};

static enum MHD_Result listener_access(void *, struct MHD_Connection *,
    const char *, const char *, const char *, const char *, size_t *, void **);
static void listener_completed(void *, struct MHD_Connection *, void **,
    enum MHD_RequestTerminationCode);
static void listener_conn_notify(void *, struct MHD_Connection *, void **,
    enum MHD_ConnectionNotificationCode);

static enum MHD_Result
listener_send(struct MHD_Connection *c, int status, const void *data,
    size_t len, const char *content_type, const char *www_auth)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (www_auth != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, www_auth);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* 401 advertising both schemes Windows may use (wef-protocol.md §1.11). */
static enum MHD_Result
listener_send_401(struct MHD_Connection *c)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Kerberos");
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Negotiate");
	ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

static void
listener_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct conn *conn = *socket_context;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn = calloc(1, sizeof(*conn));
		if (conn == NULL)
			return;
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL) {
			const struct sockaddr *sa = ci->client_addr;
			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
				    conn->peer, sizeof(conn->peer));
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
				    conn->peer, sizeof(conn->peer));
		}
		*socket_context = conn;
		return;
	}
	if (conn != NULL) {
		auth_gss_ctx_free(conn->gss);
		free(conn->principal);
		free(conn);
		*socket_context = NULL;
	}
}

static struct conn *
listener_conn(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* Called on the store writer thread once wsman has filled the reply. */
static void
listener_resume(void *arg)
{
	struct request *req = arg;

	pthread_mutex_lock(&req->lock);
	req->done = true;
	if (req->suspended)
		MHD_resume_connection(req->mhd_conn);
	pthread_mutex_unlock(&req->lock);
}

/*
 * Kerberos: authenticate from the headers alone. A request carrying an
 * Authorization header (re)negotiates; one without it must arrive on a
 * connection whose context is already established.
 */
static int
listener_auth_kerberos(struct request *req, struct MHD_Connection *c)
{
	struct conn *conn = req->conn;
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);

	if (authz != NULL) {
		char *principal = NULL;
		/* The context is the connection's: auth_gss_accept() continues a
		 * multi-leg exchange in it, or starts over when an established
		 * connection sends a new token. */
		int rc = auth_gss_accept(&conn->gss, authz, &req->www_auth, &principal);
		if (rc != CD_EOK) {
			log_info("auth", "client=%s Kerberos authentication refused: %s",
			    conn->peer, cd_strerror(rc));
			free(principal);
			free(conn->principal);
			conn->principal = NULL;
			return rc;
		}
		if (principal == NULL)
			return CD_EAGAIN_AUTH;	/* continue: 401 with the token */
		free(conn->principal);
		conn->principal = principal;
		return CD_EOK;
	}
	return conn->gss != NULL && auth_gss_ctx_established(conn->gss) ? CD_EOK : CD_EAUTH;
}

static int
listener_auth_tls(struct request *req, struct MHD_Connection *c)
{
	struct conn *conn = req->conn;
	const union MHD_ConnectionInfo *ci;
	int rc;

	if (conn->principal != NULL)
		return CD_EOK;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return CD_EAUTH;
	/* libmicrohttpd's TLS is GnuTLS: take the peer's DER chain from it and
	 * verify it with OpenSSL against the configured CAs (auth_tls.c). */
	unsigned int nder = 0;
	const gnutls_datum_t *ders = gnutls_certificate_get_peers(
	    (gnutls_session_t)ci->tls_session, &nder);
	if (ders == NULL || nder == 0)
		return CD_EAUTH;
	const uint8_t *chain[8];
	size_t chain_len[8];
	size_t n = nder < 8 ? nder : 8;
	for (size_t i = 0; i < n; i++) {
		chain[i] = ders[i].data;
		chain_len[i] = ders[i].size;
	}
	char issuer[41];
	rc = auth_tls_verify(req->ep->l->cas, chain, chain_len, n,
	    &conn->principal, issuer);
	if (rc != CD_EOK)
		log_info("auth", "client=%s TLS client certificate refused: %s",
		    conn->peer, cd_strerror(rc));
	return rc;
}

static enum MHD_Result
listener_wef_headers(struct request *req, struct MHD_Connection *c,
    const char *method)
{
	const struct cd_conf *conf = req->ep->l->conf;
	const char *cl;
	int rc = CD_EOK;

	if (strcmp(method, "POST") != 0)
		return listener_send(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, 0, NULL, NULL);
	if (req->ep->kind == LISTENER_WEF_TLS)
		rc = listener_auth_tls(req, c);
	else if (conf->auth == CONF_AUTH_KERBEROS)
		rc = listener_auth_kerberos(req, c);
	if (rc == CD_EAGAIN_AUTH)
		return listener_send(c, MHD_HTTP_UNAUTHORIZED, NULL, 0, NULL, req->www_auth);
	if (rc != CD_EOK) {
		if (req->ep->kind == LISTENER_WEF_TLS)
			return listener_send(c, MHD_HTTP_FORBIDDEN, NULL, 0, NULL, NULL);
		return listener_send_401(c);
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > conf->limits.max_body_bytes) {
		log_info("http", "client=%s body of %s bytes refused (cap %" PRIu64 ")",
		    req->conn->peer, cl, conf->limits.max_body_bytes);
		return listener_send(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, 0, NULL, NULL);
	}
	/* The declared size at once: growing by doubling copied each batch
	 * (about 320 KB of UTF-16) several times over. Bounded, since the
	 * client has only declared it; any rest grows as it comes. */
	if (cl != NULL) {
		unsigned long long want = strtoull(cl, NULL, 10);
		(void)buf_reserve(&req->body, want < LISTENER_BODY_RESERVE_MAX ?
		    (size_t)want : LISTENER_BODY_RESERVE_MAX);
	}
	req->state = REQ_BODY;
	clock_gettime(CLOCK_MONOTONIC, &req->started);
	return MHD_YES;
}

/* True when the body has taken longer than limits/request-timeout: MHD's
 * own timeout only sees idleness, so a client trickling one byte now and
 * then would otherwise hold the connection (and its buffer) forever. */
static bool
listener_body_late(const struct request *req)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - req->started.tv_sec >
	    (time_t)req->ep->l->conf->limits.request_timeout_s;
}

/* Decrypt when needed, then dispatch. Returns 1 when the reply is pending. */
static int
listener_wef_dispatch(struct request *req, struct MHD_Connection *c,
    const char *url)
{
	struct listener *l = req->ep->l;
	struct wsman_request wr = { 0 };
	struct buf plain;
	char *charset = NULL;
	char ctype[128];
	int rc;

	buf_init(&plain, l->conf->limits.max_body_bytes);
	wr.path = url;
	wr.host_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	wr.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	wr.content_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_ENCODING);
	wr.source = req->conn->principal;
	wr.peer = req->conn->peer;
	wr.tls = req->ep->kind == LISTENER_WEF_TLS;
	wr.body = req->body.data;
	wr.len = req->body.len;

	if (req->conn->gss != NULL && req->body.len > 0) {
		rc = auth_gss_unwrap_body(req->conn->gss, wr.content_type,
		    req->body.data, req->body.len, &plain, &charset, &req->form);
		if (rc != CD_EOK) {
			log_info("auth", "client=%s source=%s undecryptable body: %s",
			    req->conn->peer, wr.source, cd_strerror(rc));
			req->reply.status = MHD_HTTP_BAD_REQUEST;
			buf_free(&plain);
			return 0;
		}
		req->encrypted = true;
		snprintf(ctype, sizeof(ctype), "application/soap+xml;charset=%s",
		    charset ? charset : "UTF-16");
		free(charset);
		wr.content_type = ctype;
		wr.body = plain.data;
		wr.len = plain.len;
	} else if (req->conn->gss != NULL || (l->conf->auth == CONF_AUTH_KERBEROS &&
	    req->ep->kind == LISTENER_WEF)) {
		/* The pre-emptive authentication leg: an empty POST. */
		req->reply.status = MHD_HTTP_OK;
		buf_free(&plain);
		return 0;
	}
	rc = wsman_handle(l->wsman, &wr, &req->reply, listener_resume, req);
	buf_free(&plain);
	return rc;
}

static enum MHD_Result
listener_wef_reply(struct request *req, struct MHD_Connection *c)
{
	struct wsman_reply *rep = &req->reply;
	enum MHD_Result ret;

	if (req->encrypted && rep->body.len > 0 && rep->status < 400) {
		struct buf enc;
		const char *ctype = NULL;
		buf_init(&enc, 0);
		int rc = auth_gss_wrap_body(req->conn->gss, &req->form, "UTF-16",
		    rep->body.data, rep->body.len, &enc, &ctype);
		if (rc != CD_EOK) {
			log_err("auth", "client=%s cannot encrypt reply: %s",
			    req->conn->peer, cd_strerror(rc));
			buf_free(&enc);
			return listener_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    NULL, 0, NULL, NULL);
		}
		ret = listener_send(c, rep->status, enc.data, enc.len, ctype,
		    req->www_auth);
		buf_free(&enc);
		return ret;
	}
	return listener_send(c, rep->status, rep->body.data, rep->body.len,
	    rep->body.len > 0 ? rep->content_type : NULL, req->www_auth);
}

static enum MHD_Result
listener_api_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct api_request *ar = cls;

	(void)kind;
	if (ar->nargs < API_MAX_ARGS) {
		ar->args[ar->nargs].key = key;
		ar->args[ar->nargs].value = value ? value : "";
		ar->nargs++;
	}
	return MHD_YES;
}

static enum MHD_Result
listener_api(struct request *req, struct MHD_Connection *c, const char *url,
    const char *method)
{
	struct api_request ar = { 0 };
	struct api_response resp;
	enum MHD_Result ret;

	ar.method = method;
	ar.path = url;
	ar.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, listener_api_collect_arg, &ar);
	api_response_init(&resp);
	api_handle(req->ep->l->api, &ar, &resp);
	if (resp.allow != NULL) {
		struct MHD_Response *r = MHD_create_response_from_buffer(resp.body.len,
		    resp.body.data, MHD_RESPMEM_MUST_COPY);
		if (r == NULL) {
			api_response_free(&resp);
			return MHD_NO;
		}
		if (resp.content_type != NULL)
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp.allow);
		ret = MHD_queue_response(c, (unsigned)resp.status, r);
		MHD_destroy_response(r);
	} else {
		ret = listener_send(c, resp.status, resp.body.data, resp.body.len,
		    resp.content_type, resp.www_authenticate);
	}
	api_response_free(&resp);
	return ret;
}

static enum MHD_Result
listener_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **req_cls)
{
	struct listener_ep *ep = cls;
	struct request *req = *req_cls;

	(void)version;
	/* A hunter's lookup should not queue behind the ingest threads. */
	if (ep->kind == LISTENER_API)
		thread_latency_hint();
	if (req == NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		req->ep = ep;
		req->mhd_conn = c;
		req->conn = listener_conn(c);
		pthread_mutex_init(&req->lock, NULL);
		wsman_reply_init(&req->reply);
		buf_init(&req->body, ep->l->conf->limits.max_body_bytes);
		*req_cls = req;
		if (req->conn == NULL)
			return MHD_NO;
		if (ep->kind == LISTENER_API)
			return MHD_YES;
		return listener_wef_headers(req, c, method);
	}

	if (ep->kind == LISTENER_API) {
		if (*upload_size != 0) {
			*upload_size = 0;	/* the API takes no bodies */
			return MHD_YES;
		}
		return listener_api(req, c, url, method);
	}

	switch (req->state) {
	case REQ_HEADERS:
		return MHD_YES;	/* a reply was already queued from the headers */
	case REQ_BODY:
		if (*upload_size != 0) {
			/* Past the cap without a Content-Length (chunked):
			 * a 413 cannot be queued mid-body, so close rather
			 * than read the rest for nothing. */
			if (buf_append(&req->body, upload_data, *upload_size) != CD_EOK) {
				log_info("http", "client=%s body over %" PRIu64
				    " bytes: connection closed", req->conn->peer,
				    req->ep->l->conf->limits.max_body_bytes);
				return MHD_NO;
			}
			if (listener_body_late(req)) {
				log_info("http", "client=%s body not complete after "
				    "%" PRIu32 " s: connection closed", req->conn->peer,
				    req->ep->l->conf->limits.request_timeout_s);
				return MHD_NO;
			}
			*upload_size = 0;
			return MHD_YES;
		}
		if (listener_wef_dispatch(req, c, url) == 1) {
			/* Suspend only if the commit has not completed yet;
			 * the lock orders this against listener_resume(), so
			 * a resume never precedes its suspend. */
			pthread_mutex_lock(&req->lock);
			bool early = req->done;
			if (!early) {
				req->state = REQ_WAITING;
				req->suspended = true;
				MHD_suspend_connection(c);
			}
			pthread_mutex_unlock(&req->lock);
			if (!early)
				return MHD_YES;
		}
		req->state = REQ_READY;
		return listener_wef_reply(req, c);
	case REQ_WAITING:
		pthread_mutex_lock(&req->lock);
		bool done = req->done;
		pthread_mutex_unlock(&req->lock);
		if (!done)
			return MHD_YES;
		req->state = REQ_READY;
		return listener_wef_reply(req, c);
	case REQ_READY:
		return MHD_YES;
	}
	return MHD_NO;
}

static void
listener_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *req = *req_cls;

	(void)cls; (void)c; (void)toe;
	if (req == NULL)
		return;
	buf_free(&req->body);
	wsman_reply_free(&req->reply);
	free(req->www_auth);
	pthread_mutex_destroy(&req->lock);
	free(req);
	*req_cls = NULL;
}

static int
listener_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL) {
		snprintf(host, sizeof(host), "0.0.0.0");
		colon = spec - 1;
	} else {
		size_t n = (size_t)(colon - spec);
		if (n >= sizeof(host))
			return CD_ECONFIG;
		memcpy(host, spec, n);
		host[n] = '\0';
		/* "[::1]:5985" */
		if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
			memmove(host, host + 1, n - 2);
			host[n - 2] = '\0';
		}
		if (host[0] == '\0' || strcmp(host, "*") == 0)
			snprintf(host, sizeof(host), "0.0.0.0");
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port > 65535)
		return CD_ECONFIG;

	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*s4);
		return CD_EOK;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
		return CD_EOK;
	}
	if (strcmp(host, "localhost") == 0) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*sslen = sizeof(*s4);
		return CD_EOK;
	}
	return CD_ECONFIG;
}

/* libmicrohttpd's own messages are debug output, except its 431: a host
 * whose Kerberos token does not fit max-header-bytes can never deliver,
 * and nothing else would tell the operator why (at most once a minute). */
static void
listener_mhd_log(void *cls, const char *fmt, va_list ap)
{
	static atomic_llong last_431;
	const struct listener *l = cls;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (strstr(msg, "response code is 431") != NULL) {
		long long now = (long long)time(NULL), prev = atomic_load(&last_431);
		if (now - prev >= 60 && atomic_compare_exchange_strong(&last_431, &prev, now)) {
			log_warn("http", "refused a request whose headers exceed "
			    "limits/max-header-bytes (%" PRIu32 " bytes; 431): raise it "
			    "if Windows hosts send large Kerberos tokens",
			    l->conf->limits.max_header_bytes);
			return;
		}
	}
	log_debug("http", "%s", msg);
}

/* One address to listen on, bound before any listener starts. */
struct listener_addr {
	enum listener_kind	 kind;
	const char		*spec;
	int			 fd;
	int			 family;
};

/*
 * Bind and listen on a->spec. listener_start() binds every address before
 * it starts any listener: a daemon that cannot take one of its addresses
 * (in use, not local) says why and exits without having answered anyone.
 */
static int
listener_bind(struct listener_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int on = 1, fd, e;

	if (listener_parse_addr(a->spec, &ss, &sslen) != CD_EOK) {
		log_err("http", "bad listen address '%s'", a->spec);
		return CD_ECONFIG;
	}
	/* Non-blocking: the pool's threads all wait on this one socket. */
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		e = errno;
		log_err("http", "cannot listen on %s: %s", a->spec, strerror(e));
		return -e;
	}
	/* A restart binds while the last run's connections are in TIME_WAIT;
	 * an IPv6 address means IPv6 only (--listen names each address). */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		e = errno;
		log_err("http", "cannot listen on %s: %s", a->spec, strerror(e));
		close(fd);
		return -e;
	}
	a->fd = fd;
	a->family = ss.ss_family;
	return CD_EOK;
}

/* Start serving on a bound address. The socket passes to libmicrohttpd
 * whatever the outcome: it closes the socket when it stops, and also when
 * it fails to start (libmicrohttpd 0.9.75, checked). */
static int
listener_add(struct listener *l, const struct listener_addr *a)
{
	struct listener_ep *ep;
	enum listener_kind kind = a->kind;
	const char *spec = a->spec;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
	    MHD_USE_ERROR_LOG | MHD_USE_ITC;
	const struct cd_conf *conf = l->conf;

	if (a->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (kind != LISTENER_API)
		flags |= MHD_ALLOW_SUSPEND_RESUME;
	if (kind == LISTENER_WEF_TLS)
		flags |= MHD_USE_TLS;

	ep = &l->ep[l->nep];
	ep->l = l;
	ep->kind = kind;
	ep->quiesced = MHD_INVALID_SOCKET;

	struct MHD_OptionItem opts[16];
	size_t n = 0;
	/* First, so that libmicrohttpd reports nothing on its own stderr. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
	    (intptr_t)listener_mhd_log, l };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, a->fd, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
	    (intptr_t)listener_completed, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
	    (intptr_t)listener_conn_notify, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
	    (intptr_t)conf->limits.max_connections, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (intptr_t)conf->limits.max_connections_per_ip, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	    (intptr_t)conf->limits.connection_timeout_s, NULL };
	/* The per-connection pool holds the request line and every header:
	 * its size caps both (libmicrohttpd answers 431 past it). */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (intptr_t)conf->limits.max_header_bytes, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
	    kind == LISTENER_API ? 1 : 2, NULL };
	if (kind == LISTENER_WEF_TLS) {
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, l->tls_cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, l->tls_key_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, l->tls_ca_pem };
		/* TLS 1.2 or newer only (GnuTLS priority string). */
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	ep->mhd = MHD_start_daemon(flags, 0, NULL, NULL, listener_access, ep,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (ep->mhd == NULL) {
		log_err("http", "cannot start the listener on %s", spec);
		return CD_ECONFIG;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	ep->port = 0;
	if (getsockname(a->fd, (struct sockaddr *)&bound, &blen) == 0)
		ep->port = ntohs(bound.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&bound)->sin6_port :
		    ((struct sockaddr_in *)&bound)->sin_port);
	log_info("http", "listening on %s (%s, port %u)", spec,
	    kind == LISTENER_API ? "REST API" : kind == LISTENER_WEF_TLS ?
	    "WEF over HTTPS" : "WEF over HTTP", ep->port);
	l->nep++;
	return CD_EOK;
}

static char *
listener_read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		log_err("http", "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) != CD_EOK)
			break;
	fclose(f);
	if (b.data == NULL)
		buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

/* The addresses the configuration names, in start order; false past
 * LISTENER_MAX. */
static bool
listener_addrs(const struct cd_conf *conf, bool api, struct listener_addr *v,
    size_t *n)
{
	const struct { enum listener_kind kind; const struct conf_strv *specs; } all[] = {
		{ LISTENER_WEF, &conf->listen },
		{ LISTENER_WEF_TLS, &conf->tls_listen },
		{ LISTENER_API, api ? &conf->api_listen : NULL },
	};

	*n = 0;
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		for (size_t i = 0; all[k].specs != NULL && i < all[k].specs->n; i++) {
			if (*n == LISTENER_MAX) {
				log_err("http", "more than %d listen addresses",
				    LISTENER_MAX);
				return false;
			}
			v[(*n)++] = (struct listener_addr){ all[k].kind,
			    all[k].specs->v[i], -1, 0 };
		}
	return true;
}

/* The TLS listeners' certificate, key and client CAs. */
static int
listener_tls_load(struct listener *l)
{
	const struct cd_conf *conf = l->conf;
	struct buf ca;
	int rc = CD_EOK;

	buf_init(&ca, 1 << 20);
	l->tls_cert_pem = listener_read_pem(conf->tls_cert);
	l->tls_key_pem = listener_read_pem(conf->tls_key);
	for (size_t i = 0; i < conf->tls_ca.n; i++) {
		char *pem = listener_read_pem(conf->tls_ca.v[i]);
		if (pem == NULL) {
			rc = CD_ECONFIG;
			break;
		}
		buf_puts(&ca, pem);
		buf_puts(&ca, "\n");
		free(pem);
	}
	l->tls_ca_pem = (char *)buf_steal(&ca, NULL);
	if (l->tls_cert_pem == NULL || l->tls_key_pem == NULL ||
	    l->tls_ca_pem == NULL)
		rc = CD_ECONFIG;
	if (rc == CD_EOK && auth_tls_cas_load(&l->cas,
	    (const char *const *)conf->tls_ca.v, conf->tls_ca.n) != CD_EOK)
		rc = CD_ECONFIG;
	return rc;
}

int
listener_start(struct listener **out, const struct cd_conf *conf,
    struct wsman *wsman, struct api_ctx *api)
{
	struct listener *l;
	struct listener_addr addrs[LISTENER_MAX];
	size_t naddr = 0, i = 0;
	int rc = CD_EOK;

	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->conf = conf;
	l->wsman = wsman;
	l->api = api;
	if (!listener_addrs(conf, api != NULL, addrs, &naddr))
		rc = CD_ECONFIG;
	if (rc == CD_EOK && conf->tls_listen.n > 0)
		rc = listener_tls_load(l);
	/* Every address first: none serves unless all are ours. */
	for (i = 0; i < naddr && rc == CD_EOK; i++)
		rc = listener_bind(&addrs[i]);
	for (i = 0; i < naddr && rc == CD_EOK; i++)
		rc = listener_add(l, &addrs[i]);
	/* Sockets not handed to libmicrohttpd are still ours. */
	for (; i < naddr; i++)
		if (addrs[i].fd >= 0)
			close(addrs[i].fd);
	if (rc != CD_EOK) {
		listener_stop(l);
		return rc;
	}
	atomic_store(&l->up, true);
	*out = l;
	return CD_EOK;
}

void
listener_quiesce(struct listener *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nep; i++) {
		MHD_socket fd = MHD_quiesce_daemon(l->ep[i].mhd);
		if (fd != MHD_INVALID_SOCKET)
			l->ep[i].quiesced = fd;
	}
}

void
listener_stop(struct listener *l)
{
	if (l == NULL)
		return;
	atomic_store(&l->up, false);
	for (size_t i = 0; i < l->nep; i++) {
		MHD_stop_daemon(l->ep[i].mhd);
		if (l->ep[i].quiesced != MHD_INVALID_SOCKET)
			close(l->ep[i].quiesced);
	}
	free(l->tls_cert_pem);
	if (l->tls_key_pem != NULL)
		explicit_bzero(l->tls_key_pem, strlen(l->tls_key_pem));
	free(l->tls_key_pem);
	free(l->tls_ca_pem);
	auth_tls_cas_free(l->cas);
	free(l);
}

bool
listener_up(const struct listener *l)
{
	return l != NULL && atomic_load(&l->up);
}

unsigned
listener_port(const struct listener *l, size_t n)
{
	size_t seen = 0;

	for (size_t i = 0; i < l->nep; i++) {
		if (l->ep[i].kind == LISTENER_API)
			continue;
		if (seen++ == n)
			return l->ep[i].port;
	}
	return 0;
}
