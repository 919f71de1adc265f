/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event mix of collectord-loadgen, modelled on the real Sysmon data
 * (../shared/data/sysmon, 2,421 events of 14 lab hosts): every generated
 * event is one of the real events with its Computer, EventRecordID and, for
 * DNS queries (Event ID 22), its QueryName replaced. The figures that shape
 * the mix are measured from the files at start-up, not hard-coded:
 *  - the shares of Event IDs 1, 3 and 22;
 *  - "repeat": the share of DNS events that ask the same (name, image) as
 *    the host's previous DNS event (the retry storms that dedup folds);
 *  - "tail": the share of DNS events whose name occurs once in the whole
 *    set; the generator gives those a name never used before, so the index
 *    keeps growing as it does on a real fleet;
 *  - the head: all other names, drawn with their real frequencies.
 */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "loadgen.h"
#include "log.h"

#define QN_OPEN		"<Data Name='QueryName'>"
#define IMG_OPEN	"<Data Name='Image'>"

struct lg_tpl {
	const struct replay_event *ev;
	size_t	 q_off, q_len;	/**< QueryName text (EID 22 only) */
};

struct lg_name {
	char	*name;		/**< normalised: lower case, no trailing dot */
	unsigned count;
};

struct lg_mix {
	struct replay_set *set;
	struct lg_tpl *t1, *t3, *t22;
	size_t	 n1, n3, n22;
	struct lg_name *head;	/**< names seen more than once */
	size_t	 nhead;
	double	*cum;		/**< cumulative weights of head */
	struct lg_mix_stats st;
	_Atomic uint64_t tail_next;
};

static uint64_t
lg_mix_rand(struct lg_mix_host *h)
{
	/* xorshift64*: fast, and good enough to draw a mix. */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 0x2545F4914F6CDD1DULL;
}

static double
lg_mix_unif(struct lg_mix_host *h)
{
	return (double)(lg_mix_rand(h) >> 11) / 9007199254740992.0;
}

void
lg_mix_host_init(struct lg_mix_host *h, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	h->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	h->last_dns = -1;
}

static int
lg_mix_eid(const struct replay_event *e)
{
	const char *p = strstr(e->xml, "<EventID>");

	return p != NULL ? atoi(p + 9) : -1;
}

/* Offset and length of the text of the Data element opened by `open`. */
static int
lg_mix_field(const struct replay_event *e, const char *open, size_t *off,
    size_t *len)
{
	const char *p = strstr(e->xml, open), *q;

	if (p == NULL)
		return CD_EPARSE;
	p += strlen(open);
	if ((q = strchr(p, '<')) == NULL)
		return CD_EPARSE;
	*off = (size_t)(p - e->xml);
	*len = (size_t)(q - p);
	return CD_EOK;
}

static void
lg_mix_norm(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (n > 0 && s[n - 1] == '.')
		n--;
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	out[i] = '\0';
}

