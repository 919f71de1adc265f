/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectorctl: the hunters' command-line client of the collectord REST API
 * (interface.md). Plain HTTP/1.1 over a POSIX socket with Connection: close;
 * JSON responses read with jansson. Tables by default, --json for scripts.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"

#define CTL_DEFAULT_API	"127.0.0.1:8080"	/* conf.h's api_listen default */
#define CTL_BODY_MAX	(256u << 20)
#define CTL_TIMEOUT_S	60
#define CTL_PAGE_MAX	10000

struct ctl {
	char	 host[256];
	char	 port[16];
	char	*token;		/* NULL: no Authorization header */
	bool	 json;
};

static void ctl_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
ctl_die(const char *fmt, ...)
{
	va_list ap;

	fputs("collectorctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
ctl_usage(FILE *f)
{
	fprintf(f,
"usage: collectorctl [--api HOST:PORT] [--token-file FILE] [--json] COMMAND\n"
"  domain NAME                    a domain: first/last seen, counts, its hosts\n"
"  new [--since T] [--until T] [--host H] [--max-hosts N] [--suffix S] [--limit N]\n"
"                                 domains first seen in the window (default --since 24h),\n"
"                                 fleet-wide or on one host, oldest first\n"
"  hosts                          the hosts that sent events\n"
"  ip ADDRESS                     names that resolved to an address\n"
"T is RFC 3339 (2020-10-21T19:08:12Z, any offset) or an age: 90s, 30m, 24h, 7d.\n"
"--api defaults to $COLLECTORCTL_API or " CTL_DEFAULT_API ", --token-file to\n"
"$COLLECTORCTL_TOKEN_FILE; --json prints the API's JSON (pages merged).\n");
}

/* The first token in a tokens file (same format as the daemon's). */
static char *
ctl_read_token(const char *path)
{
	char *line = NULL, *tok = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		ctl_die("%s: %s", path, strerror(errno));
	while (tok == NULL && (len = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e = line + len;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && strchr(" \t\r\n", e[-1]) != NULL)
			e--;
		if (s == e || *s == '#')
			continue;
		tok = strndup(s, (size_t)(e - s));
	}
	free(line);
	fclose(f);
	if (tok == NULL)
		ctl_die("%s: no token in the file", path);
	return tok;
}

static void
ctl_parse_api(struct ctl *c, const char *s)
{
	const char *colon;
	size_t n;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			ctl_die("--api: expected HOST:PORT or [V6ADDR]:PORT");
		n = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			ctl_die("--api: expected HOST:PORT");
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(c->host) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(c->port))
		ctl_die("--api: expected HOST:PORT");
	memcpy(c->host, s, n);
	c->host[n] = '\0';
	snprintf(c->port, sizeof(c->port), "%s", colon + 1);
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static void
ctl_urlencode(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL)
			buf_append(b, s, 1);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

/* Add "&key=value" (or "?key=value" first) when value is set. */
static void
ctl_query(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buf_puts(b, strchr((char *)b->data, '?') != NULL ? "&" : "?");
	buf_puts(b, key);
	buf_puts(b, "=");
	ctl_urlencode(b, value);
}

static int
ctl_connect(const struct ctl *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd = -1, rc, err = 0;

	if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
		ctl_die("%s: %s", c->host, gai_strerror(rc));
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		ctl_die("cannot connect to %s:%s: %s", c->host, c->port,
		    strerror(err));
	return fd;
}

/* Undo Transfer-Encoding: chunked (RFC 9112 section 7.1) in place. */
static bool
ctl_unchunk(char *body, size_t len, size_t *outlen)
{
	char *in = body, *end = body + len, *out = body;

	for (;;) {
		char *nl = memchr(in, '\n', (size_t)(end - in));
		unsigned long n;

		if (nl == NULL)
			return false;
		errno = 0;
		n = strtoul(in, NULL, 16);
		if (errno != 0)
			return false;
		in = nl + 1;
		if (n == 0)
			break;
		if (n > (size_t)(end - in))
			return false;
		memmove(out, in, n);
		out += n;
		in += n;
		if (end - in >= 2 && in[0] == '\r' && in[1] == '\n')
			in += 2;
		else if (in < end && *in == '\n')
			in++;
	}
	*outlen = (size_t)(out - body);
	*out = '\0';
	return true;
}

/*
 * GET path; returns the parsed JSON body of a 2xx answer. Any other status
 * ends the program with the API's {"error"} reason.
 */
static json_t *
ctl_get(const struct ctl *c, const char *path)
{
	struct buf req, resp;
	char chunk[16384], *body, *hdr_end;
	size_t off = 0, blen;
	ssize_t n;
	int fd, status;
	json_t *j;
	json_error_t jerr;

	buf_init(&req, 0);
	buf_init(&resp, CTL_BODY_MAX);
	buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "User-Agent: collectorctl/" PACKAGE_VERSION "\r\n"
	    "Accept: application/json\r\nConnection: close\r\n", path,
	    strchr(c->host, ':') ? "[" : "", c->host,
	    strchr(c->host, ':') ? "]" : "", c->port);
	if (c->token != NULL)
		buf_printf(&req, "Authorization: Bearer %s\r\n", c->token);
	buf_puts(&req, "\r\n");
	fd = ctl_connect(c);
	while (off < req.len) {
		if ((n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL)) < 0)
			ctl_die("send: %s", strerror(errno));
		off += (size_t)n;
	}
	while ((n = recv(fd, chunk, sizeof(chunk), 0)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ctl_die("receive: %s", strerror(errno));
		if (buf_append(&resp, chunk, (size_t)n) != 0)
			ctl_die("response too large");
	}
	close(fd);
	explicit_bzero(req.data, req.len);
	buf_free(&req);
	if (resp.len == 0 || sscanf((char *)resp.data, "HTTP/1.%*d %d", &status) != 1)
		ctl_die("%s:%s: not an HTTP response", c->host, c->port);
	if ((hdr_end = strstr((char *)resp.data, "\r\n\r\n")) == NULL)
		ctl_die("truncated HTTP response");
	*hdr_end = '\0';
	body = hdr_end + 4;
	blen = resp.len - (size_t)(body - (char *)resp.data);
	if (strcasestr((char *)resp.data, "\ntransfer-encoding: chunked") != NULL &&
	    !ctl_unchunk(body, blen, &blen))
		ctl_die("bad chunked HTTP response");
	j = json_loadb(body, blen, 0, &jerr);
	if (status < 200 || status > 299) {
		const char *reason = json_string_value(json_object_get(j, "error"));

		if (reason != NULL)
			ctl_die("%s", reason);
		ctl_die("HTTP status %d", status);
	}
	if (j == NULL)
		ctl_die("bad JSON from the API: %s", jerr.text);
	buf_free(&resp);
	return j;
}

/*
 * GET a list endpoint, following next_cursor until the end or until max
 * items (0: all); the items of every page are appended to the first page's
 * array under key, whose next_cursor is then null (or the cursor left).
 */
static json_t *
ctl_get_all(const struct ctl *c, const char *base, const char *key, size_t max)
{
	json_t *all = NULL;
	const char *cursor = NULL;
	char *cur = NULL;

	for (;;) {
		size_t have = all ? json_array_size(json_object_get(all, key)) : 0;
		size_t want = max == 0 ? CTL_PAGE_MAX : max - have;
		char lim[24];
		struct buf path;
		json_t *page, *items;

		if (want > CTL_PAGE_MAX)
			want = CTL_PAGE_MAX;
		snprintf(lim, sizeof(lim), "%zu", want);
		buf_init(&path, 0);
		buf_puts(&path, base);
		ctl_query(&path, "limit", lim);
		ctl_query(&path, "cursor", cursor);
		page = ctl_get(c, (char *)path.data);
		buf_free(&path);
		items = json_object_get(page, key);
		if (!json_is_array(items))
			ctl_die("bad JSON from the API: no \"%s\" array", key);
		if (all == NULL)
			all = json_incref(page);
		else
			json_array_extend(json_object_get(all, key), items);
		free(cur);
		cursor = json_string_value(json_object_get(page, "next_cursor"));
		cur = cursor != NULL ? strdup(cursor) : NULL;
		cursor = cur;
		json_object_set(all, "next_cursor", json_object_get(page, "next_cursor"));
		json_decref(page);
		have = json_array_size(json_object_get(all, key));
		if (cursor == NULL || (max != 0 && have >= max))
			break;
	}
	free(cur);
	return all;
}

/* A JSON value as a table cell (malloc'd): arrays joined with ", ". */
static char *
ctl_cell(const json_t *v)
{
	struct buf b;
	size_t i;
	json_t *e;

	buf_init(&b, 0);
	if (json_is_string(v))
		buf_puts(&b, json_string_value(v));
	else if (json_is_integer(v))
		buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		buf_printf(&b, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		buf_puts(&b, json_is_true(v) ? "yes" : "no");
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			char *t = ctl_cell(e);

			buf_printf(&b, "%s%s", i ? ", " : "", t);
			free(t);
		}
	}
	if (b.len == 0)
		buf_puts(&b, "-");
	return (char *)buf_steal(&b, &i);
}

