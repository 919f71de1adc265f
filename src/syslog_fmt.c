/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "output_kv.h"
#include "syslog_fmt.h"

/* RFC 5424 6.2.4: HOSTNAME is at most 255 PRINTUSASCII octets. */
#define SYSLOG_FMT_HOST_MAX	255

static int syslog_fmt_sd_value(struct buf *b, const char *s);
static size_t syslog_fmt_utf8_cut(const char *s, size_t len);

/* The facility names of RFC 5424 table 1 that syslog(3) also knows. */
static const struct {
	const char	*name;
	unsigned	 code;
} syslog_fmt_facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 },
	{ "auth", 4 }, { "syslog", 5 }, { "lpr", 6 }, { "news", 7 },
	{ "uucp", 8 }, { "cron", 9 }, { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 },
	{ "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

int
syslog_fmt_facility_parse(const char *s, unsigned *out)
{
	unsigned long v;

	if (output_kv_ulong(s, 0, 23, &v) == CD_EOK) {
		*out = (unsigned)v;
		return CD_EOK;
	}
	for (size_t i = 0; i < sizeof(syslog_fmt_facilities) /
	    sizeof(*syslog_fmt_facilities); i++) {
		if (strcasecmp(s, syslog_fmt_facilities[i].name) == 0) {
			*out = syslog_fmt_facilities[i].code;
			return CD_EOK;
		}
	}
	return CD_EPARSE;
}

unsigned
syslog_fmt_severity(enum output_kind kind, uint32_t level)
{
	if (kind == OUTPUT_KIND_ALERT)
		return 4;
	if (kind == OUTPUT_KIND_SUMMARY)
		return 6;
	switch (level) {
	case 1:
		return 2;
	case 2:
		return 3;
	case 3:
		return 4;
	case 5:
		return 7;
	default:
		return 6;
	}
}

/* RFC 5424 6.3.3: '"', '\' and ']' are escaped with a backslash. */
static int
syslog_fmt_sd_value(struct buf *b, const char *s)
{
	int rc = CD_EOK;

	for (; *s != '\0' && rc == CD_EOK; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			rc = buf_append(b, "\\", 1);
		rc = rc ? rc : buf_append(b, s, 1);
	}
	return rc;
}

/*
 * The longest prefix of s[0..len) that does not end inside a UTF-8
 * sequence: back off over continuation bytes to the lead byte, and drop it
 * too when its sequence does not fit.
 */
static size_t
syslog_fmt_utf8_cut(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = len, need;

	while (i > 0 && (u[i - 1] & 0xC0) == 0x80 && len - i < 3)
		i--;
	if (i == 0 || u[i - 1] < 0xC0)
		return len;
	if (u[i - 1] >= 0xF0)
		need = 4;
	else if (u[i - 1] >= 0xE0)
		need = 3;
	else
		need = 2;
	return len - (i - 1) >= need ? len : i - 1;
}

int
syslog_fmt_message(struct buf *out, const struct output_msg *m,
    unsigned facility, unsigned severity, size_t max, bool *truncated)
{
	char ts[40], msgid[16];
	struct tm tm;
	size_t start = out->len, hlen, room;
	int64_t ms = m->time_ms;
	time_t secs;
	int rc;

	if (truncated != NULL)
		*truncated = false;
	if (facility > 23 || severity > 7 || max < SYSLOG_FMT_MAX_MIN)
		return -EINVAL;
	/* Floor division, so times before 1970 still format. */
	secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	if (gmtime_r(&secs, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		snprintf(ts, sizeof(ts), "-");
	else
		snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)secs * 1000));

	if (m->kind == OUTPUT_KIND_ALERT)
		snprintf(msgid, sizeof(msgid), "alert");
	else if (m->kind == OUTPUT_KIND_SUMMARY)
		snprintf(msgid, sizeof(msgid), "summary");
	else
		snprintf(msgid, sizeof(msgid), "%" PRIu32, m->event_id);

	rc = buf_printf(out, "<%u>1 %s ", facility * 8 + severity, ts);
	const char *h = m->host != NULL ? m->host : "";
	size_t hn = strlen(h);
	if (hn > SYSLOG_FMT_HOST_MAX)
		hn = SYSLOG_FMT_HOST_MAX;
	if (hn == 0 && rc == CD_EOK)
		rc = buf_append(out, "-", 1);
	for (size_t i = 0; i < hn && rc == CD_EOK; i++) {
		char c = h[i] >= 33 && h[i] <= 126 ? h[i] : '_';
		rc = buf_append(out, &c, 1);
	}
	if (rc == CD_EOK)
		rc = buf_printf(out, " collectord - %s [collectord@32473", msgid);
	if (rc == CD_EOK && m->seq != 0)
		rc = buf_printf(out, " seq=\"%" PRIu64 "\"", m->seq);
	if (rc == CD_EOK && m->channel != NULL && m->channel[0] != '\0') {
		rc = buf_puts(out, " channel=\"");
		rc = rc ? rc : syslog_fmt_sd_value(out, m->channel);
		rc = rc ? rc : buf_puts(out, "\"");
	}
	/* + 2 for the "] " that ends the header. */
	hlen = out->len - start + 2;
	if (rc == CD_EOK && hlen + m->len > max) {
		rc = buf_printf(out, " truncated=\"%zu\"", m->len);
		hlen = out->len - start + 2;
		if (truncated != NULL)
			*truncated = true;
	}
	if (rc == CD_EOK)
		rc = buf_puts(out, "] ");
	if (rc == CD_EOK && hlen >= max)
		rc = CD_ETOOBIG;
	if (rc != CD_EOK)
		goto fail;
	room = max - hlen;
	if (m->len > room)
		room = syslog_fmt_utf8_cut(m->data, room);
	else
		room = m->len;
	if ((rc = buf_append(out, m->data, room)) != CD_EOK)
		goto fail;
	return CD_EOK;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	if (truncated != NULL)
		*truncated = false;
	return rc;
}

int
syslog_fmt_frame(struct buf *out, const void *msg, size_t len)
{
	size_t start = out->len;
	int rc;

	if ((rc = buf_printf(out, "%zu ", len)) == CD_EOK &&
	    (rc = buf_append(out, msg, len)) == CD_EOK)
		return CD_EOK;
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return rc;
}
