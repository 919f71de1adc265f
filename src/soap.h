/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SOAP envelope of WS-Management as Windows Event Forwarding uses it
 * (docs/wef-protocol.md sections 0 and 1): parsing requests with libxml2
 * into plain C strings, and building the small replies (Ack, fault).
 * Elements are matched by namespace URI and local name, never by prefix.
 * Input is UTF-8 that utf16_to_utf8() or utf16_sanitize_utf8() produced.
 */
#ifndef CD_SOAP_H
#define CD_SOAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SOAP_NS_ENVELOPE	"http://www.w3.org/2003/05/soap-envelope"
#define SOAP_NS_ADDRESSING	"http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define SOAP_NS_ENUMERATION	"http://schemas.xmlsoap.org/ws/2004/09/enumeration"
#define SOAP_NS_EVENTING	"http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define SOAP_NS_WSMAN		"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define SOAP_NS_WSMV		"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define SOAP_NS_MACHINEID	"http://schemas.microsoft.com/wbem/wsman/1/machineid"
#define SOAP_NS_WSMANFAULT	"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

#define SOAP_ACTION_ENUMERATE \
	"http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
#define SOAP_ACTION_ENUMERATE_RESPONSE \
	"http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse"
#define SOAP_ACTION_END \
	"http://schemas.microsoft.com/wbem/wsman/1/wsman/End"
#define SOAP_ACTION_EVENTS \
	"http://schemas.dmtf.org/wbem/wsman/1/wsman/Events"
#define SOAP_ACTION_HEARTBEAT \
	"http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat"
#define SOAP_ACTION_ACK \
	"http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack"
#define SOAP_ACTION_SUBSCRIPTION_END \
	"http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscriptionEnd"
#define SOAP_ACTION_UNSUBSCRIBE \
	"http://schemas.xmlsoap.org/ws/2004/08/eventing/Unsubscribe"
#define SOAP_ACTION_SUBSCRIBE \
	"http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe"
#define SOAP_ACTION_FAULT \
	"http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
#define SOAP_ADDRESS_ANONYMOUS \
	"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

/** Length of a buffer for soap_new_message_id() ("uuid:" + 36 + NUL). */
#define SOAP_MESSAGE_ID_SIZE	46

#define SOAP_DEFAULT_MAX_EVENTS	100000
#define SOAP_DEFAULT_MAX_NODES	4000000
#define SOAP_DEFAULT_MAX_DEPTH	64

/** Caps applied by soap_parse(); a zero member means its default. */
struct soap_limits {
	size_t	 max_events;	/**< w:Event elements per message */
	size_t	 max_nodes;	/**< XML nodes in the whole document */
	unsigned max_depth;	/**< element nesting depth */
};

/** A header the client echoes from the subscription's reference
 * parameters, other than the standard WS-Man headers (e.g. openwec's
 * non-namespaced Version). */
struct soap_header {
	char	*ns;		/**< namespace URI, or NULL for none */
	char	*name;		/**< local name */
	char	*value;		/**< text content, XML white space trimmed */
};

/** One event of an Events message: the event XML as sent, UTF-8. */
struct soap_event {
	char	*xml;		/**< NUL-terminated copy */
	size_t	 len;
};

/**
 * A parsed request. Every string is a NUL-terminated heap copy owned by
 * the message, or NULL when the header or element was absent.
 */
struct soap_msg {
	char	*action;	/**< a:Action, trimmed (always set) */
	char	*message_id;	/**< a:MessageID, byte-exact (always set) */
	char	*relates_to;	/**< a:RelatesTo, byte-exact */
	char	*to;		/**< a:To, trimmed */
	char	*machine_id;	/**< m:MachineID, trimmed; unauthenticated */
	char	*resource_uri;	/**< w:ResourceURI, trimmed */
	char	*operation_id;	/**< p:OperationID, trimmed */
	char	*session_id;	/**< p:SessionId, trimmed */
	char	*identifier;	/**< e:Identifier header, trimmed */
	uint64_t max_envelope_size; /**< w:MaxEnvelopeSize, 0 when absent */
	char	*bookmark;	/**< w:Bookmark's BookmarkList, serialised */
	bool	 ack_requested;	/**< w:AckRequested present */

