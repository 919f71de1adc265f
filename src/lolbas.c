/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "be.h"
#include "buf.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "log.h"
#include "lolbas.h"
#include "store.h"
#include "store_key.h"

#define LOLBAS_PROC_VERSION	1	/* first byte of a "procs" value */
#define LOLBAS_NAME_MAX		64	/* longest file name on the list */

/* One remembered process: a hash chain member and an LRU list member. */
struct lolbas_entry {
	char			*key;	/* "host\nguid", lower-case */
	uint64_t		 hash;
	struct lolbas_proc	*proc;
	struct lolbas_entry	*hnext;
	struct lolbas_entry	*prev;	/* towards most recently used */
	struct lolbas_entry	*next;	/* towards least recently used */
};

struct lolbas {
	char			**names;	/* sorted, lower-case */
	size_t			 nnames;

	pthread_mutex_t		 mu;
	struct lolbas_entry	**table;
	size_t			 nbuckets;	/* power of two */
	size_t			 count;
	size_t			 max;
	struct lolbas_entry	*head;		/* most recently used */
	struct lolbas_entry	*tail;		/* least recently used */
	struct store		*store;
};

static int lolbas_cmp(const void *, const void *);
static char *lolbas_key(const char *, const char *);
static uint64_t lolbas_hash(const char *);
static const char *lolbas_sysmon_data(const struct event *, const char *);
static bool lolbas_is_sysmon(const struct event *);
static struct lolbas_proc *lolbas_proc_dup(const struct lolbas_proc *);
static void lolbas_unlink(struct lolbas *, struct lolbas_entry *);
static void lolbas_push_front(struct lolbas *, struct lolbas_entry *);
static void lolbas_evict(struct lolbas *);
static struct lolbas_entry *lolbas_find(struct lolbas *, const char *, uint64_t);
static void lolbas_insert(struct lolbas *, char *, struct lolbas_proc *);
static const char *lolbas_basename(const char *);
static char *lolbas_lower_dup(const char *);
static char *lolbas_strdup0(const char *);
static int lolbas_proc_key_of(struct store_key *, const char *);
static int lolbas_proc_key(struct store_key *, const char *, const char *);
static int lolbas_alert(const struct event *, const char *, bool,
    const struct lolbas_proc *, struct buf *);

