/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Certificate work for mutual TLS, with OpenSSL: the SHA-1 thumbprints that
 * Windows' IssuerCA= setting and the subscription policy name, subject CNs
 * (the source identity) and verification of a client chain that the
 * listener's TLS library hands over as DER.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "auth.h"
#include "err.h"
#include "log.h"

struct auth_tls_cas {
	X509_STORE	*store;
};

static void
auth_tls_hex(const unsigned char *md, unsigned int n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
auth_tls_thumbprint(X509 *x, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	/* The digest of the DER encoding: what Windows calls the thumbprint. */
	if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n != 20)
		return CD_ECRYPTO;
	auth_tls_hex(md, n, out);
	return CD_EOK;
}

/*
 * Read every certificate of a PEM file. The loop ends on "no start line"
 * (end of file, or trailing non-PEM text); any other error is a broken
 * certificate.
 */
static int
auth_tls_read_pem(const char *path, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	FILE *f;
	X509 *x;
	int rc = CD_EPARSE;

	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	if ((sk = sk_X509_new_null()) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			rc = -ENOMEM;
			goto fail;
		}
	}
	unsigned long e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		log_warn("auth", "%s: broken certificate: %s", path,
		    ERR_reason_error_string(e));
		goto fail;
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		log_warn("auth", "%s: no certificate", path);
		goto fail;
	}
	fclose(f);
	*out = sk;
	return CD_EOK;
fail:
	ERR_clear_error();
	fclose(f);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int
