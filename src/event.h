/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One Windows event as received: its raw XML (kept exactly) and the parsed
 * System fields and EventData by name. event_parse() never fails on bad XML:
 * the event is then flagged malformed and keeps its raw text, so a batch with
 * one broken event can still be acknowledged without losing anything.
 */
#ifndef CD_EVENT_H
#define CD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One EventData/Data (or UserData leaf) value. Unnamed Data elements get
 * the name "Data" followed by their 1-based position ("Data1"). */
struct event_field {
	char	*name;
	char	*value;
};

struct event {
	char	*raw;		/**< the event XML, UTF-8, as received */
	size_t	 raw_len;
	bool	 malformed;	/**< XML did not parse; only raw is reliable */
	char	*error;		/**< why, when malformed (else NULL) */

	char	*provider;	/**< System/Provider/@Name */
	char	*provider_guid;	/**< System/Provider/@Guid, with braces, or NULL */
	uint32_t event_id;	/**< System/EventID */
	bool	 has_event_id;
	uint32_t version;	/**< System/Version (0 when absent) */
	uint32_t level;
	uint32_t task;
	uint32_t opcode;
	char	*keywords;	/**< System/Keywords text ("0x8000000000000000") or NULL */
	char	*time_created;	/**< System/TimeCreated/@SystemTime as written, or NULL */
	int64_t	 time_created_ms; /**< the same in ms since the epoch (0 when absent/bad) */
	uint64_t record_id;	/**< System/EventRecordID */
	bool	 has_record_id;
	uint32_t process_id;	/**< System/Execution/@ProcessID */
	uint32_t thread_id;
	char	*channel;	/**< System/Channel, or NULL */
	char	*computer;	/**< System/Computer as written, or NULL */
	char	*user_sid;	/**< System/Security/@UserID, or NULL */

	struct event_field *data; /**< EventData (or UserData) fields in order */
	size_t	 ndata;

	char	*rule_name;	/**< filled by the rule engine, NULL until then */
};

/**
 * Parse one event's XML (UTF-8). Returns CD_EOK and a new event in *out
 * (also when the XML is malformed: see ev->malformed), or -ENOMEM.
 * The caller owns *out and frees it with event_free(). Thread-safe.
 *
 * The event is one allocation holding the struct, the data array, raw and
 * every string: never free() or realloc() one of them (event_set()
 * replaces a string). rule_name alone is a separate malloc'd string that
 * its writer may free and replace; event_free() frees it.
 *
 * The block is carved from the parsing thread's slab (slab.h): event_free()
 * may run on any thread, and an event still alive keeps its whole 64 KiB
 * chunk, so events are for holding about as long as their batch (the
 * event cache's bounded window), not for ever.
 */
int event_parse(const char *xml, size_t len, struct event **out);

/**
 * Replace one string of an event from event_parse(): field points at one of
 * its char * members (&ev->computer, &ev->data[i].value, ...), which gets a
 * copy of value (NULL: none) owned by the event. The old string stays
 * valid until event_free(). CD_EOK or -ENOMEM (the field is unchanged).
 */
int event_set(struct event *ev, char **field, const char *value);

/** The value of the EventData field with this name, or NULL. Borrowed. */
const char *event_data(const struct event *ev, const char *name);

/**
 * Free the calling thread's cached parser state (event_parse() keeps one
 * per thread, freed by itself when a thread exits). For the main thread
 * before soap_cleanup(); soap_cleanup() calls it.
 */
void event_thread_cleanup(void);

/**
 * Move *ev out of its slab chunk into an allocation of its own, so that
 * holding it long pins nothing else (*ev changes; every pointer into the
 * event follows, those from event_set() and rule_name stay). For an event
 * already on its own, a no-op. CD_EOK, or -ENOMEM with *ev unchanged.
 */
int event_keep(struct event **ev);

/** Free an event; NULL is a no-op. */
void event_free(struct event *ev);

/** The bytes ev holds: its block and any string set on it since. */
size_t event_mem(const struct event *ev);

#endif
