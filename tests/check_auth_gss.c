/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Kerberos acceptor against a real MIT KDC (tests/krb5/kdc.sh), with client
 * contexts made here by gss_init_sec_context from the WIN10$/WIN11$ keytabs
 * and bodies framed the way Windows (no tab) and pywinrm (tab) frame them.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <openssl/evp.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "harness.h"
#include "multipart.h"

static char *kdc_dir;
static char keytab_collector[4096], keytab_win10[4096], keytab_win11[4096];

static gss_OID_desc krb5_oid = { 9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };
static gss_OID_desc spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };

#define WIN_FLAGS (GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | \
    GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG)

struct client {
	gss_cred_id_t	cred;
	gss_ctx_id_t	ctx;
	gss_name_t	target;
	gss_OID		mech;
	OM_uint32	flags;
};

static void
client_open(struct client *cl, const char *keytab, const char *princ,
    const char *target, gss_OID mech, OM_uint32 flags)
{
	static int nccache;
	char ccache[64];
	OM_uint32 major, minor;
	gss_buffer_desc nb;
	gss_name_t name;
	gss_OID_set_desc mechs = { 1, mech };

	/* A fresh memory ccache per client, so each one asks the KDC itself. */
	snprintf(ccache, sizeof(ccache), "MEMORY:client%d", ++nccache);
	gss_key_value_element_desc el[2] = {
		{ "client_keytab", keytab }, { "ccache", ccache },
	};
	gss_key_value_set_desc store = { 2, el };

	memset(cl, 0, sizeof(*cl));
	nb.value = (void *)princ;
	nb.length = strlen(princ);
	major = gss_import_name(&minor, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
	ck_assert(!GSS_ERROR(major));
	major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs,
	    GSS_C_INITIATE, &store, &cl->cred, NULL, NULL);
	ck_assert_msg(!GSS_ERROR(major), "client creds 0x%x/%u", major, minor);
	gss_release_name(&minor, &name);
	nb.value = (void *)target;
	nb.length = strlen(target);
	major = gss_import_name(&minor, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &cl->target);
	ck_assert(!GSS_ERROR(major));
	cl->ctx = GSS_C_NO_CONTEXT;
	cl->mech = mech;
	cl->flags = flags;
}

static void
client_close(struct client *cl)
{
	OM_uint32 minor;

	gss_delete_sec_context(&minor, &cl->ctx, GSS_C_NO_BUFFER);
	gss_release_cred(&minor, &cl->cred);
	gss_release_name(&minor, &cl->target);
}

