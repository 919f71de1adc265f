/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 5424 syslog messages for the syslog and RELP outputs, and the
 * octet-counting frame of RFC 6587 section 3.4.1 for stream transports.
 *
 * A message is
 *   <PRI>1 TIMESTAMP HOSTNAME collectord - MSGID [collectord@32473 ...] MSG
 * with TIMESTAMP in UTC with milliseconds, HOSTNAME the event's host,
 * MSGID the event id ("alert" or "summary" for the other records), the
 * structured data carrying the spool sequence number and the channel, and
 * MSG the formatted record as is (no BOM: RFC 5424 6.4 allows MSG-ANY, and
 * a BOM would reach the SIEM as part of the payload).
 *
 * 32473 is the enterprise number RFC 5612 reserves for documentation and
 * examples; collectord has no private enterprise number of its own.
 *
 * Pure functions, thread-safe.
 */
#ifndef CD_SYSLOG_FMT_H
#define CD_SYSLOG_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"

struct buf;

/** local0, the default facility. */
#define SYSLOG_FMT_FACILITY_DEFAULT	16
/** Default cap on a whole message (header + SD + MSG), as rsyslog's
 * maxMessageSize="64k". */
#define SYSLOG_FMT_MAX_DEFAULT		65536
/** Smallest cap accepted: RFC 5424 6.1 says receivers must take 480 octets. */
#define SYSLOG_FMT_MAX_MIN		480
/** Largest cap accepted. */
#define SYSLOG_FMT_MAX_MAX		(1024 * 1024)

/**
 * Parse a facility: a number 0..23 or a name (kern, user, mail, daemon,
 * auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0..local7).
 * CD_EOK or CD_EPARSE.
 */
int syslog_fmt_facility_parse(const char *s, unsigned *out);

/**
 * The severity of a record: an alert is warning (4), a summary info (6);
 * an event's by its Level: 1 critical -> 2, 2 error -> 3, 3 warning -> 4,
 * 4 information and 0 -> 6, 5 verbose -> 7, anything else -> 6.
 */
unsigned syslog_fmt_severity(enum output_kind kind, uint32_t level);

/**
 * Append the RFC 5424 message of m to out (no framing, no trailing LF).
 * The whole message is kept within max bytes (max >= SYSLOG_FMT_MAX_MIN):
 * a longer MSG is cut at a UTF-8 character boundary and the structured
 * data gets truncated="<original MSG length>"; *truncated (may be NULL)
 * tells the caller. The host is reduced to printable US-ASCII (others
 * become '_') and 255 bytes, "-" when empty. On error out is left as it
 * was. CD_EOK, -ENOMEM, CD_ETOOBIG from out's cap, -EINVAL on a facility
 * above 23, a severity above 7 or max below SYSLOG_FMT_MAX_MIN.
 */
int syslog_fmt_message(struct buf *out, const struct output_msg *m,
    unsigned facility, unsigned severity, size_t max, bool *truncated);

/**
 * Append the octet-counted frame "LEN SP MSG" (RFC 6587 3.4.1, no trailing
 * LF) of msg[0..len) to out. CD_EOK, -ENOMEM, CD_ETOOBIG.
 */
int syslog_fmt_frame(struct buf *out, const void *msg, size_t len);

#endif
