/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * WinRM's multipart/encrypted framing (MS-WSMV 2.2.9.1), without any
 * cryptography: pure functions over bytes, so they can be tested alone.
 *
 *   --Encrypted Boundary\r\n
 *   [\t]Content-Type: application/HTTP-Kerberos-session-encrypted\r\n
 *   [\t]OriginalContent: type=application/soap+xml;charset=UTF-16;Length=N\r\n
 *   --Encrypted Boundary\r\n
 *   [\t]Content-Type: application/octet-stream\r\n
 *   <le32 H><H bytes wrap-token header><ciphertext>--Encrypted Boundary--\r\n
 *
 * Windows sends the part headers without the tab, pywinrm with it; a reply
 * must mirror the request's form, which struct multipart_form records.
 */
#ifndef CD_MULTIPART_H
#define CD_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/** The protocol parameter of the Content-Type (which HTTP scheme was used). */
enum multipart_protocol {
	MULTIPART_KERBEROS = 0,	/**< application/HTTP-Kerberos-session-encrypted */
	MULTIPART_SPNEGO,	/**< application/HTTP-SPNEGO-session-encrypted */
};

/** How a request was framed, so that the reply can be framed the same way. */
struct multipart_form {
	enum multipart_protocol	protocol;
	bool			tab;	/**< part headers start with a horizontal tab */
};

/**
 * One decoded message. All pointers borrow from the body (or, for type and
 * charset, from multipart_msg's own small arrays); nothing needs freeing.
 */
struct multipart_msg {
	struct multipart_form	 form;
	char			 type[64];	/**< OriginalContent type, e.g. application/soap+xml */
	char			 charset[32];	/**< OriginalContent charset label; "" if absent */
	size_t			 length;	/**< OriginalContent Length: the plaintext size */
	const uint8_t		*header;	/**< the wrap-token header (H bytes) */
	size_t			 header_len;
	const uint8_t		*data;		/**< the ciphertext */
	size_t			 data_len;
};

/**
 * Parse a Content-Type header value. CD_EOK when it is multipart/encrypted
 * with boundary "Encrypted Boundary" and one of the two protocols (stored in
 * *protocol); CD_EUNSUPPORTED for another media type or protocol; CD_EPARSE
 * when malformed.
 */
int multipart_content_type_parse(const char *content_type,
    enum multipart_protocol *protocol);

/**
 * The Content-Type value for a reply in this protocol (static string), with
 * the protocol and boundary quoted as pywinrm expects.
 */
const char *multipart_content_type(enum multipart_protocol protocol);

/**
 * Decode a whole body. The part headers may start with SP or HT, their names
 * are matched case-insensitively, and the first part's Content-Type must
 * name the same protocol as the HTTP Content-Type. The ciphertext must be
 * exactly Length bytes (MS-WSMV: no padding), followed by the closing
 * boundary (its final CRLF optional). CD_EPARSE on any mismatch or
 * truncation, CD_ETOOBIG when the header length is absurd (over 64 KiB).
 */
int multipart_decode(enum multipart_protocol protocol, const uint8_t *body,
    size_t len, struct multipart_msg *out);

/**
 * Append the framing of one message to out: the two parts in the given form
 * with OriginalContent type/charset and Length=plain_len, the le32 header
 * length, the header, the data and the closing boundary with CRLF. data_len
 * may differ from plain_len only for padded ciphers. CD_ETOOBIG/-ENOMEM
 * from the buffer.
 */
int multipart_encode(const struct multipart_form *form, const char *type,
    const char *charset, size_t plain_len, const uint8_t *header,
    size_t header_len, const uint8_t *data, size_t data_len, struct buf *out);

#endif
