/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Certificate helpers against a throw-away PKI made by the openssl command
 * line (tests/tls/mkcerts.sh); expected thumbprints come from
 * "openssl x509 -fingerprint -sha1", not from the code under test.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "err.h"
#include "harness.h"

static char *pki;

static const char *
pki_path(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	return path;
}

/* "SHA1 Fingerprint=AB:CD:..." -> "ABCD..." */
static void
openssl_fingerprint(const char *pem, char out[41])
{
	char cmd[4200], line[256];
	size_t k = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -noout -fingerprint -sha1",
	    pem);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	char *eq = strchr(line, '=');
	ck_assert_ptr_nonnull(eq);
	for (char *c = eq + 1; *c != '\0' && *c != '\n' && k < 40; c++)
		if (*c != ':')
			out[k++] = *c;
	out[k] = '\0';
	ck_assert_uint_eq(k, 40);
}

static uint8_t *
pki_read(const char *name, size_t *len)
{
	uint8_t *d = (uint8_t *)harness_read_file(pki_path(name), len);

	ck_assert_msg(d != NULL, "missing %s", pki_path(name));
	return d;
}

START_TEST(test_thumbprint_file)
{
	char want[41], want2[41], **t;
	size_t n;

	openssl_fingerprint(pki_path("ca.pem"), want);
	ck_assert_int_eq(auth_tls_thumbprint_file(pki_path("ca.pem"), &t, &n), CD_EOK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0], want);
	auth_tls_thumbprints_free(t, n);

	/* A bundle: one thumbprint per certificate, in file order. */
	char cmd[8400];
	snprintf(cmd, sizeof(cmd), "cat '%s/ca.pem' '%s/inter.pem' > '%s/bundle.pem'",
	    pki, pki, pki);
	ck_assert_int_eq(system(cmd), 0);
	openssl_fingerprint(pki_path("inter.pem"), want2);
	ck_assert_int_eq(auth_tls_thumbprint_file(pki_path("bundle.pem"), &t, &n),
	    CD_EOK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(t[0], want);
	ck_assert_str_eq(t[1], want2);
	auth_tls_thumbprints_free(t, n);
	auth_tls_thumbprints_free(NULL, 0);

	ck_assert_int_eq(auth_tls_thumbprint_file(pki_path("nonexistent.pem"), &t,
	    &n), -2);
	/* A key file holds no certificate. */
	ck_assert_int_eq(auth_tls_thumbprint_file(pki_path("ca.key"), &t, &n),
	    CD_EPARSE);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_thumbprint_der_and_broken_pem)
{
	char want[41], got[41];
	size_t len;
	uint8_t *der = pki_read("win10.der", &len);

	openssl_fingerprint(pki_path("win10.pem"), want);
	ck_assert_int_eq(auth_tls_thumbprint_der(der, len, got), CD_EOK);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(auth_tls_thumbprint_der(der, len - 1, got), CD_EPARSE);
	free(der);

	/* A PEM block whose base64 body is cut short. */
	size_t plen;
	char *pem = (char *)pki_read("ca.pem", &plen);
	FILE *f = fopen(pki_path("broken.pem"), "w");
	ck_assert_ptr_nonnull(f);
	fwrite(pem, 1, 100, f);
	fputs("\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	char **t;
	size_t n;
	ck_assert_int_eq(auth_tls_thumbprint_file(pki_path("broken.pem"), &t, &n),
	    CD_EPARSE);
	free(pem);
}
END_TEST

START_TEST(test_subject_cn)
{
	size_t len;
	uint8_t *der = pki_read("win10.der", &len);
	char *cn;

	ck_assert_int_eq(auth_tls_subject_cn(der, len, &cn), CD_EOK);
	ck_assert_str_eq(cn, "win10.example.com");
	free(cn);
	free(der);

	uint8_t *pem = pki_read("win11.pem", &len);
	ck_assert_int_eq(auth_tls_subject_cn(pem, len, &cn), CD_EOK);
	ck_assert_str_eq(cn, "win11.example.com");
	free(cn);
	free(pem);

	ck_assert_int_eq(auth_tls_subject_cn((const uint8_t *)"junk", 4, &cn),
	    CD_EPARSE);
	ck_assert_ptr_null(cn);
}
END_TEST

static int
verify(struct auth_tls_cas *cas, const char *leaf, const char *inter,
    char **cn, char issuer[41])
{
	const uint8_t *chain[2];
	size_t lens[2];
	uint8_t *a, *b = NULL;
	int rc;

	a = pki_read(leaf, &lens[0]);
	chain[0] = a;
	if (inter != NULL) {
		b = pki_read(inter, &lens[1]);
		chain[1] = b;
	}
	rc = auth_tls_verify(cas, chain, lens, inter != NULL ? 2 : 1, cn, issuer);
	free(a);
	free(b);
	return rc;
}

START_TEST(test_verify)
{
	const char *files[] = { pki_path("ca.pem") };
	char ca_thumb[41], inter_thumb[41], issuer[41], *cn;
	struct auth_tls_cas *cas;

	files[0] = strdup(files[0]);
	openssl_fingerprint(pki_path("ca.pem"), ca_thumb);
	openssl_fingerprint(pki_path("inter.pem"), inter_thumb);
	ck_assert_int_eq(auth_tls_cas_load(&cas, files, 1), CD_EOK);

	/* Good: identified by CN, issuer is the root that signed it. */
	ck_assert_int_eq(verify(cas, "win10.der", NULL, &cn, issuer), CD_EOK);
	ck_assert_str_eq(cn, "win10.example.com");
	ck_assert_str_eq(issuer, ca_thumb);
	free(cn);

	/* Through an intermediate the client sends: the issuer is the intermediate. */
	ck_assert_int_eq(verify(cas, "win11.pem", "inter.der", &cn, issuer), CD_EOK);
	ck_assert_str_eq(cn, "win11.example.com");
	ck_assert_str_eq(issuer, inter_thumb);
	free(cn);

	/* Without the intermediate the chain is incomplete. */
	ck_assert_int_eq(verify(cas, "win11.der", NULL, &cn, issuer), CD_EAUTH);
	ck_assert_ptr_null(cn);
	ck_assert_str_eq(issuer, "");

	/* Another CA, expired, server-only purpose: all refused. */
	ck_assert_int_eq(verify(cas, "other.der", NULL, &cn, issuer), CD_EAUTH);
	ck_assert_int_eq(verify(cas, "expired.der", NULL, &cn, issuer), CD_EAUTH);
	ck_assert_int_eq(verify(cas, "serveronly.der", NULL, &cn, issuer), CD_EAUTH);
	ck_assert_ptr_null(cn);
	auth_tls_cas_free(cas);
	free((char *)files[0]);

	/* The intermediate alone as the configured CA is enough. */
	files[0] = strdup(pki_path("inter.pem"));
	ck_assert_int_eq(auth_tls_cas_load(&cas, files, 1), CD_EOK);
	ck_assert_int_eq(verify(cas, "win11.der", NULL, &cn, issuer), CD_EOK);
	ck_assert_str_eq(issuer, inter_thumb);
	free(cn);
	ck_assert_int_eq(verify(cas, "win10.der", NULL, &cn, issuer), CD_EAUTH);
	auth_tls_cas_free(cas);
	auth_tls_cas_free(NULL);
	free((char *)files[0]);

	files[0] = pki_path("missing.pem");
	ck_assert_int_eq(auth_tls_cas_load(&cas, files, 1), -2);
	ck_assert_ptr_null(cas);
}
END_TEST

int
main(void)
{
	const char *top = getenv("top_srcdir");
	char cmd[8192];
	int rc;

	pki = harness_mkdtemp();
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/tls/mkcerts.sh' '%s'",
	    top ? top : ".", pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the test certificates\n");
		harness_rmdir_rf(pki);
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("auth_tls");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_thumbprint_file);
	tcase_add_test(tc, test_thumbprint_der_and_broken_pem);
	tcase_add_test(tc, test_subject_cn);
	tcase_add_test(tc, test_verify);
	suite_add_tcase(s, tc);
	rc = harness_run(s);
	harness_rmdir_rf(pki);
	free(pki);
	return rc;
}
