/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sysmon DNS observations: one Event ID 22 (DnsQuery) turned into a plain
 * struct with a normalised query name, its registered domain (libpsl), the
 * parsed QueryResults and the querying process. Fields are taken by name,
 * never by position (sysmon.md 1.4). Everything here is pure and thread-safe.
 */
#ifndef CD_DNS_H
#define CD_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;

/** Room for a normalised name: 253 characters plus the terminator, rounded. */
#define DNS_NAME_MAX	256
/** Room for the text form of an address (INET6_ADDRSTRLEN). */
#define DNS_ADDR_STRLEN	46

/** One item of QueryResults. */
struct dns_answer {
	bool	 is_addr;	/**< an address (then family/addr), else a typed record */
	int	 family;	/**< AF_INET or AF_INET6 (addresses only) */
	uint8_t	 addr[16];	/**< network order; IPv4 in the first 4 bytes.
				     "::ffff:a.b.c.d" is unmapped to AF_INET */
	uint16_t rrtype;	/**< "type:  N value": N (5 CNAME, 12 PTR, 33 SRV, ...); 0 for addresses */
	char	*value;		/**< typed records: the value, lower-cased with one trailing
				     dot removed; "" when Sysmon logged none ("type:  33 ;") */
};

/** A normalised Sysmon DNS query. Strings are owned; dns_obs_clear() frees. */
struct dns_obs {
	int64_t	 time_ms;	/**< EventData UtcTime, ms since the epoch, UTC */
	char	*name;		/**< normalised QueryName (dns_name_normalise) */
	char	*raw_name;	/**< QueryName as written */
	char	*regdom;	/**< registered domain of name, or name itself when it has none */
	uint32_t status;	/**< QueryStatus (Windows error code, 0 ok) */
	struct dns_answer *answers; /**< parsed QueryResults, in order */
	size_t	 nanswers;
	char	*image;		/**< Image as written ("" when absent) */
	uint32_t pid;		/**< EventData ProcessId (0 when absent) */
	char	*process_guid;	/**< ProcessGuid or NULL */
	char	*user;		/**< User (newer schemas) or NULL */
	uint64_t record_id;	/**< System/EventRecordID (tie-break for first_host) */
};

/**
 * Turn a parsed event into an observation. Returns CD_EOK and fills *out
 * (the caller clears it with dns_obs_clear()), CD_EUNSUPPORTED when the event
 * is not a Sysmon Event ID 22 (or is malformed), CD_EPARSE when UtcTime or
 * QueryName is missing or invalid, -ENOMEM. On error *out is left cleared.
 * A QueryResults that does not follow the grammar is not an error: the
 * recognisable items are kept.
 */
int dns_from_event(const struct event *ev, struct dns_obs *out);

/** Free the strings and answers of an observation and zero it. NULL is a no-op. */
void dns_obs_clear(struct dns_obs *obs);

/**
 * Normalise a DNS name the way the index keys it: ASCII lower case, one
 * trailing dot removed, single labels and punycode kept as they are.
 * out must hold DNS_NAME_MAX bytes. Returns CD_EOK, or CD_EPARSE when the
 * result would be empty or longer than 253 characters, has an empty label
 * ("a..b", ".a"), or contains a control character, a space or DEL (bytes >= 0x80 are kept as they are).
 * The API uses it on names from paths and parameters.
 */
int dns_name_normalise(const char *in, char out[DNS_NAME_MAX]);

/**
 * The registered domain (eTLD+1, libpsl's built-in list) of a normalised
 * name; names without one (single labels, public suffixes themselves, IP
 * literals) are their own group: out is then the name. out holds DNS_NAME_MAX.
 */
void dns_registered_domain(const char *name, char out[DNS_NAME_MAX]);

/**
 * Parse Sysmon's QueryResults text ("type:  5 a.net;::ffff:1.2.3.4;", "-",
 * "") into *out (caller frees with dns_answers_free()). Returns CD_EOK
 * (possibly with *n == 0), -ENOMEM.
 */
int dns_parse_results(const char *text, struct dns_answer **out, size_t *n);

/** Free an answer array returned by dns_parse_results(). */
void dns_answers_free(struct dns_answer *a, size_t n);

/**
 * Parse an address the way the index stores it: IPv4, IPv6, or an
 * IPv4-mapped IPv6 address (unmapped). Fills family and addr.
 * Returns CD_EOK or CD_EPARSE.
 */
int dns_addr_parse(const char *text, int *family, uint8_t addr[16]);

/** Text form of an address ("1.2.3.4", "fe80::1"); out holds DNS_ADDR_STRLEN. */
void dns_addr_format(int family, const uint8_t addr[16], char out[DNS_ADDR_STRLEN]);

/**
 * Parse Sysmon's UtcTime "YYYY-MM-DD HH:MM:SS.mmm" (fraction optional, 1-9
 * digits, truncated to ms; a 'T' separator and a trailing 'Z' accepted).
 * Returns CD_EOK or CD_EPARSE.
 */
int dns_parse_utctime(const char *text, int64_t *ms);

/**
 * Reverse the labels of a name ("www.example.com" -> "com.example.www"), the
 * key form of the index; the operation is its own inverse. out holds
 * DNS_NAME_MAX; in must be shorter than that.
 */
void dns_name_reverse(const char *in, char out[DNS_NAME_MAX]);

#endif
