/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's configuration: one struct cd_conf per loaded file, built by
 * conf_load() (or conf_defaults()), never changed while in use; a reload
 * builds a new one and swaps it in only when it is valid. Every default lives
 * in conf_defaults(), so a missing default file simply means "defaults".
 *
 * The file is XML validated against schemas/collectord.xsd; every error is
 * reported as "file:line: reason". All strings in the struct are malloc'd and
 * owned by it; conf_free() releases everything.
 */
#ifndef CD_CONF_H
#define CD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/** A list of owned strings. */
struct conf_strv {
	char	**v;
	size_t	  n;
};

enum conf_auth {
	CONF_AUTH_KERBEROS,	/**< SPNEGO/Kerberos on the HTTP listeners (default) */
	CONF_AUTH_TLS,		/**< mutual TLS on the HTTPS listeners */
	CONF_AUTH_NONE,		/**< no authentication: labs and tests only */
};

/** One name/value setting of an output, as written in the file. */
struct conf_kv {
	char	*key;
	char	*value;
	unsigned line;		/**< line in the file, for the outputs' own errors */
};

/** One <output> element. Its settings are interpreted by the outputs. */
struct conf_output {
	char		*name;	/**< unique output name (also its cursor key) */
	char		*type;	/**< "file", "syslog", "relp", "http" or "kafka" */
	struct conf_kv	*kv;	/**< child settings in file order */
	size_t		 nkv;
	unsigned	 line;	/**< line of the <output> element (0: not from a file) */
};

struct conf_limits {
	uint64_t max_body_bytes;	/**< request body cap (default 2 MiB) */
	uint64_t max_decompressed_bytes; /**< after SLDC/UTF-16 decoding (default 16 MiB) */
	uint32_t max_events_per_batch;	/**< events in one Events POST (default 10000) */
	uint32_t max_xml_depth;		/**< nesting depth of untrusted XML (default 64) */
	uint32_t max_xml_nodes;		/**< XML nodes in one envelope (default 4000000) */
	uint32_t max_connections;	/**< open connections in total (default 10000) */
	uint32_t max_connections_per_ip; /**< per client address (default 64) */
	uint32_t connection_timeout_s;	/**< idle connection timeout (default 300) */
	uint32_t max_header_bytes;	/**< request line and headers of one request,
					  Kerberos tokens included (default 131072) */
	uint32_t request_timeout_s;	/**< from the end of the headers to the end
					  of the body, against trickling clients (default 120) */
};

struct conf_store {
	uint64_t map_max_bytes;		/**< LMDB map growth limit (default 64 GiB) */
	bool	 nosync;		/**< no fsync at commit: UNSAFE (default false) */
	uint64_t spool_max_entries;	/**< undelivered spool entries before sources get
					  503 (default 10 million) */
	uint64_t index_pending_max;	/**< acknowledged DNS queries not indexed yet
					  before sources get 503 (default 100,000) */
};

struct conf_dns {
	uint32_t	 dedup_window_s;	/**< dedup window (default 900) */
	struct conf_strv dedup_key;	/**< fields of the dedup key (default
					  host, image, query_name, query_status) */
	uint64_t	 dedup_max_entries;	/**< bound on dedup state (default 1000000) */
	uint32_t	 retention_days;	/**< index retention; 0 keeps forever (default) */
	bool		 alert_registered_domain; /**< also report registered domains
					  first seen (default false) */
};

struct conf_api {
	char	*tokens_file;	/**< bearer tokens file; NULL: no token check (default) */
};

struct cd_conf {
	char		*path;		/**< file it was loaded from, NULL for defaults */
	struct conf_strv listen;	/**< WEF over HTTP, "[ADDR:]PORT" (default "5985") */
	struct conf_strv tls_listen;	/**< WEF over HTTPS, "[ADDR:]PORT" (default none) */
	struct conf_strv api_listen;	/**< REST API, "ADDR:PORT" (default "127.0.0.1:8080":
					  loopback only, 8080 being free of WinRM's ports) */
	char		*data_dir;	/**< LMDB environment (default LOCALSTATEDIR/lib/collectord) */
	char		*subscriptions_dir; /**< subscription files (default
					  SYSCONFDIR/collectord/subscriptions.d) */
	enum conf_auth	 auth;		/**< default CONF_AUTH_KERBEROS */
	char		*keytab;	/**< NULL: the Kerberos library's default keytab */
	char		*tls_cert;	/**< server certificate, PEM */
	char		*tls_key;	/**< its private key, PEM */
	struct conf_strv tls_ca;	/**< CA files client certificates chain to */
	char		*advertise;	/**< "host[:port]" for NotifyTo; NULL: the Host header */
	enum log_level	 log_level;	/**< default LOG_LEVEL_INFO */
	char		*user;		/**< drop privileges to this user; NULL: do not */
	bool		 allow_root;	/**< permit running as root (default false) */
	struct conf_limits limits;
	struct conf_store store;
	struct conf_dns	 dns;
	struct conf_api	 api;
	struct conf_strv relays;	/**< source patterns (fnmatch, case-insensitive)
					  allowed to send events for other hosts */
	struct conf_output *outputs;	/**< used by the outputs */
	size_t		 noutputs;
};

