/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event parser (event.c): one <Event> document as a client sends it.
 * Checked: a parsed event keeps its raw text, and the lookups by name work
 * on whatever fields came out.
 */
#include "config.h"

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event *ev = NULL;
	char *xml = fuzz_strndup(data, size);

	if (event_parse(xml, size, &ev) == CD_EOK) {
		if (ev->raw == NULL || ev->raw_len != size ||
		    memcmp(ev->raw, xml, size) != 0)
			fuzz_fail("the raw event text was not kept as received");
		if (ev->malformed && ev->error == NULL)
			fuzz_fail("a malformed event without a reason");
		for (size_t i = 0; i < ev->ndata; i++)
			if (ev->data[i].name != NULL &&
			    event_data(ev, ev->data[i].name) == NULL)
				fuzz_fail("event_data cannot find a parsed field");
		(void)event_data(ev, "QueryName");
	}
	event_free(ev);
	free(xml);
	return 0;
}