/* Display width: UTF-8 code points, not bytes. */
static size_t
ctl_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void
ctl_pad(const char *s, size_t width)
{
	fputs(s, stdout);
	for (size_t w = ctl_width(s); w < width; w++)
		putchar(' ');
}

/* "first_seen" -> "FIRST SEEN" (upper) or "first seen". */
static void
ctl_label(const char *key, bool upper, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; key[i] != '\0' && i + 1 < outlen; i++)
		out[i] = key[i] == '_' ? ' ' : upper ? (char)(key[i] & ~0x20) : key[i];
	out[i] = '\0';
}

/* The named members of an object, one "label  value" line each. */
static void
ctl_table_kv(const json_t *obj, const char *const *keys)
{
	char label[64];
	size_t w = 0;

	for (size_t k = 0; keys[k] != NULL; k++)
		if (strlen(keys[k]) > w)
			w = strlen(keys[k]);
	for (size_t k = 0; keys[k] != NULL; k++) {
		char *v = ctl_cell(json_object_get(obj, keys[k]));

		ctl_label(keys[k], false, label, sizeof(label));
		ctl_pad(label, w + 2);
		puts(v);
		free(v);
	}
}

/* An array of objects as an aligned table with the given columns. */
static void
ctl_table_print(const json_t *rows, const char *const *keys)
{
	size_t ncol = 0, nrow = json_array_size(rows), *w;
	char **cells, label[64];

	while (keys[ncol] != NULL)
		ncol++;
	w = calloc(ncol, sizeof(*w));
	cells = calloc(nrow * ncol + 1, sizeof(*cells));
	if (w == NULL || cells == NULL)
		ctl_die("out of memory");
	for (size_t c = 0; c < ncol; c++)
		w[c] = strlen(keys[c]);
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++) {
			char *v = ctl_cell(json_object_get(json_array_get(rows, r),
			    keys[c]));

			cells[r * ncol + c] = v;
			if (ctl_width(v) > w[c])
				w[c] = ctl_width(v);
		}
	for (size_t c = 0; c < ncol; c++) {
		ctl_label(keys[c], true, label, sizeof(label));
		if (c + 1 < ncol)
			ctl_pad(label, w[c] + 2);
		else
			puts(label);
	}
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++) {
			if (c + 1 < ncol)
				ctl_pad(cells[r * ncol + c], w[c] + 2);
			else
				puts(cells[r * ncol + c]);
			free(cells[r * ncol + c]);
		}
	if (nrow == 0)
		fputs("(none)\n", stdout);
	free(cells);
	free(w);
}

