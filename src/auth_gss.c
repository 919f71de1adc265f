/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Kerberos for WinRM with MIT krb5 GSSAPI: the acceptor side of the
 * "Kerberos" and "Negotiate" HTTP schemes (MS-WSMV 2.2.9.1) and WinRM's
 * message encryption. This is the only file that includes GSSAPI headers.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <openssl/evp.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "multipart.h"

/* Authorization tokens are a few KiB (a PAC can make them ~12 KiB). */
#define TOKEN_MAX	65536

struct auth_gss_ctx {
	gss_ctx_id_t		 gss;
	gss_OID			 mech;		/* static, owned by the library */
	char			*principal;	/* set once established */
	enum multipart_protocol	 scheme;	/* Kerberos or Negotiate */
	bool			 established;
};

static gss_OID_desc auth_gss_krb5_oid =
    { 9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };
static gss_OID_desc auth_gss_spnego_oid =
    { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };

static gss_cred_id_t auth_gss_cred = GSS_C_NO_CREDENTIAL;

static void
auth_gss_log_status(const char *what, gss_OID mech, OM_uint32 major,
    OM_uint32 minor)
{
	char text[512];
	size_t off = 0;
	int types[2] = { GSS_C_GSS_CODE, GSS_C_MECH_CODE };
	OM_uint32 codes[2] = { major, minor };

	text[0] = '\0';
	for (int i = 0; i < 2; i++) {
		OM_uint32 ctx = 0, min;
		gss_buffer_desc msg;

		if (i == 1 && (minor == 0 || !GSS_ERROR(major)))
			break;
		do {
			if (GSS_ERROR(gss_display_status(&min, codes[i], types[i],
			    mech, &ctx, &msg)))
				break;
			if (off < sizeof(text))
				off += (size_t)snprintf(text + off, sizeof(text) - off,
				    "%s%.*s", off ? "; " : "", (int)msg.length,
				    (const char *)msg.value);
			gss_release_buffer(&min, &msg);
		} while (ctx != 0);
	}
	log_warn("auth", "%s: %s (major 0x%x, minor %u)", what, text,
	    (unsigned)major, (unsigned)minor);
}

int
auth_gss_init(const char *keytab)
{
	gss_OID_desc mechs[2] = { auth_gss_krb5_oid, auth_gss_spnego_oid };
	gss_OID_set_desc mechset = { 2, mechs };
	gss_OID_set_desc krb5only = { 1, &auth_gss_krb5_oid };
	gss_key_value_element_desc elem = { "keytab", keytab };
	gss_key_value_set_desc store = { 1, &elem };
	OM_uint32 major, minor;

	auth_gss_shutdown();
	/*
	 * GSS_C_NO_NAME: accept tickets for any service principal in the
	 * keytab, since Windows asks for HTTP/ or (since Server 2025) HOST/.
	 */
	major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE,
	    &mechset, GSS_C_ACCEPT, keytab != NULL ? &store : GSS_C_NO_CRED_STORE,
	    &auth_gss_cred, NULL, NULL);
	if (GSS_ERROR(major)) {
		auth_gss_log_status("cannot use the keytab", GSS_C_NO_OID, major,
		    minor);
		auth_gss_cred = GSS_C_NO_CREDENTIAL;
		return CD_ECONFIG;
	}
	/* Keep SPNEGO from ever negotiating NTLM (gss-ntlmssp, if installed). */
	major = gss_set_neg_mechs(&minor, auth_gss_cred, &krb5only);
	if (GSS_ERROR(major))
		auth_gss_log_status("gss_set_neg_mechs", GSS_C_NO_OID, major,
		    minor);
	return CD_EOK;
}

void
auth_gss_shutdown(void)
{
	OM_uint32 minor;

	if (auth_gss_cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &auth_gss_cred);
	auth_gss_cred = GSS_C_NO_CREDENTIAL;
}

const char *const *
auth_gss_challenges(void)
{
	static const char *const challenges[] = { "Kerberos", "Negotiate", NULL };

	return challenges;
}

