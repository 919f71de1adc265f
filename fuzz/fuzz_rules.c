/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sysmon configuration loading (rules.c, rules_load_mem): the input is a
 * Sysmon config. A loaded rule set is evaluated against real events (the
 * first lines of a Sysmon data file: process creations, network
 * connections, DNS queries).
 */
#include "config.h"

#include "err.h"
#include "event.h"
#include "fuzz.h"
#include "rules.h"
#include "soap.h"

#define FUZZ_RULES_EVENTS	FUZZ_SRCDIR "/tests/data/sysmon/lsass_campaign_01.xml"
#define FUZZ_RULES_NEVENTS	64

static struct event *fuzz_events[FUZZ_RULES_NEVENTS];
static size_t fuzz_nevents;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	(void)argc; (void)argv;
	fuzz_quiet();
	soap_init();
	if ((f = fopen(FUZZ_RULES_EVENTS, "r")) == NULL)
		fuzz_fail("cannot read " FUZZ_RULES_EVENTS);
	while (fuzz_nevents < FUZZ_RULES_NEVENTS &&
	    (n = getline(&line, &cap, f)) > 0) {
		struct event *ev = NULL;
		if (event_parse(line, (size_t)n, &ev) == CD_EOK)
			fuzz_events[fuzz_nevents++] = ev;
	}
	free(line);
	fclose(f);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules *r = NULL;
	char *err = NULL;

	if (rules_load_mem((const char *)data, size, "fuzz", &r, &err) == CD_EOK) {
		for (size_t i = 0; i < fuzz_nevents; i++) {
			const char *name = NULL;
			(void)rules_eval(r, fuzz_events[i], &name);
		}
		(void)rules_block_count(r);
	} else if (r != NULL) {
		fuzz_fail("rules_load_mem failed but returned rules");
	}
	free(err);
	rules_free(r);
	return 0;
}