/**
 * Where conf_load() and subscription_load_dir() find collectord.xsd and
 * subscription.xsd (default PKGDATADIR "/schemas"). The string is copied.
 * Call before loading, not concurrently with a load.
 */
int conf_set_schema_dir(const char *dir);
/** The current schema directory (borrowed, valid until the next set). */
const char *conf_schema_dir(void);

/** A new configuration with every built-in default. -ENOMEM. */
int conf_defaults(struct cd_conf **out);

/**
 * Load and validate a configuration file; settings absent from the file keep
 * their defaults. Returns CD_EOK and *out (caller frees with conf_free());
 * -ENOENT when the file does not exist (*errmsg is then set too); -errno for
 * other read errors; CD_ECONFIG when invalid. On failure *errmsg (if errmsg
 * is not NULL) receives a malloc'd text, one "file:line: reason" per line,
 * which the caller frees. The parser loads no DTD, expands no entity and
 * never touches the network. Does not run conf_check().
 */
int conf_load(const char *path, struct cd_conf **out, char **errmsg);

/**
 * Semantic checks across settings, to run after command-line overrides:
 * listeners parse, auth tls has a TLS listener, certificate, key and CA, and
 * so on. CD_EOK, or CD_ECONFIG with a malloc'd *errmsg (one reason a line).
 */
int conf_check(const struct cd_conf *conf, char **errmsg);

/** Free a configuration; NULL is a no-op. */
void conf_free(struct cd_conf *conf);

/**
 * Parse "PORT", "ADDR:PORT", "[V6ADDR]:PORT", "HOST" or "V6ADDR" as in
 * --listen and --advertise. *host gets a malloc'd address (brackets removed)
 * or NULL when none is given; *port gets 1..65535, or 0 when none is given.
 * CD_ECONFIG on a malformed string or a port out of range, -ENOMEM.
 */
int conf_parse_hostport(const char *s, char **host, unsigned *port);

/** Parse "kerberos", "tls", "none". */
bool conf_auth_parse(const char *s, enum conf_auth *out);
/** The name of an auth mode. */
const char *conf_auth_name(enum conf_auth auth);

/** Append a copy of s. -ENOMEM. */
int conf_strv_add(struct conf_strv *sv, const char *s);
/** Empty the list (command-line options replace the file's list). */
void conf_strv_clear(struct conf_strv *sv);
/** Replace an owned string field with a copy of s (NULL clears it). -ENOMEM. */
int conf_set_str(char **field, const char *s);

/*
 * Shared with subscription.c: read a file (capped at 4 MiB), parse it with
 * libxml2 (no DTD, no entities, no network) and validate it against the
 * schema file `xsd` in the schema directory. Errors are appended to
 * *errs as "file:line: reason" lines. Returns CD_EOK and *out (free with
 * xmlFreeDoc), -ENOENT, -errno or CD_ECONFIG.
 */
struct _xmlDoc;
struct buf;
int conf_xml_read(const char *path, const char *xsd, struct _xmlDoc **out,
    struct buf *errs);
/**
 * Shared with subscription.c: the text content of element n with XML
 * whitespace (space, tab, CR, LF) trimmed at both ends, malloc'd (the
 * caller frees it); "" for an element without content, NULL on ENOMEM.
 */
struct _xmlNode;
char *conf_xml_text(struct _xmlNode *n);
/** Append "file:line: reason" (line 0 omits the line) to errs. */
void conf_err(struct buf *errs, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Turn the collected errors into a malloc'd string for *errmsg. */
char *conf_err_take(struct buf *errs);

#endif
