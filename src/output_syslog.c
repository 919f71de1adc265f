/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The syslog output: RFC 5424 messages over TCP with octet-counting framing
 * (RFC 6587 3.4.1), over TLS (RFC 5425, OpenSSL, the server certificate
 * verified against ca_file and the configured name), or as UDP datagrams
 * (RFC 5426).
 *
 * What a confirmed batch means. Plain syslog has no application
 * acknowledgement, so send() returns CD_EOK only when every frame has been
 * written, the local socket's send queue has drained (SIOCOUTQ: the
 * receiver's TCP stack acknowledged every byte) and the connection still
 * looks alive (no EOF, reset or error). What the receiver's socket buffer
 * and its in-memory queues hold when it dies is still lost: at-least-once
 * needs RELP. UDP gives no guarantee at all: a datagram that was sent is
 * counted as delivered.
 *
 * Settings: host (required), port (514 tcp/udp, 6514 tls), transport
 * (tcp | tls | udp, default tcp), facility (default local0), ca_file,
 * server_name (the name checked in the server certificate, default host),
 * cert_file and key_file (client certificate), max_message (bytes of a
 * whole message, default 65536: longer records are truncated, see
 * syslog_fmt.h), connect_timeout and send_timeout (seconds, default 10
 * and 30).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "output.h"
#include "output_kv.h"
#include "output_sinks.h"
#include "syslog_fmt.h"
#include "timeparse.h"

enum output_syslog_transport {
	OUTPUT_SYSLOG_TCP,
	OUTPUT_SYSLOG_TLS,
	OUTPUT_SYSLOG_UDP,
};

/* The largest UDP payload over IPv4 (RFC 768 length field less headers). */
#define OUTPUT_SYSLOG_UDP_MAX	65507

struct output_syslog {
	char		*name;
	struct output_kv_syslog cfg;	/* host, port, TLS files, facility, ... */
	enum output_syslog_transport transport;
	int		 connect_timeout_ms;
	int		 send_timeout_ms;

	int		 fd;		/* -1 when not connected */
	SSL_CTX		*ctx;		/* TLS: made at the first connect */
	SSL		*ssl;
	bool		 failing;	/* last send failed: log recovery once */
	struct buf	 msg;		/* one message, reused */
	struct buf	 out;		/* frames of a batch, reused */
};

static int output_syslog_create(const struct conf_output *conf, void **sinkp,
    char **errmsg);
static const char *output_syslog_setting(void *sink, const struct conf_kv *kv);
static int output_syslog_send(void *sink, const struct output_msg *msgs, size_t n,
    size_t *delivered);
static void output_syslog_reopen(void *sink);
static void output_syslog_destroy(void *sink);
static void output_syslog_close(struct output_syslog *s);
static int output_syslog_connect(struct output_syslog *s);
static int output_syslog_tls_start(struct output_syslog *s, int64_t deadline);
static int output_syslog_write(struct output_syslog *s, const uint8_t *p, size_t len);
static int output_syslog_drain(struct output_syslog *s);
static int output_syslog_alive(struct output_syslog *s);
static int output_syslog_wait(int fd, short events, int64_t deadline);
static void output_syslog_fail(struct output_syslog *s, const char *what, int rc);

const struct output_sink_ops output_syslog_ops = {
	.type = "syslog",
	.create = output_syslog_create,
	.send = output_syslog_send,
	.reopen = output_syslog_reopen,
	.destroy = output_syslog_destroy,
};

/* Log a destination failure once per state change (output.c logs the
 * retry); later failures of the same outage go to debug. */
static void
output_syslog_fail(struct output_syslog *s, const char *what, int rc)
{
	char ssl[256] = "";
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, ssl, sizeof(ssl));
	ERR_clear_error();
	log_msg(s->failing ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "output",
	    "output=%s syslog %s:%s: %s: %s%s%s", s->name, s->cfg.host,
	    s->cfg.port, what, cd_strerror(rc), ssl[0] ? ": " : "", ssl);
	s->failing = true;
}