static int
lg_mix_add_name(struct lg_mix *m, const char *name, size_t *cap)
{
	for (size_t i = 0; i < m->nhead; i++)
		if (strcmp(m->head[i].name, name) == 0) {
			m->head[i].count++;
			return CD_EOK;
		}
	if (m->nhead == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct lg_name *v = realloc(m->head, nc * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		m->head = v;
		*cap = nc;
	}
	if ((m->head[m->nhead].name = strdup(name)) == NULL)
		return -ENOMEM;
	m->head[m->nhead++].count = 1;
	return CD_EOK;
}

static int
lg_mix_cmp_count(const void *a, const void *b)
{
	const struct lg_name *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 :
	    strcmp(x->name, y->name);
}

/*
 * Repeats: per Computer (the files are in record order per host), whether
 * a DNS event asks the same normalised name from the same Image as that
 * host's previous one.
 */
static void
lg_mix_measure(struct lg_mix *m, size_t *repeats)
{
	const char *hosts[64];
	char last[64][512];
	size_t nh = 0;

	*repeats = 0;
	for (size_t i = 0; i < m->n22; i++) {
		const struct lg_tpl *t = &m->t22[i];
		char key[512], name[256];
		size_t ioff, ilen, h;

		lg_mix_norm(t->ev->xml + t->q_off, t->q_len, name, sizeof(name));
		if (lg_mix_field(t->ev, IMG_OPEN, &ioff, &ilen) != CD_EOK)
			ilen = 0, ioff = 0;
		snprintf(key, sizeof(key), "%s|%.*s", name, (int)ilen,
		    t->ev->xml + ioff);
		for (h = 0; h < nh; h++)
			if (strcasecmp(hosts[h], t->ev->computer) == 0)
				break;
		if (h == nh) {
			if (nh == 64)
				continue;
			hosts[nh++] = t->ev->computer;
			last[h][0] = '\0';
		} else if (strcasecmp(last[h], key) == 0) {
			(*repeats)++;
		}
		snprintf(last[h], sizeof(last[h]), "%s", key);
	}
}

int
lg_mix_new(struct lg_mix **out, const char *dir)
{
	struct lg_mix *m;
	glob_t g;
	char pat[4096];
	size_t cap = 0, singles = 0, repeats, total = 0, nall;
	int rc;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	snprintf(pat, sizeof(pat), "%s/*.xml", dir);
	if (glob(pat, 0, NULL, &g) != 0) {
		log_err("loadgen", "no event files match %s", pat);
		free(m);
		return -ENOENT;
	}
	rc = replay_set_load(g.gl_pathv, g.gl_pathc, &m->set);
	globfree(&g);
	if (rc != CD_EOK)
		goto fail;
	nall = m->set->n;
	m->t1 = calloc(nall, sizeof(*m->t1));
	m->t3 = calloc(nall, sizeof(*m->t3));
	m->t22 = calloc(nall, sizeof(*m->t22));
	rc = -ENOMEM;
	if (m->t1 == NULL || m->t3 == NULL || m->t22 == NULL)
		goto fail;
	for (size_t i = 0; i < nall; i++) {
		const struct replay_event *e = &m->set->ev[i];
		struct lg_tpl t = { .ev = e };
		char name[256];

		switch (lg_mix_eid(e)) {
		case 1:
			m->t1[m->n1++] = t;
			break;
		case 3:
			m->t3[m->n3++] = t;
			break;
		case 22:
			if (lg_mix_field(e, QN_OPEN, &t.q_off, &t.q_len) != CD_EOK ||
			    t.q_off < e->comp_off)
				continue;
			m->t22[m->n22++] = t;
			lg_mix_norm(e->xml + t.q_off, t.q_len, name, sizeof(name));
			if ((rc = lg_mix_add_name(m, name, &cap)) != CD_EOK)
				goto fail;
			break;
		default:
			break;
		}
	}
	rc = CD_EPARSE;
	if (m->n1 == 0 || m->n3 == 0 || m->n22 == 0 || m->nhead == 0) {
		log_err("loadgen", "the event files lack Event IDs 1, 3 or 22");
		goto fail;
	}
	qsort(m->head, m->nhead, sizeof(*m->head), lg_mix_cmp_count);
	/* Names seen once are the tail: dropped from the head. */
	while (m->nhead > 1 && m->head[m->nhead - 1].count == 1) {
		free(m->head[--m->nhead].name);
		singles++;
	}
	rc = -ENOMEM;
	if ((m->cum = calloc(m->nhead, sizeof(*m->cum))) == NULL)
		goto fail;
	for (size_t i = 0; i < m->nhead; i++) {
		total += m->head[i].count;
		m->cum[i] = (double)total;
	}
	lg_mix_measure(m, &repeats);
	double n = (double)(m->n1 + m->n3 + m->n22);
	m->st.share_eid1 = (double)m->n1 / n;
	m->st.share_eid3 = (double)m->n3 / n;
	m->st.share_eid22 = (double)m->n22 / n;
	m->st.dns_repeat = (double)repeats / (double)m->n22;
	/* Tail among the events that are not repeats. */
	m->st.dns_tail = (double)singles / (double)(m->n22 - repeats);
	m->st.head_names = m->nhead;
	m->st.top1 = (double)m->head[0].count / (double)m->n22;
	double t10 = 0;
	for (size_t i = 0; i < m->nhead && i < 10; i++)
		t10 += m->head[i].count;
	m->st.top10 = t10 / (double)m->n22;
	*out = m;
	return CD_EOK;
fail:
	lg_mix_free(m);
	return rc;
}

void
lg_mix_free(struct lg_mix *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nhead; i++)
		free(m->head[i].name);
	free(m->head);
	free(m->cum);
	free(m->t1);
	free(m->t3);
	free(m->t22);
	replay_set_free(m->set);
	free(m);
}

