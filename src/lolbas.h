/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * LOLBAS detection: a "living off the land" binary (regsvr32, certutil,
 * mshta, rundll32, bitsadmin, ...: the list is a data file, data/lolbas.txt)
 * making a DNS query (Sysmon Event ID 22) or a network connection (Event ID
 * 3) produces an alert record carrying the command line and parent of the
 * process, joined on ProcessGuid with its process creation (Event ID 1).
 *
 * The join must work when Event ID 1 arrived in an earlier batch, so process
 * creations are remembered: in memory in a bounded LRU keyed by (host,
 * ProcessGuid), and, when the lead wires it, in the store (DBI "procs")
 * through lolbas_proc_put() inside the writer's transaction; on an LRU miss
 * lolbas_check() then looks the store up (lolbas_set_store()), which makes
 * the join survive restarts.
 *
 * A struct lolbas is thread-safe (one mutex around the cache).
 */
#ifndef CD_LOLBAS_H
#define CD_LOLBAS_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct event;
struct lolbas;
struct store;
struct store_txn;

/** Where the installed list lives. */
#define LOLBAS_DEFAULT_PATH	PKGDATADIR "/lolbas.txt"

/** Default number of process records kept in memory. */
#define LOLBAS_CACHE_DEFAULT	65536

/** What is known of a process from its creation event (Event ID 1). Every
 * string may be NULL when the event lacked the field. */
struct lolbas_proc {
	char	*image;
	char	*command_line;
	char	*parent_image;
	char	*parent_command_line;
	char	*utc_time;	/**< the process creation's UtcTime */
};

/**
 * Load the binary list: one file name per line ("regsvr32.exe"), '#'
 * starts a comment, blank lines are ignored, case does not matter.
 * path NULL means LOLBAS_DEFAULT_PATH. Returns CD_EOK and a new object in
 * *out (free with lolbas_free()), -errno when unreadable, CD_ECONFIG when
 * the list is empty or a line is not a plain file name, -ENOMEM.
 */
int lolbas_load(const char *path, struct lolbas **out);

/** Free; NULL is a no-op. A store set with lolbas_set_store() is not closed. */
void lolbas_free(struct lolbas *lb);

/** Bound the in-memory cache to max records (at least 1); evicts the least
 * recently used ones when it shrinks. */
void lolbas_set_cache_size(struct lolbas *lb, size_t max);

/** Look process records up in st (borrowed; must outlive lb, or be reset
 * with NULL first) when they are not in memory. NULL disables. */
void lolbas_set_store(struct lolbas *lb, struct store *st);

/** True when the file name part of a Windows path (after the last '\' or
 * '/') is on the list, compared case-insensitively. */
bool lolbas_is_listed(const struct lolbas *lb, const char *image);

/**
 * Remember a Sysmon process creation (Event ID 1) by (Computer,
 * ProcessGuid) when its Image is on the list (only those are ever joined);
 * any other event is ignored. Never fails: when memory is short the record
 * is simply not remembered.
 */
void lolbas_observe(struct lolbas *lb, const struct event *ev);

/**
 * If ev is a Sysmon DNS query (22) or network connection (3) made by a
 * listed binary, append one JSON object to alert_json and return 1:
 * {"type":"lolbas_alert","severity":"high"|"medium","host","event_id",
 * "utc_time","image","lolbas","process_guid","process_id","user",
 * "query_name","query_status","query_results" (22) or "protocol",
 * "destination_ip","destination_port","destination_hostname" (3),
 * "command_line","parent_image","parent_command_line","process_utc_time"}
 * where host is Computer lower-cased (the collector's host key), "lolbas"
 * the listed file name, and the last four come from the Event ID 1 join and are null when the
 * process creation is unknown. severity is "high" when the caller says the
 * queried domain is first seen fleet-wide, else "medium".
 * Returns 0 when no alert applies, or a negative error (-ENOMEM,
 * CD_ETOOBIG from the buffer; alert_json is then restored).
 */
int lolbas_check(struct lolbas *lb, const struct event *ev,
    bool domain_first_seen_fleetwide, struct buf *alert_json);

/** Records currently held in memory. */
size_t lolbas_cache_count(struct lolbas *lb);

/**
 * Persist a Sysmon Event ID 1 as a process record in STORE_DBI_PROCS, key
 * (lower-case host, lower-case ProcessGuid). Call it inside the store
 * writer's apply() (it only writes through txn, so it may run again).
 * Other events are a no-op. Returns CD_EOK or the store's error.
 */
int lolbas_proc_put(struct store_txn *txn, const struct event *ev);

/**
 * lolbas_observe(lb, ev) and then lolbas_proc_put(txn, ev), with one pass
 * over the event's fields and the procs value written in place in the map.
 * With lb, only processes whose Image is on lb's list are remembered or
 * written (lolbas_check() joins no other). lb or txn may be NULL to skip
 * that half (txn alone: every process creation is written). Returns lolbas_proc_put()'s
 * result (CD_EOK when txn is NULL).
 */
int lolbas_observe_put(struct lolbas *lb, struct store_txn *txn,
    const struct event *ev);

/**
 * Look a process record up in STORE_DBI_PROCS (any transaction). Returns
 * CD_EOK and a new record in *out (free with lolbas_proc_free()),
 * CD_ENOTFOUND, CD_ECORRUPT (unknown format), or the store's error.
 */
int lolbas_proc_get(struct store_txn *txn, const char *host,
    const char *process_guid, struct lolbas_proc **out);

/** Free a record; NULL is a no-op. */
void lolbas_proc_free(struct lolbas_proc *p);

#endif
