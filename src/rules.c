/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "event.h"
#include "log.h"
#include "rules.h"

#define RULES_MAX_FILE	(16u * 1024 * 1024)
#define RULES_MAX_NAME	255	/* Sysmon rejects longer rule names */

enum rules_cond {
	RULES_IS,
	RULES_IS_NOT,
	RULES_IS_ANY,
	RULES_CONTAINS,
	RULES_CONTAINS_ANY,
	RULES_CONTAINS_ALL,
	RULES_EXCLUDES,
	RULES_EXCLUDES_ANY,
	RULES_EXCLUDES_ALL,
	RULES_BEGIN_WITH,
	RULES_NOT_BEGIN_WITH,
	RULES_END_WITH,
	RULES_NOT_END_WITH,
	RULES_LESS_THAN,
	RULES_MORE_THAN,
	RULES_IMAGE,
};

/* Condition names as in Sysmon's manifest; matched case-insensitively. */
static const char *const rules_cond_names[] = {
	"is", "is not", "is any", "contains", "contains any", "contains all",
	"excludes", "excludes any", "excludes all", "begin with",
	"not begin with", "end with", "not end with", "less than", "more than",
	"image",
};

/*
 * EventData field names per Event ID, in Sysmon's schema order (4.90; the
 * position matters for the shared RegistryEvent/PipeEvent/WmiEvent blocks,
 * docs/sysmon.md 2.7 item 9). EIDs 4, 16 and 255 cannot be filtered.
 */
#define F(...) (const char *const[]){ __VA_ARGS__, NULL }
static const struct rules_evtype {
	uint32_t	 eid;
	const char	*family;
	const char *const *fields;
} rules_evtypes[] = {
	{ 1, "ProcessCreate", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "FileVersion", "Description", "Product",
	    "Company", "OriginalFileName", "CommandLine", "CurrentDirectory",
	    "User", "LogonGuid", "LogonId", "TerminalSessionId",
	    "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId",
	    "ParentImage", "ParentCommandLine", "ParentUser") },
	{ 2, "FileCreateTime", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "TargetFilename", "CreationUtcTime",
	    "PreviousCreationUtcTime", "User") },
	{ 3, "NetworkConnect", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "User", "Protocol", "Initiated",
	    "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort",
	    "SourcePortName", "DestinationIsIpv6", "DestinationIp",
	    "DestinationHostname", "DestinationPort", "DestinationPortName") },
	{ 5, "ProcessTerminate", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "User") },
	{ 6, "DriverLoad", F("RuleName", "UtcTime", "ImageLoaded", "Hashes",
	    "Signed", "Signature", "SignatureStatus") },
	{ 7, "ImageLoad", F("RuleName", "UtcTime", "ProcessGuid", "ProcessId",
	    "Image", "ImageLoaded", "FileVersion", "Description", "Product",
	    "Company", "OriginalFileName", "Hashes", "Signed", "Signature",
	    "SignatureStatus", "User") },
	{ 8, "CreateRemoteThread", F("RuleName", "UtcTime",
	    "SourceProcessGuid", "SourceProcessId", "SourceImage",
	    "TargetProcessGuid", "TargetProcessId", "TargetImage",
	    "NewThreadId", "StartAddress", "StartModule", "StartFunction",
	    "SourceUser", "TargetUser") },
	{ 9, "RawAccessRead", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "Device", "User") },
	{ 10, "ProcessAccess", F("RuleName", "UtcTime", "SourceProcessGUID",
	    "SourceProcessId", "SourceThreadId", "SourceImage",
	    "TargetProcessGUID", "TargetProcessId", "TargetImage",
	    "GrantedAccess", "CallTrace", "SourceUser", "TargetUser") },
	{ 11, "FileCreate", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "TargetFilename", "CreationUtcTime", "User") },
	{ 12, "RegistryEvent", F("RuleName", "EventType", "UtcTime",
	    "ProcessGuid", "ProcessId", "Image", "TargetObject", "User") },
	{ 13, "RegistryEvent", F("RuleName", "EventType", "UtcTime",
	    "ProcessGuid", "ProcessId", "Image", "TargetObject", "Details",
	    "User") },
	{ 14, "RegistryEvent", F("RuleName", "EventType", "UtcTime",
	    "ProcessGuid", "ProcessId", "Image", "TargetObject", "NewName",
	    "User") },
	{ 15, "FileCreateStreamHash", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "TargetFilename", "CreationUtcTime", "Hash",
	    "Contents", "User") },
	{ 17, "PipeEvent", F("RuleName", "EventType", "UtcTime", "ProcessGuid",
	    "ProcessId", "PipeName", "Image", "User") },
	{ 18, "PipeEvent", F("RuleName", "EventType", "UtcTime", "ProcessGuid",
	    "ProcessId", "PipeName", "Image", "User") },
	{ 19, "WmiEvent", F("RuleName", "EventType", "UtcTime", "Operation",
	    "User", "EventNamespace", "Name", "Query") },
	{ 20, "WmiEvent", F("RuleName", "EventType", "UtcTime", "Operation",
	    "User", "Name", "Type", "Destination") },
	{ 21, "WmiEvent", F("RuleName", "EventType", "UtcTime", "Operation",
	    "User", "Consumer", "Filter") },
	{ 22, "DnsQuery", F("RuleName", "UtcTime", "ProcessGuid", "ProcessId",
	    "QueryName", "QueryStatus", "QueryResults", "Image", "User") },
	{ 23, "FileDelete", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "User", "Image", "TargetFilename", "Hashes",
	    "IsExecutable", "Archived") },
	{ 24, "ClipboardChange", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "Session", "ClientInfo", "Hashes",
	    "Archived", "User") },
	{ 25, "ProcessTampering", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "Image", "Type", "User") },
	{ 26, "FileDeleteDetected", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "User", "Image", "TargetFilename", "Hashes",
	    "IsExecutable") },
	{ 27, "FileBlockExecutable", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "User", "Image", "TargetFilename", "Hashes") },
	{ 28, "FileBlockShredding", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "User", "Image", "TargetFilename", "Hashes",
	    "IsExecutable") },
	{ 29, "FileExecutableDetected", F("RuleName", "UtcTime", "ProcessGuid",
	    "ProcessId", "User", "Image", "TargetFilename", "Hashes") },
};
#undef F
#define RULES_NEVTYPES (sizeof(rules_evtypes) / sizeof(rules_evtypes[0]))