void
lg_mix_stats(const struct lg_mix *m, struct lg_mix_stats *out)
{
	*out = m->st;
}

static size_t
lg_mix_head_draw(const struct lg_mix *m, struct lg_mix_host *h)
{
	double x = lg_mix_unif(h) * m->cum[m->nhead - 1];
	size_t lo = 0, hi = m->nhead - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* One event: the template with EventRecordID, Computer and QueryName
 * replaced (they appear in that order in Sysmon XML). */
static int
lg_mix_write(struct buf *b, const struct lg_tpl *t, uint64_t rid,
    const char *computer, const char *qname)
{
	const struct replay_event *e = t->ev;
	size_t after_comp = e->comp_off + e->comp_len;
	int rc;

	if ((rc = buf_append(b, e->xml, e->rid_off)) != CD_EOK ||
	    (rc = buf_printf(b, "%llu", (unsigned long long)rid)) != CD_EOK ||
	    (rc = buf_append(b, e->xml + e->rid_off + e->rid_len,
	    e->comp_off - e->rid_off - e->rid_len)) != CD_EOK ||
	    (rc = buf_puts(b, computer)) != CD_EOK)
		return rc;
	if (qname == NULL)
		return buf_append(b, e->xml + after_comp, e->len - after_comp);
	if ((rc = buf_append(b, e->xml + after_comp, t->q_off - after_comp)) != CD_EOK ||
	    (rc = buf_puts(b, qname)) != CD_EOK)
		return rc;
	return buf_append(b, e->xml + t->q_off + t->q_len,
	    e->len - t->q_off - t->q_len);
}

int
lg_mix_events(struct lg_mix *m, struct lg_mix_host *h, const char *computer,
    size_t n, struct buf *text, size_t *offs, size_t *lens, uint64_t *ndns)
{
	char tail[96];
	int rc = CD_EOK;

	for (size_t i = 0; i < n && rc == CD_EOK; i++) {
		double u = lg_mix_unif(h);
		const char *qname = NULL;
		const struct lg_tpl *t;

		offs[i] = text->len;
		h->record_id++;
		if (u < m->st.share_eid1) {
			t = &m->t1[lg_mix_rand(h) % m->n1];
		} else if (u < m->st.share_eid1 + m->st.share_eid3) {
			t = &m->t3[lg_mix_rand(h) % m->n3];
		} else {
			(*ndns)++;
			if (h->last_dns < 0 || lg_mix_unif(h) >= m->st.dns_repeat) {
				h->last_dns = (int)(lg_mix_rand(h) % m->n22);
				h->last_tail = lg_mix_unif(h) < m->st.dns_tail;
				if (h->last_tail)
					h->last_name = (uint32_t)atomic_fetch_add(
					    &m->tail_next, 1);
				else
					h->last_name = (uint32_t)lg_mix_head_draw(m, h);
			}
			t = &m->t22[h->last_dns];
			if (h->last_tail) {
				/* New names under new registered domains too,
				 * four names per site. */
				snprintf(tail, sizeof(tail), "n%u.site%u.example.net",
				    h->last_name, h->last_name / 4);
				qname = tail;
			} else {
				qname = m->head[h->last_name].name;
			}
		}
		rc = lg_mix_write(text, t, h->record_id, computer, qname);
		lens[i] = text->len - offs[i];
	}
	return rc;
}
