/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Settings parsing the sinks (output_*.c) share: the value forms (a
 * boolean, a bounded number, a timeout in seconds), the one form of a
 * sink's configuration error, and the settings the syslog and RELP
 * outputs have in common (destination, TLS files, message format).
 * Not thread-safe in itself: sinks call it from their create(), which
 * runs on the thread that loads the configuration.
 */
#ifndef CD_OUTPUT_KV_H
#define CD_OUTPUT_KV_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct conf_kv;
struct conf_output;

/**
 * A boolean: "true", "yes", "1" or "false", "no", "0", in any case.
 * CD_EOK and *out, or CD_EPARSE (*out untouched).
 */
int output_kv_bool(const char *s, bool *out);

/**
 * A decimal number within [lo, hi]: digits only (no sign, no blank), no
 * overflow. CD_EOK and *out, or CD_EPARSE (*out untouched).
 */
int output_kv_ulong(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *out);

/**
 * A timeout: 1..3600 whole seconds, the range every sink accepts.
 * CD_EOK and *out, or CD_EPARSE (*out untouched).
 */
int output_kv_seconds(const char *s, unsigned *out);

/**
 * Append one "config:LINE: output "NAME": reason" line to errs (a sink
 * does not know the file's name); line 0 stands for the line of the
 * <output> element itself. The reason is cut at 511 bytes.
 */
void output_kv_err(struct buf *errs, const struct conf_output *co,
    unsigned line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * At the end of a failed create(): when rc is CD_ECONFIG, the errors in
 * errs become the malloc'd *errmsg the caller frees; errs is freed
 * either way.
 */
void output_kv_errs_end(int rc, struct buf *errs, char **errmsg);

/** The settings the syslog and RELP outputs share. */
struct output_kv_syslog {
	char		*host;		/**< required */
	char		 port[8];	/**< "" until set */
	char		*ca_file;	/**< TLS: CA to verify the server with */
	char		*server_name;	/**< TLS: name required in its certificate */
	char		*cert_file;	/**< TLS: client certificate ... */
	char		*key_file;	/**< ... and its key: both or neither */
	unsigned	 facility;	/**< default SYSLOG_FMT_FACILITY_DEFAULT */
	size_t		 max_message;	/**< default SYSLOG_FMT_MAX_DEFAULT */
	bool		 have_max;	/**< max_message was set */
};

/** Fill in the defaults; every string NULL. Cannot fail. */
void output_kv_syslog_init(struct output_kv_syslog *ks);

/**
 * Take kv if it is one of the shared settings: host, port, ca_file,
 * server_name, cert_file, key_file, facility, max_message. Returns 1 when
 * taken (*bad then NULL, or a reason the value is refused, to be reported
 * with output_kv_err() as "KEY: REASON"), 0 when kv is not one of them,
 * -ENOMEM. A setting given twice: the last one counts.
 */
int output_kv_syslog_take(struct output_kv_syslog *ks, const struct conf_kv *kv,
    const char **bad);

/**
 * Read every setting of co but the common ones (output_kv_is_common()):
 * the shared ones into ks (output_kv_syslog_take()), the others through
 * own(sink, kv), which returns NULL when it took the setting or the
 * reason it refuses it ("unknown setting" included). Each refusal is
 * appended to errs as "config:LINE: output "NAME": KEY: REASON".
 * CD_EOK, CD_ECONFIG when anything was refused, -ENOMEM.
 */
int output_kv_syslog_parse(struct output_kv_syslog *ks,
    const struct conf_output *co,
    const char *(*own)(void *sink, const struct conf_kv *kv), void *sink,
    struct buf *errs);

/**
 * The checks once every setting is read: host is required, cert_file and
 * key_file go together, and the TLS files and name need TLS on (tls; the
 * message names the switch as tls_setting, e.g. "transport tls").
 * Appends to errs and returns CD_ECONFIG on a failed check, else CD_EOK.
 */
int output_kv_syslog_check(const struct output_kv_syslog *ks, bool tls,
    const char *tls_setting, struct buf *errs, const struct conf_output *co);

/** Free the strings of ks (not ks itself); NULL-safe, ks stays clear. */
void output_kv_syslog_clear(struct output_kv_syslog *ks);

#endif
