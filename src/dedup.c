/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dedup.h"
#include "err.h"

/*
 * One open window per key. Entries sit in a chained hash table (no library
 * of the stack provides one) and in a list ordered by creation, oldest
 * first, which is the eviction order. A window that rolls over moves to the
 * tail because it is then the newest.
 */
struct dedup_entry {
	uint64_t	 hash;
	char		*key;		/* the key bytes, see dedup_key() */
	size_t		 keylen;
	char		*host, *image, *name, *guid, *user;
	uint32_t	 status;
	int64_t		 start;		/* UtcTime of the window's forwarded event */
	int64_t		 first, last;
	uint64_t	 count;
	struct dedup_entry *hnext;
	struct dedup_entry *prev, *next;
};

struct dedup {
	pthread_mutex_t	 lock;
	unsigned	 fields;
	int64_t		 window;
	size_t		 max;
	dedup_emit_fn	 on_evict;
	void		*on_evict_arg;
	struct dedup_entry **buckets;
	size_t		 nbuckets;	/* a power of two */
	struct dedup_entry *head, *tail;
	struct dedup_counters c;
};

static const struct {
	const char	*name;
	unsigned	 bit;
} dedup_field_names[] = {
	{ "host", DEDUP_F_HOST },
	{ "image", DEDUP_F_IMAGE },
	{ "query_name", DEDUP_F_NAME },
	{ "query_status", DEDUP_F_STATUS },
	{ "process_guid", DEDUP_F_PROCESS_GUID },
	{ "user", DEDUP_F_USER },
	{ "query_results", DEDUP_F_RESULTS },
};

static uint64_t	 dedup_hash(const char *p, size_t n);
static int	 dedup_key(const struct dedup *d, const char *host,
		    const struct dns_obs *obs, struct buf *b);
static void	 dedup_entry_free(struct dedup_entry *e);
static void	 dedup_unlink(struct dedup *d, struct dedup_entry *e);
static void	 dedup_append(struct dedup *d, struct dedup_entry *e);
static void	 dedup_summary_of(const struct dedup *d, const struct dedup_entry *e,
		    struct dedup_summary *s);
static struct dedup_entry *dedup_entry_new(const struct dedup *d,
		    const char *host, const struct dns_obs *obs, struct buf *key,
		    uint64_t hash);

int
dedup_fields_parse(const char *list, unsigned *out)
{
	const char *p = list, *end;
	unsigned bits = 0;
	size_t i, len;

	if (list == NULL)
		return CD_ECONFIG;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p;
		while (*end != '\0' && *end != ',' && *end != ' ')
			end++;
		len = (size_t)(end - p);
		for (i = 0; i < sizeof(dedup_field_names) / sizeof(dedup_field_names[0]); i++)
			if (strlen(dedup_field_names[i].name) == len &&
			    strncasecmp(dedup_field_names[i].name, p, len) == 0)
				break;
		if (i == sizeof(dedup_field_names) / sizeof(dedup_field_names[0]))
			return CD_ECONFIG;
		bits |= dedup_field_names[i].bit;
		p = end;
	}
	if (bits == 0)
		return CD_ECONFIG;
	*out = bits;
	return CD_EOK;
}

int
dedup_new(struct dedup **out, const struct dedup_options *opt)
{
	struct dedup *d;
	size_t nb = 16;

	*out = NULL;
	if (opt != NULL && (opt->window_ms < 0 ||
	    (opt->fields & ~(unsigned)(DEDUP_F_RESULTS * 2 - 1)) != 0))
		return -EINVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->fields = opt != NULL && opt->fields != 0 ? opt->fields : DEDUP_FIELDS_DEFAULT;
	d->window = opt != NULL && opt->window_ms != 0 ? opt->window_ms :
	    DEDUP_WINDOW_DEFAULT_MS;
	d->max = opt != NULL && opt->max_entries != 0 ? opt->max_entries :
	    DEDUP_MAX_ENTRIES_DEFAULT;
	if (opt != NULL) {
		d->on_evict = opt->on_evict;
		d->on_evict_arg = opt->on_evict_arg;
	}
	while (nb < d->max && nb < ((size_t)1 << 24))
		nb <<= 1;
	d->nbuckets = nb;
	if ((d->buckets = calloc(nb, sizeof(*d->buckets))) == NULL) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return CD_EOK;
}

