/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "multipart.h"

#define BOUNDARY	"--Encrypted Boundary"
#define BOUNDARY_LEN	(sizeof(BOUNDARY) - 1)
/* A wrap-token header is 60 bytes for AES; anything near this is garbage. */
#define HEADER_MAX	65536

static const char *const multipart_protocols[] = {
	[MULTIPART_KERBEROS] = "application/HTTP-Kerberos-session-encrypted",
	[MULTIPART_SPNEGO] = "application/HTTP-SPNEGO-session-encrypted",
};

static const char *const multipart_content_types[] = {
	[MULTIPART_KERBEROS] = "multipart/encrypted;"
	    "protocol=\"application/HTTP-Kerberos-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"",
	[MULTIPART_SPNEGO] = "multipart/encrypted;"
	    "protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"",
};

const char *
multipart_content_type(enum multipart_protocol protocol)
{
	return multipart_content_types[protocol == MULTIPART_SPNEGO];
}

static int
multipart_protocol_lookup(const char *s, size_t n, enum multipart_protocol *out)
{
	for (size_t i = 0; i < 2; i++) {
		if (strlen(multipart_protocols[i]) == n &&
		    strncasecmp(multipart_protocols[i], s, n) == 0) {
			*out = (enum multipart_protocol)i;
			return CD_EOK;
		}
	}
	return CD_EUNSUPPORTED;
}

/*
 * Split off the next ';'-separated parameter of a header value, honouring
 * double quotes (RFC 2045 parameter syntax, without backslash escapes:
 * WinRM's values never contain them). Name and value come back trimmed and
 * unquoted as (pointer, length) pairs into s.
 */
static const char *
multipart_next_param(const char *s, const char **name, size_t *name_len,
    const char **val, size_t *val_len)
{
	while (*s == ' ' || *s == '\t' || *s == ';')
		s++;
	if (*s == '\0')
		return NULL;
	*name = s;
	while (*s != '\0' && *s != '=' && *s != ';')
		s++;
	*name_len = (size_t)(s - *name);
	while (*name_len > 0 && isspace((unsigned char)(*name)[*name_len - 1]))
		(*name_len)--;
	*val = s;
	*val_len = 0;
	if (*s != '=')
		return s;
	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"') {
		*val = ++s;
		while (*s != '\0' && *s != '"')
			s++;
		*val_len = (size_t)(s - *val);
		if (*s == '"')
			s++;
	} else {
		*val = s;
		while (*s != '\0' && *s != ';')
			s++;
		*val_len = (size_t)(s - *val);
		while (*val_len > 0 && isspace((unsigned char)(*val)[*val_len - 1]))
			(*val_len)--;
	}
	return s;
}

int
multipart_content_type_parse(const char *content_type,
    enum multipart_protocol *protocol)
{
	static const char mtype[] = "multipart/encrypted";
	const char *s = content_type, *name, *val;
	size_t name_len, val_len;
	bool have_proto = false, have_boundary = false;

	if (s == NULL)
		return CD_EUNSUPPORTED;
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, mtype, sizeof(mtype) - 1) != 0)
		return CD_EUNSUPPORTED;
	s += sizeof(mtype) - 1;
	if (*s != '\0' && *s != ';' && *s != ' ' && *s != '\t')
		return CD_EUNSUPPORTED;
	while ((s = multipart_next_param(s, &name, &name_len, &val,
	    &val_len)) != NULL) {
		if (name_len == 8 && strncasecmp(name, "protocol", 8) == 0) {
			if (multipart_protocol_lookup(val, val_len, protocol) != 0)
				return CD_EUNSUPPORTED;
			have_proto = true;
		} else if (name_len == 8 && strncasecmp(name, "boundary", 8) == 0) {
			/* The boundary is fixed by MS-WSMV; we parse by it. */
			if (val_len != BOUNDARY_LEN - 2 ||
			    memcmp(val, BOUNDARY + 2, val_len) != 0)
				return CD_EPARSE;
			have_boundary = true;
		}
	}
	return have_proto && have_boundary ? CD_EOK : CD_EPARSE;
}

/* A cursor over the body: position and end. */
struct multipart_cur {
	const uint8_t	*p;
	const uint8_t	*end;
};

static int
multipart_expect(struct multipart_cur *c, const char *lit, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return CD_EPARSE;
	c->p += n;
	return CD_EOK;
}

/*
 * Read one header line "[SP|HT]*Name: value\r\n" whose name must be the
 * expected one (case-insensitive). The value is returned as a pointer into
 * the body and its length; *tab tells whether the line began with a tab.
 */
static int
multipart_header(struct multipart_cur *c, const char *hname, bool *tab,
    const uint8_t **val, size_t *val_len)
{
	size_t hlen = strlen(hname);
	const uint8_t *eol;

	*tab = c->p < c->end && *c->p == '\t';
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	if ((size_t)(c->end - c->p) < hlen + 1 ||
	    strncasecmp((const char *)c->p, hname, hlen) != 0 || c->p[hlen] != ':')
		return CD_EPARSE;
	c->p += hlen + 1;
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
	for (eol = c->p; eol + 1 < c->end; eol++)
		if (eol[0] == '\r' && eol[1] == '\n')
			break;
	if (eol + 1 >= c->end)
		return CD_EPARSE;
	*val = c->p;
	*val_len = (size_t)(eol - c->p);
	c->p = eol + 2;
	return CD_EOK;
}

static int
multipart_copy_param(char *dst, size_t dstsz, const char *v, size_t n)
{
	if (n >= dstsz)
		return CD_EPARSE;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return CD_EOK;
}

