/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SOAP envelope parser (libxml2 behind soap.c) on UTF-8 input, with
 * small caps so the depth, node and event limits are hit. Checked: a
 * document with a DOCTYPE is never accepted, the event count respects the
 * cap, and the always-set members are set.
 */
#include "config.h"

#include "err.h"
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
	const struct soap_limits lim = {
		.max_events = 16, .max_nodes = 20000, .max_depth = 32,
	};
	struct soap_msg *msg = NULL;
	char *xml = fuzz_strndup(data, size);
	bool doctype = soap_xml_has_doctype(xml, size);
	int rc;

	rc = soap_parse(xml, size, &lim, &msg);
	if (rc == CD_EOK) {
		if (doctype)
			fuzz_fail("an envelope with a DOCTYPE was accepted");
		if (msg->action == NULL || msg->message_id == NULL)
			fuzz_fail("Action or MessageID missing from a parsed message");
		if (msg->nevents > lim.max_events)
			fuzz_fail("more events than the cap");
		for (size_t i = 0; i < msg->nevents; i++)
			if (strlen(msg->events[i].xml) != msg->events[i].len)
				fuzz_fail("event length does not match its text");
	} else if (msg != NULL) {
		fuzz_fail("soap_parse failed but returned a message");
	}
	soap_msg_free(msg);
	free(xml);
	return 0;
}
