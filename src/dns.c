/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpsl.h>

#include "dns.h"
#include "err.h"
#include "event.h"

#define DNS_SYSMON_PROVIDER	"Microsoft-Windows-Sysmon"
#define DNS_SYSMON_EID		22

static char	*dns_strdup(const char *s);
static int	 dns_parse_digits(const char **pp, int n, int *out);
static int	 dns_parse_item(const char *p, size_t len, struct dns_answer *a);

static char *
dns_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

int
dns_name_normalise(const char *in, char out[DNS_NAME_MAX])
{
	size_t len, i;

	out[0] = '\0';
	if (in == NULL)
		return CD_EPARSE;
	len = strlen(in);
	/* One trailing dot is the DNS root: "a.com." and "a.com" are one name. */
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || in[len - 1] == '.')
		return CD_EPARSE;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f)
			return CD_EPARSE;
		/* Empty labels cannot be keyed in reversed-label form. */
		if (c == '.' && (i == 0 || in[i - 1] == '.'))
			return CD_EPARSE;
		/* ASCII only: punycode and raw UTF-8 stay as they are. */
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
	}
	out[len] = '\0';
	return CD_EOK;
}

void
dns_registered_domain(const char *name, char out[DNS_NAME_MAX])
{
	const char *rd = NULL;
	uint8_t addr[16];
	int family;

	/* An address literal has no registered domain, and libpsl would cut
	 * "10.1.2.3" to "2.3". */
	if (dns_addr_parse(name, &family, addr) != CD_EOK && strchr(name, '.') != NULL)
		rd = psl_registrable_domain(psl_builtin(), name);
	if (rd == NULL || *rd == '\0')
		rd = name;
	snprintf(out, DNS_NAME_MAX, "%s", rd);
}

void
dns_name_reverse(const char *in, char out[DNS_NAME_MAX])
{
	size_t end = strnlen(in, DNS_NAME_MAX - 1), o = 0, start;

	for (;;) {
		start = end;
		while (start > 0 && in[start - 1] != '.')
			start--;
		memcpy(out + o, in + start, end - start);
		o += end - start;
		if (start == 0)
			break;
		out[o++] = '.';
		end = start - 1;
	}
	out[o] = '\0';
}

int
dns_addr_parse(const char *text, int *family, uint8_t addr[16])
{
	struct in6_addr a6;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return CD_EOK;
	}
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return CD_EPARSE;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		/* Sysmon writes IPv4 answers both ways; one spelling in the index. */
		memcpy(addr, &a6.s6_addr[12], 4);
		*family = AF_INET;
	} else {
		memcpy(addr, a6.s6_addr, 16);
		*family = AF_INET6;
	}
	return CD_EOK;
}

void
dns_addr_format(int family, const uint8_t addr[16], char out[DNS_ADDR_STRLEN])
{
	if (inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr, out,
	    DNS_ADDR_STRLEN) == NULL)
		out[0] = '\0';
}

static int
dns_parse_item(const char *p, size_t len, struct dns_answer *a)
{
	char tmp[DNS_NAME_MAX + 8];
	unsigned long type = 0;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (len >= 5 && memcmp(p, "type:", 5) == 0) {
		/* "type:" + padding spaces + decimal RR type + " " + value. */
		i = 5;
		while (i < len && p[i] == ' ')
			i++;
		if (i == len || p[i] < '0' || p[i] > '9')
			return CD_EPARSE;
		while (i < len && p[i] >= '0' && p[i] <= '9' && type <= 65535)
			type = type * 10 + (unsigned long)(p[i++] - '0');
		if (type > 65535)
			return CD_EPARSE;
		if (i < len && p[i] == ' ')
			i++;
		a->rrtype = (uint16_t)type;
		if (i == len) {
			a->value = strdup("");
		} else if (len - i >= sizeof(tmp)) {
			return CD_EPARSE;
		} else {
			memcpy(tmp, p + i, len - i);
			tmp[len - i] = '\0';
			a->value = malloc(DNS_NAME_MAX);
			if (a->value != NULL &&
			    dns_name_normalise(tmp, a->value) != CD_EOK) {
				free(a->value);
				return CD_EPARSE;
			}
		}
		return a->value == NULL ? -ENOMEM : CD_EOK;
	}
	if (len >= DNS_ADDR_STRLEN)
		return CD_EPARSE;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (dns_addr_parse(tmp, &a->family, a->addr) != CD_EOK)
		return CD_EPARSE;
	a->is_addr = true;
	return CD_EOK;
}