void
dedup_free(struct dedup *d)
{
	struct dedup_entry *e, *next;

	if (d == NULL)
		return;
	for (e = d->head; e != NULL; e = next) {
		next = e->next;
		dedup_entry_free(e);
	}
	pthread_mutex_destroy(&d->lock);
	free(d->buckets);
	free(d);
}

/* FNV-1a, 64 bit: simple, and good enough for a table we size ourselves. */
static uint64_t
dedup_hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n-- > 0) {
		h ^= (unsigned char)*p++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Each key field is written as a tag byte, its text and a NUL, so distinct
 * field values can never run together into the same bytes. */
static int
dedup_key(const struct dedup *d, const char *host, const struct dns_obs *obs,
    struct buf *b)
{
	char addr[DNS_ADDR_STRLEN];
	const char *s;
	size_t i;
	int rc = CD_EOK;

	if (d->fields & DEDUP_F_HOST) {
		rc |= buf_printf(b, "h%s", host != NULL ? host : "");
		rc |= buf_append(b, "", 1);
	}
	if (d->fields & DEDUP_F_IMAGE) {
		rc |= buf_puts(b, "i");
		for (s = obs->image != NULL ? obs->image : ""; *s != '\0'; s++) {
			char c = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;

			rc |= buf_append(b, &c, 1);
		}
		rc |= buf_append(b, "", 1);
	}
	if (d->fields & DEDUP_F_NAME) {
		rc |= buf_printf(b, "n%s", obs->name != NULL ? obs->name : "");
		rc |= buf_append(b, "", 1);
	}
	if (d->fields & DEDUP_F_STATUS) {
		rc |= buf_printf(b, "s%u", obs->status);
		rc |= buf_append(b, "", 1);
	}
	if (d->fields & DEDUP_F_PROCESS_GUID) {
		rc |= buf_printf(b, "g%s", obs->process_guid != NULL ? obs->process_guid : "");
		rc |= buf_append(b, "", 1);
	}
	if (d->fields & DEDUP_F_USER) {
		rc |= buf_printf(b, "u%s", obs->user != NULL ? obs->user : "");
		rc |= buf_append(b, "", 1);
	}
	if (d->fields & DEDUP_F_RESULTS) {
		rc |= buf_puts(b, "r");
		for (i = 0; i < obs->nanswers; i++) {
			const struct dns_answer *a = &obs->answers[i];

			if (a->is_addr) {
				dns_addr_format(a->family, a->addr, addr);
				rc |= buf_printf(b, "%s;", addr);
			} else {
				rc |= buf_printf(b, "%u %s;", a->rrtype, a->value);
			}
		}
		rc |= buf_append(b, "", 1);
	}
	return rc == CD_EOK ? CD_EOK : -ENOMEM;
}

static void
dedup_entry_free(struct dedup_entry *e)
{
	if (e == NULL)
		return;
	free(e->key);
	free(e->host);
	free(e->image);
	free(e->name);
	free(e->guid);
	free(e->user);
	free(e);
}

static struct dedup_entry *
dedup_entry_new(const struct dedup *d, const char *host,
    const struct dns_obs *obs, struct buf *key, uint64_t hash)
{
	struct dedup_entry *e;
	bool bad = false;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->hash = hash;
	e->keylen = key->len;
	e->key = (char *)buf_steal(key, &e->keylen);
	/* Only key fields are kept: the summary speaks for every folded event,
	 * so it must not name a value that differed between them. */
	if (d->fields & DEDUP_F_HOST)
		bad |= (e->host = strdup(host != NULL ? host : "")) == NULL;
	if (d->fields & DEDUP_F_IMAGE)
		bad |= (e->image = strdup(obs->image != NULL ? obs->image : "")) == NULL;
	if (d->fields & DEDUP_F_NAME)
		bad |= (e->name = strdup(obs->name != NULL ? obs->name : "")) == NULL;
	if ((d->fields & DEDUP_F_PROCESS_GUID) && obs->process_guid != NULL)
		bad |= (e->guid = strdup(obs->process_guid)) == NULL;
	if ((d->fields & DEDUP_F_USER) && obs->user != NULL)
		bad |= (e->user = strdup(obs->user)) == NULL;
	if (e->key == NULL || bad) {
		dedup_entry_free(e);
		return NULL;
	}
	e->status = obs->status;
	e->start = e->first = e->last = obs->time_ms;
	e->count = 1;
	return e;
}

static void
dedup_unlink(struct dedup *d, struct dedup_entry *e)
{
	struct dedup_entry **pp = &d->buckets[e->hash & (d->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		d->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		d->tail = e->prev;
	e->hnext = e->prev = e->next = NULL;
	d->c.entries--;
}

static void
dedup_append(struct dedup *d, struct dedup_entry *e)
{
	struct dedup_entry **bucket = &d->buckets[e->hash & (d->nbuckets - 1)];

	e->hnext = *bucket;
	*bucket = e;
	e->prev = d->tail;
	e->next = NULL;
	if (d->tail != NULL)
		d->tail->next = e;
	else
		d->head = e;
	d->tail = e;
	d->c.entries++;
}

static void
dedup_summary_of(const struct dedup *d, const struct dedup_entry *e,
    struct dedup_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->fields = d->fields;
	s->host = e->host;
	s->image = e->image;
	s->query_name = e->name;
	s->query_status = (d->fields & DEDUP_F_STATUS) ? e->status : 0;
	s->process_guid = e->guid;
	s->user = e->user;
	s->first = e->first;
	s->last = e->last;
	s->count = e->count;
}

enum dedup_verdict
dedup_check(struct dedup *d, const char *host, const struct dns_obs *obs)
{
	struct dedup_summary sum;
	struct dedup_entry *e;
	enum dedup_verdict v = DEDUP_FORWARD;
	struct buf key;
	uint64_t h;
	int64_t t = obs->time_ms;

	buf_init(&key, 0);
	pthread_mutex_lock(&d->lock);
	/* Out of memory: forward. A duplicate in the SIEM beats a lost event. */
	if (dedup_key(d, host, obs, &key) != CD_EOK) {
		d->c.forwarded++;
		goto out;
	}
	h = dedup_hash((char *)key.data, key.len);
	for (e = d->buckets[h & (d->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->keylen == key.len &&
		    memcmp(e->key, key.data, key.len) == 0)
			break;
	if (e != NULL && t >= e->start - d->window && t < e->start + d->window) {
		e->count++;
		if (t < e->first)
			e->first = t;
		if (t > e->last)
			e->last = t;
		d->c.folded++;
		v = DEDUP_FOLD;
		goto out;
	}
	if (e != NULL) {
		/* The window is over: report it, then reuse the entry as the
		 * newest window of the key. */
		dedup_unlink(d, e);
		if (e->count > 1) {
			d->c.summaries++;
			if (d->on_evict != NULL) {
				dedup_summary_of(d, e, &sum);
				d->on_evict(&sum, d->on_evict_arg);
			}
		}
		e->start = e->first = e->last = t;
		e->count = 1;
		dedup_append(d, e);
		d->c.forwarded++;
		goto out;
	}
	while (d->c.entries >= d->max && d->head != NULL) {
		e = d->head;
		dedup_unlink(d, e);
		d->c.evicted++;
		if (e->count > 1) {
			d->c.summaries++;
			if (d->on_evict != NULL) {
				dedup_summary_of(d, e, &sum);
				d->on_evict(&sum, d->on_evict_arg);
			}
		}
		dedup_entry_free(e);
	}
	e = dedup_entry_new(d, host, obs, &key, h);
	if (e != NULL)
		dedup_append(d, e);
	d->c.forwarded++;
out:
	pthread_mutex_unlock(&d->lock);
	buf_free(&key);
	return v;
}

int
dedup_expire(struct dedup *d, int64_t now_ms, dedup_emit_fn emit, void *arg)
{
	struct dedup_entry *e, *next, *closed = NULL, **ctail = &closed;
	struct dedup_summary sum;
	int n = 0;

	pthread_mutex_lock(&d->lock);
	for (e = d->head; e != NULL; e = next) {
		next = e->next;
		if (e->start + d->window > now_ms)
			continue;
		dedup_unlink(d, e);
		if (e->count > 1) {
			/* Keep the creation order for the emits. */
			*ctail = e;
			ctail = &e->next;
			d->c.summaries++;
		} else {
			dedup_entry_free(e);
		}
	}
	pthread_mutex_unlock(&d->lock);
	/* Emit outside the lock so the callback may take its time (or submit
	 * to the store) without stalling dedup_check() on other threads. */
	for (e = closed; e != NULL; e = next) {
		next = e->next;
		if (emit != NULL) {
			dedup_summary_of(d, e, &sum);
			emit(&sum, arg);
		}
		dedup_entry_free(e);
		n++;
	}
	return n;
}

void
dedup_get_counters(struct dedup *d, struct dedup_counters *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->c;
	pthread_mutex_unlock(&d->lock);
}