static void
ctl_print_json(json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		ctl_die("writing JSON failed");
	putchar('\n');
}

static void
ctl_domain(const struct ctl *c, const char *name)
{
	struct buf path;
	json_t *d, *hosts;

	buf_init(&path, 0);
	buf_puts(&path, "/api/v1/domains/");
	ctl_urlencode(&path, name);
	d = ctl_get(c, (char *)path.data);
	buf_puts(&path, "/hosts");
	hosts = ctl_get_all(c, (char *)path.data, "hosts", 0);
	buf_free(&path);
	if (c->json) {
		json_t *out = json_pack("{s:O,s:O}", "domain", d, "hosts",
		    json_object_get(hosts, "hosts"));

		ctl_print_json(out);
		json_decref(out);
	} else {
		ctl_table_kv(d, (const char *[]){ "domain", "registered_domain",
		    "first_seen", "last_seen", "count", "host_count", "first_host",
		    "first_image", NULL });
		putchar('\n');
		ctl_table_print(json_object_get(hosts, "hosts"),
		    (const char *[]){ "host", "first_seen", "last_seen", "count",
		    "images", NULL });
	}
	json_decref(d);
	json_decref(hosts);
}

static void
ctl_new(const struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "host", required_argument, NULL, 'H' },
		{ "max-hosts", required_argument, NULL, 'm' },
		{ "suffix", required_argument, NULL, 'x' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = "24h", *until = NULL, *host = NULL, *maxh = NULL;
	const char *suffix = NULL;
	unsigned long long limit = 0;
	struct buf path;
	json_t *res;
	char *end;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'H': host = optarg; break;
		case 'm': maxh = optarg; break;
		case 'x': suffix = optarg; break;
		case 'l':
			errno = 0;
			limit = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || limit == 0 ||
			    optarg[0] == '-')
				ctl_die("--limit: expected a number >= 1");
			break;
		default:
			ctl_usage(stderr);
			exit(2);
		}
	}
	if (optind != argc)
		ctl_die("new: unexpected argument %s", argv[optind]);
	if (host != NULL && (maxh != NULL || suffix != NULL))
		ctl_die("--max-hosts and --suffix apply to the fleet-wide list only");
	buf_init(&path, 0);
	if (host != NULL) {
		buf_puts(&path, "/api/v1/hosts/");
		ctl_urlencode(&path, host);
		buf_puts(&path, "/domains");
	} else
		buf_puts(&path, "/api/v1/domains");
	ctl_query(&path, "first_seen_after", since);
	ctl_query(&path, "first_seen_before", until);
	ctl_query(&path, "suffix", suffix);
	ctl_query(&path, "max_hosts", maxh);
	res = ctl_get_all(c, (char *)path.data, "domains", (size_t)limit);
	buf_free(&path);
	if (c->json)
		ctl_print_json(res);
	else if (host != NULL)
		ctl_table_print(json_object_get(res, "domains"),
		    (const char *[]){ "first_seen", "domain", "count",
		    "last_seen", "images", NULL });
	else
		ctl_table_print(json_object_get(res, "domains"),
		    (const char *[]){ "first_seen", "domain", "host_count",
		    "count", "first_host", "first_image", NULL });
	json_decref(res);
}

