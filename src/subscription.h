/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Subscriptions: what the collector asks Windows hosts to send. They are
 * read from XML files in the format `wecutil gs NAME /f:xml` prints
 * (namespace http://schemas.microsoft.com/2006/03/windows/events/subscription,
 * validated against schemas/subscription.xsd), so an existing Windows
 * collector moves over by copying files. Two optional collectord elements in
 * the namespace "urn:collectord:subscription" extend the format:
 *   <cd:Identifier>GUID</cd:Identifier>  the id used in the delivery URL and
 *       e:Identifier (default: a GUID derived from SubscriptionId, so it is
 *       stable across restarts and hosts);
 *   <cd:AllowedSources><cd:Source>PATTERN</cd:Source>...</cd:AllowedSources>
 *       source identities (fnmatch, case-insensitive) offered the
 *       subscription (default: every authenticated source).
 *
 * A loaded set is immutable; a reload builds a new set. Everything a struct
 * holds is owned by it.
 */
#ifndef CD_SUBSCRIPTION_H
#define CD_SUBSCRIPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct buf;

/** "uuid:" + 36 characters + NUL */
#define SUBSCRIPTION_VERSION_LEN	42

/** ConfigurationMode; the delivery values of each mode follow
 * wef-protocol.md §6 (Custom takes the file's values). */
enum subscription_mode {
	SUBSCRIPTION_MODE_NORMAL,	/**< MaxItems 5, MaxTime 900 s, Heartbeats 900 s */
	SUBSCRIPTION_MODE_MIN_LATENCY,	/**< MaxTime 30 s, Heartbeats 3600 s */
	SUBSCRIPTION_MODE_MIN_BANDWIDTH, /**< MaxTime 6 h, Heartbeats 6 h */
	SUBSCRIPTION_MODE_CUSTOM,	/**< Batching and Heartbeat from the file */
};

struct subscription {
	char		*id;		/**< GUID, as written in cd:Identifier or derived (upper case) */
	char		*name;		/**< SubscriptionId: the name Windows shows */
	char		*description;	/**< or NULL */
	bool		 enabled;	/**< Enabled (default true); disabled ones are never offered */
	char		*uri;		/**< Uri as written, or NULL */
	enum subscription_mode mode;
	uint32_t	 max_items;	/**< MaxElements per batch; 0: none sent */
	uint32_t	 max_latency_ms; /**< MaxTime */
	uint32_t	 heartbeat_ms;	/**< Heartbeats */
	char		*query_xml;	/**< the one <QueryList> element, serialised */
	bool		 read_existing;	/**< ReadExistingEvents */
	char		*transport;	/**< "HTTP" or "HTTPS" */
	char		*content_format; /**< "Raw" (file: Events) or "RenderedText" */
	char		*locale;	/**< Locale Language (default "en-US") */
	char		*log_file;	/**< LogFile as written, or NULL (not used) */
	char		*publisher;	/**< PublisherName, or NULL (not used) */
	char		*allowed_domain_sddl; /**< AllowedSourceDomainComputers text, or NULL (kept, not enforced) */
	struct conf_strv issuer_cas;	/**< AllowedSourceNonDomainComputers IssuerCA thumbprints */
	struct conf_strv sources;	/**< cd:AllowedSources patterns; empty: everyone */
	char		 version[SUBSCRIPTION_VERSION_LEN]; /**< "uuid:..." upper case, a
					  hash of every client-visible parameter above */
	char		*file;		/**< file it came from; NULL for the built-in one */
	unsigned	 line;		/**< line of the root element */
};

struct subscription_set {
	struct subscription **subs;	/**< sorted by file name */
	size_t		      n;
};

/**
 * Load every *.xml file of dir (sorted by name; other files ignored). Each
 * file holds one subscription. Duplicate ids or names are refused. With no
 * file at all, the set holds the built-in Sysmon subscription. Returns
 * CD_EOK and *out (free with subscription_set_free), -errno when dir cannot
 * be read, CD_ECONFIG when any file is invalid: then *errmsg (if not NULL)
 * gets a malloc'd text of "file:line: reason" lines, which the caller frees.
 */
int subscription_load_dir(const char *dir, struct subscription_set **out,
    char **errmsg);

/**
 * Load one subscription file. Same errors as subscription_load_dir().
 * The caller frees *out with subscription_free().
 */
int subscription_load_file(const char *path, struct subscription **out,
    char **errmsg);

/**
 * The built-in subscription used when no file exists: name "Sysmon",
 * Microsoft-Windows-Sysmon/Operational, all events, ContentFormat Raw,
 * MinLatency delivery. Identical (same id and version) to
 * etc/subscriptions.d/sysmon.xml. -ENOMEM. Free with subscription_free().
 */
int subscription_builtin(struct subscription **out);

/** Find by id (case-insensitive) or name (case-insensitive). Borrowed. */
const struct subscription *subscription_set_find(const struct subscription_set *set,
    const char *id_or_name);

/** True when source (an authenticated identity) may receive sub. */
bool subscription_allows(const struct subscription *sub, const char *source);

void subscription_free(struct subscription *sub);
/** Free a set and its subscriptions; NULL is a no-op. */
void subscription_set_free(struct subscription_set *set);

/** What rendering needs beyond the subscription itself. All borrowed. */
struct subscription_render_ctx {
	const char	*base_url;	/**< "http://collector.example.com:5985", no trailing slash */
	enum conf_auth	 auth;		/**< kerberos and none: the spnego-kerberos
					  profile; tls: https/mutual per thumbprint */
	const char *const *thumbprints;	/**< SHA-1 hex of each issuer CA (tls only) */
	size_t		 nthumbprints;
	const char	*bookmark;	/**< stored <BookmarkList> XML, inserted verbatim; NULL: none */
};

/**
 * The Version sent to clients: sub->version combined with what ctx makes
 * client-visible (base_url, auth, thumbprints), so a new advertised address
 * or CA also makes clients re-subscribe. Never depends on the bookmark.
 * out gets "uuid:XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX".
 */
void subscription_wire_version(const struct subscription *sub,
    const struct subscription_render_ctx *ctx, char out[SUBSCRIPTION_VERSION_LEN]);

/**
 * Append to out the UTF-8 XML of one
 * <m:Subscription xmlns:m="http://schemas.microsoft.com/wbem/wsman/1/subscription">
 * element: m:Version and the embedded Subscribe envelope (wef-protocol.md
 * §1.4) with a fresh MessageID. CD_EOK, -EINVAL (tls without thumbprints,
 * no base_url), CD_ECRYPTO (no randomness), or buf errors. Thread-safe.
 */
int subscription_render(const struct subscription *sub,
    const struct subscription_render_ctx *ctx, struct buf *out);

#endif