/* "type=application/soap+xml;charset=UTF-16;Length=3240" */
static int
multipart_original_content(const uint8_t *v, size_t n, struct multipart_msg *m)
{
	char line[256];
	const char *s = line, *name, *val;
	size_t name_len, val_len;
	bool have_len = false;

	if (n >= sizeof(line) || memchr(v, '\0', n) != NULL)
		return CD_EPARSE;
	memcpy(line, v, n);
	line[n] = '\0';
	m->type[0] = m->charset[0] = '\0';
	while ((s = multipart_next_param(s, &name, &name_len, &val,
	    &val_len)) != NULL) {
		if (name_len == 4 && strncasecmp(name, "type", 4) == 0) {
			if (multipart_copy_param(m->type, sizeof(m->type), val,
			    val_len) != 0)
				return CD_EPARSE;
		} else if (name_len == 7 && strncasecmp(name, "charset", 7) == 0) {
			if (multipart_copy_param(m->charset, sizeof(m->charset),
			    val, val_len) != 0)
				return CD_EPARSE;
		} else if (name_len == 6 && strncasecmp(name, "Length", 6) == 0) {
			char num[24], *endp;

			if (val_len == 0 || val_len >= sizeof(num) ||
			    !isdigit((unsigned char)val[0]))
				return CD_EPARSE;
			memcpy(num, val, val_len);
			num[val_len] = '\0';
			errno = 0;
			unsigned long long l = strtoull(num, &endp, 10);
			if (errno != 0 || *endp != '\0' || l > SIZE_MAX)
				return CD_EPARSE;
			m->length = (size_t)l;
			have_len = true;
		}
	}
	return have_len ? CD_EOK : CD_EPARSE;
}

int
multipart_decode(enum multipart_protocol protocol, const uint8_t *body,
    size_t len, struct multipart_msg *out)
{
	struct multipart_cur c = { body, body + len };
	const uint8_t *v;
	size_t vlen;
	bool tab1, tab2, tab3;
	enum multipart_protocol part_proto;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = multipart_expect(&c, BOUNDARY "\r\n", BOUNDARY_LEN + 2)) != 0)
		return rc;
	if ((rc = multipart_header(&c, "Content-Type", &tab1, &v, &vlen)) != 0)
		return rc;
	if (multipart_protocol_lookup((const char *)v, vlen, &part_proto) != 0 ||
	    part_proto != protocol)
		return CD_EPARSE;
	if ((rc = multipart_header(&c, "OriginalContent", &tab2, &v, &vlen)) != 0)
		return rc;
	if ((rc = multipart_original_content(v, vlen, out)) != 0)
		return rc;
	if ((rc = multipart_expect(&c, BOUNDARY "\r\n", BOUNDARY_LEN + 2)) != 0)
		return rc;
	if ((rc = multipart_header(&c, "Content-Type", &tab3, &v, &vlen)) != 0)
		return rc;
	if (vlen != 24 || strncasecmp((const char *)v, "application/octet-stream",
	    24) != 0)
		return CD_EPARSE;

	/*
	 * From here on parse by position, not by searching the binary data
	 * for the closing boundary: the ciphertext may contain anything.
	 */
	if (c.end - c.p < 4)
		return CD_EPARSE;
	uint32_t h = (uint32_t)c.p[0] | (uint32_t)c.p[1] << 8 |
	    (uint32_t)c.p[2] << 16 | (uint32_t)c.p[3] << 24;
	c.p += 4;
	if (h > HEADER_MAX)
		return CD_ETOOBIG;
	if (h == 0 || (size_t)(c.end - c.p) < h)
		return CD_EPARSE;
	out->header = c.p;
	out->header_len = h;
	c.p += h;
	/* MS-WSMV 2.2.9.1.2.2: no padding, so the ciphertext is Length bytes. */
	if ((size_t)(c.end - c.p) < out->length)
		return CD_EPARSE;
	out->data = c.p;
	out->data_len = out->length;
	c.p += out->length;
	if ((rc = multipart_expect(&c, BOUNDARY "--", BOUNDARY_LEN + 2)) != 0)
		return rc;
	if (c.p != c.end && multipart_expect(&c, "\r\n", 2) != 0)
		return CD_EPARSE;
	if (c.p != c.end)
		return CD_EPARSE;
	out->form.protocol = protocol;
	/* A mix of tab and no tab is tolerated; the first line decides. */
	out->form.tab = tab1;
	(void)tab2;
	(void)tab3;
	return CD_EOK;
}

int
multipart_encode(const struct multipart_form *form, const char *type,
    const char *charset, size_t plain_len, const uint8_t *header,
    size_t header_len, const uint8_t *data, size_t data_len, struct buf *out)
{
	const char *t = form->tab ? "\t" : "";
	uint8_t le[4];
	int rc;

	if (header_len > UINT32_MAX)
		return CD_ETOOBIG;
	le[0] = (uint8_t)header_len;
	le[1] = (uint8_t)(header_len >> 8);
	le[2] = (uint8_t)(header_len >> 16);
	le[3] = (uint8_t)(header_len >> 24);
	rc = buf_reserve(out, 256 + header_len + data_len);
	if (rc == 0)
		rc = buf_printf(out, BOUNDARY "\r\n"
		    "%sContent-Type: %s\r\n"
		    "%sOriginalContent: type=%s;charset=%s;Length=%zu\r\n"
		    BOUNDARY "\r\n"
		    "%sContent-Type: application/octet-stream\r\n",
		    t, multipart_protocols[form->protocol == MULTIPART_SPNEGO],
		    t, type, charset, plain_len, t);
	if (rc == 0)
		rc = buf_append(out, le, sizeof(le));
	if (rc == 0)
		rc = buf_append(out, header, header_len);
	if (rc == 0)
		rc = buf_append(out, data, data_len);
	if (rc == 0)
		rc = buf_puts(out, BOUNDARY "--\r\n");
	return rc;
}
