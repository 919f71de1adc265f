/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SOAP envelope parser (libxml2 behind soap.c) on UTF-8 input, with
 * small caps so the depth, node and event limits are hit. Checked: a
 * document with a DOCTYPE is never accepted, the event count respects the
 * cap, the always-set members are set, and soap_parse() (the compacted
 * envelope) gives what soap_parse_careful() gives: the same code, error
 * text and message.
 */
#include "config.h"

#include <stdbool.h>

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

static bool
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static bool
same_msg(const struct soap_msg *a, const struct soap_msg *b)
{
	if (!same_str(a->action, b->action) ||
	    !same_str(a->message_id, b->message_id) ||
	    !same_str(a->relates_to, b->relates_to) ||
	    !same_str(a->to, b->to) ||
	    !same_str(a->machine_id, b->machine_id) ||
	    !same_str(a->resource_uri, b->resource_uri) ||
	    !same_str(a->operation_id, b->operation_id) ||
	    !same_str(a->session_id, b->session_id) ||
	    !same_str(a->identifier, b->identifier) ||
	    a->max_envelope_size != b->max_envelope_size ||
	    !same_str(a->bookmark, b->bookmark) ||
	    a->ack_requested != b->ack_requested ||
	    a->has_events != b->has_events ||
	    !same_str(a->end_status, b->end_status) ||
	    !same_str(a->fault_code, b->fault_code) ||
	    !same_str(a->fault_text, b->fault_text) ||
	    a->nheaders != b->nheaders || a->nevents != b->nevents)
		return false;
	for (size_t i = 0; i < a->nheaders; i++)
		if (!same_str(a->headers[i].ns, b->headers[i].ns) ||
		    !same_str(a->headers[i].name, b->headers[i].name) ||
		    !same_str(a->headers[i].value, b->headers[i].value))
			return false;
	for (size_t i = 0; i < a->nevents; i++)
		if (a->events[i].len != b->events[i].len ||
		    memcmp(a->events[i].xml, b->events[i].xml,
		    a->events[i].len) != 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct soap_limits lim = {
		.max_events = 16, .max_nodes = 20000, .max_depth = 32,
	};
	struct soap_msg *msg = NULL, *ref = NULL;
	char *xml = fuzz_strndup(data, size);
	bool doctype = soap_xml_has_doctype(xml, size);
	char err[256];
	int rc, rcref;

	rcref = soap_parse_careful(xml, size, &lim, &ref);
	snprintf(err, sizeof(err), "%s", soap_last_error());
	rc = soap_parse(xml, size, &lim, &msg);
	if (rc != rcref || strcmp(err, soap_last_error()) != 0)
		fuzz_fail("soap_parse and soap_parse_careful disagree");
	if (rc == CD_EOK && !same_msg(msg, ref))
		fuzz_fail("soap_parse and soap_parse_careful differ");
	soap_msg_free(ref);
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
