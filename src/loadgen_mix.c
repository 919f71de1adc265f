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
#include "utf16.h"

#define QN_OPEN		"<Data Name='QueryName'>"
#define IMG_OPEN	"<Data Name='Image'>"

/*
 * A template's UTF-16LE pieces, for lg_mix_events16(): the event between
 * its varying parts, the w:Event framing included, each encoded once at
 * start-up. Offsets into lg_mix.u16.
 */
enum { LG_PIECES = 4 };

struct lg_tpl {
	const struct replay_event *ev;
	size_t	 q_off, q_len;	/**< QueryName text (EID 22 only) */
	size_t	 p_off[LG_PIECES], p_len[LG_PIECES];
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
	struct buf u16;		/**< UTF-16LE pieces of the templates */
	size_t	*head_off, *head_len;	/**< head names in u16 */
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
lg_mix_utf16(const char *s, size_t n, struct buf *out)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, j, at;
	int rc;

	/* Two bytes per input byte is the most UTF-16LE it can take. */
	if ((rc = buf_reserve(out, 2 * n)) != CD_EOK)
		return rc;
	while (i < n) {
		/* ASCII widens as is; the encoder never takes an ASCII byte
		 * into a multi-byte sequence, valid or not, so the runs in
		 * between can go to utf16.c's one encoder on their own. */
		for (j = i; j < n && p[j] < 0x80; j++) {
			out->data[out->len++] = p[j];
			out->data[out->len++] = 0;
		}
		out->data[out->len] = '\0';
		if ((i = j) == n)
			break;
		while (j < n && p[j] >= 0x80)
			j++;
		at = out->len;
		if ((rc = utf8_to_utf16le_bom(s + i, j - i, out)) != CD_EOK)
			return rc;
		/* Its BOM dropped. */
		memmove(out->data + at, out->data + at + 2, out->len - at - 2);
		out->len -= 2;
		out->data[out->len] = '\0';
		i = j;
	}
	return CD_EOK;
}

/*
 * The w:Event framing exactly as replay_msg_events() writes it around an
 * event, cut out of an envelope built with one one-byte event, so that the
 * pieces cannot drift from the builder they stand in for.
 */
static int
lg_mix_frame(struct buf *env, size_t *open_off, size_t *open_len,
    size_t *close_off, size_t *close_len)
{
	static const struct replay_event mark = { .xml = "\x01", .len = 1 };
	const struct replay_event *evp = &mark;
	struct replay_hdr hd = { .to = "", .machine_id = "", .message_id = "",
	    .session_id = "", .operation_id = "" };
	const char *s, *x, *ev;
	size_t tail;
	int rc;

	if ((rc = replay_msg_events(env, &hd, NULL, &evp, 0, NULL)) != CD_EOK)
		return rc;
	s = (const char *)env->data;
	if ((ev = strstr(s, LG_EVENTS_OPEN)) == NULL)
		return CD_EPARSE;
	*open_off = env->len + (size_t)(ev - s) + strlen(LG_EVENTS_OPEN);
	tail = env->len - (*open_off - env->len);
	if ((rc = replay_msg_events(env, &hd, NULL, &evp, 1, NULL)) != CD_EOK)
		return rc;
	s = (const char *)env->data;
	if ((x = memchr(s + *open_off, '\x01', env->len - *open_off)) == NULL ||
	    (size_t)(x - s) + 1 + tail > env->len)
		return CD_EPARSE;
	*open_len = (size_t)(x - s) - *open_off;
	*close_off = (size_t)(x - s) + 1;
	*close_len = env->len - tail - *close_off;
	return CD_EOK;
}

/* Encode the templates' pieces and the head names into m->u16. */
static int
lg_mix_encode(struct lg_mix *m)
{
	struct buf env;
	size_t oo, ol, co, cl;
	int rc;

	buf_init(&env, 0);
	buf_init(&m->u16, 0);
	if ((rc = lg_mix_frame(&env, &oo, &ol, &co, &cl)) != CD_EOK)
		goto out;
	struct { struct lg_tpl *v; size_t n; } sets[3] = {
		{ m->t1, m->n1 }, { m->t3, m->n3 }, { m->t22, m->n22 } };
	const char *fr = (const char *)env.data;
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < sets[k].n; i++) {
			struct lg_tpl *t = &sets[k].v[i];
			const struct replay_event *e = t->ev;
			size_t ac = e->comp_off + e->comp_len;
			size_t cut[LG_PIECES][2] = {
				{ 0, e->rid_off },
				{ e->rid_off + e->rid_len, e->comp_off },
				{ ac, k == 2 ? t->q_off : e->len },
				{ k == 2 ? t->q_off + t->q_len : e->len, e->len },
			};

			for (size_t p = 0; p < LG_PIECES; p++) {
				t->p_off[p] = m->u16.len;
				if (p == 0 && (rc = lg_mix_utf16(fr + oo, ol,
				    &m->u16)) != CD_EOK)
					goto out;
				if ((rc = lg_mix_utf16(e->xml + cut[p][0],
				    cut[p][1] - cut[p][0], &m->u16)) != CD_EOK)
					goto out;
				if (p == (k == 2 ? 3u : 2u) && (rc = lg_mix_utf16(
				    fr + co, cl, &m->u16)) != CD_EOK)
					goto out;
				t->p_len[p] = m->u16.len - t->p_off[p];
			}
		}
	rc = -ENOMEM;
	m->head_off = calloc(m->nhead, sizeof(*m->head_off));
	m->head_len = calloc(m->nhead, sizeof(*m->head_len));
	if (m->head_off == NULL || m->head_len == NULL)
		goto out;
	for (size_t i = 0; i < m->nhead; i++) {
		m->head_off[i] = m->u16.len;
		if ((rc = lg_mix_utf16(m->head[i].name, strlen(m->head[i].name),
		    &m->u16)) != CD_EOK)
			goto out;
		m->head_len[i] = m->u16.len - m->head_off[i];
	}
	rc = CD_EOK;