/* One init_sec_context step; returns "Scheme <base64>" (malloc'd) or NULL. */
static char *
client_step(struct client *cl, const char *scheme, const char *reply_header,
    OM_uint32 *major_out)
{
	gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor;
	unsigned char *tok = NULL;
	char *hdr = NULL;

	if (reply_header != NULL) {
		const char *b64 = strchr(reply_header, ' ') + 1;
		size_t n = strlen(b64);
		int r;

		tok = malloc(n);
		r = EVP_DecodeBlock(tok, (const unsigned char *)b64, (int)n);
		ck_assert_int_gt(r, 0);
		in.value = tok;
		in.length = (size_t)r - (b64[n - 1] == '=') - (b64[n - 2] == '=');
	}
	major = gss_init_sec_context(&minor, cl->cred, &cl->ctx, cl->target,
	    cl->mech, cl->flags, 0, GSS_C_NO_CHANNEL_BINDINGS,
	    reply_header != NULL ? &in : GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
	ck_assert_msg(!GSS_ERROR(major), "init_sec_context 0x%x/%u", major, minor);
	*major_out = major;
	if (out.length > 0) {
		hdr = malloc(strlen(scheme) + 2 + out.length * 2 + 8);
		int k = sprintf(hdr, "%s ", scheme);
		EVP_EncodeBlock((unsigned char *)hdr + k, out.value, (int)out.length);
	}
	gss_release_buffer(&minor, &out);
	free(tok);
	return hdr;
}

/* Full handshake as Windows does it: one pre-emptive token, one reply. */
static struct auth_gss_ctx *
handshake(struct client *cl, const char *scheme, char **principal)
{
	struct auth_gss_ctx *sctx = NULL;
	OM_uint32 major;
	char *www = NULL;
	char *authz = client_step(cl, scheme, NULL, &major);

	ck_assert_ptr_nonnull(authz);
	for (int legs = 0; legs < 4; legs++) {
		free(www);
		ck_assert_int_eq(auth_gss_accept(&sctx, authz, &www, principal), CD_EOK);
		free(authz);
		authz = NULL;
		ck_assert_ptr_nonnull(www);
		ck_assert_msg(strncmp(www, scheme, strlen(scheme)) == 0 &&
		    www[strlen(scheme)] == ' ', "reply scheme %s", www);
		if (*principal != NULL)
			break;
		authz = client_step(cl, scheme, www, &major);
	}
	ck_assert_ptr_nonnull(*principal);
	ck_assert(auth_gss_ctx_established(sctx));
	if (major & GSS_S_CONTINUE_NEEDED) {
		authz = client_step(cl, scheme, www, &major);
		free(authz);
	}
	ck_assert_int_eq(major, GSS_S_COMPLETE);
	free(www);
	return sctx;
}

/* Client-side wrap exactly as Windows: EncryptMessage(TOKEN, DATA, PADDING). */
static void
client_wrap(struct client *cl, const uint8_t *plain, size_t n, const char *tab,
    const char *proto, struct buf *body, uint8_t first16[16])
{
	gss_iov_buffer_desc iov[3];
	OM_uint32 major, minor;
	int conf = 0;
	uint8_t *data = malloc(n), le[4];

	memcpy(data, plain, n);
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE;
	iov[0].buffer.length = 0;
	iov[0].buffer.value = NULL;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.length = n;
	iov[1].buffer.value = data;
	iov[2].type = GSS_IOV_BUFFER_TYPE_PADDING | GSS_IOV_BUFFER_FLAG_ALLOCATE;
	iov[2].buffer.length = 0;
	iov[2].buffer.value = NULL;
	major = gss_wrap_iov(&minor, cl->ctx, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
	ck_assert_int_eq(major, GSS_S_COMPLETE);
	ck_assert_int_eq(conf, 1);
	ck_assert_uint_eq(iov[2].buffer.length, 0);
	if (first16 != NULL)
		memcpy(first16, iov[0].buffer.value, 16);
	le[0] = (uint8_t)iov[0].buffer.length;
	le[1] = le[2] = le[3] = 0;
	buf_init(body, 0);
	buf_printf(body, "--Encrypted Boundary\r\n"
	    "%sContent-Type: %s\r\n"
	    "%sOriginalContent: type=application/soap+xml;charset=UTF-16;Length=%zu\r\n"
	    "--Encrypted Boundary\r\n"
	    "%sContent-Type: application/octet-stream\r\n", tab, proto, tab, n, tab);
	buf_append(body, le, 4);
	buf_append(body, iov[0].buffer.value, iov[0].buffer.length);
	buf_append(body, data, n);
	buf_puts(body, "--Encrypted Boundary--\r\n");
	gss_release_iov_buffer(&minor, iov, 3);
	free(data);
}

/* Client-side decrypt of a reply, the way pywinrm/openwec do. */
static uint8_t *
client_unwrap(struct client *cl, enum multipart_protocol proto,
    const struct buf *body, size_t *n, uint8_t *flags_out)
{
	struct multipart_msg m;
	gss_iov_buffer_desc iov[2];
	OM_uint32 major, minor;
	int conf = 0;

	ck_assert_int_eq(multipart_decode(proto, body->data, body->len, &m), CD_EOK);
	uint8_t *hdr = malloc(m.header_len), *data = malloc(m.data_len + 1);
	memcpy(hdr, m.header, m.header_len);
	memcpy(data, m.data, m.data_len);
	*flags_out = hdr[2];
	iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
	iov[0].buffer.value = hdr;
	iov[0].buffer.length = m.header_len;
	iov[1].type = GSS_IOV_BUFFER_TYPE_DATA;
	iov[1].buffer.value = data;
	iov[1].buffer.length = m.data_len;
	major = gss_unwrap_iov(&minor, cl->ctx, &conf, NULL, iov, 2);
	ck_assert_msg(major == GSS_S_COMPLETE, "client unwrap 0x%x/%u", major, minor);
	ck_assert_int_eq(conf, 1);
	ck_assert_uint_eq(m.length, m.data_len);
	*n = m.data_len;
	free(hdr);
	return data;
}

static void
setup(void)
{
	ck_assert_int_eq(auth_gss_init(keytab_collector), CD_EOK);
}

static void
teardown(void)
{
	auth_gss_shutdown();
}

START_TEST(test_windows_kerberos)
{
	struct client cl;
	struct auth_gss_ctx *sctx;
	struct buf body, plain, reply;
	struct multipart_form form;
	char *principal = NULL, *charset = NULL;
	const char *ctype;
	uint8_t first16[16], flags;
	size_t n, rn, got;
	uint8_t *req = (uint8_t *)harness_read_data("wef/enumerate.utf16le.bin", &n);
	uint8_t *resp = (uint8_t *)harness_read_data(
	    "wef/reconstructed/enumerate-response.utf16le.bin", &rn);

	client_open(&cl, keytab_win10, "WIN10$@EXAMPLE.COM",
	    "HTTP/collector.example.com@EXAMPLE.COM", &krb5_oid, WIN_FLAGS);
	sctx = handshake(&cl, "Kerberos", &principal);
	ck_assert_str_eq(principal, "WIN10$@EXAMPLE.COM");
	ck_assert_str_eq(auth_gss_ctx_principal(sctx), "WIN10$@EXAMPLE.COM");

	client_wrap(&cl, req, n, "", "application/HTTP-Kerberos-session-encrypted",
	    &body, first16);
	/* The wrap token header is the one in the capture: 60 bytes, RRC 28. */
	ck_assert_uint_eq(body.len, n + 302);
	static const uint8_t want[8] = { 0x05, 0x04, 0x06, 0xff, 0, 0, 0, 0x1c };
	ck_assert_mem_eq(first16, want, 8);

	buf_init(&plain, 0);
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, "multipart/encrypted;"
	    "protocol=\"application/HTTP-Kerberos-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"", body.data, body.len, &plain,
	    &charset, &form), CD_EOK);
	ck_assert_uint_eq(plain.len, n);
	ck_assert_mem_eq(plain.data, req, n);
	ck_assert_str_eq(charset, "UTF-16");
	ck_assert(!form.tab);
	ck_assert_int_eq(form.protocol, MULTIPART_KERBEROS);

	/* The same body again is a replay. */
	buf_reset(&plain);
	free(charset);
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, "multipart/encrypted;"
	    "protocol=\"application/HTTP-Kerberos-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"", body.data, body.len, &plain,
	    &charset, &form), CD_ECRYPTO);
	ck_assert_ptr_null(charset);
	ck_assert_uint_eq(plain.len, 0);

	buf_init(&reply, 0);
	ck_assert_int_eq(auth_gss_wrap_body(sctx, &form, "UTF-16", resp, rn,
	    &reply, &ctype), CD_EOK);
	ck_assert_str_eq(ctype, "multipart/encrypted;"
	    "protocol=\"application/HTTP-Kerberos-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"");
	/* Same framing and size arithmetic as the Windows WEC's replies. */
	char digits[24];
	int nd = snprintf(digits, sizeof(digits), "%zu", rn);
	ck_assert_uint_eq(reply.len, rn + 298 + (size_t)nd);
	ck_assert(memcmp(reply.data, "--Encrypted Boundary\r\nContent-Type: "
	    "application/HTTP-Kerberos-session-encrypted\r\n", 67) == 0);
	uint8_t *back = client_unwrap(&cl, MULTIPART_KERBEROS, &reply, &got, &flags);
	ck_assert_uint_eq(got, rn);
	ck_assert_mem_eq(back, resp, rn);
	/* SentByAcceptor | Sealed | AcceptorSubkey, as kerberos-testing.md says. */
	ck_assert_int_eq(flags, 0x07);

	free(back);
	buf_free(&reply);
	buf_free(&plain);
	buf_free(&body);
	free(principal);
	auth_gss_ctx_free(sctx);
	client_close(&cl);
	free(req);
	free(resp);
}
END_TEST

