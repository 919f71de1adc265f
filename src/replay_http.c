/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "err.h"
#include "replay.h"

/*
 * Just enough HTTP/1.1 for a WinRM-shaped client: POST with Content-Length,
 * responses framed by Content-Length, chunked encoding or connection close,
 * no body for 1xx/204/304 (Windows WEC answers End with a 204 without
 * Content-Length). One request in flight per connection, as WinRM does.
 */

#define HEAD_MAX	(64 * 1024)
#define BODY_MAX	(64UL * 1024 * 1024)

struct replay_http {
	char	*host;
	char	*port;
	char	*hostport;
	int	 timeout_ms;
	int	 fd;		/**< -1 when not connected */
	unsigned requests;	/**< requests sent on this connection */
	struct buf rbuf;	/**< bytes received and not consumed yet */
	size_t	 rpos;
};

static int	http_connect(struct replay_http *);
static int	http_send(struct replay_http *, const char *, size_t,
		    const void *, size_t);
static int	http_fill(struct replay_http *);
static int	http_read_response(struct replay_http *, struct replay_resp *,
		    bool *);
static int	http_need(struct replay_http *, size_t);
static int	http_read_chunked(struct replay_http *, struct replay_resp *);
static char	*http_find(struct replay_http *, const char *);

int
replay_http_new(struct replay_http **out, const char *host, const char *port,
    const char *hostport, int timeout_ms)
{
	struct replay_http *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
	buf_init(&c->rbuf, 0);
	c->host = strdup(host);
	c->port = strdup(port);
	c->hostport = strdup(hostport);
	if (c->host == NULL || c->port == NULL || c->hostport == NULL) {
		replay_http_free(c);
		return -ENOMEM;
	}
	*out = c;
	return CD_EOK;
}

void
replay_http_close(struct replay_http *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->requests = 0;
	buf_reset(&c->rbuf);
	c->rpos = 0;
}

void
replay_http_free(struct replay_http *c)
{
	if (c == NULL)
		return;
	replay_http_close(c);
	buf_free(&c->rbuf);
	free(c->host);
	free(c->port);
	free(c->hostport);
	free(c);
}

static int
http_connect(struct replay_http *c)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	struct timeval tv;
	int rc, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
		return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	rc = -ECONNREFUSED;
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);

		if (fd < 0) {
			rc = -errno;
			continue;
		}
		/* The timeouts bound connect() too on Linux. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			c->fd = fd;
			rc = CD_EOK;
			break;
		}
		rc = -errno;
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

static int
http_send(struct replay_http *c, const char *head, size_t hlen,
    const void *body, size_t blen)
{
	struct iovec iov[2] = {
		{ (void *)head, hlen }, { (void *)body, blen }
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	while (iov[0].iov_len + iov[1].iov_len > 0) {
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		for (int i = 0; i < 2; i++) {
			size_t k = (size_t)n < iov[i].iov_len ? (size_t)n :
			    iov[i].iov_len;
			iov[i].iov_base = (char *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			n -= (ssize_t)k;
		}
		if (iov[0].iov_len == 0) {
			msg.msg_iov = &iov[1];
			msg.msg_iovlen = 1;
		}
	}
	return CD_EOK;
}

/* Find s in the unconsumed bytes (memmem must not see a NULL buffer). */
static char *
http_find(struct replay_http *c, const char *s)
{
	if (c->rbuf.data == NULL)
		return NULL;
	return memmem(c->rbuf.data + c->rpos, c->rbuf.len - c->rpos, s,
	    strlen(s));
}

/* Receive more bytes into rbuf; 0 bytes (peer closed) is -ECONNRESET. */
static int
http_fill(struct replay_http *c)
{
	uint8_t tmp[16384];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET;
	if (c->rbuf.len - c->rpos + (size_t)n > BODY_MAX + HEAD_MAX)
		return CD_ETOOBIG;
	return buf_append(&c->rbuf, tmp, (size_t)n);
}

/* Make sure n unconsumed bytes are buffered. */
static int
http_need(struct replay_http *c, size_t n)
{
	int rc;

	while (c->rbuf.len - c->rpos < n)
		if ((rc = http_fill(c)) != CD_EOK)
			return rc;
	return CD_EOK;
}

static int
http_read_chunked(struct replay_http *c, struct replay_resp *resp)
{
	int rc;

	for (;;) {
		char *p, *eol;
		unsigned long long sz;

		while ((eol = http_find(c, "\r\n")) == NULL)
			if ((rc = http_fill(c)) != CD_EOK)
				return rc;
		p = (char *)c->rbuf.data + c->rpos;
		sz = strtoull(p, NULL, 16);
		c->rpos = (size_t)(eol + 2 - (char *)c->rbuf.data);
		if (sz > BODY_MAX - resp->body.len)
			return CD_ETOOBIG;
		if (sz == 0)
			break;
		if ((rc = http_need(c, (size_t)sz + 2)) != CD_EOK)
			return rc;
		rc = buf_append(&resp->body, c->rbuf.data + c->rpos, (size_t)sz);
		if (rc != CD_EOK)
			return rc;
		c->rpos += (size_t)sz + 2;
	}
	/* Trailers (none expected) end with an empty line. */
	for (;;) {
		char *eol;

		while ((eol = http_find(c, "\r\n")) == NULL)
			if ((rc = http_fill(c)) != CD_EOK)
				return rc;
		bool empty = eol == (char *)c->rbuf.data + c->rpos;
		c->rpos = (size_t)(eol + 2 - (char *)c->rbuf.data);
		if (empty)
			return CD_EOK;
	}
}