	struct soap_header *headers;	/**< other header elements, in order */
	size_t	 nheaders;

	bool	 has_events;	/**< the body holds w:Events (maybe empty) */
	struct soap_event *events;	/**< w:Events/w:Event, in order */
	size_t	 nevents;

	char	*end_status;	/**< SubscriptionEnd e:Status, trimmed */
	char	*fault_code;	/**< SubscriptionEnd f:WSManFault/@Code */
	char	*fault_text;	/**< its text content, trimmed */
};

/**
 * Initialise libxml2 once for the process (call from main before threads
 * start); soap_parse() and event_parse() also make sure of it.
 */
void soap_init(void);

/** Release libxml2's global state at exit, after every thread is done. */
void soap_cleanup(void);

/**
 * Parse one envelope from utf8[0..len). A document type declaration is
 * refused, entities are never expanded, nothing is loaded from the network.
 * Returns CD_EOK and a new message in *out (free with soap_msg_free());
 * CD_EPARSE for a malformed envelope or a missing a:Action or a:MessageID;
 * CD_ETOOBIG when a limit of lim (NULL: defaults) is exceeded; -ENOMEM.
 * On failure *out is NULL and soap_last_error() says why. Thread-safe.
 * libxml2 does not read the text of CDATA sections (the events): it parses
 * a copy with the sections emptied and gets their text from utf8 (soap.c);
 * results are those of soap_parse_careful() for every input.
 */
int soap_parse(const char *utf8, size_t len, const struct soap_limits *lim,
    struct soap_msg **out);

/**
 * soap_parse() as it was before the events' CDATA was kept away from
 * libxml2: libxml2 reads every character of the original envelope. Same
 * contract and, for every input, the same result and error text as
 * soap_parse() (which falls back to it whenever its fast path does not
 * apply). The reference for differential tests and benchmarks.
 */
int soap_parse_careful(const char *utf8, size_t len,
    const struct soap_limits *lim, struct soap_msg **out);

/**
 * True when the calling thread's last soap_parse() parsed the compacted
 * envelope (CDATA sections emptied, their text taken from the original),
 * false when it parsed as soap_parse_careful() does. For tests.
 */
bool soap_last_parse_compacted(void);

/** Why the calling thread's last soap_parse() failed ("" if it did not).
 * The text stays valid until the next soap_parse() in this thread. */
const char *soap_last_error(void);

/** Free a message; NULL is a no-op. */
void soap_msg_free(struct soap_msg *msg);

/**
 * True when the document starts (after an optional BOM, the XML
 * declaration, comments and processing instructions) with a markup
 * declaration such as <!DOCTYPE, which collectord never accepts.
 */
bool soap_xml_has_doctype(const char *xml, size_t len);

/**
 * Write "uuid:" and a new random (version 4) UUID in upper case, as
 * Windows writes MessageIDs, into out. CD_EOK or CD_ECRYPTO.
 */
int soap_new_message_id(char out[SOAP_MESSAGE_ID_SIZE]);

/** Append s to b with &, <, >, " and ' escaped. CD_EOK, CD_ETOOBIG,
 * -ENOMEM. */
int soap_xml_escape(struct buf *b, const char *s);

/**
 * Append an Ack envelope (UTF-8, no XML declaration) to out: Action Ack,
 * a new MessageID, To anonymous, RelatesTo = relates_to (the request's
 * MessageID, byte for byte), empty body, no OperationID.
 * Returns CD_EOK, CD_ECRYPTO, CD_ETOOBIG or -ENOMEM.
 */
int soap_build_ack(const char *relates_to, struct buf *out);

/**
 * Append a SOAP 1.2 fault envelope to out. code is "s:Sender" or
 * "s:Receiver"; subcode_qname (may be NULL) uses one of the declared
 * prefixes s, a, e, n, w (e.g. "w:InvalidMessageInformationHeader");
 * reason is free text (escaped here). relates_to may be NULL when the
 * request had no readable MessageID. Returns as soap_build_ack().
 */
int soap_build_fault(const char *relates_to, const char *code,
    const char *subcode_qname, const char *reason, struct buf *out);

#endif