START_TEST(test_spnego_tab_form)
{
	static const char utf16[] = "\xff\xfe<\0s\0/\0>\0";
	struct client cl;
	struct auth_gss_ctx *sctx;
	struct buf body, plain, reply;
	struct multipart_form form;
	char *principal = NULL, *charset = NULL;
	const char *ctype;
	uint8_t flags;
	size_t got;

	client_open(&cl, keytab_win11, "WIN11$@EXAMPLE.COM",
	    "HOST/collector.example.com@EXAMPLE.COM", &spnego_oid, WIN_FLAGS);
	sctx = handshake(&cl, "Negotiate", &principal);
	ck_assert_str_eq(principal, "WIN11$@EXAMPLE.COM");
	client_wrap(&cl, (const uint8_t *)utf16, 10, "\t",
	    "application/HTTP-SPNEGO-session-encrypted", &body, NULL);
	buf_init(&plain, 0);
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, "multipart/encrypted;"
	    "protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"", body.data, body.len, &plain,
	    &charset, &form), CD_EOK);
	ck_assert_mem_eq(plain.data, utf16, 10);
	ck_assert(form.tab);
	ck_assert_int_eq(form.protocol, MULTIPART_SPNEGO);

	buf_init(&reply, 0);
	ck_assert_int_eq(auth_gss_wrap_body(sctx, &form, NULL, plain.data,
	    plain.len, &reply, &ctype), CD_EOK);
	ck_assert_str_eq(ctype, multipart_content_type(MULTIPART_SPNEGO));
	/* pywinrm strips exactly this line. */
	ck_assert(memmem(reply.data, reply.len,
	    "\tContent-Type: application/octet-stream\r\n", 41) != NULL);
	ck_assert(memmem(reply.data, reply.len, "charset=UTF-16;Length=10\r\n", 26)
	    != NULL);
	uint8_t *back = client_unwrap(&cl, MULTIPART_SPNEGO, &reply, &got, &flags);
	ck_assert_uint_eq(got, 10);
	ck_assert_mem_eq(back, utf16, 10);

	free(back);
	free(charset);
	buf_free(&reply);
	buf_free(&plain);
	buf_free(&body);
	free(principal);
	auth_gss_ctx_free(sctx);
	client_close(&cl);
}
END_TEST