struct rules_filter {
	const char	*field;		/* static field name */
	unsigned	 pos;		/* index in the compiled member's list */
	enum rules_cond	 cond;
	char		*value;		/* lower-cased, untrimmed */
	size_t		 vlen;
	char		*name;		/* resolved RuleName, NULL: none */
	bool		 or_next;	/* a later plain filter on the same field follows */
};

/* One term of a block: a plain filter (nfilters == 1, !aggregate) or a
 * <Rule> evaluated as one unit with its own relation. */
struct rules_term {
	struct rules_filter *filters;
	size_t		 nfilters;
	bool		 aggregate;
	bool		 and;
};

struct rules_block {
	const char	*family;
	bool		 exclude;
	bool		 and;
	struct rules_term *terms;
	size_t		 nterms;
};

struct rules {
	struct rules_block *blocks;	/* document order */
	size_t		 nblocks;
};

/* Loader state: where errors go. */
struct rules_ctx {
	const char	*name;
	char		*err;
	unsigned	 schema;	/* schemaversion * 1000 (4.50 -> 4500) */
	unsigned	 nenv;		/* values with '%' compared literally */
};

static const struct rules_evtype *rules_evtype(uint32_t);
static int rules_field_pos(const struct rules_evtype *, const char *);
static bool rules_family_known(const char *);
static const char *rules_family_field(const char *, const char *);
static void rules_lower(char *);
static int rules_fail(struct rules_ctx *, const xmlNode *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));
static int rules_attr(const xmlNode *, const char *, char **, bool *);
static int rules_parse_schema(const char *, unsigned *);
static int rules_parse_filter(struct rules_ctx *, const char *, const xmlNode *,
    const char *, bool, const char *, struct rules_filter *);
static int rules_parse_rule(struct rules_ctx *, const char *, const xmlNode *,
    const char *, struct rules_term *);
static int rules_parse_block(struct rules_ctx *, struct rules *, const xmlNode *,
    bool, const char *);
static int rules_parse_doc(struct rules_ctx *, struct rules *, xmlDoc *);
static void rules_place(struct rules_block *);
static void rules_term_free(struct rules_term *);
static void rules_xml_error(void *, xmlError *);
static const char *rules_value(const struct event *, const char *);
static bool rules_filter_match(const struct rules_filter *,
    const struct rules_evtype *, const struct event *, const char **);
static bool rules_term_match(const struct rules_term *,
    const struct rules_evtype *, const struct event *, const char **);
static bool rules_block_match(const struct rules_block *,
    const struct rules_evtype *, const struct event *, const char **);
