/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Kerberos initiator side of collectord-loadgen, shaped like the
 * Windows forwarder (wef-protocol.md 3.1): raw krb5 mechanism under the
 * HTTP scheme "Kerberos", mutual authentication on a pre-emptive empty
 * POST, then every body wrapped with gss_wrap_iov(HEADER, DATA, PADDING)
 * (no TRAILER, so MIT puts E(header)+checksum into the header buffer with
 * RRC 28, the layout of SSPI EncryptMessage) in the no-tab multipart
 * framing. The daemon's acceptor lives in auth_gss.c.
 */
#include "config.h"

#include <errno.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loadgen.h"
#include "log.h"
#include "multipart.h"

struct lg_gss_cred {
	gss_cred_id_t cred;
};

struct lg_gss_ctx {
	gss_ctx_id_t ctx;
	gss_name_t target;
	gss_cred_id_t cred;	/**< borrowed */
};

static void
lg_gss_log(const char *what, OM_uint32 maj, OM_uint32 min)
{
	OM_uint32 m, ctx = 0;
	gss_buffer_desc s = GSS_C_EMPTY_BUFFER;

	gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &s);
	log_warn("loadgen", "%s: %.*s (minor %u)", what, (int)s.length,
	    (const char *)s.value, min);
	gss_release_buffer(&m, &s);
}

int
lg_gss_cred_new(struct lg_gss_cred **out, const char *principal,
    const char *keytab)
{
	static _Atomic unsigned seq;
	char ccache[64];
	gss_key_value_element_desc el[2] = {
		{ "client_keytab", keytab },
		{ "ccache", ccache },
	};
	gss_key_value_set_desc store = { 2, el };
	gss_buffer_desc nb = { strlen(principal), (void *)principal };
	gss_name_t name = GSS_C_NO_NAME;
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	struct lg_gss_cred *c;
	OM_uint32 maj, min;
	int rc = CD_EAUTH;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	/* A private memory ccache per host: its TGT and tickets only. */
	snprintf(ccache, sizeof(ccache), "MEMORY:loadgen-%u",
	    atomic_fetch_add(&seq, 1));
	maj = gss_import_name(&min, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
	if (GSS_ERROR(maj)) {
		lg_gss_log("gss_import_name", maj, min);
		goto fail;
	}
	maj = gss_acquire_cred_from(&min, name, GSS_C_INDEFINITE, &mechs,
	    GSS_C_INITIATE, &store, &c->cred, NULL, NULL);
	gss_release_name(&min, &name);
	if (GSS_ERROR(maj)) {
		lg_gss_log(principal, maj, min);
		goto fail;
	}
	*out = c;
	return CD_EOK;
fail:
	free(c);
	return rc;
}

void
lg_gss_cred_free(struct lg_gss_cred *c)
{
	OM_uint32 min;

	if (c == NULL)
		return;
	gss_release_cred(&min, &c->cred);
	free(c);
}

static int
lg_gss_step(struct lg_gss_ctx *x, gss_buffer_t in, char **b64)
{
	gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
	OM_uint32 maj, min, flags = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG |
	    GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG;
	int rc = CD_EOK;

	maj = gss_init_sec_context(&min, x->cred, &x->ctx, x->target,
	    (gss_OID)gss_mech_krb5, flags, 0, GSS_C_NO_CHANNEL_BINDINGS, in,
	    NULL, &tok, NULL, NULL);
	if (GSS_ERROR(maj)) {
		lg_gss_log("gss_init_sec_context", maj, min);
		return CD_EAUTH;
	}
	if (b64 != NULL) {
		if (tok.length == 0 || (*b64 = malloc(4 * (tok.length / 3 + 1) +
		    1)) == NULL)
			rc = tok.length == 0 ? CD_EAUTH : -ENOMEM;
		else
			EVP_EncodeBlock((unsigned char *)*b64, tok.value,
			    (int)tok.length);
	} else if (maj != GSS_S_COMPLETE) {
		rc = CD_EAUTH;	/* mutual authentication must finish now */
	}
	gss_release_buffer(&min, &tok);
	return rc;
}

int
lg_gss_ctx_new(struct lg_gss_ctx **out, struct lg_gss_cred *c,
    const char *spn, char **token)
{
	struct lg_gss_ctx *x;
	gss_buffer_desc nb = { strlen(spn), (void *)spn };
	OM_uint32 maj, min;
	int rc;

	*out = NULL;
	*token = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -ENOMEM;
	x->ctx = GSS_C_NO_CONTEXT;
	x->cred = c->cred;
	maj = gss_import_name(&min, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &x->target);
	if (GSS_ERROR(maj)) {
		lg_gss_log("gss_import_name", maj, min);
		free(x);
		return CD_EAUTH;
	}
	if ((rc = lg_gss_step(x, GSS_C_NO_BUFFER, token)) != CD_EOK) {
		lg_gss_ctx_free(x);
		return rc;
	}
	*out = x;
	return CD_EOK;
}

int
lg_gss_ctx_finish(struct lg_gss_ctx *x, const char *b64)
{
	size_t n = strlen(b64);
	unsigned char *raw;
	gss_buffer_desc in;
	int len, rc;

	if (n == 0 || n % 4 != 0 || (raw = malloc(n)) == NULL)
		return n == 0 || n % 4 != 0 ? CD_EPARSE : -ENOMEM;
	len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		free(raw);
		return CD_EPARSE;
	}
	/* EVP_DecodeBlock counts the bytes of '=' padding. */
	len -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
	in.length = (size_t)len;
	in.value = raw;
	rc = lg_gss_step(x, &in, NULL);
	free(raw);
	return rc;
}