START_TEST(test_negotiate_raw_krb5_pywinrm_flags)
{
	struct client cl;
	struct auth_gss_ctx *sctx;
	char *principal = NULL;

	/* pywinrm: Negotiate carrying a raw krb5 token, mutual+sequence only. */
	client_open(&cl, keytab_win10, "WIN10$@EXAMPLE.COM",
	    "HTTP/collector.example.com@EXAMPLE.COM", &krb5_oid,
	    GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG);
	sctx = handshake(&cl, "Negotiate", &principal);
	ck_assert_str_eq(principal, "WIN10$@EXAMPLE.COM");
	free(principal);
	auth_gss_ctx_free(sctx);
	client_close(&cl);
}
END_TEST

START_TEST(test_new_token_restarts)
{
	struct client a, b;
	struct auth_gss_ctx *sctx;
	char *principal = NULL, *www = NULL, *p2 = NULL;
	OM_uint32 major;

	client_open(&a, keytab_win10, "WIN10$@EXAMPLE.COM",
	    "HTTP/collector.example.com@EXAMPLE.COM", &krb5_oid, WIN_FLAGS);
	sctx = handshake(&a, "Kerberos", &principal);
	client_open(&b, keytab_win11, "WIN11$@EXAMPLE.COM",
	    "HTTP/collector.example.com@EXAMPLE.COM", &krb5_oid, WIN_FLAGS);
	char *authz = client_step(&b, "Kerberos", NULL, &major);
	ck_assert_int_eq(auth_gss_accept(&sctx, authz, &www, &p2), CD_EOK);
	ck_assert_str_eq(p2, "WIN11$@EXAMPLE.COM");
	ck_assert_str_eq(auth_gss_ctx_principal(sctx), "WIN11$@EXAMPLE.COM");
	free(authz);
	free(www);
	free(p2);
	free(principal);
	auth_gss_ctx_free(sctx);
	client_close(&a);
	client_close(&b);
}
END_TEST

START_TEST(test_bad_tokens)
{
	static const char *const bad[] = {
		"Kerberos !!!notbase64!!!",
		"Kerberos YWJjZA==",		/* "abcd": not a GSS token */
		"Negotiate YIIH9AYJKoZIhvcSAQICAQBuggfjMIIH36ADAgEFoQMCAQ6iBwMFACAAAACjggYO",
		"Basic V0lOMTAkOnNlY3JldA==",
		"Kerberos",
		"",
		/* NTLM NEGOTIATE_MESSAGE under Negotiate, and the NTLM scheme. */
		"Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
		"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
	};
	struct auth_gss_ctx *sctx = NULL;
	struct buf plain;
	struct multipart_form form;
	char *www, *principal, *charset;
	const char *ctype;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(auth_gss_accept(&sctx, bad[i], &www, &principal) ==
		    CD_EAUTH, "accepted %s", bad[i]);
		ck_assert_ptr_null(www);
		ck_assert_ptr_null(principal);
		ck_assert(!auth_gss_ctx_established(sctx));
	}
	buf_init(&plain, 0);
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, "multipart/encrypted",
	    (const uint8_t *)"x", 1, &plain, &charset, &form), CD_EAUTH);
	ck_assert_int_eq(auth_gss_wrap_body(sctx, &form, NULL,
	    (const uint8_t *)"x", 1, &plain, &ctype), CD_EAUTH);
	auth_gss_ctx_free(sctx);
	auth_gss_ctx_free(NULL);
}
END_TEST