/*
 * Read one response. *got_any tells the caller whether any byte arrived,
 * which decides whether a failed request on a reused connection may be
 * retried on a new one.
 */
static int
http_read_response(struct replay_http *c, struct replay_resp *resp,
    bool *got_any)
{
	char *head, *eoh, *line, *next;
	long long clen = -1;
	bool chunked = false, close_after = false;
	int rc;

	*got_any = c->rbuf.len > c->rpos;
	while ((eoh = http_find(c, "\r\n\r\n")) == NULL) {
		if (c->rbuf.len - c->rpos > HEAD_MAX)
			return CD_ETOOBIG;
		if ((rc = http_fill(c)) != CD_EOK)
			return rc;
		*got_any = true;
	}
	head = (char *)c->rbuf.data + c->rpos;
	*eoh = '\0';
	c->rpos = (size_t)(eoh + 4 - (char *)c->rbuf.data);
	/* Status line "HTTP/1.1 200 " (Windows sends an empty reason). */
	if (strncmp(head, "HTTP/1.", 7) != 0 || strlen(head) < 12)
		return CD_EPARSE;
	resp->status = atoi(head + 9);
	if (resp->status < 100 || resp->status > 999)
		return CD_EPARSE;
	if (strncmp(head, "HTTP/1.0", 8) == 0)
		close_after = true;
	for (line = strstr(head, "\r\n"); line != NULL; line = next) {
		char *v;

		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		v += strspn(v, " \t");
		if (strcasecmp(line, "Content-Length") == 0)
			clen = strtoll(v, NULL, 10);
		else if (strcasecmp(line, "Transfer-Encoding") == 0)
			chunked = strcasestr(v, "chunked") != NULL;
		else if (strcasecmp(line, "Connection") == 0)
			close_after = strcasestr(v, "close") != NULL;
		else if (strcasecmp(line, "Content-Type") == 0)
			snprintf(resp->ctype, sizeof(resp->ctype), "%s", v);
	}
	if (resp->status < 200 || resp->status == 204 || resp->status == 304) {
		/* no body */
	} else if (chunked) {
		if ((rc = http_read_chunked(c, resp)) != CD_EOK)
			return rc;
	} else if (clen >= 0) {
		if ((unsigned long long)clen > BODY_MAX)
			return CD_ETOOBIG;
		if ((rc = http_need(c, (size_t)clen)) != CD_EOK)
			return rc;
		rc = buf_append(&resp->body, c->rbuf.data + c->rpos,
		    (size_t)clen);
		if (rc != CD_EOK)
			return rc;
		c->rpos += (size_t)clen;
	} else {
		/* Framed by close. */
		while ((rc = http_fill(c)) == CD_EOK)
			;
		if (rc != -ECONNRESET)
			return rc;
		rc = buf_append(&resp->body, c->rbuf.data + c->rpos,
		    c->rbuf.len - c->rpos);
		if (rc != CD_EOK)
			return rc;
		close_after = true;
	}
	/* Compact what was consumed. */
	if (c->rpos == c->rbuf.len) {
		buf_reset(&c->rbuf);
		c->rpos = 0;
	}
	if (close_after)
		replay_http_close(c);
	return CD_EOK;
}

int
replay_http_post(struct replay_http *c, const char *path, const void *body,
    size_t len, struct replay_resp *resp)
{
	char head[1024];
	int hlen, rc = CD_EOK;

	/* Header order as in the captures (tests/data/wef/headers.txt). */
	hlen = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
	    "Connection: Keep-Alive\r\n"
	    "Content-Type: application/soap+xml;charset=UTF-16\r\n"
	    "User-Agent: Microsoft WinRM Client\r\n"
	    "Content-Length: %zu\r\n"
	    "Host: %s\r\n\r\n", path, len, c->hostport);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return CD_ETOOBIG;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused, got_any = false;

		buf_reset(&resp->body);
		resp->status = 0;
		resp->ctype[0] = '\0';
		if (c->fd < 0 && (rc = http_connect(c)) != CD_EOK)
			return rc;
		reused = c->requests > 0;
		c->requests++;
		rc = http_send(c, head, (size_t)hlen, body, len);
		if (rc == CD_EOK)
			rc = http_read_response(c, resp, &got_any);
		if (rc == CD_EOK)
			return CD_EOK;
		replay_http_close(c);
		/* Only an idle keep-alive connection that the server closed
		 * before answering is retried here; anything else is the
		 * caller's retry (counted). */
		if (!reused || got_any || (rc != -ECONNRESET && rc != -EPIPE))
			break;
	}
	return rc;
}