void
lg_gss_ctx_free(struct lg_gss_ctx *x)
{
	OM_uint32 min;

	if (x == NULL)
		return;
	if (x->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &x->ctx, GSS_C_NO_BUFFER);
	gss_release_name(&min, &x->target);
	free(x);
}

int
lg_gss_wrap(struct lg_gss_ctx *x, const uint8_t *plain, size_t len,
    struct buf *out)
{
	static const struct multipart_form form = { MULTIPART_KERBEROS, false };
	gss_iov_buffer_desc iov[3];
	OM_uint32 maj, min;
	int conf = 0, rc;
	uint8_t *data;

	/* gss_wrap_iov encrypts in place: work on a copy. */
	if ((data = malloc(len ? len : 1)) == NULL)
		return -ENOMEM;
	memcpy(data, plain, len);
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE;
	iov[0].buffer = (gss_buffer_desc)GSS_C_EMPTY_BUFFER;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.length = len;
	iov[1].buffer.value = data;
	iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING | GSS_IOV_BUFFER_FLAG_ALLOCATE;
	iov[2].buffer = (gss_buffer_desc)GSS_C_EMPTY_BUFFER;
	maj = gss_wrap_iov(&min, x->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
	if (GSS_ERROR(maj) || !conf) {
		lg_gss_log("gss_wrap_iov", maj, min);
		rc = CD_ECRYPTO;
		goto out;
	}
	if (iov[2].buffer.length != 0) {
		/* Only AES (no padding) is framed the way Windows does it. */
		rc = CD_EUNSUPPORTED;
		goto out;
	}
	rc = multipart_encode(&form, "application/soap+xml", "UTF-16", len,
	    iov[0].buffer.value, iov[0].buffer.length, data, len, out);
out:
	gss_release_iov_buffer(&min, iov, 3);
	free(data);
	return rc;
}

int
lg_gss_unwrap(struct lg_gss_ctx *x, const uint8_t *body, size_t len,
    struct buf *out)
{
	struct multipart_msg msg;
	gss_iov_buffer_desc iov[2];
	OM_uint32 maj, min;
	int conf = 0, rc;
	size_t off;
	void *hdr;

	if ((rc = multipart_decode(MULTIPART_KERBEROS, body, len, &msg)) != CD_EOK)
		return rc;
	off = out->len;
	if ((rc = buf_append(out, msg.data, msg.data_len)) != CD_EOK)
		return rc;
	/* MIT may rotate the header in place: give it a copy. */
	if ((hdr = malloc(msg.header_len ? msg.header_len : 1)) == NULL)
		return -ENOMEM;
	memcpy(hdr, msg.header, msg.header_len);
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
	iov[0].buffer.length = msg.header_len;
	iov[0].buffer.value = hdr;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.length = msg.data_len;
	iov[1].buffer.value = out->data + off;
	maj = gss_unwrap_iov(&min, x->ctx, &conf, NULL, iov, 2);
	free(hdr);
	if (GSS_ERROR(maj) || !conf) {
		lg_gss_log("gss_unwrap_iov", maj, min);
		return CD_ECRYPTO;
	}
	out->len = off + iov[1].buffer.length;
	return CD_EOK;
}