int
dns_parse_results(const char *text, struct dns_answer **out, size_t *n)
{
	struct dns_answer *arr = NULL, *grown;
	size_t cnt = 0, cap = 0;
	const char *p = text, *semi;
	int rc;

	*out = NULL;
	*n = 0;
	if (text == NULL)
		return CD_EOK;
	while (*p != '\0') {
		size_t len;

		semi = strchr(p, ';');
		len = semi != NULL ? (size_t)(semi - p) : strlen(p);
		/* "-" is Sysmon's "no results"; empty items carry nothing. */
		if (len == 0 || (len == 1 && *p == '-'))
			goto next;
		if (cnt == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			grown = realloc(arr, cap * sizeof(*arr));
			if (grown == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			arr = grown;
		}
		rc = dns_parse_item(p, len, &arr[cnt]);
		if (rc == -ENOMEM)
			goto fail;
		if (rc == CD_EOK)
			cnt++;
next:
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	*out = arr;
	*n = cnt;
	return CD_EOK;
fail:
	dns_answers_free(arr, cnt);
	return rc;
}

void
dns_answers_free(struct dns_answer *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		free(a[i].value);
	free(a);
}

static int
dns_parse_digits(const char **pp, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (**pp < '0' || **pp > '9')
			return CD_EPARSE;
		v = v * 10 + (*(*pp)++ - '0');
	}
	*out = v;
	return CD_EOK;
}

int
dns_parse_utctime(const char *text, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = text;
	int y, mo, d, h, mi, s, frac = 0, digits = 0;
	struct tm tm;
	time_t t;

	if (p == NULL || dns_parse_digits(&p, 4, &y) != CD_EOK || *p++ != '-' ||
	    dns_parse_digits(&p, 2, &mo) != CD_EOK || *p++ != '-' ||
	    dns_parse_digits(&p, 2, &d) != CD_EOK || (*p != ' ' && *p != 'T'))
		return CD_EPARSE;
	p++;
	if (dns_parse_digits(&p, 2, &h) != CD_EOK || *p++ != ':' ||
	    dns_parse_digits(&p, 2, &mi) != CD_EOK || *p++ != ':' ||
	    dns_parse_digits(&p, 2, &s) != CD_EOK)
		return CD_EPARSE;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
			digits++;
			p++;
		}
		if (digits == 0 || digits > 9)
			return CD_EPARSE;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || s > 60)
		return CD_EPARSE;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	/* timegm normalises 29 February of a common year into March. */
	if (tm.tm_mday != d && s != 60)
		return CD_EPARSE;
	*ms = (int64_t)t * 1000 + frac;
	return CD_EOK;
}

int
dns_from_event(const struct event *ev, struct dns_obs *out)
{
	char norm[DNS_NAME_MAX], rd[DNS_NAME_MAX];
	const char *v;
	char *end;
	unsigned long ul;
	int rc;

	memset(out, 0, sizeof(*out));
	if (ev == NULL || ev->malformed || ev->provider == NULL ||
	    strcasecmp(ev->provider, DNS_SYSMON_PROVIDER) != 0 ||
	    !ev->has_event_id || ev->event_id != DNS_SYSMON_EID)
		return CD_EUNSUPPORTED;
	if (dns_parse_utctime(event_data(ev, "UtcTime"), &out->time_ms) != CD_EOK)
		return CD_EPARSE;
	v = event_data(ev, "QueryName");
	if (dns_name_normalise(v, norm) != CD_EOK)
		return CD_EPARSE;
	dns_registered_domain(norm, rd);
	out->record_id = ev->record_id;
	rc = -ENOMEM;
	if ((out->name = strdup(norm)) == NULL ||
	    (out->raw_name = strdup(v)) == NULL ||
	    (out->regdom = strdup(rd)) == NULL)
		goto fail;
	v = event_data(ev, "QueryStatus");
	if (v != NULL) {
		errno = 0;
		ul = strtoul(v, &end, 10);
		if (errno == 0 && end != v && *end == '\0' && ul <= UINT32_MAX)
			out->status = (uint32_t)ul;
	}
	v = event_data(ev, "ProcessId");
	if (v != NULL) {
		errno = 0;
		ul = strtoul(v, &end, 10);
		if (errno == 0 && end != v && *end == '\0' && ul <= UINT32_MAX)
			out->pid = (uint32_t)ul;
	}
	v = event_data(ev, "Image");
	if ((out->image = strdup(v != NULL ? v : "")) == NULL)
		goto fail;
	v = event_data(ev, "ProcessGuid");
	if (v != NULL && (out->process_guid = dns_strdup(v)) == NULL)
		goto fail;
	v = event_data(ev, "User");
	if (v != NULL && (out->user = dns_strdup(v)) == NULL)
		goto fail;
	rc = dns_parse_results(event_data(ev, "QueryResults"), &out->answers,
	    &out->nanswers);
	if (rc != CD_EOK)
		goto fail;
	return CD_EOK;
fail:
	dns_obs_clear(out);
	return rc;
}

void
dns_obs_clear(struct dns_obs *obs)
{
	if (obs == NULL)
		return;
	free(obs->name);
	free(obs->raw_name);
	free(obs->regdom);
	free(obs->image);
	free(obs->process_guid);
	free(obs->user);
	dns_answers_free(obs->answers, obs->nanswers);
	memset(obs, 0, sizeof(*obs));
}