static void
auth_gss_ctx_reset(struct auth_gss_ctx *c)
{
	OM_uint32 minor;

	if (c->gss != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &c->gss, GSS_C_NO_BUFFER);
	c->gss = GSS_C_NO_CONTEXT;
	c->mech = GSS_C_NO_OID;
	free(c->principal);
	c->principal = NULL;
	c->established = false;
}

void
auth_gss_ctx_free(struct auth_gss_ctx *ctx)
{
	if (ctx == NULL)
		return;
	auth_gss_ctx_reset(ctx);
	free(ctx);
}

bool
auth_gss_ctx_established(const struct auth_gss_ctx *ctx)
{
	return ctx != NULL && ctx->established;
}

const char *
auth_gss_ctx_principal(const struct auth_gss_ctx *ctx)
{
	return ctx != NULL && ctx->established ? ctx->principal : NULL;
}

/* Strict base64 (RFC 4648, padded) via OpenSSL; *out is malloc'd. */
static int
auth_gss_b64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
	uint8_t *p;
	int r;

	*out = NULL;
	if (n == 0 || n % 4 != 0 || n > TOKEN_MAX)
		return CD_EAUTH;
	if ((p = malloc(n / 4 * 3 + 1)) == NULL)
		return -ENOMEM;
	r = EVP_DecodeBlock(p, (const unsigned char *)s, (int)n);
	if (r < 0) {
		free(p);
		return CD_EAUTH;
	}
	/* EVP_DecodeBlock counts the bytes encoded by '=' padding. */
	size_t len = (size_t)r;
	if (s[n - 1] == '=')
		len--;
	if (s[n - 2] == '=')
		len--;
	*out = p;
	*out_len = len;
	return CD_EOK;
}