/* A setting of this output alone: NULL when taken, else why not. */
static const char *
output_syslog_setting(void *sink, const struct conf_kv *kv)
{
	struct output_syslog *s = sink;
	unsigned v;

	if (strcmp(kv->key, "transport") == 0) {
		if (strcmp(kv->value, "tcp") == 0)
			s->transport = OUTPUT_SYSLOG_TCP;
		else if (strcmp(kv->value, "tls") == 0)
			s->transport = OUTPUT_SYSLOG_TLS;
		else if (strcmp(kv->value, "udp") == 0)
			s->transport = OUTPUT_SYSLOG_UDP;
		else
			return "transport must be tcp, tls or udp";
	} else if (strcmp(kv->key, "connect_timeout") == 0 ||
	    strcmp(kv->key, "send_timeout") == 0) {
		if (output_kv_seconds(kv->value, &v) != CD_EOK)
			return "timeouts are 1..3600 seconds";
		if (kv->key[0] == 'c')
			s->connect_timeout_ms = (int)v * 1000;
		else
			s->send_timeout_ms = (int)v * 1000;
	} else {
		return "unknown setting";
	}
	return NULL;
}

static int
output_syslog_create(const struct conf_output *conf, void **sinkp, char **errmsg)
{
	struct output_syslog *s;
	struct buf errs;
	int rc;

	*sinkp = NULL;
	*errmsg = NULL;
	buf_init(&errs, 0);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->fd = -1;
	output_kv_syslog_init(&s->cfg);
	s->connect_timeout_ms = 10000;
	s->send_timeout_ms = 30000;
	buf_init(&s->msg, 0);
	buf_init(&s->out, 0);
	if ((s->name = strdup(conf->name)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = output_kv_syslog_parse(&s->cfg, conf, output_syslog_setting, s, &errs);
	if (rc == -ENOMEM)
		goto fail;
	if (output_kv_syslog_check(&s->cfg, s->transport == OUTPUT_SYSLOG_TLS,
	    "transport tls", &errs, conf) != CD_EOK)
		rc = CD_ECONFIG;
	if (rc != CD_EOK)
		goto fail;
	if (s->cfg.port[0] == '\0')
		snprintf(s->cfg.port, sizeof(s->cfg.port), "%s",
		    s->transport == OUTPUT_SYSLOG_TLS ? "6514" : "514");
	if (s->transport == OUTPUT_SYSLOG_UDP && (!s->cfg.have_max ||
	    s->cfg.max_message > OUTPUT_SYSLOG_UDP_MAX))
		s->cfg.max_message = OUTPUT_SYSLOG_UDP_MAX;
	if (s->cfg.server_name == NULL && s->transport == OUTPUT_SYSLOG_TLS &&
	    (s->cfg.server_name = strdup(s->cfg.host)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	*sinkp = s;
	buf_free(&errs);
	return CD_EOK;
fail:
	output_kv_errs_end(rc, &errs, errmsg);
	output_syslog_destroy(s);
	return rc;
}

static void
output_syslog_close(struct output_syslog *s)
{
	if (s->ssl != NULL) {
		/* A close_notify keeps rsyslog from logging a broken session;
		 * the socket is non-blocking, so this never waits. */
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	ERR_clear_error();
}

/* Wait until fd is ready for events or the deadline passes. */
static int
output_syslog_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - timeparse_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return CD_EOK;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int
output_syslog_connect(struct output_syslog *s)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int64_t deadline = timeparse_mono_ms() + s->connect_timeout_ms;
	int rc, gai;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->transport == OUTPUT_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
	gai = getaddrinfo(s->cfg.host, s->cfg.port, &hints, &res);
	if (gai != 0) {
		log_msg(s->failing ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "output",
		    "output=%s syslog %s: %s", s->name, s->cfg.host,
		    gai_strerror(gai));
		s->failing = true;
		return gai == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	}
	rc = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			int err = errno;
			socklen_t len = sizeof(err);
			if (err == EINPROGRESS) {
				rc = output_syslog_wait(fd, POLLOUT, deadline);
				err = 0;
				if (rc == CD_EOK && getsockopt(fd, SOL_SOCKET, SO_ERROR,
				    &err, &len) != 0)
					err = errno;
				if (rc == CD_EOK && err != 0)
					rc = -err;
			} else {
				rc = -err;
			}
			if (rc != CD_EOK) {
				close(fd);
				continue;
			}
		}
		s->fd = fd;
		rc = CD_EOK;
		break;
	}
	freeaddrinfo(res);
	if (rc != CD_EOK) {
		output_syslog_fail(s, "connect", rc);
		return rc;
	}
	if (s->transport == OUTPUT_SYSLOG_TLS &&
	    (rc = output_syslog_tls_start(s, deadline)) != CD_EOK) {
		output_syslog_close(s);
		return rc;
	}
	return CD_EOK;
}

static int
output_syslog_tls_start(struct output_syslog *s, int64_t deadline)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool is_ip;
	int rc = CD_ECRYPTO;

	if (s->ctx == NULL) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
		if (ctx == NULL)
			goto fail;
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		if ((s->cfg.ca_file != NULL ?
		    SSL_CTX_load_verify_locations(ctx, s->cfg.ca_file, NULL) :
		    SSL_CTX_set_default_verify_paths(ctx)) != 1 ||
		    (s->cfg.cert_file != NULL &&
		    (SSL_CTX_use_certificate_chain_file(ctx, s->cfg.cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, s->cfg.key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1))) {
			SSL_CTX_free(ctx);
			output_syslog_fail(s, "TLS certificates", CD_ECRYPTO);
			return CD_ECRYPTO;
		}
		s->ctx = ctx;
	}
	if ((s->ssl = SSL_new(s->ctx)) == NULL || SSL_set_fd(s->ssl, s->fd) != 1)
		goto fail;
	/* RFC 5425 5.2: the name the client was configured with is matched
	 * against the certificate; an address against an iPAddress SAN. */
	is_ip = inet_pton(AF_INET, s->cfg.server_name, &a4) == 1 ||
	    inet_pton(AF_INET6, s->cfg.server_name, &a6) == 1;
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl),
		    s->cfg.server_name) != 1)
			goto fail;
	} else if (SSL_set1_host(s->ssl, s->cfg.server_name) != 1 ||
	    SSL_set_tlsext_host_name(s->ssl, s->cfg.server_name) != 1) {
		goto fail;
	}
	for (;;) {
		int r = SSL_connect(s->ssl);
		if (r == 1)
			break;
		int e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			rc = output_syslog_wait(s->fd, POLLIN, deadline);
		else if (e == SSL_ERROR_WANT_WRITE)
			rc = output_syslog_wait(s->fd, POLLOUT, deadline);
		else
			rc = CD_ECRYPTO;
		if (rc != CD_EOK) {
			long vr = SSL_get_verify_result(s->ssl);
			if (vr != X509_V_OK) {
				log_msg(s->failing ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
				    "output", "output=%s syslog %s:%s: certificate: %s",
				    s->name, s->cfg.host, s->cfg.port,
				    X509_verify_cert_error_string(vr));
			}
			output_syslog_fail(s, "TLS handshake", rc);
			return rc;
		}
	}
	return CD_EOK;