static int
lolbas_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
lolbas_load(const char *path, struct lolbas **out)
{
	struct lolbas *lb = NULL;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;
	int rc;

	*out = NULL;
	if (path == NULL)
		path = LOLBAS_DEFAULT_PATH;
	if ((f = fopen(path, "re")) == NULL) {
		rc = -errno;
		log_err("lolbas", "%s: %s", path, cd_strerror(rc));
		goto out;
	}
	if ((lb = calloc(1, sizeof(*lb))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&lb->mu, NULL);
	lb->max = LOLBAS_CACHE_DEFAULT;
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e, **nn;

		lineno++;
		if ((e = strchr(s, '#')) != NULL)
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\n' || e[-1] == '\r'))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (strpbrk(s, "\\/ \t") != NULL || strlen(s) > LOLBAS_NAME_MAX) {
			log_err("lolbas", "%s:%u: not a file name", path, lineno);
			rc = CD_ECONFIG;
			goto out;
		}
		if ((nn = realloc(lb->names, (lb->nnames + 1) * sizeof(*nn))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		lb->names = nn;
		if ((lb->names[lb->nnames] = strdup(s)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		for (char *p = lb->names[lb->nnames]; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		lb->nnames++;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	if (lb->nnames == 0) {
		log_err("lolbas", "%s: no binaries listed", path);
		rc = CD_ECONFIG;
		goto out;
	}
	qsort(lb->names, lb->nnames, sizeof(*lb->names), lolbas_cmp);
	/* Enough buckets for the default bound; chains stay short. */
	lb->nbuckets = 1;
	while (lb->nbuckets < LOLBAS_CACHE_DEFAULT)
		lb->nbuckets <<= 1;
	if ((lb->table = calloc(lb->nbuckets, sizeof(*lb->table))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*out = lb;
	lb = NULL;
	rc = CD_EOK;
out:
	free(line);
	if (f != NULL)
		fclose(f);
	lolbas_free(lb);
	return rc;
}

void
lolbas_free(struct lolbas *lb)
{
	if (lb == NULL)
		return;
	for (struct lolbas_entry *e = lb->head, *next; e != NULL; e = next) {
		next = e->next;
		free(e->key);
		lolbas_proc_free(e->proc);
		free(e);
	}
	for (size_t i = 0; i < lb->nnames; i++)
		free(lb->names[i]);
	free(lb->names);
	free(lb->table);
	pthread_mutex_destroy(&lb->mu);
	free(lb);
}

void
lolbas_set_cache_size(struct lolbas *lb, size_t max)
{
	pthread_mutex_lock(&lb->mu);
	lb->max = max > 0 ? max : 1;
	while (lb->count > lb->max)
		lolbas_evict(lb);
	pthread_mutex_unlock(&lb->mu);
}

void
lolbas_set_store(struct lolbas *lb, struct store *st)
{
	pthread_mutex_lock(&lb->mu);
	lb->store = st;
	pthread_mutex_unlock(&lb->mu);
}

size_t
lolbas_cache_count(struct lolbas *lb)
{
	size_t n;

	pthread_mutex_lock(&lb->mu);
	n = lb->count;
	pthread_mutex_unlock(&lb->mu);
	return n;
}

static const char *
lolbas_basename(const char *image)
{
	const char *b = image;

	for (const char *p = image; *p != '\0'; p++)
		if (*p == '\\' || *p == '/')
			b = p + 1;
	return b;
}

bool
lolbas_is_listed(const struct lolbas *lb, const char *image)
{
	char name[LOLBAS_NAME_MAX + 1];
	const char *b, *key = name;
	size_t i;

	if (image == NULL)
		return false;
	b = lolbas_basename(image);
	for (i = 0; b[i] != '\0'; i++) {
		if (i == LOLBAS_NAME_MAX)
			return false;
		name[i] = (b[i] >= 'A' && b[i] <= 'Z') ? (char)(b[i] + 32) : b[i];
	}
	name[i] = '\0';
	return bsearch(&key, lb->names, lb->nnames, sizeof(*lb->names),
	    lolbas_cmp) != NULL;
}

/* "host\nguid", both lower-cased: ProcessGuid is unique per host only. */
static char *
lolbas_key(const char *host, const char *guid)
{
	size_t hl = strlen(host), gl = strlen(guid);
	char *k = malloc(hl + gl + 2);

	if (k == NULL)
		return NULL;
	memcpy(k, host, hl);
	k[hl] = '\n';
	memcpy(k + hl + 1, guid, gl + 1);
	for (char *p = k; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return k;
}

/* FNV-1a, 64 bit: keys come from the network, but a chain only costs time
 * within the cache bound. */
static uint64_t
lolbas_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static const char *
lolbas_sysmon_data(const struct event *ev, const char *name)
{
	for (size_t i = 0; i < ev->ndata; i++)
		if (ev->data[i].name != NULL && strcmp(ev->data[i].name, name) == 0)
			return ev->data[i].value;
	return NULL;
}

static bool
lolbas_is_sysmon(const struct event *ev)
{
	return ev != NULL && !ev->malformed && ev->has_event_id &&
	    ev->provider != NULL &&
	    strcasecmp(ev->provider, "Microsoft-Windows-Sysmon") == 0;
}

static char *
lolbas_lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p != NULL && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return d;
}

static char *
lolbas_strdup0(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
lolbas_proc_free(struct lolbas_proc *p)
{
	if (p == NULL)
		return;
	free(p->image);
	free(p->command_line);
	free(p->parent_image);
	free(p->parent_command_line);
	free(p->utc_time);
	free(p);
}

static struct lolbas_proc *
lolbas_proc_dup(const struct lolbas_proc *src)
{
	struct lolbas_proc *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->image = lolbas_strdup0(src->image);
	p->command_line = lolbas_strdup0(src->command_line);
	p->parent_image = lolbas_strdup0(src->parent_image);
	p->parent_command_line = lolbas_strdup0(src->parent_command_line);
	p->utc_time = lolbas_strdup0(src->utc_time);
	if ((src->image && !p->image) || (src->command_line && !p->command_line) ||
	    (src->parent_image && !p->parent_image) ||
	    (src->parent_command_line && !p->parent_command_line) ||
	    (src->utc_time && !p->utc_time)) {
		lolbas_proc_free(p);
		return NULL;
	}
	return p;
}

static void
lolbas_unlink(struct lolbas *lb, struct lolbas_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		lb->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		lb->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lolbas_push_front(struct lolbas *lb, struct lolbas_entry *e)
{
	e->prev = NULL;
	e->next = lb->head;
	if (lb->head != NULL)
		lb->head->prev = e;
	lb->head = e;
	if (lb->tail == NULL)
		lb->tail = e;
}

/* Drop the least recently used record. Called with the mutex held. */
static void
lolbas_evict(struct lolbas *lb)
{
	struct lolbas_entry *e = lb->tail, **pp;

	if (e == NULL)
		return;
	lolbas_unlink(lb, e);
	for (pp = &lb->table[e->hash & (lb->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	lb->count--;
	free(e->key);
	lolbas_proc_free(e->proc);
	free(e);
}

static struct lolbas_entry *
lolbas_find(struct lolbas *lb, const char *key, uint64_t h)
{
	for (struct lolbas_entry *e = lb->table[h & (lb->nbuckets - 1)];
	    e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Insert or replace; takes ownership of key and proc. Mutex held. */
static void
lolbas_insert(struct lolbas *lb, char *key, struct lolbas_proc *proc)
{
	uint64_t h = lolbas_hash(key);
	struct lolbas_entry *e = lolbas_find(lb, key, h);

	if (e != NULL) {
		free(key);
		lolbas_proc_free(e->proc);
		e->proc = proc;
		lolbas_unlink(lb, e);
		lolbas_push_front(lb, e);
		return;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		free(key);
		lolbas_proc_free(proc);
		return;
	}
	e->key = key;
	e->hash = h;
	e->proc = proc;
	e->hnext = lb->table[h & (lb->nbuckets - 1)];
	lb->table[h & (lb->nbuckets - 1)] = e;
	lolbas_push_front(lb, e);
	lb->count++;
	while (lb->count > lb->max)
		lolbas_evict(lb);
}

void
lolbas_observe(struct lolbas *lb, const struct event *ev)
{
	(void)lolbas_observe_put(lb, NULL, ev);
}

/* Write one alert object; proc may be NULL (creation unknown). */
static int
lolbas_alert(const struct event *ev, const char *listed, bool first_seen,
    const struct lolbas_proc *proc, struct buf *out)
{
	struct jsonw j;
	const char *port = lolbas_sysmon_data(ev, "DestinationPort");
	char *end, *host = NULL, *name = NULL;
	unsigned long pn;
	int rc;

	/* The collector's host key and the list's spelling: lower case. */
	if ((ev->computer != NULL && (host = lolbas_lower_dup(ev->computer)) == NULL) ||
	    (name = lolbas_lower_dup(listed)) == NULL) {
		free(host);
		return -ENOMEM;
	}
	jsonw_init(&j, out);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "type", "lolbas_alert");
	jsonw_kstring(&j, "severity", first_seen ? "high" : "medium");
	jsonw_kstring(&j, "host", host);
	jsonw_kuint(&j, "event_id", ev->event_id);
	jsonw_kstring(&j, "utc_time", lolbas_sysmon_data(ev, "UtcTime"));
	jsonw_kstring(&j, "image", lolbas_sysmon_data(ev, "Image"));
	jsonw_kstring(&j, "lolbas", name);
	jsonw_kstring(&j, "process_guid", lolbas_sysmon_data(ev, "ProcessGuid"));
	jsonw_kstring(&j, "process_id", lolbas_sysmon_data(ev, "ProcessId"));
	jsonw_kstring(&j, "user", lolbas_sysmon_data(ev, "User"));
	if (ev->event_id == 22) {
		jsonw_kstring(&j, "query_name", lolbas_sysmon_data(ev, "QueryName"));
		jsonw_kstring(&j, "query_status",
		    lolbas_sysmon_data(ev, "QueryStatus"));
		jsonw_kstring(&j, "query_results",
		    lolbas_sysmon_data(ev, "QueryResults"));
	} else {
		jsonw_kstring(&j, "protocol", lolbas_sysmon_data(ev, "Protocol"));
		jsonw_kstring(&j, "destination_ip",
		    lolbas_sysmon_data(ev, "DestinationIp"));
		errno = 0;
		if (port != NULL && *port != '\0' &&
		    (pn = strtoul(port, &end, 10)) <= 65535 && *end == '\0' &&
		    errno == 0)
			jsonw_kuint(&j, "destination_port", pn);
		else
			jsonw_knull(&j, "destination_port");
		jsonw_kstring(&j, "destination_hostname",
		    lolbas_sysmon_data(ev, "DestinationHostname"));
	}
	jsonw_kstring(&j, "command_line", proc ? proc->command_line : NULL);
	jsonw_kstring(&j, "parent_image", proc ? proc->parent_image : NULL);
	jsonw_kstring(&j, "parent_command_line",
	    proc ? proc->parent_command_line : NULL);
	jsonw_kstring(&j, "process_utc_time", proc ? proc->utc_time : NULL);
	jsonw_object_end(&j);
	rc = jsonw_finish(&j);
	free(host);
	free(name);
	return rc;
}

int
lolbas_check(struct lolbas *lb, const struct event *ev,
    bool domain_first_seen_fleetwide, struct buf *alert_json)
{
	struct lolbas_entry *e;
	struct lolbas_proc *proc = NULL;
	struct store *st;
	const char *image, *guid;
	char *key = NULL;
	size_t oldlen = alert_json->len;
	int rc;

	if (!lolbas_is_sysmon(ev) || (ev->event_id != 22 && ev->event_id != 3))
		return 0;
	image = lolbas_sysmon_data(ev, "Image");
	if (!lolbas_is_listed(lb, image))
		return 0;
	guid = lolbas_sysmon_data(ev, "ProcessGuid");
	if (guid != NULL && ev->computer != NULL &&
	    (key = lolbas_key(ev->computer, guid)) == NULL)
		return -ENOMEM;
	if (key != NULL) {
		uint64_t h = lolbas_hash(key);

		/* Copy out under the lock: eviction may free the entry. */
		pthread_mutex_lock(&lb->mu);
		if ((e = lolbas_find(lb, key, h)) != NULL) {
			lolbas_unlink(lb, e);
			lolbas_push_front(lb, e);
			proc = lolbas_proc_dup(e->proc);
		}
		st = lb->store;
		pthread_mutex_unlock(&lb->mu);
		if (e == NULL && st != NULL) {
			struct store_txn *txn;

			/* Older than the cache (or than this process): the
			 * store remembers; refill the cache from it. */
			if (store_read_begin(st, &txn) == CD_EOK) {
				if (lolbas_proc_get(txn, ev->computer, guid,
				    &proc) != CD_EOK)
					proc = NULL;
				store_read_end(txn);
			}
			if (proc != NULL) {
				struct lolbas_proc *copy = lolbas_proc_dup(proc);

				pthread_mutex_lock(&lb->mu);
				if (copy != NULL) {
					lolbas_insert(lb, key, copy);
					key = NULL;
				}
				pthread_mutex_unlock(&lb->mu);
			}
		}
	}
	rc = lolbas_alert(ev, lolbas_basename(image), domain_first_seen_fleetwide,
	    proc, alert_json);
	if (rc != CD_EOK) {
		/* Leave the caller's buffer as it was. */
		alert_json->len = oldlen;
		if (alert_json->data != NULL)
			alert_json->data[oldlen] = '\0';
	} else {
		rc = 1;
	}
	free(key);
	lolbas_proc_free(proc);
	return rc;
}

/* The procs key of a cache key "host\nguid". */
static int
lolbas_proc_key_of(struct store_key *k, const char *key)
{
	const char *nl = strchr(key, '\n');

	store_key_init(k);
	store_key_put_strn(k, key, (size_t)(nl - key));
	store_key_put_str(k, nl + 1);
	return store_key_err(k);
}

static int
lolbas_proc_key(struct store_key *k, const char *host, const char *guid)
{
	char *key = lolbas_key(host, guid);
	int rc;

	if (key == NULL)
		return -ENOMEM;
	rc = lolbas_proc_key_of(k, key);
	free(key);
	return rc;
}

int
lolbas_proc_put(struct store_txn *txn, const struct event *ev)
{
	return lolbas_observe_put(NULL, txn, ev);
}

/* The fields of a process record, in one pass over the event's data. */
enum {
	LOLBAS_F_GUID,
	LOLBAS_F_IMAGE,		/* then the procs value's five, in order */
	LOLBAS_F_CMD,
	LOLBAS_F_PIMAGE,
	LOLBAS_F_PCMD,
	LOLBAS_F_UTC,
	LOLBAS_F_N
};

static const char *const lolbas_proc_names[LOLBAS_F_N] = {
	"ProcessGuid", "Image", "CommandLine", "ParentImage",
	"ParentCommandLine", "UtcTime",
};

/* As lolbas_sysmon_data() for each name: the first field of that name. */
static void
lolbas_proc_fields(const struct event *ev, const char *f[LOLBAS_F_N])
{
	unsigned found = 0;

	for (size_t j = 0; j < LOLBAS_F_N; j++)
		f[j] = NULL;
	for (size_t i = 0; i < ev->ndata && found != (1u << LOLBAS_F_N) - 1; i++) {
		const char *name = ev->data[i].name;

		if (name == NULL)
			continue;
		for (size_t j = 0; j < LOLBAS_F_N; j++) {
			if ((found & (1u << j)) != 0 ||
			    name[0] != lolbas_proc_names[j][0] ||
			    strcmp(name, lolbas_proc_names[j]) != 0)
				continue;
			f[j] = ev->data[i].value;
			found |= 1u << j;
			break;
		}
	}
}

/* A "procs" value, written in place in the map: version byte, then five
 * (u32 length, bytes) strings; length 0xffffffff stands for an absent field. */
static int
lolbas_proc_store(struct store_txn *txn, const struct store_key *k,
    const char *const f[LOLBAS_F_N])
{
	size_t len = 1, n[LOLBAS_F_N];
	uint8_t *p;
	void *val;
	int rc;

	for (size_t i = LOLBAS_F_IMAGE; i < LOLBAS_F_N; i++) {
		n[i] = f[i] != NULL ? strlen(f[i]) : 0;
		len += 4 + n[i];
	}
	if ((rc = store_put_reserve(txn, STORE_DBI_PROCS, k->buf, k->len, len,
	    &val)) != CD_EOK)
		return rc;
	p = val;
	*p++ = LOLBAS_PROC_VERSION;
	for (size_t i = LOLBAS_F_IMAGE; i < LOLBAS_F_N; i++) {
		uint32_t l = f[i] != NULL ? (uint32_t)n[i] : UINT32_MAX;

		be32_put(p, l);
		p += 4;
		if (f[i] != NULL) {
			memcpy(p, f[i], n[i]);
			p += n[i];
		}
	}
	return CD_EOK;
}

int
lolbas_observe_put(struct lolbas *lb, struct store_txn *txn,
    const struct event *ev)
{
	const char *f[LOLBAS_F_N];
	struct lolbas_proc *p = NULL;
	struct store_key k;
	char *key = NULL;
	int rc = CD_EOK;

	if (!lolbas_is_sysmon(ev) || ev->event_id != 1 || ev->computer == NULL)
		return CD_EOK;
	lolbas_proc_fields(ev, f);
	if (f[LOLBAS_F_GUID] == NULL)
		return CD_EOK;
	/* lolbas_check() joins only processes whose Image is listed, and a
	 * ProcessGuid's Image never changes: remembering every other process
	 * creation cost the writer a random page of "procs" per Event ID 1
	 * (about a quarter of the bytes it wrote per event) for nothing. */
	if (lb != NULL && !lolbas_is_listed(lb, f[LOLBAS_F_IMAGE]))
		return CD_EOK;
	key = lolbas_key(ev->computer, f[LOLBAS_F_GUID]);
	if (lb != NULL && key != NULL) {
		struct lolbas_proc view = {
			.image = (char *)f[LOLBAS_F_IMAGE],
			.command_line = (char *)f[LOLBAS_F_CMD],
			.parent_image = (char *)f[LOLBAS_F_PIMAGE],
			.parent_command_line = (char *)f[LOLBAS_F_PCMD],
			.utc_time = (char *)f[LOLBAS_F_UTC],
		};

		/* Memory short: not remembered (the store still is). */
		p = lolbas_proc_dup(&view);
	}
	if (txn != NULL) {
		if (key == NULL)
			rc = -ENOMEM;
		else if ((rc = lolbas_proc_key_of(&k, key)) == CD_EOK)
			rc = lolbas_proc_store(txn, &k, f);
	}
	if (p != NULL) {
		/* The cache takes key and p. */
		pthread_mutex_lock(&lb->mu);
		lolbas_insert(lb, key, p);
		pthread_mutex_unlock(&lb->mu);
		key = NULL;
	}
	free(key);
	return rc;
}

int
lolbas_proc_get(struct store_txn *txn, const char *host,
    const char *process_guid, struct lolbas_proc **out)
{
	struct lolbas_proc *p = NULL;
	struct store_key_reader r;
	struct store_key k;
	struct store_val v;
	char **f[5];
	int rc;

	*out = NULL;
	if ((rc = lolbas_proc_key(&k, host, process_guid)) != CD_EOK)
		return rc;
	if ((rc = store_get(txn, STORE_DBI_PROCS, k.buf, k.len, &v)) != CD_EOK)
		return rc;
	store_key_reader_init(&r, v.data, v.len);
	if (store_key_get_u8(&r) != LOLBAS_PROC_VERSION)
		return CD_ECORRUPT;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	f[0] = &p->image;
	f[1] = &p->command_line;
	f[2] = &p->parent_image;
	f[3] = &p->parent_command_line;
	f[4] = &p->utc_time;
	for (size_t i = 0; i < 5; i++) {
		uint32_t n = store_key_get_u32(&r);
		const char *s;

		if (store_key_reader_err(&r) != CD_EOK) {
			rc = CD_ECORRUPT;
			goto out;
		}
		if (n == UINT32_MAX)
			continue;
		if ((s = store_key_get_bytes(&r, n)) == NULL) {
			rc = CD_ECORRUPT;
			goto out;
		}
		if ((*f[i] = strndup(s, n)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (!store_key_reader_done(&r)) {
		rc = CD_ECORRUPT;
		goto out;
	}
	*out = p;
	p = NULL;
	rc = CD_EOK;
out:
	lolbas_proc_free(p);
	return rc;
}