START_TEST(test_tampered_bodies)
{
	static const char ct[] = "multipart/encrypted;"
	    "protocol=\"application/HTTP-Kerberos-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"";
	struct client cl;
	struct auth_gss_ctx *sctx;
	struct buf body, plain;
	struct multipart_form form;
	char *principal = NULL, *charset = NULL;
	size_t n;
	uint8_t *req = (uint8_t *)harness_read_data("wef/enumerate.utf16le.bin", &n);

	client_open(&cl, keytab_win10, "WIN10$@EXAMPLE.COM",
	    "HTTP/collector.example.com@EXAMPLE.COM", &krb5_oid, WIN_FLAGS);
	sctx = handshake(&cl, "Kerberos", &principal);
	buf_init(&plain, 0);

	/* One flipped ciphertext bit. */
	client_wrap(&cl, req, n, "", "application/HTTP-Kerberos-session-encrypted",
	    &body, NULL);
	body.data[body.len - 24 - 100] ^= 1;
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, ct, body.data, body.len,
	    &plain, &charset, &form), CD_ECRYPTO);
	ck_assert_uint_eq(plain.len, 0);
	buf_free(&body);

	/* Plain SOAP instead of multipart/encrypted. */
	ck_assert_int_eq(auth_gss_unwrap_body(sctx,
	    "application/soap+xml;charset=UTF-16", req, n, &plain, &charset,
	    &form), CD_EUNSUPPORTED);

	/* A wrong Length: the framing no longer adds up. */
	client_wrap(&cl, req, n, "", "application/HTTP-Kerberos-session-encrypted",
	    &body, NULL);
	char *l = memmem(body.data, body.len, "Length=3240", 11);
	ck_assert_ptr_nonnull(l);
	l[10] = '1';
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, ct, body.data, body.len,
	    &plain, &charset, &form), CD_EPARSE);
	buf_free(&body);

	/* A plaintext cap smaller than the body. */
	struct buf small;
	buf_init(&small, 100);
	client_wrap(&cl, req, n, "", "application/HTTP-Kerberos-session-encrypted",
	    &body, NULL);
	ck_assert_int_eq(auth_gss_unwrap_body(sctx, ct, body.data, body.len,
	    &small, &charset, &form), CD_ETOOBIG);
	buf_free(&body);
	buf_free(&small);

	buf_free(&plain);
	free(principal);
	auth_gss_ctx_free(sctx);
	client_close(&cl);
	free(req);
}
END_TEST

START_TEST(test_init_bad_keytab)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/missing.keytab", kdc_dir);
	ck_assert_int_eq(auth_gss_init(path), CD_ECONFIG);
	ck_assert_int_eq(auth_gss_init(keytab_collector), CD_EOK);
}
END_TEST

int
main(void)
{
	const char *top = getenv("top_srcdir");
	char cmd[8192], path[4200];
	int rc;

	kdc_dir = harness_mkdtemp();
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/krb5/kdc.sh' start '%s'",
	    top ? top : ".", kdc_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot start the test KDC\n");
		harness_rmdir_rf(kdc_dir);
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof(path), "%s/krb5.conf", kdc_dir);
	setenv("KRB5_CONFIG", path, 1);
	snprintf(path, sizeof(path), "%s/kdc.conf", kdc_dir);
	setenv("KRB5_KDC_PROFILE", path, 1);
	snprintf(path, sizeof(path), "%s/rcache", kdc_dir);
	setenv("KRB5RCACHEDIR", path, 1);
	snprintf(path, sizeof(path), "FILE:%s/ccache", kdc_dir);
	setenv("KRB5CCNAME", path, 1);
	snprintf(keytab_collector, sizeof(keytab_collector), "%s/collector.keytab", kdc_dir);
	snprintf(keytab_win10, sizeof(keytab_win10), "%s/win10.keytab", kdc_dir);
	snprintf(keytab_win11, sizeof(keytab_win11), "%s/win11.keytab", kdc_dir);

	Suite *s = suite_create("auth_gss");
	TCase *tc = tcase_create("kdc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_windows_kerberos);
	tcase_add_test(tc, test_spnego_tab_form);
	tcase_add_test(tc, test_negotiate_raw_krb5_pywinrm_flags);
	tcase_add_test(tc, test_new_token_restarts);
	tcase_add_test(tc, test_bad_tokens);
	tcase_add_test(tc, test_tampered_bodies);
	tcase_add_test(tc, test_init_bad_keytab);
	suite_add_tcase(s, tc);
	rc = harness_run(s);

	snprintf(cmd, sizeof(cmd), "sh '%s/tests/krb5/kdc.sh' stop '%s'",
	    top ? top : ".", kdc_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot stop the test KDC\n");
	harness_rmdir_rf(kdc_dir);
	free(kdc_dir);
	return rc;
}