static char *
auth_gss_header(const char *scheme, const void *tok, size_t n)
{
	size_t slen = strlen(scheme);
	char *h;

	if (n > TOKEN_MAX)
		return NULL;
	if ((h = malloc(slen + 1 + (n + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	memcpy(h, scheme, slen);
	h[slen] = ' ';
	EVP_EncodeBlock((unsigned char *)h + slen + 1, tok, (int)n);
	return h;
}

int
auth_gss_accept(struct auth_gss_ctx **ctx, const char *authorization,
    char **www_authenticate, char **principal)
{
	static const uint8_t ntlmssp[8] = "NTLMSSP";
	gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
	gss_buffer_desc dname = GSS_C_EMPTY_BUFFER;
	gss_name_t src = GSS_C_NO_NAME;
	OM_uint32 major, minor, flags = 0;
	const OM_uint32 need = GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_MUTUAL_FLAG;
	enum multipart_protocol scheme;
	struct auth_gss_ctx *c;
	const char *s = authorization, *scheme_name;
	uint8_t *tok = NULL;
	size_t tok_len, n;
	int rc = CD_EAUTH;

	*www_authenticate = NULL;
	*principal = NULL;
	if (*ctx == NULL && (*ctx = calloc(1, sizeof(**ctx))) == NULL)
		return -ENOMEM;
	c = *ctx;
	/* A new token on an established connection starts over. */
	if (c->established)
		auth_gss_ctx_reset(c);
	if (auth_gss_cred == GSS_C_NO_CREDENTIAL) {
		log_err("auth", "Kerberos request but no acceptor credentials");
		goto fail;
	}
	if (s == NULL)
		goto fail;
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, "Kerberos ", 9) == 0) {
		scheme = MULTIPART_KERBEROS;
		scheme_name = "Kerberos";
		s += 9;
	} else if (strncasecmp(s, "Negotiate ", 10) == 0) {
		scheme = MULTIPART_SPNEGO;
		scheme_name = "Negotiate";
		s += 10;
	} else {
		log_warn("auth", "refused Authorization scheme %.*s",
		    (int)strcspn(s, " "), s);
		goto fail;
	}
	/* A scheme change mid-exchange makes no sense: start over. */
	if (c->gss != GSS_C_NO_CONTEXT && c->scheme != scheme)
		auth_gss_ctx_reset(c);
	c->scheme = scheme;
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if ((rc = auth_gss_b64_decode(s, n, &tok, &tok_len)) != 0) {
		if (rc == CD_EAUTH)
			log_warn("auth", "malformed %s token", scheme_name);
		goto fail;
	}
	rc = CD_EAUTH;
	/* MIT cannot accept NTLM; say so clearly rather than "defective token". */
	if (tok_len >= sizeof(ntlmssp) && memcmp(tok, ntlmssp, sizeof(ntlmssp)) == 0) {
		log_warn("auth", "refused an NTLM token (Kerberos is required)");
		goto fail;
	}
	in.value = tok;
	in.length = tok_len;
	major = gss_accept_sec_context(&minor, &c->gss, auth_gss_cred, &in,
	    GSS_C_NO_CHANNEL_BINDINGS, &src, &c->mech, &out, &flags, NULL, NULL);
	if (GSS_ERROR(major)) {
		auth_gss_log_status("Kerberos authentication failed", GSS_C_NO_OID,
		    major, minor);
		goto fail;
	}
	if (out.length > 0 &&
	    (*www_authenticate = auth_gss_header(scheme_name, out.value,
	    out.length)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (major & GSS_S_CONTINUE_NEEDED) {
		rc = CD_EOK;
		goto out;
	}
	if ((flags & need) != need) {
		log_warn("auth", "security context lacks confidentiality, "
		    "integrity or mutual authentication (flags 0x%x)",
		    (unsigned)flags);
		goto fail;
	}
	major = gss_display_name(&minor, src, &dname, NULL);
	if (GSS_ERROR(major)) {
		auth_gss_log_status("gss_display_name", c->mech, major, minor);
		goto fail;
	}
	if ((c->principal = strndup(dname.value, dname.length)) == NULL ||
	    (*principal = strdup(c->principal)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	c->established = true;
	log_debug("auth", "Kerberos (%s) authenticated %s", scheme_name,
	    c->principal);
	rc = CD_EOK;
	goto out;
fail:
	free(*www_authenticate);
	*www_authenticate = NULL;
	free(*principal);
	*principal = NULL;
	auth_gss_ctx_reset(c);
out:
	gss_release_buffer(&minor, &out);
	gss_release_buffer(&minor, &dname);
	gss_release_name(&minor, &src);
	free(tok);
	return rc;
}

/*
 * Decrypt in place: Windows' tokens (and MIT's without a trailer) hold the
 * whole wrap token except the encrypted data in the HEADER buffer, with
 * RRC = 16 + checksum length (MS-WSMV 2.2.9.1.2.2; wef-protocol.md 3.1.3).
 * Tokens rotated differently still unwrap as one STREAM.
 */
static int
auth_gss_unwrap_data(struct auth_gss_ctx *c, const struct multipart_msg *m,
    uint8_t *dst, size_t *dst_len)
{
	gss_iov_buffer_desc iov[2];
	OM_uint32 major, minor, major2, minor2;
	int conf = 0;
	uint8_t *hdr = NULL, *stream = NULL;
	int rc = CD_ECRYPTO;

	if ((hdr = malloc(m->header_len)) == NULL)
		return -ENOMEM;
	memcpy(hdr, m->header, m->header_len);
	memcpy(dst, m->data, m->data_len);
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
	iov[0].buffer.value = hdr;
	iov[0].buffer.length = m->header_len;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.value = dst;
	iov[1].buffer.length = m->data_len;
	major = gss_unwrap_iov(&minor, c->gss, &conf, NULL, iov, 2);
	if (major == GSS_S_COMPLETE) {
		*dst_len = m->data_len;
		goto check;
	}
	if ((stream = malloc(m->header_len + m->data_len)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(stream, m->header, m->header_len);
	memcpy(stream + m->header_len, m->data, m->data_len);
	iov[0].type = GSS_IOV_BUFFER_TYPE_STREAM;
	iov[0].buffer.value = stream;
	iov[0].buffer.length = m->header_len + m->data_len;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.value = NULL;
	iov[1].buffer.length = 0;
	major2 = gss_unwrap_iov(&minor2, c->gss, &conf, NULL, iov, 2);
	if (major2 != GSS_S_COMPLETE) {
		/* The first error is the telling one for Windows-shaped tokens. */
		auth_gss_log_status("cannot decrypt the request", c->mech, major,
		    minor);
		goto out;
	}
	if (iov[1].buffer.length > m->data_len)
		goto out;
	memcpy(dst, iov[1].buffer.value, iov[1].buffer.length);
	*dst_len = iov[1].buffer.length;
check:
	if (!conf) {
		log_warn("auth", "request body was signed but not encrypted");
		goto out;
	}
	rc = CD_EOK;
out:
	free(hdr);
	free(stream);
	return rc;
}

int
auth_gss_unwrap_body(struct auth_gss_ctx *ctx, const char *content_type,
    const uint8_t *body, size_t len, struct buf *plain, char **charset,
    struct multipart_form *form)
{
	enum multipart_protocol proto;
	struct multipart_msg m;
	size_t n = 0;
	int rc;

	*charset = NULL;
	if (!auth_gss_ctx_established(ctx))
		return CD_EAUTH;
	if ((rc = multipart_content_type_parse(content_type, &proto)) != 0)
		return rc;
	if ((rc = multipart_decode(proto, body, len, &m)) != 0)
		return rc;
	if ((rc = buf_reserve(plain, m.data_len)) != 0)
		return rc;
	rc = auth_gss_unwrap_data(ctx, &m, plain->data + plain->len, &n);
	if (rc != 0)
		goto fail;
	/* pywinrm checks this too: a changed Length means tampering. */
	if (n != m.length) {
		log_warn("auth", "decrypted %zu bytes but Length says %zu", n,
		    m.length);
		rc = CD_EPARSE;
		goto fail;
	}
	if ((*charset = strdup(m.charset)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	plain->len += n;
	plain->data[plain->len] = '\0';
	*form = m.form;
	return CD_EOK;
fail:
	/* Leave no plaintext behind in the spare capacity. */
	memset(plain->data + plain->len, 0, m.data_len);
	plain->data[plain->len] = '\0';
	return rc;
}

int
auth_gss_wrap_body(struct auth_gss_ctx *ctx, const struct multipart_form *form,
    const char *charset, const uint8_t *plain, size_t len, struct buf *body,
    const char **content_type)
{
	gss_iov_buffer_desc iov[3];
	OM_uint32 major, minor;
	int conf = 0;
	uint8_t *data;
	size_t pad;
	int rc = CD_ECRYPTO;

	*content_type = NULL;
	if (!auth_gss_ctx_established(ctx))
		return CD_EAUTH;
	/* Room for a padding block after the data (RC4 only; AES pads none). */
	if ((data = malloc(len + 64)) == NULL)
		return -ENOMEM;
	memcpy(data, plain, len);
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE;
	iov[0].buffer.value = NULL;
	iov[0].buffer.length = 0;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.value = data;
	iov[1].buffer.length = len;
	iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING | GSS_IOV_BUFFER_FLAG_ALLOCATE;
	iov[2].buffer.value = NULL;
	iov[2].buffer.length = 0;
	major = gss_wrap_iov(&minor, ctx->gss, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
	if (GSS_ERROR(major)) {
		auth_gss_log_status("cannot encrypt the reply", ctx->mech, major,
		    minor);
		goto out;
	}
	if (!conf || (pad = iov[2].buffer.length) > 64)
		goto out;
	if (pad > 0)
		memcpy(data + len, iov[2].buffer.value, pad);
	rc = multipart_encode(form, "application/soap+xml",
	    charset != NULL ? charset : "UTF-16", len, iov[0].buffer.value,
	    iov[0].buffer.length, data, len + pad, body);
	if (rc == 0)
		*content_type = multipart_content_type(form->protocol);
out:
	gss_release_iov_buffer(&minor, iov, 3);
	free(data);
	return rc;
}