out:
	buf_free(&env);
	return rc;
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
	if ((rc = lg_mix_encode(m)) != CD_EOK)
		goto fail;
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
	free(m->head_off);
	free(m->head_len);
	buf_free(&m->u16);
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

/*
 * Draw host h's next event: its template and, for a DNS query, its
 * QueryName: a head name (*head gets its index) or a tail name written to
 * tail (*head is SIZE_MAX). Both builders draw through here, so they send
 * the same events for the same host state.
 */
static const struct lg_tpl *
lg_mix_draw(struct lg_mix *m, struct lg_mix_host *h, char *tail, size_t tlen,
    const char **qname, size_t *head, uint64_t *ndns)
{
	double u = lg_mix_unif(h);

	*qname = NULL;
	*head = SIZE_MAX;
	h->record_id++;
	if (u < m->st.share_eid1)
		return &m->t1[lg_mix_rand(h) % m->n1];
	if (u < m->st.share_eid1 + m->st.share_eid3)
		return &m->t3[lg_mix_rand(h) % m->n3];
	(*ndns)++;
	if (h->last_dns < 0 || lg_mix_unif(h) >= m->st.dns_repeat) {
		h->last_dns = (int)(lg_mix_rand(h) % m->n22);
		h->last_tail = lg_mix_unif(h) < m->st.dns_tail;
		if (h->last_tail)
			h->last_name = (uint32_t)atomic_fetch_add(&m->tail_next, 1);
		else
			h->last_name = (uint32_t)lg_mix_head_draw(m, h);
	}
	if (h->last_tail) {
		/* New names under new registered domains too, four names
		 * per site. */
		snprintf(tail, tlen, "n%u.site%u.example.net", h->last_name,
		    h->last_name / 4);
		*qname = tail;
	} else {
		*qname = m->head[h->last_name].name;
		*head = h->last_name;
	}
	return &m->t22[h->last_dns];
}

int
lg_mix_events(struct lg_mix *m, struct lg_mix_host *h, const char *computer,
    size_t n, struct buf *text, size_t *offs, size_t *lens, uint64_t *ndns)
{
	char tail[96];
	int rc = CD_EOK;

	for (size_t i = 0; i < n && rc == CD_EOK; i++) {
		const struct lg_tpl *t;
		const char *qname;
		size_t head;

		offs[i] = text->len;
		t = lg_mix_draw(m, h, tail, sizeof(tail), &qname, &head, ndns);
		rc = lg_mix_write(text, t, h->record_id, computer, qname);
		lens[i] = text->len - offs[i];
	}
	return rc;
}

/* The decimal digits of v, as printf("%llu") writes them; returns their
 * number. */
static size_t
lg_mix_digits(uint64_t v, char *out)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

int
lg_mix_events16(struct lg_mix *m, struct lg_mix_host *h, size_t comp16_off,
    size_t comp16_len, size_t n, struct lg_gather *out, uint64_t *ndns)
{
	const uint8_t *u = m->u16.data;
	char tail[96], rid[24];
	int rc = CD_EOK;

	for (size_t i = 0; i < n && rc == CD_EOK; i++) {
		const struct lg_tpl *t;
		const char *qname;
		size_t head, nrid;

		t = lg_mix_draw(m, h, tail, sizeof(tail), &qname, &head, ndns);
		nrid = lg_mix_digits(h->record_id, rid);
		/* The pieces split the template where lg_mix_write()
		 * splices: EventRecordID, Computer, QueryName. */
		if ((rc = lg_gather_ref(out, u + t->p_off[0], t->p_len[0])) != CD_EOK ||
		    (rc = lg_gather_ascii16(out, rid, nrid)) != CD_EOK ||
		    (rc = lg_gather_ref(out, u + t->p_off[1], t->p_len[1])) != CD_EOK ||
		    (rc = lg_gather_again(out, comp16_off, comp16_len)) != CD_EOK ||
		    (rc = lg_gather_ref(out, u + t->p_off[2], t->p_len[2])) != CD_EOK)
			break;
		if (qname == NULL)
			continue;
		if (head != SIZE_MAX)
			rc = lg_gather_ref(out, u + m->head_off[head], m->head_len[head]);
		else
			rc = lg_gather_ascii16(out, tail, strlen(tail));
		if (rc == CD_EOK)
			rc = lg_gather_ref(out, u + t->p_off[3], t->p_len[3]);
	}
	return rc;
}