static void
ctl_hosts(const struct ctl *c)
{
	json_t *res = ctl_get_all(c, "/api/v1/hosts", "hosts", 0);

	if (c->json)
		ctl_print_json(res);
	else
		ctl_table_print(json_object_get(res, "hosts"),
		    (const char *[]){ "host", "first_seen", "last_seen",
		    "last_heartbeat", "events", "dns_queries", "domains", NULL });
	json_decref(res);
}

static void
ctl_ip(const struct ctl *c, const char *addr)
{
	struct buf path;
	json_t *res;

	buf_init(&path, 0);
	buf_puts(&path, "/api/v1/ips/");
	ctl_urlencode(&path, addr);
	res = ctl_get_all(c, (char *)path.data, "domains", 0);
	buf_free(&path);
	if (c->json)
		ctl_print_json(res);
	else
		ctl_table_print(json_object_get(res, "domains"),
		    (const char *[]){ "domain", "first_seen", "last_seen", NULL });
	json_decref(res);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	const char *cmd;
	int ch;

	/* The environment saves typing the same options in every command. */
	ctl_parse_api(&c, getenv("COLLECTORCTL_API") != NULL ?
	    getenv("COLLECTORCTL_API") : CTL_DEFAULT_API);
	if (getenv("COLLECTORCTL_TOKEN_FILE") != NULL)
		c.token = ctl_read_token(getenv("COLLECTORCTL_TOKEN_FILE"));
	/* '+': stop at the command; its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': ctl_parse_api(&c, optarg); break;
		case 't': free(c.token); c.token = ctl_read_token(optarg); break;
		case 'j': c.json = true; break;
		case 'h': ctl_usage(stdout); return 0;
		case 'V': puts("collectorctl " PACKAGE_VERSION); return 0;
		default: ctl_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "domain") == 0 && argc == 2)
		ctl_domain(&c, argv[1]);
	else if (strcmp(cmd, "new") == 0)
		ctl_new(&c, argc, argv);
	else if (strcmp(cmd, "hosts") == 0 && argc == 1)
		ctl_hosts(&c);
	else if (strcmp(cmd, "ip") == 0 && argc == 2)
		ctl_ip(&c, argv[1]);
	else {
		ctl_usage(stderr);
		return 2;
	}
	free(c.token);
	return fflush(stdout) == 0 ? 0 : 1;
}