auth_tls_thumbprint_file(const char *pem_path, char ***thumbs, size_t *n)
{
	STACK_OF(X509) *sk = NULL;
	char **t = NULL;
	size_t i = 0, cnt;
	int rc;

	*thumbs = NULL;
	*n = 0;
	if ((rc = auth_tls_read_pem(pem_path, &sk)) != 0)
		return rc;
	cnt = (size_t)sk_X509_num(sk);
	if ((t = calloc(cnt, sizeof(*t))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < cnt; i++) {
		if ((t[i] = malloc(41)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		if ((rc = auth_tls_thumbprint(sk_X509_value(sk, (int)i), t[i])) != 0) {
			i++;
			goto fail;
		}
	}
	sk_X509_pop_free(sk, X509_free);
	*thumbs = t;
	*n = cnt;
	return CD_EOK;
fail:
	auth_tls_thumbprints_free(t, i);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

void
auth_tls_thumbprints_free(char **thumbs, size_t n)
{
	if (thumbs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(thumbs[i]);
	free(thumbs);
}

/* DER, or PEM when it starts like PEM. */
static X509 *
auth_tls_parse(const uint8_t *data, size_t len)
{
	static const char pem[] = "-----BEGIN";
	X509 *x = NULL;

	if (len > INT32_MAX)
		return NULL;
	if (len >= sizeof(pem) - 1 && memcmp(data, pem, sizeof(pem) - 1) == 0) {
		BIO *b = BIO_new_mem_buf(data, (int)len);

		if (b != NULL)
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		const unsigned char *p = data;

		x = d2i_X509(NULL, &p, (long)len);
		/* Trailing bytes mean this was not one certificate. */
		if (x != NULL && p != data + len) {
			X509_free(x);
			x = NULL;
		}
	}
	ERR_clear_error();
	return x;
}

int
auth_tls_thumbprint_der(const uint8_t *der, size_t len, char out[41])
{
	X509 *x = auth_tls_parse(der, len);
	int rc;

	if (x == NULL)
		return CD_EPARSE;
	rc = auth_tls_thumbprint(x, out);
	X509_free(x);
	return rc;
}

static int
auth_tls_cn(X509 *x, char **cn)
{
	X509_NAME *name = X509_get_subject_name(x);
	int idx = -1, last = -1;
	unsigned char *utf8 = NULL;
	int n;

	*cn = NULL;
	/* With several CNs, the last is the most specific (as RFC 6125 tools do). */
	while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
		last = idx;
	if (last < 0)
		return CD_ENOTFOUND;
	n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	if (n < 0)
		return CD_EPARSE;
	if (n == 0 || strlen((char *)utf8) != (size_t)n) {
		OPENSSL_free(utf8);
		return CD_EAUTH;
	}
	*cn = strdup((char *)utf8);
	OPENSSL_free(utf8);
	return *cn != NULL ? CD_EOK : -ENOMEM;
}

int
auth_tls_subject_cn(const uint8_t *der, size_t len, char **cn)
{
	X509 *x = auth_tls_parse(der, len);
	int rc;

	*cn = NULL;
	if (x == NULL)
		return CD_EPARSE;
	rc = auth_tls_cn(x, cn);
	X509_free(x);
	return rc;
}

int
auth_tls_cas_load(struct auth_tls_cas **out, const char *const *pem_paths,
    size_t n)
{
	struct auth_tls_cas *cas;
	int rc = -ENOMEM;

	*out = NULL;
	if ((cas = calloc(1, sizeof(*cas))) == NULL)
		return -ENOMEM;
	if ((cas->store = X509_STORE_new()) == NULL)
		goto fail;
	/*
	 * IssuerCA names the CA directly above the client certificate, which
	 * may be an intermediate: a configured intermediate is a trust anchor
	 * on its own, without its root.
	 */
	X509_STORE_set_flags(cas->store, X509_V_FLAG_PARTIAL_CHAIN);
	for (size_t i = 0; i < n; i++) {
		STACK_OF(X509) *sk;

		if ((rc = auth_tls_read_pem(pem_paths[i], &sk)) != 0)
			goto fail;
		for (int j = 0; j < sk_X509_num(sk); j++) {
			if (X509_STORE_add_cert(cas->store, sk_X509_value(sk, j)) != 1) {
				/* A duplicate across files is harmless. */
				ERR_clear_error();
			}
		}
		sk_X509_pop_free(sk, X509_free);
	}
	*out = cas;
	return CD_EOK;
fail:
	auth_tls_cas_free(cas);
	return rc;
}

void
auth_tls_cas_free(struct auth_tls_cas *cas)
{
	if (cas == NULL)
		return;
	X509_STORE_free(cas->store);
	free(cas);
}

int
auth_tls_verify(const struct auth_tls_cas *cas, const uint8_t *const *chain,
    const size_t *chain_len, size_t chain_n, char **cn, char issuer[41])
{
	X509_STORE_CTX *vctx = NULL;
	STACK_OF(X509) *untrusted = NULL, *built;
	X509 *leaf = NULL;
	int rc = CD_EPARSE;

	*cn = NULL;
	issuer[0] = '\0';
	if (chain_n == 0 || (leaf = auth_tls_parse(chain[0], chain_len[0])) == NULL)
		return CD_EPARSE;
	if ((untrusted = sk_X509_new_null()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 1; i < chain_n; i++) {
		X509 *x = auth_tls_parse(chain[i], chain_len[i]);

		if (x == NULL)
			goto out;
		if (sk_X509_push(untrusted, x) == 0) {
			X509_free(x);
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((vctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(vctx, cas->store, leaf, untrusted) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	/* Client certificates must allow clientAuth (when they carry an EKU). */
	X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(vctx) != 1) {
		int e = X509_STORE_CTX_get_error(vctx);
		char *subj = X509_NAME_oneline(X509_get_subject_name(leaf), NULL, 0);

		log_warn("auth", "client certificate %s refused: %s",
		    subj != NULL ? subj : "?", X509_verify_cert_error_string(e));
		OPENSSL_free(subj);
		rc = CD_EAUTH;
		goto out;
	}
	built = X509_STORE_CTX_get0_chain(vctx);
	/* A self-issued leaf that is itself trusted is its own issuer. */
	X509 *iss = sk_X509_value(built, sk_X509_num(built) > 1 ? 1 : 0);
	if ((rc = auth_tls_thumbprint(iss, issuer)) != 0)
		goto out;
	rc = auth_tls_cn(leaf, cn);
	if (rc == CD_ENOTFOUND)
		rc = CD_EAUTH;
out:
	if (rc != 0)
		issuer[0] = '\0';
	ERR_clear_error();
	X509_STORE_CTX_free(vctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	return rc;
}