static bool rules_ci_eq(const char *, size_t, const char *, size_t);
static bool rules_ci_has(const char *, size_t, const char *, size_t);
static int rules_ci_cmp(const char *, size_t, const char *, size_t);
static bool rules_list(enum rules_cond, const char *, size_t, const char *,
    size_t);
static bool rules_cond_match(enum rules_cond, const char *, size_t,
    const char *, size_t);

static inline unsigned char
rules_fold(unsigned char c)
{
	/* ASCII folding; Sysmon folds UTF-16 code units, which only differs
	 * for non-ASCII letters. */
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static const struct rules_evtype *
rules_evtype(uint32_t eid)
{
	for (size_t i = 0; i < RULES_NEVTYPES; i++)
		if (rules_evtypes[i].eid == eid)
			return &rules_evtypes[i];
	return NULL;
}

const char *
rules_event_name(uint32_t event_id)
{
	const struct rules_evtype *t = rules_evtype(event_id);

	return t != NULL ? t->family : NULL;
}

unsigned
rules_block_count(const struct rules *r)
{
	return r != NULL ? (unsigned)r->nblocks : 0;
}

static int
rules_field_pos(const struct rules_evtype *t, const char *field)
{
	for (int i = 0; t->fields[i] != NULL; i++)
		if (strcmp(t->fields[i], field) == 0)
			return i;
	return -1;
}

static bool
rules_family_known(const char *family)
{
	for (size_t i = 0; i < RULES_NEVTYPES; i++)
		if (strcmp(rules_evtypes[i].family, family) == 0)
			return true;
	return false;
}

/* The static spelling of a field of any member of the family, or NULL. */
static const char *
rules_family_field(const char *family, const char *field)
{
	for (size_t i = 0; i < RULES_NEVTYPES; i++) {
		int pos;

		if (strcmp(rules_evtypes[i].family, family) != 0)
			continue;
		if ((pos = rules_field_pos(&rules_evtypes[i], field)) >= 0)
			return rules_evtypes[i].fields[pos];
	}
	return NULL;
}

static void
rules_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)rules_fold((unsigned char)*s);
}

static int
rules_fail(struct rules_ctx *cx, const xmlNode *node, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	long line = node != NULL ? xmlGetLineNo(node) : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cx->err == NULL) {
		size_t n = strlen(cx->name) + strlen(msg) + 32;

		if ((cx->err = malloc(n)) != NULL)
			snprintf(cx->err, n, "%s:%ld: %s", cx->name, line, msg);
	}
	return rc;
}

/*
 * Read an attribute: *out gets a malloc'ed copy (NULL when absent) and
 * *present whether it exists at all, since an empty name="" differs from no
 * name in Sysmon's RuleName inheritance.
 */
static int
rules_attr(const xmlNode *node, const char *name, char **out, bool *present)
{
	xmlChar *v;

	*out = NULL;
	if (present != NULL)
		*present = false;
	if (xmlHasProp((xmlNode *)node, (const xmlChar *)name) == NULL)
		return CD_EOK;
	if ((v = xmlGetProp(node, (const xmlChar *)name)) == NULL)
		return -ENOMEM;
	*out = strdup((const char *)v);
	xmlFree(v);
	if (*out == NULL)
		return -ENOMEM;
	if (present != NULL)
		*present = true;
	return CD_EOK;
}

/* "4.50" -> 4500; the combine default only needs "greater than 4.1". */
static int
rules_parse_schema(const char *s, unsigned *out)
{
	unsigned major = 0, frac = 0, scale = 100;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return CD_ECONFIG;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((major = major * 10 + (unsigned)(*p - '0')) > 1000)
			return CD_ECONFIG;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			frac += (unsigned)(*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p != '\0')
		return CD_ECONFIG;
	*out = major * 1000 + frac;
	return CD_EOK;
}

