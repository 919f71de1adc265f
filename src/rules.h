/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sysmon configuration files applied at the collector. A Sysmon config
 * (schema 4.x, the EventFiltering part only) is loaded once and then
 * evaluated on received Sysmon events with the behaviour of Sysmon's own rule
 * engine (SysmonCommon rules.c / xml.cpp as summarised in docs/sysmon.md
 * section 2, in particular 2.7): every comparison case-insensitive,
 * "less than"/"more than" as string comparisons, ';' lists untrimmed,
 * exclude blocks before include blocks (each in reverse document order), and
 * the engine's defaults when nothing matches.
 *
 * A loaded struct rules is immutable: rules_eval() may run on any number of
 * threads at once.
 */
#ifndef CD_RULES_H
#define CD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct rules;

enum rules_verdict {
	RULES_KEEP = 0,	/**< forward the event */
	RULES_DROP = 1,	/**< the config filters it out */
};

/**
 * Load a Sysmon configuration file (UTF-8 with or without BOM, UTF-16 with
 * BOM, or any encoding libxml2 knows from the declaration). Options beside
 * EventFiltering (HashAlgorithms, DnsLookup, ...) are ignored. Filter values
 * are used exactly as written (no trimming); '%VAR%' values are compared
 * literally, as the Linux Sysmon build does (a warning is logged).
 *
 * Returns CD_EOK and a new object in *out (free with rules_free()), or
 * CD_ECONFIG (invalid configuration), CD_EPARSE (not well-formed XML),
 * -errno (unreadable), -ENOMEM. On error, when errmsg is not NULL, *errmsg
 * gets a malloc'ed "path:line: reason" text the caller frees.
 */
int rules_load(const char *path, struct rules **out, char **errmsg);

/** The same from a document in memory; name is used in error messages. */
int rules_load_mem(const char *xml, size_t len, const char *name,
    struct rules **out, char **errmsg);

/**
 * Decide whether a received event is kept. Events that are not Sysmon
 * events (provider Microsoft-Windows-Sysmon), malformed events, Event IDs
 * without a filterable rule element and event types the config says nothing
 * about are kept (pass-through: the collector only sees what Sysmon already
 * decided to log).
 *
 * When rule_name is not NULL it receives the RuleName Sysmon would write:
 * the matching rule's name, or "-" when none. The string is borrowed from r
 * (valid until rules_free()). Thread-safe.
 */
enum rules_verdict rules_eval(const struct rules *r, const struct event *ev,
    const char **rule_name);

/**
 * rules_eval(), then record the rule name on Sysmon events (ev->rule_name,
 * a malloc'ed copy of the name or "-", replacing any previous one, freed by
 * event_free()); other events are left untouched. Returns CD_EOK with
 * *verdict, or -ENOMEM.
 */
int rules_apply(const struct rules *r, struct event *ev,
    enum rules_verdict *verdict);

/** The Sysmon rule element name for an Event ID ("DnsQuery" for 22,
 * "RegistryEvent" for 12-14, ...), or NULL when the ID cannot be filtered. */
const char *rules_event_name(uint32_t event_id);

/** Number of event blocks loaded (for logs and tests). */
unsigned rules_block_count(const struct rules *r);

/** Free a loaded configuration; NULL is a no-op. */
void rules_free(struct rules *r);

#endif
