/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "log.h"
#include "replay.h"

/*
 * Event files: one complete <Event> per line (tests/data/sysmon/README.md).
 * Each line is parsed once with libxml2 at load time for the fields the
 * client needs (Channel, Computer, EventRecordID); the text itself is sent
 * as is. The offsets of the Computer and EventRecordID texts are kept so a
 * synthesised host can splice its own values in without re-parsing.
 */

#define NS_EV	"http://schemas.microsoft.com/win/2004/08/events/event"
#define MAX_FILE (1024UL * 1024 * 1024)

static int	read_file(const char *, char **, size_t *);
static const char *intern(struct replay_set *, const char *);
static int	parse_line(struct replay_set *, char *, size_t,
		    struct replay_event *);
static bool	find_text(const char *, size_t, const char *, const char *,
		    size_t *, size_t *);

static int
read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long sz;
	int rc;

	*out = NULL;
	if (f == NULL)
		return -errno;
	rc = -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	rc = CD_ETOOBIG;
	if ((unsigned long)sz > MAX_FILE)
		goto fail;
	rc = -ENOMEM;
	if ((p = malloc((size_t)sz + 1)) == NULL)
		goto fail;
	rc = -EIO;
	if (fread(p, 1, (size_t)sz, f) != (size_t)sz)
		goto fail;
	p[sz] = '\0';
	fclose(f);
	*out = p;
	*len = (size_t)sz;
	return CD_EOK;
fail:
	free(p);
	fclose(f);
	return rc;
}

static const char *
intern(struct replay_set *set, const char *s)
{
	char **v;

	/* Few distinct channels and hosts: a linear scan is enough. */
	for (size_t i = set->nstrings; i > 0; i--)
		if (strcmp(set->strings[i - 1], s) == 0)
			return set->strings[i - 1];
	v = realloc(set->strings, (set->nstrings + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	set->strings = v;
	if ((v[set->nstrings] = strdup(s)) == NULL)
		return NULL;
	return v[set->nstrings++];
}

/* Locate the text between open and close tags in the raw line. */
static bool
find_text(const char *xml, size_t len, const char *open, const char *close,
    size_t *off, size_t *tlen)
{
	const char *s = memmem(xml, len, open, strlen(open)), *e;

	if (s == NULL)
		return false;
	s += strlen(open);
	e = memmem(s, len - (size_t)(s - xml), close, strlen(close));
	if (e == NULL)
		return false;
	*off = (size_t)(s - xml);
	*tlen = (size_t)(e - s);
	return true;
}

static int
parse_line(struct replay_set *set, char *line, size_t len,
    struct replay_event *ev)
{
	xmlDoc *doc;
	xmlNode *root, *sys = NULL;
	xmlChar *channel = NULL, *computer = NULL, *rid = NULL;
	char *end;
	int rc = CD_EPARSE;

	doc = xmlReadMemory(line, (int)len, NULL, "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return CD_EPARSE;
	root = xmlDocGetRootElement(doc);
	for (xmlNode *c = root != NULL ? root->children : NULL; c != NULL;
	    c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, "System") == 0)
			sys = c;
	for (xmlNode *c = sys != NULL ? sys->children : NULL; c != NULL;
	    c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)c->name, "Channel") == 0)
			channel = xmlNodeGetContent(c);
		else if (strcmp((const char *)c->name, "Computer") == 0)
			computer = xmlNodeGetContent(c);
		else if (strcmp((const char *)c->name, "EventRecordID") == 0)
			rid = xmlNodeGetContent(c);
	}
	if (channel == NULL || computer == NULL || rid == NULL)
		goto out;
	ev->record_id = strtoull((const char *)rid, &end, 10);
	if (end == (char *)rid || *end != '\0')
		goto out;
	if (!find_text(line, len, "<EventRecordID>", "</EventRecordID>",
	    &ev->rid_off, &ev->rid_len) ||
	    !find_text(line, len, "<Computer>", "</Computer>",
	    &ev->comp_off, &ev->comp_len) ||
	    ev->comp_off < ev->rid_off)
		goto out;
	rc = -ENOMEM;
	ev->channel = intern(set, (const char *)channel);
	ev->computer = intern(set, (const char *)computer);
	if (ev->channel == NULL || ev->computer == NULL)
		goto out;
	ev->xml = line;
	ev->len = len;
	rc = CD_EOK;
out:
	xmlFree(channel);
	xmlFree(computer);
	xmlFree(rid);
	xmlFreeDoc(doc);
	return rc;
}

