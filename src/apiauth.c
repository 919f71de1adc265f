/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "api.h"
#include "err.h"
#include "log.h"

/*
 * Only digests are kept: the raw tokens never stay in memory, and comparing
 * fixed-size digests hides the length of the tokens from a timing observer.
 */
struct api_tokens {
	unsigned char	(*digest)[SHA256_DIGEST_LENGTH];
	size_t		  n;
};

static int apiauth_add(struct api_tokens *, const char *, size_t);

/* RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"=" */
static bool
apiauth_b64token(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (strchr("-._~+/", s[i]) != NULL ||
	    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9')) && s[i] != '\0')
		i++;
	if (i == 0)
		return false;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

static int
apiauth_add(struct api_tokens *t, const char *tok, size_t n)
{
	unsigned char (*d)[SHA256_DIGEST_LENGTH];

	d = reallocarray(t->digest, t->n + 1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	t->digest = d;
	if (EVP_Digest(tok, n, d[t->n], NULL, EVP_sha256(), NULL) != 1)
		return CD_ECRYPTO;
	t->n++;
	return CD_EOK;
}

int
apiauth_load(const char *path, struct api_tokens **out)
{
	struct api_tokens *t = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	struct stat st;
	FILE *f;
	int rc = CD_EOK;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return -errno;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
		log_warn("api", "%s: the token file is readable by everyone", path);
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e = line + len;

		lineno++;
		while (s < e && strchr(" \t\r\n", *s) != NULL && *s != '\0')
			s++;
		while (e > s && strchr(" \t\r\n", e[-1]) != NULL && e[-1] != '\0')
			e--;
		if (s == e || *s == '#')
			continue;
		if (!apiauth_b64token(s, (size_t)(e - s))) {
			log_err("api", "%s:%u: not a bearer token (RFC 6750 "
			    "characters, one a line)", path, lineno);
			rc = CD_ECONFIG;
			goto out;
		}
		if (e - s < 16)
			log_warn("api", "%s:%u: a token shorter than 16 "
			    "characters is easy to guess", path, lineno);
		if ((rc = apiauth_add(t, s, (size_t)(e - s))) != CD_EOK)
			goto out;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	if (t->n == 0) {
		log_err("api", "%s: no tokens in the file", path);
		rc = CD_ECONFIG;
		goto out;
	}
	*out = t;
	t = NULL;
out:
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(f);
	apiauth_free(t);
	return rc;
}

void
apiauth_free(struct api_tokens *t)
{
	if (t == NULL)
		return;
	free(t->digest);
	free(t);
}

size_t
apiauth_count(const struct api_tokens *t)
{
	return t != NULL ? t->n : 0;
}

int
apiauth_check(const struct api_tokens *t, const char *authorization)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	const char *s = authorization;
	size_t n;
	int match = 0;

	/* RFC 6750 section 2.1: "Bearer" 1*SP b64token; the scheme is
	 * case-insensitive (RFC 7235 section 2.1). */
	if (s == NULL || strncasecmp(s, "Bearer", 6) != 0 || s[6] != ' ')
		return -ENOENT;
	s += 6;
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || !apiauth_b64token(s, n))
		return CD_EAUTH;
	if (EVP_Digest(s, n, d, NULL, EVP_sha256(), NULL) != 1)
		return CD_EAUTH;
	/* Try every token, so the time taken does not tell which matched. */
	for (size_t i = 0; t != NULL && i < t->n; i++)
		match |= CRYPTO_memcmp(d, t->digest[i], sizeof(d)) == 0;
	OPENSSL_cleanse(d, sizeof(d));
	return match ? CD_EOK : CD_EAUTH;
}

bool
apiauth_loopback(const char *listen)
{
	char host[64];
	const char *end;
	unsigned char a[16];
	size_t n;

	if (listen == NULL)
		return false;
	if (*listen == '[') {
		listen++;
		end = strchr(listen, ']');
	} else if ((end = strrchr(listen, ':')) != NULL &&
	    strchr(listen, ':') != end)
		end = listen + strlen(listen);	/* a bare IPv6 address */
	if (end == NULL)
		end = listen + strlen(listen);
	n = (size_t)(end - listen);
	if (n == 0 || n >= sizeof(host))
		return false;	/* no address: all interfaces */
	memcpy(host, listen, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return false;
}
