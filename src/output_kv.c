/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Settings parsing shared by the sinks. Each sink used to carry its own
 * copy of these; one copy keeps the accepted forms and the error lines
 * the same across outputs.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "output.h"
#include "output_kv.h"
#include "syslog_fmt.h"

#define OUTPUT_KV_SECONDS_MAX	3600

int
output_kv_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcmp(s, "1") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
	    strcmp(s, "0") == 0)
		*out = false;
	else
		return CD_EPARSE;
	return CD_EOK;
}

int
output_kv_ulong(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *out)
{
	char *end;
	unsigned long v;

	/* strtoul() alone would take blanks, a sign and an empty string. */
	if (s == NULL || *s < '0' || *s > '9')
		return CD_EPARSE;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return CD_EPARSE;
	*out = v;
	return CD_EOK;
}

int
output_kv_seconds(const char *s, unsigned *out)
{
	unsigned long v;

	if (output_kv_ulong(s, 1, OUTPUT_KV_SECONDS_MAX, &v) != CD_EOK)
		return CD_EPARSE;
	*out = (unsigned)v;
	return CD_EOK;
}

void
output_kv_err(struct buf *errs, const struct conf_output *co, unsigned line,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_err(errs, "config", line ? line : co->line, "output \"%s\": %s",
	    co->name, msg);
}

void
output_kv_errs_end(int rc, struct buf *errs, char **errmsg)
{
	if (rc == CD_ECONFIG)
		*errmsg = conf_err_take(errs);
	buf_free(errs);
}

void
output_kv_syslog_init(struct output_kv_syslog *ks)
{
	memset(ks, 0, sizeof(*ks));
	ks->facility = SYSLOG_FMT_FACILITY_DEFAULT;
	ks->max_message = SYSLOG_FMT_MAX_DEFAULT;
}

int
output_kv_syslog_take(struct output_kv_syslog *ks, const struct conf_kv *kv,
    const char **bad)
{
	unsigned long v;
	char **str = NULL;

	*bad = NULL;
	if (strcmp(kv->key, "host") == 0) {
		str = &ks->host;
	} else if (strcmp(kv->key, "ca_file") == 0) {
		str = &ks->ca_file;
	} else if (strcmp(kv->key, "server_name") == 0) {
		str = &ks->server_name;
	} else if (strcmp(kv->key, "cert_file") == 0) {
		str = &ks->cert_file;
	} else if (strcmp(kv->key, "key_file") == 0) {
		str = &ks->key_file;
	} else if (strcmp(kv->key, "port") == 0) {
		if (output_kv_ulong(kv->value, 1, 65535, &v) != CD_EOK)
			*bad = "port must be 1..65535";
		else
			snprintf(ks->port, sizeof(ks->port), "%lu", v);
	} else if (strcmp(kv->key, "facility") == 0) {
		if (syslog_fmt_facility_parse(kv->value, &ks->facility) != CD_EOK)
			*bad = "facility must be 0..23 or a name (local0, daemon, ...)";
	} else if (strcmp(kv->key, "max_message") == 0) {
		if (output_kv_ulong(kv->value, SYSLOG_FMT_MAX_MIN,
		    SYSLOG_FMT_MAX_MAX, &v) != CD_EOK)
			*bad = "max_message must be 480..1048576";
		else
			ks->max_message = v;
		ks->have_max = true;
	} else {
		return 0;
	}
	if (str != NULL) {
		free(*str);
		if ((*str = strdup(kv->value)) == NULL)
			return -ENOMEM;
		if (**str == '\0')
			*bad = "must not be empty";
	}
	return 1;
}

int
output_kv_syslog_parse(struct output_kv_syslog *ks, const struct conf_output *co,
    const char *(*own)(void *, const struct conf_kv *), void *sink,
    struct buf *errs)
{
	int rc = CD_EOK, taken;

	for (size_t i = 0; i < co->nkv; i++) {
		const struct conf_kv *kv = &co->kv[i];
		const char *bad = NULL;

		if (output_kv_is_common(kv->key))
			continue;
		if ((taken = output_kv_syslog_take(ks, kv, &bad)) < 0)
			return taken;
		if (taken == 0)
			bad = own(sink, kv);
		if (bad != NULL) {
			output_kv_err(errs, co, kv->line, "%s: %s", kv->key, bad);
			rc = CD_ECONFIG;
		}
	}
	return rc;
}

int
output_kv_syslog_check(const struct output_kv_syslog *ks, bool tls,
    const char *tls_setting, struct buf *errs, const struct conf_output *co)
{
	int rc = CD_EOK;

	if (ks->host == NULL) {
		output_kv_err(errs, co, 0, "host is required");
		rc = CD_ECONFIG;
	}
	if ((ks->cert_file == NULL) != (ks->key_file == NULL)) {
		output_kv_err(errs, co, 0, "cert_file and key_file go together");
		rc = CD_ECONFIG;
	}
	if (!tls && (ks->ca_file != NULL || ks->cert_file != NULL ||
	    ks->server_name != NULL)) {
		output_kv_err(errs, co, 0, "ca_file, server_name, cert_file and "
		    "key_file need %s", tls_setting);
		rc = CD_ECONFIG;
	}
	return rc;
}

void
output_kv_syslog_clear(struct output_kv_syslog *ks)
{
	if (ks == NULL)
		return;
	free(ks->host);
	free(ks->ca_file);
	free(ks->server_name);
	free(ks->cert_file);
	free(ks->key_file);
	ks->host = ks->ca_file = ks->server_name = NULL;
	ks->cert_file = ks->key_file = NULL;
}