int
replay_set_load(char *const *paths, size_t npaths, struct replay_set **out)
{
	struct replay_set *set;
	size_t cap = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if ((set = calloc(1, sizeof(*set))) == NULL)
		return -ENOMEM;
	if ((set->files = calloc(npaths, sizeof(*set->files))) == NULL)
		goto fail;
	for (size_t f = 0; f < npaths; f++) {
		char *data, *p, *nl;
		size_t len = 0, lineno = 0;

		if ((rc = read_file(paths[f], &data, &len)) != CD_EOK) {
			log_err("replay", "%s: %s", paths[f], cd_strerror(rc));
			goto fail;
		}
		set->files[set->nfiles++] = data;
		for (p = data; p < data + len; p = nl + 1) {
			struct replay_event *v;
			size_t ll;

			lineno++;
			nl = memchr(p, '\n', (size_t)(data + len - p));
			if (nl == NULL)
				nl = data + len;
			*nl = '\0';
			ll = (size_t)(nl - p);
			if (ll > 0 && p[ll - 1] == '\r')
				p[--ll] = '\0';
			if (strspn(p, " \t") == ll)
				continue;
			if (set->n == cap) {
				cap = cap ? cap * 2 : 256;
				v = realloc(set->ev, cap * sizeof(*v));
				if (v == NULL) {
					rc = -ENOMEM;
					goto fail;
				}
				set->ev = v;
			}
			memset(&set->ev[set->n], 0, sizeof(set->ev[0]));
			rc = parse_line(set, p, ll, &set->ev[set->n]);
			if (rc != CD_EOK) {
				log_err("replay", "%s:%zu: not an event with "
				    "Channel, Computer and EventRecordID",
				    paths[f], lineno);
				goto fail;
			}
			set->n++;
		}
	}
	/* Sequence numbers per channel for synthesised hosts. */
	for (size_t i = 0; i < set->n; i++) {
		uint64_t seq = 1;

		for (size_t j = i; j > 0; j--) {
			if (set->ev[j - 1].channel == set->ev[i].channel) {
				seq = set->ev[j - 1].seq_id + 1;
				break;
			}
		}
		set->ev[i].seq_id = seq;
	}
	*out = set;
	return CD_EOK;
fail:
	replay_set_free(set);
	return rc;
}

void
replay_set_free(struct replay_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	for (size_t i = 0; i < set->nstrings; i++)
		free(set->strings[i]);
	free(set->files);
	free(set->strings);
	free(set->ev);
	free(set);
}

static int
by_record(const void *a, const void *b)
{
	const struct replay_event *const *x = a, *const *y = b;

	if ((*x)->record_id != (*y)->record_id)
		return (*x)->record_id < (*y)->record_id ? -1 : 1;
	/* Equal ids only across channels: keep file order (pointer order). */
	return *x < *y ? -1 : *x > *y;
}

int
replay_set_by_computer(const struct replay_set *set,
    struct replay_stream **out, size_t *n)
{
	struct replay_stream *s = NULL;
	size_t ns = 0;
	int rc = -ENOMEM;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct replay_event *e = &set->ev[i];
		struct replay_stream *st = NULL;
		const struct replay_event **v;

		for (size_t k = 0; k < ns; k++)
			if (strcasecmp(s[k].ev[0]->computer, e->computer) == 0)
				st = &s[k];
		if (st == NULL) {
			struct replay_stream *nv = realloc(s,
			    (ns + 1) * sizeof(*nv));
			if (nv == NULL)
				goto fail;
			s = nv;
			st = &s[ns++];
			memset(st, 0, sizeof(*st));
		}
		if ((v = realloc(st->ev, (st->n + 1) * sizeof(*v))) == NULL)
			goto fail;
		st->ev = v;
		v[st->n++] = e;
	}
	for (size_t k = 0; k < ns; k++) {
		bool sorted = true;

		for (size_t i = 1; i < s[k].n && sorted; i++)
			for (size_t j = i; j > 0; j--)
				if (s[k].ev[j - 1]->channel ==
				    s[k].ev[i]->channel) {
					sorted = s[k].ev[j - 1]->record_id <
					    s[k].ev[i]->record_id;
					break;
				}
		if (!sorted) {
			log_warn("replay", "%s: events of several files out of "
			    "record order; sending them sorted by "
			    "EventRecordID", s[k].ev[0]->computer);
			qsort(s[k].ev, s[k].n, sizeof(s[k].ev[0]), by_record);
		}
	}
	*out = s;
	*n = ns;
	return CD_EOK;
fail:
	replay_streams_free(s, ns);
	return rc;
}

void
replay_streams_free(struct replay_stream *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].ev);
	free(s);
}
