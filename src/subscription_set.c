/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Subscription sets: every *.xml file of a directory, checked together
 * (duplicate ids and names), or the built-in subscription when there is none.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "subscription.h"

void
subscription_set_free(struct subscription_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		subscription_free(set->subs[i]);
	free(set->subs);
	free(set);
}

static int
subscription_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
subscription_set_add(struct subscription_set *set, struct subscription *sub)
{
	struct subscription **v;

	v = realloc(set->subs, (set->n + 1) * sizeof(*v));
	if (v == NULL) {
		subscription_free(sub);
		return -ENOMEM;
	}
	set->subs = v;
	set->subs[set->n++] = sub;
	return CD_EOK;
}

int
subscription_load_dir(const char *dir, struct subscription_set **out,
    char **errmsg)
{
	struct subscription_set *set = NULL;
	struct subscription *sub;
	struct buf errs;
	struct dirent *de;
	DIR *d = NULL;
	char **names = NULL, **grown;
	size_t nnames = 0;
	int rc = -ENOMEM, r;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	buf_init(&errs, 64 * 1024);
	if ((d = opendir(dir)) == NULL) {
		rc = -errno;
		conf_err(&errs, dir, 0, "%s", cd_strerror(rc));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		/* Hidden files are editor and package-manager leftovers. */
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		if ((grown = realloc(names, (nnames + 1) * sizeof(*names))) == NULL)
			goto out;
		names = grown;
		if (asprintf(&names[nnames], "%s/%s", dir, de->d_name) < 0)
			goto out;
		nnames++;
	}
	if (nnames > 0)
		qsort(names, nnames, sizeof(*names), subscription_cmp_name);
	if ((set = calloc(1, sizeof(*set))) == NULL)
		goto out;
	rc = CD_EOK;
	for (size_t i = 0; i < nnames; i++) {
		char *msg = NULL;

		r = subscription_load_file(names[i], &sub, &msg);
		if (r != CD_EOK) {
			/* Keep going: report every bad file at once. */
			if (msg != NULL)
				buf_printf(&errs, "%s%s", errs.len ? "\n" : "", msg);
			free(msg);
			rc = r == -ENOMEM ? r : CD_ECONFIG;
			if (r == -ENOMEM)
				goto out;
			continue;
		}
		for (size_t j = 0; j < set->n; j++) {
			const struct subscription *o = set->subs[j];
			if (strcasecmp(o->id, sub->id) == 0)
				conf_err(&errs, sub->file, sub->line,
				    "subscription id %s is also used by %s",
				    sub->id, o->file);
			else if (strcasecmp(o->name, sub->name) == 0)
				conf_err(&errs, sub->file, sub->line,
				    "subscription name \"%s\" is also used by %s",
				    sub->name, o->file);
			else
				continue;
			rc = CD_ECONFIG;
		}
		if ((r = subscription_set_add(set, sub)) != CD_EOK) {
			rc = r;
			goto out;
		}
	}
	if (rc == CD_EOK && set->n == 0) {
		if ((rc = subscription_builtin(&sub)) != CD_EOK)
			goto out;
		rc = subscription_set_add(set, sub);
	}
out:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (rc == CD_EOK) {
		*out = set;
		set = NULL;
	} else if (errmsg != NULL) {
		if (rc == -ENOMEM && errs.len == 0)
			conf_err(&errs, dir, 0, "out of memory");
		*errmsg = conf_err_take(&errs);
	}
	buf_free(&errs);
	subscription_set_free(set);
	return rc;
}

const struct subscription *
subscription_set_find(const struct subscription_set *set, const char *id_or_name)
{
	if (set == NULL || id_or_name == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcasecmp(set->subs[i]->id, id_or_name) == 0)
			return set->subs[i];
	for (size_t i = 0; i < set->n; i++)
		if (strcasecmp(set->subs[i]->name, id_or_name) == 0)
			return set->subs[i];
	return NULL;
}

bool
subscription_allows(const struct subscription *sub, const char *source)
{
	if (sub->sources.n == 0)
		return true;
	if (source == NULL)
		return false;
	for (size_t i = 0; i < sub->sources.n; i++)
		if (fnmatch(sub->sources.v[i], source, FNM_CASEFOLD) == 0)
			return true;
	return false;
}
