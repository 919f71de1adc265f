/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Sysmon DNS parser (dns.c). The input is an event (Sysmon Event ID 22
 * seeds): parsed, turned into an observation; the same bytes also go to
 * the QueryResults grammar, the name normaliser and the UtcTime parser.
 * Checked: normalisation is idempotent, label reversal is its own inverse
 * and the observation's name is normalised.
 */
#include "config.h"

#include "dns.h"
#include "err.h"
#include "event.h"
#include "fuzz.h"
#include "soap.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	soap_init();
	return 0;
}

static void
fuzz_dns_name(const char *in)
{
	char a[DNS_NAME_MAX], b[DNS_NAME_MAX], rd[DNS_NAME_MAX], rev[DNS_NAME_MAX];

	if (dns_name_normalise(in, a) != CD_EOK)
		return;
	if (dns_name_normalise(a, b) != CD_EOK || strcmp(a, b) != 0)
		fuzz_fail("dns_name_normalise is not idempotent");
	dns_registered_domain(a, rd);
	dns_name_reverse(a, rev);
	dns_name_reverse(rev, b);
	if (strcmp(a, b) != 0)
		fuzz_fail("dns_name_reverse is not its own inverse");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event *ev = NULL;
	struct dns_obs obs = { 0 };
	struct dns_answer *ans = NULL;
	size_t nans = 0;
	int64_t ms;
	char *text = fuzz_strndup(data, size);

	if (event_parse(text, size, &ev) == CD_EOK &&
	    dns_from_event(ev, &obs) == CD_EOK) {
		char again[DNS_NAME_MAX];
		if (obs.name == NULL || obs.regdom == NULL)
			fuzz_fail("an observation without a name");
		if (dns_name_normalise(obs.name, again) != CD_EOK ||
		    strcmp(again, obs.name) != 0)
			fuzz_fail("the observation's name is not normalised");
		for (size_t i = 0; i < obs.nanswers; i++) {
			char addr[DNS_ADDR_STRLEN];
			if (obs.answers[i].is_addr)
				dns_addr_format(obs.answers[i].family,
				    obs.answers[i].addr, addr);
		}
	}
	dns_obs_clear(&obs);
	event_free(ev);
	if (dns_parse_results(text, &ans, &nans) == CD_EOK)
		dns_answers_free(ans, nans);
	fuzz_dns_name(text);
	(void)dns_parse_utctime(text, &ms);
	{
		int family;
		uint8_t addr[16];
		(void)dns_addr_parse(text, &family, addr);
	}
	free(text);
	return 0;
}