fail:
	output_syslog_fail(s, "TLS setup", rc);
	return rc;
}

static int
output_syslog_write(struct output_syslog *s, const uint8_t *p, size_t len)
{
	int64_t deadline = timeparse_mono_ms() + s->send_timeout_ms;
	int rc;

	while (len > 0) {
		ssize_t w;
		short ev = POLLOUT;

		if (s->ssl != NULL) {
			int chunk = len > 1 << 30 ? 1 << 30 : (int)len;
			int r = SSL_write(s->ssl, p, chunk);
			w = r;
			if (r <= 0) {
				int e = SSL_get_error(s->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					ev = POLLIN;
				else if (e != SSL_ERROR_WANT_WRITE)
					return e == SSL_ERROR_SYSCALL && errno != 0 ?
					    -errno : -EPIPE;
			}
		} else {
			w = send(s->fd, p, len, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return -errno;
		}
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			/* Progress resets the clock: the timeout is for a
			 * receiver that stopped reading, not a big batch. */
			deadline = timeparse_mono_ms() + s->send_timeout_ms;
			continue;
		}
		if ((rc = output_syslog_wait(s->fd, ev, deadline)) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

/*
 * Wait until the kernel's send queue is empty, that is until the peer's
 * TCP stack has acknowledged every byte written. Only then is "written"
 * worth something: a receiver that dies earlier takes the queue with it.
 */
static int
output_syslog_drain(struct output_syslog *s)
{
	int64_t deadline = timeparse_mono_ms() + s->send_timeout_ms;
	int sleep_ms = 1;

	for (;;) {
		int outq = 0;
		if (ioctl(s->fd, SIOCOUTQ, &outq) != 0)
			return CD_EOK;	/* not supported here: nothing to wait for */
		if (outq == 0)
			return CD_EOK;
		if (timeparse_mono_ms() >= deadline)
			return -ETIMEDOUT;
		/* A peer that closed wakes the poll at once. */
		struct pollfd pfd = { .fd = s->fd, .events = POLLRDHUP };
		if (poll(&pfd, 1, sleep_ms) > 0 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return -ECONNRESET;
		if (sleep_ms < 16)
			sleep_ms *= 2;
	}
}

/*
 * A syslog receiver never talks back, so a readable socket means EOF, a
 * reset, or (TLS) a protocol message such as a TLS 1.3 session ticket,
 * which is read and ignored.
 */
static int
output_syslog_alive(struct output_syslog *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN | POLLRDHUP };
	uint8_t junk[4096];

	if (poll(&pfd, 1, 0) < 0)
		return errno == EINTR ? CD_EOK : -errno;
	if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -ECONNRESET;
	if (!(pfd.revents & POLLIN))
		return CD_EOK;
	if (s->ssl != NULL) {
		for (;;) {
			int r = SSL_read(s->ssl, junk, sizeof(junk));
			if (r > 0)
				continue;
			int e = SSL_get_error(s->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return CD_EOK;
			return -ECONNRESET;
		}
	}
	for (;;) {
		ssize_t r = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (r > 0)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return CD_EOK;
		return r == 0 ? -ECONNRESET : -errno;
	}
}

static int
output_syslog_send(void *sink, const struct output_msg *msgs, size_t n,
    size_t *delivered)
{
	struct output_syslog *s = sink;
	size_t sent = 0;
	int rc = CD_EOK;

	*delivered = 0;
	if (s->fd < 0 && (rc = output_syslog_connect(s)) != CD_EOK)
		return rc;
	/* A receiver that went away since the last batch shows now, before
	 * anything of this batch is written into a dead connection. */
	if ((rc = output_syslog_alive(s)) != CD_EOK) {
		output_syslog_close(s);
		if ((rc = output_syslog_connect(s)) != CD_EOK)
			return rc;
	}
	buf_reset(&s->out);
	for (size_t i = 0; i < n; i++) {
		const struct output_msg *m = &msgs[i];
		bool cut = false;

		buf_reset(&s->msg);
		/* output_msg carries no event Level yet: events go out as info. */
		rc = syslog_fmt_message(&s->msg, m, s->cfg.facility,
		    syslog_fmt_severity(m->kind, m->level), s->cfg.max_message, &cut);
		if (rc != CD_EOK)
			goto fail;
		if (cut)
			log_warn("output", "output=%s seq=%llu: record of %zu bytes "
			    "truncated to max_message %zu", s->name,
			    (unsigned long long)m->seq, m->len, s->cfg.max_message);
		if (s->transport == OUTPUT_SYSLOG_UDP) {
			/* A refusal (ICMP) of an earlier datagram is reported
			 * by this send instead of sending: try once more. */
			ssize_t w = send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL);
			if (w < 0 && errno == ECONNREFUSED)
				w = send(s->fd, s->msg.data, s->msg.len, MSG_NOSIGNAL);
			if (w < 0) {
				rc = -errno;
				goto fail;
			}
			sent++;
			continue;
		}
		if ((rc = syslog_fmt_frame(&s->out, s->msg.data, s->msg.len)) != CD_EOK)
			goto fail;
		/* Write in pieces of about 256 KiB to bound the memory. */
		if (s->out.len >= 256 * 1024 || i + 1 == n) {
			if ((rc = output_syslog_write(s, s->out.data, s->out.len)) != CD_EOK)
				goto fail;
			buf_reset(&s->out);
		}
	}
	if (s->transport != OUTPUT_SYSLOG_UDP) {
		if ((rc = output_syslog_drain(s)) != CD_EOK ||
		    (rc = output_syslog_alive(s)) != CD_EOK)
			goto fail;
	}
	if (s->failing)
		log_info("output", "output=%s syslog %s:%s: connected and sending",
		    s->name, s->cfg.host, s->cfg.port);
	s->failing = false;
	*delivered = n;
	return CD_EOK;
fail:
	/* UDP counts what went out; a stream resends the whole batch, since
	 * nothing says how much of it the receiver kept. */
	*delivered = s->transport == OUTPUT_SYSLOG_UDP ? sent : 0;
	output_syslog_fail(s, "send", rc);
	output_syslog_close(s);
	return rc;
}

static void
output_syslog_reopen(void *sink)
{
	struct output_syslog *s = sink;

	output_syslog_close(s);
	/* Certificates may have been renewed: reload them at the next connect. */
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
}

static void
output_syslog_destroy(void *sink)
{
	struct output_syslog *s = sink;

	if (s == NULL)
		return;
	output_syslog_close(s);
	SSL_CTX_free(s->ctx);
	buf_free(&s->msg);
	buf_free(&s->out);
	free(s->name);
	output_kv_syslog_clear(&s->cfg);
	free(s);
}