static int
rules_parse_filter(struct rules_ctx *cx, const char *family, const xmlNode *el,
    const char *inherited, bool have_inherited, const char *group_name,
    struct rules_filter *f)
{
	char *cond = NULL, *name = NULL;
	xmlChar *content = NULL;
	bool has_name;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((f->field = rules_family_field(family, (const char *)el->name)) == NULL) {
		rc = rules_fail(cx, el, CD_ECONFIG, "incorrect field %s for %s",
		    (const char *)el->name, family);
		goto out;
	}
	if ((rc = rules_attr(el, "condition", &cond, NULL)) != CD_EOK ||
	    (rc = rules_attr(el, "name", &name, &has_name)) != CD_EOK)
		goto out;
	f->cond = RULES_IS;
	if (cond != NULL && cond[0] != '\0') {
		size_t i, n = sizeof(rules_cond_names) / sizeof(rules_cond_names[0]);

		for (i = 0; i < n; i++)
			if (strcasecmp(cond, rules_cond_names[i]) == 0)
				break;
		if (i == n) {
			rc = rules_fail(cx, el, CD_ECONFIG,
			    "unknown condition \"%s\"", cond);
			goto out;
		}
		f->cond = (enum rules_cond)i;
	}
	/* Own name (even empty) > enclosing Rule name (even empty) > group. */
	if (has_name) {
		f->name = name;
		name = NULL;
	} else if (have_inherited || group_name != NULL) {
		const char *src = have_inherited ? inherited : group_name;

		if (src != NULL && (f->name = strdup(src)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (f->name != NULL && strlen(f->name) > RULES_MAX_NAME) {
		rc = rules_fail(cx, el, CD_ECONFIG, "rule name longer than %d",
		    RULES_MAX_NAME);
		goto out;
	}
	/* The raw text, no trimming: Sysmon keeps whitespace in values. */
	if ((content = xmlNodeGetContent(el)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((f->value = strdup((const char *)content)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rules_lower(f->value);
	f->vlen = strlen(f->value);
	if (strchr(f->value, '%') != NULL)
		cx->nenv++;
	rc = CD_EOK;
out:
	if (rc != CD_EOK) {
		free(f->value);
		free(f->name);
		f->value = f->name = NULL;
	}
	xmlFree(content);
	free(cond);
	free(name);
	return rc;
}

static int
rules_parse_rule(struct rules_ctx *cx, const char *family, const xmlNode *el,
    const char *group_name, struct rules_term *t)
{
	char *rel = NULL, *name = NULL;
	bool has_name;
	size_t n = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->aggregate = true;
	if ((rc = rules_attr(el, "groupRelation", &rel, NULL)) != CD_EOK ||
	    (rc = rules_attr(el, "name", &name, &has_name)) != CD_EOK)
		goto out;
	/* Free text: "or" in any case is OR, anything else AND, absent OR. */
	t->and = rel != NULL && strcasecmp(rel, "or") != 0;
	for (const xmlNode *c = el->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			n++;
	if (n > 0 && (t->filters = calloc(n, sizeof(*t->filters))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (const xmlNode *c = el->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if ((rc = rules_parse_filter(cx, family, c, name, has_name,
		    group_name, &t->filters[t->nfilters])) != CD_EOK)
			goto out;
		t->nfilters++;
	}
	rc = CD_EOK;
out:
	free(rel);
	free(name);
	return rc;
}

/*
 * Fix the positions: a block is compiled for the first member Event ID
 * that has every field it uses (matters only for the shared families).
 */
static void
rules_place(struct rules_block *b)
{
	const struct rules_evtype *home = NULL;

	for (size_t i = 0; i < RULES_NEVTYPES && home == NULL; i++) {
		const struct rules_evtype *t = &rules_evtypes[i];
		bool all = true;

		if (strcmp(t->family, b->family) != 0)
			continue;
		for (size_t j = 0; j < b->nterms && all; j++)
			for (size_t k = 0; k < b->terms[j].nfilters && all; k++)
				all = rules_field_pos(t,
				    b->terms[j].filters[k].field) >= 0;
		if (all)
			home = t;
	}
	for (size_t j = 0; j < b->nterms; j++) {
		for (size_t k = 0; k < b->terms[j].nfilters; k++) {
			struct rules_filter *f = &b->terms[j].filters[k];
			int pos = home != NULL ? rules_field_pos(home, f->field) : -1;

			for (size_t i = 0; i < RULES_NEVTYPES && pos < 0; i++)
				if (strcmp(rules_evtypes[i].family, b->family) == 0)
					pos = rules_field_pos(&rules_evtypes[i],
					    f->field);
			f->pos = pos < 0 ? 0 : (unsigned)pos;
		}
	}
	/* Same-field OR inside AND blocks: only plain filters take part. */
	for (size_t j = 0; j < b->nterms; j++) {
		if (b->terms[j].aggregate)
			continue;
		for (size_t k = j + 1; k < b->nterms; k++) {
			if (!b->terms[k].aggregate && b->terms[k].filters[0].pos ==
			    b->terms[j].filters[0].pos) {
				b->terms[j].filters[0].or_next = true;
				break;
			}
		}
	}
}

static int
rules_parse_block(struct rules_ctx *cx, struct rules *r, const xmlNode *el,
    bool and, const char *group_name)
{
	struct rules_block *b, *nb;
	char *onmatch = NULL, *def = NULL;
	size_t n = 0;
	int rc;

	if ((nb = realloc(r->blocks, (r->nblocks + 1) * sizeof(*nb))) == NULL)
		return -ENOMEM;
	r->blocks = nb;
	b = &r->blocks[r->nblocks++];
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < RULES_NEVTYPES; i++)
		if (strcmp(rules_evtypes[i].family, (const char *)el->name) == 0)
			b->family = rules_evtypes[i].family;
	b->and = and;
	if ((rc = rules_attr(el, "onmatch", &onmatch, NULL)) != CD_EOK ||
	    (rc = rules_attr(el, "default", &def, NULL)) != CD_EOK)
		goto out;
	if (onmatch != NULL && def != NULL) {
		rc = rules_fail(cx, el, CD_ECONFIG, "both onmatch and default");
		goto out;
	}
	if (onmatch == NULL && def == NULL) {
		rc = rules_fail(cx, el, CD_ECONFIG, "%s without onmatch",
		    b->family);
		goto out;
	}
	/* Sysmon validates against its DTD first: exact spelling only. */
	if (onmatch == NULL)
		onmatch = def, def = NULL;
	if (strcmp(onmatch, "include") == 0)
		b->exclude = false;
	else if (strcmp(onmatch, "exclude") == 0)
		b->exclude = true;
	else {
		rc = rules_fail(cx, el, CD_ECONFIG, "onmatch must be include "
		    "or exclude, not \"%s\"", onmatch);
		goto out;
	}
	for (const xmlNode *c = el->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			n++;
	if (n > 0 && (b->terms = calloc(n, sizeof(*b->terms))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (const xmlNode *c = el->children; c != NULL; c = c->next) {
		struct rules_term *t;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		t = &b->terms[b->nterms];
		if (strcmp((const char *)c->name, "Rule") == 0) {
			rc = rules_parse_rule(cx, b->family, c, group_name, t);
		} else if ((t->filters = calloc(1, sizeof(*t->filters))) == NULL) {
			rc = -ENOMEM;
		} else {
			t->nfilters = 1;
			rc = rules_parse_filter(cx, b->family, c, NULL, false,
			    group_name, t->filters);
			if (rc != CD_EOK)
				t->nfilters = 0;
		}
		b->nterms++;
		if (rc != CD_EOK)
			goto out;
	}
	rules_place(b);
	rc = CD_EOK;
out:
	free(onmatch);
	free(def);
	return rc;
}

static int
rules_parse_doc(struct rules_ctx *cx, struct rules *r, xmlDoc *doc)
{
	xmlNode *root = xmlDocGetRootElement(doc);
	char *ver = NULL, *rel = NULL, *gname = NULL;
	int rc = CD_EOK;

	if (doc->intSubset != NULL)
		return rules_fail(cx, (xmlNode *)doc->intSubset, CD_ECONFIG,
		    "DOCTYPE not allowed");
	if (root == NULL || strcmp((const char *)root->name, "Sysmon") != 0)
		return rules_fail(cx, root, CD_ECONFIG, "root element is not Sysmon");
	if ((rc = rules_attr(root, "schemaversion", &ver, NULL)) != CD_EOK)
		return rc;
	if (ver == NULL || rules_parse_schema(ver, &cx->schema) != CD_EOK) {
		rc = rules_fail(cx, root, CD_ECONFIG, "missing or bad schemaversion");
		goto out;
	}
	for (xmlNode *ef = root->children; ef != NULL; ef = ef->next) {
		if (ef->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)ef->name, "EventFiltering") != 0)
			continue;
		for (xmlNode *c = ef->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (rules_family_known((const char *)c->name)) {
				/* Outside a RuleGroup: AND after schema 4.1. */
				if ((rc = rules_parse_block(cx, r, c,
				    cx->schema > 4100, NULL)) != CD_EOK)
					goto out;
				continue;
			}
			if (strcmp((const char *)c->name, "RuleGroup") != 0) {
				rc = rules_fail(cx, c, CD_ECONFIG,
				    "unknown element %s", (const char *)c->name);
				goto out;
			}
			free(rel);
			free(gname);
			rel = gname = NULL;
			if ((rc = rules_attr(c, "groupRelation", &rel, NULL)) != CD_EOK ||
			    (rc = rules_attr(c, "name", &gname, NULL)) != CD_EOK)
				goto out;
			if (rel == NULL || (strcmp(rel, "and") != 0 &&
			    strcmp(rel, "or") != 0)) {
				rc = rules_fail(cx, c, CD_ECONFIG, "RuleGroup "
				    "groupRelation must be and or or");
				goto out;
			}
			if (gname != NULL && strlen(gname) > RULES_MAX_NAME) {
				rc = rules_fail(cx, c, CD_ECONFIG,
				    "rule name longer than %d", RULES_MAX_NAME);
				goto out;
			}
			for (xmlNode *e = c->children; e != NULL; e = e->next) {
				if (e->type != XML_ELEMENT_NODE)
					continue;
				if (!rules_family_known((const char *)e->name)) {
					rc = rules_fail(cx, e, CD_ECONFIG,
					    "unknown event element %s",
					    (const char *)e->name);
					goto out;
				}
				if ((rc = rules_parse_block(cx, r, e,
				    strcmp(rel, "and") == 0, gname)) != CD_EOK)
					goto out;
			}
		}
	}
out:
	free(ver);
	free(rel);
	free(gname);
	return rc;
}

/* libxml2 error callback: keep the first message with its line. */
static void
rules_xml_error(void *arg, xmlError *e)
{
	struct rules_ctx *cx = ((xmlParserCtxt *)arg)->_private;
	char msg[256];
	size_t n;

	if (cx == NULL || cx->err != NULL || e == NULL)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "XML error");
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	n += strlen(cx->name) + 32;
	if ((cx->err = malloc(n)) != NULL)
		snprintf(cx->err, n, "%s:%d: %s", cx->name, e->line, msg);
}

int
rules_load_mem(const char *xml, size_t len, const char *name,
    struct rules **out, char **errmsg)
{
	struct rules_ctx cx = { .name = name != NULL ? name : "(memory)" };
	struct rules *r = NULL;
	xmlParserCtxt *pc = NULL;
	xmlDoc *doc = NULL;
	int rc;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	if (len > INT32_MAX) {
		rc = CD_ETOOBIG;
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (pc = xmlNewParserCtxt()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* Errors go to our handler, not libxml2's stderr printer. */
	pc->_private = &cx;
	pc->sax->serror = rules_xml_error;
	pc->sax->error = NULL;
	pc->sax->warning = NULL;
	doc = xmlCtxtReadMemory(pc, xml, (int)len, cx.name, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOWARNING);
	if (doc == NULL || !pc->wellFormed) {
		if (cx.err == NULL)
			rules_fail(&cx, NULL, 0, "not well-formed XML");
		rc = CD_EPARSE;
		goto out;
	}
	if ((rc = rules_parse_doc(&cx, r, doc)) != CD_EOK)
		goto out;
	if (cx.nenv > 0)
		log_warn("rules", "%s: %u filter values contain '%%': compared "
		    "literally, environment variables are not expanded",
		    cx.name, cx.nenv);
	*out = r;
	r = NULL;
out:
	if (rc != CD_EOK && errmsg != NULL && rc != -ENOMEM) {
		*errmsg = cx.err;
		cx.err = NULL;
	}
	free(cx.err);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(pc);
	rules_free(r);
	return rc;
}

int
rules_load(const char *path, struct rules **out, char **errmsg)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd = -1, rc;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_size > RULES_MAX_FILE) {
		rc = CD_ETOOBIG;
		goto out;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = rules_load_mem(data, got, path, out, errmsg);
out:
	if (rc != CD_EOK && errmsg != NULL && *errmsg == NULL &&
	    rc != -ENOMEM) {
		size_t n = strlen(path) + 128;

		if ((*errmsg = malloc(n)) != NULL)
			snprintf(*errmsg, n, "%s:0: %s", path, cd_strerror(rc));
	}
	if (fd >= 0)
		close(fd);
	free(data);
	return rc;
}

static void
rules_term_free(struct rules_term *t)
{
	for (size_t i = 0; i < t->nfilters; i++) {
		free(t->filters[i].value);
		free(t->filters[i].name);
	}
	free(t->filters);
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nblocks; i++) {
		for (size_t j = 0; j < r->blocks[i].nterms; j++)
			rules_term_free(&r->blocks[i].terms[j]);
		free(r->blocks[i].terms);
	}
	free(r->blocks);
	free(r);
}

/* EventData by name (field names are case-sensitive, as in Sysmon). */
static const char *
rules_value(const struct event *ev, const char *name)
{
	for (size_t i = 0; i < ev->ndata; i++)
		if (ev->data[i].name != NULL && strcmp(ev->data[i].name, name) == 0)
			return ev->data[i].value;
	return NULL;
}

static bool
rules_ci_eq(const char *v, size_t vlen, const char *d, size_t dlen)
{
	if (vlen != dlen)
		return false;
	for (size_t i = 0; i < vlen; i++)
		if (rules_fold((unsigned char)v[i]) != (unsigned char)d[i])
			return false;
	return true;
}

/* d (already folded) is a substring of v; an empty v contains nothing. */
static bool
rules_ci_has(const char *v, size_t vlen, const char *d, size_t dlen)
{
	if (vlen == 0 || dlen > vlen)
		return false;
	for (size_t i = 0; i + dlen <= vlen; i++)
		if (rules_ci_eq(v + i, dlen, d, dlen))
			return true;
	return false;
}

/* Ordinal comparison of the folded strings, like wcscmp on lower case. */
static int
rules_ci_cmp(const char *v, size_t vlen, const char *d, size_t dlen)
{
	size_t n = vlen < dlen ? vlen : dlen;

	for (size_t i = 0; i < n; i++) {
		unsigned char a = rules_fold((unsigned char)v[i]);
		unsigned char b = (unsigned char)d[i];

		if (a != b)
			return a < b ? -1 : 1;
	}
	return vlen < dlen ? -1 : vlen > dlen;
}

/*
 * One ';' token test for the list conditions. The engine does not trim
 * tokens, and an empty token stands for the rest of the list from that
 * point (docs/sysmon.md 2.7 item 7), so "x;" ends with an empty token that
 * every non-empty value contains.
 */
static bool
rules_list(enum rules_cond c, const char *v, size_t vlen, const char *d,
    size_t dlen)
{
	bool all = c == RULES_CONTAINS_ALL;
	const char *p = d, *end = d + dlen;

	for (;;) {
		const char *q = memchr(p, ';', (size_t)(end - p));
		size_t tlen = q != NULL ? (size_t)(q - p) : (size_t)(end - p);
		bool hit;

		if (tlen == 0)
			tlen = (size_t)(end - p);
		if (c == RULES_IS_ANY)
			hit = rules_ci_eq(v, vlen, p, tlen);
		else
			hit = rules_ci_has(v, vlen, p, tlen);
		if (all && !hit)
			return false;
		if (!all && hit)
			return true;
		if (q == NULL)
			break;
		p = q + 1;
	}
	return all;
}

static bool
rules_cond_match(enum rules_cond c, const char *v, size_t vlen, const char *d,
    size_t dlen)
{
	const char *base;

	switch (c) {
	case RULES_IS:
		return rules_ci_eq(v, vlen, d, dlen);
	case RULES_IS_NOT:
		return !rules_ci_eq(v, vlen, d, dlen);
	case RULES_IS_ANY:
		return rules_list(c, v, vlen, d, dlen);
	case RULES_CONTAINS:
		return rules_ci_has(v, vlen, d, dlen);
	case RULES_CONTAINS_ANY:
	case RULES_CONTAINS_ALL:
		return vlen > 0 && rules_list(c, v, vlen, d, dlen);
	case RULES_EXCLUDES:
		return !rules_ci_has(v, vlen, d, dlen);
	/* The engine's reading, not Microsoft's prose (docs/sysmon.md 2.2). */
	case RULES_EXCLUDES_ANY:
		return vlen == 0 || !rules_list(RULES_CONTAINS_ANY, v, vlen, d, dlen);
	case RULES_EXCLUDES_ALL:
		return vlen == 0 || !rules_list(RULES_CONTAINS_ALL, v, vlen, d, dlen);
	case RULES_BEGIN_WITH:
		return dlen <= vlen && rules_ci_eq(v, dlen, d, dlen);
	case RULES_NOT_BEGIN_WITH:
		return !(dlen <= vlen && rules_ci_eq(v, dlen, d, dlen));
	case RULES_END_WITH:
		return dlen <= vlen && rules_ci_eq(v + vlen - dlen, dlen, d, dlen);
	case RULES_NOT_END_WITH:
		return !(dlen <= vlen && rules_ci_eq(v + vlen - dlen, dlen, d, dlen));
	case RULES_LESS_THAN:
		return rules_ci_cmp(v, vlen, d, dlen) < 0;
	case RULES_MORE_THAN:
		return rules_ci_cmp(v, vlen, d, dlen) > 0;
	case RULES_IMAGE:
		/* No '\' in the rule: compare with the file name part only. */
		if (memchr(d, '\\', dlen) == NULL &&
		    (base = memrchr(v, '\\', vlen)) != NULL) {
			base++;
			return rules_ci_eq(base, vlen - (size_t)(base - v), d, dlen);
		}
		return rules_ci_eq(v, vlen, d, dlen);
	}
	return false;
}

static bool
rules_filter_match(const struct rules_filter *f, const struct rules_evtype *t,
    const struct event *ev, const char **name)
{
	const char *v;
	size_t n;

	/* In the shared families a filter only sees the field at its compiled
	 * position (a WmiEvent Name filter never matches EID 20). */
	for (n = 0; n <= f->pos && t->fields[n] != NULL; n++)
		;
	if (n <= f->pos || strcmp(t->fields[f->pos], f->field) != 0)
		return false;
	if ((v = rules_value(ev, f->field)) == NULL)
		return false;
	if (!rules_cond_match(f->cond, v, strlen(v), f->value, f->vlen))
		return false;
	/* RuleName sticks from any matching named filter (2.7 item 5). */
	if (f->name != NULL && f->name[0] != '\0')
		*name = f->name;
	return true;
}

static bool
rules_term_match(const struct rules_term *t, const struct rules_evtype *et,
    const struct event *ev, const char **name)
{
	if (t->nfilters == 0)
		return false;
	for (size_t i = 0; i < t->nfilters; i++) {
		bool m = rules_filter_match(&t->filters[i], et, ev, name);

		if (t->and && !m)
			return false;
		if (!t->and && m)
			return true;
	}
	return t->and;
}

static bool
rules_block_match(const struct rules_block *b, const struct rules_evtype *et,
    const struct event *ev, const char **name)
{
	uint64_t done = 0;

	if (b->nterms == 0)
		return false;
	if (!b->and) {
		for (size_t i = 0; i < b->nterms; i++)
			if (rules_term_match(&b->terms[i], et, ev, name))
				return true;
		return false;
	}
	/* AND, but filters on the same field are ORed: once a field matched
	 * its later filters are skipped, and a failure only counts when no
	 * later filter on that field follows. */
	for (size_t i = 0; i < b->nterms; i++) {
		const struct rules_term *t = &b->terms[i];
		const struct rules_filter *f = t->filters;
		uint64_t bit;

		if (t->aggregate) {
			if (!rules_term_match(t, et, ev, name))
				return false;
			continue;
		}
		bit = f->pos < 64 ? UINT64_C(1) << f->pos : 0;
		if (done & bit)
			continue;
		if (rules_filter_match(f, et, ev, name))
			done |= bit;
		else if (!f->or_next)
			return false;
	}
	return true;
}

enum rules_verdict
rules_eval(const struct rules *r, const struct event *ev, const char **rule_name)
{
	const struct rules_evtype *et;
	const struct rules_block *only = NULL;
	const char *name = NULL;
	size_t nentries = 0;

	if (rule_name != NULL)
		*rule_name = "-";
	if (r == NULL || ev == NULL || ev->malformed || !ev->has_event_id ||
	    ev->provider == NULL ||
	    strcasecmp(ev->provider, "Microsoft-Windows-Sysmon") != 0 ||
	    (et = rules_evtype(ev->event_id)) == NULL)
		return RULES_KEEP;
	/* Exclude blocks first, then include blocks, each in reverse
	 * document order, as Sysmon's compiled rules are walked. */
	for (int pass = 0; pass < 2; pass++) {
		bool want_exclude = pass == 0;

		for (size_t i = r->nblocks; i-- > 0;) {
			const struct rules_block *b = &r->blocks[i];

			if (b->family != et->family || b->exclude != want_exclude)
				continue;
			nentries++;
			only = b;
			if (!rules_block_match(b, et, ev, &name))
				continue;
			if (rule_name != NULL && name != NULL)
				*rule_name = name;
			return b->exclude ? RULES_DROP : RULES_KEEP;
		}
	}
	/* Nothing matched: one block gives its default, several drop, none
	 * passes through. */
	if (nentries == 0)
		return RULES_KEEP;
	if (nentries == 1)
		return only->exclude ? RULES_KEEP : RULES_DROP;
	return RULES_DROP;
}

int
rules_apply(const struct rules *r, struct event *ev,
    enum rules_verdict *verdict)
{
	const char *name;
	char *copy;

	*verdict = rules_eval(r, ev, &name);
	if (r == NULL || ev == NULL || ev->malformed || !ev->has_event_id ||
	    ev->provider == NULL ||
	    strcasecmp(ev->provider, "Microsoft-Windows-Sysmon") != 0)
		return CD_EOK;
	if ((copy = strdup(name)) == NULL)
		return -ENOMEM;
	free(ev->rule_name);
	ev->rule_name = copy;
	return CD_EOK;
}
