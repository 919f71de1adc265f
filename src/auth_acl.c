/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Who a source is and what it may claim: the host name behind a Kerberos
 * principal or certificate CN, the rule that ties an event's Computer to
 * it (design.md, Identities), and the enrolment patterns of subscriptions.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "err.h"

int
auth_identity_host(const char *principal_or_cn, char **host)
{
	const char *s = principal_or_cn, *end, *slash;
	size_t n;
	char *h;

	*host = NULL;
	if (s == NULL)
		return CD_EPARSE;
	/* Drop the realm: "WIN10$@EXAMPLE.COM". */
	end = strchr(s, '@');
	if (end == NULL)
		end = s + strlen(s);
	/* A service principal "host/win10.example.com": keep the instance. */
	slash = memchr(s, '/', (size_t)(end - s));
	if (slash != NULL)
		s = slash + 1;
	n = (size_t)(end - s);
	/* A machine account ends in '$'. */
	if (n > 0 && s[n - 1] == '$')
		n--;
	/* A CN or SPN instance may be written with a final root dot. */
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0)
		return CD_EPARSE;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Host names never hold these; a name that does is not a host. */
		if (c <= ' ' || c == '/' || c == '@' || c == '\\' || c == 0x7f)
			return CD_EPARSE;
	}
	if ((h = malloc(n + 1)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		h[i] = (char)tolower((unsigned char)s[i]);
	h[n] = '\0';
	*host = h;
	return CD_EOK;
}

bool
auth_identity_matches_computer(const char *source_host, const char *computer)
{
	size_t sl, cl;

	if (source_host == NULL || computer == NULL || *source_host == '\0' ||
	    *computer == '\0')
		return false;
	if (strcasecmp(source_host, computer) == 0)
		return true;
	/*
	 * Two FQDNs must be equal; otherwise compare first labels, so that a
	 * principal's short name matches the FQDN Windows writes in Computer
	 * and a CN's FQDN matches a short Computer.
	 */
	if (strchr(source_host, '.') != NULL && strchr(computer, '.') != NULL)
		return false;
	sl = strcspn(source_host, ".");
	cl = strcspn(computer, ".");
	return sl == cl && strncasecmp(source_host, computer, sl) == 0;
}

bool
auth_acl_match(const char *pattern, const char *name)
{
	if (pattern == NULL || name == NULL)
		return false;
	return fnmatch(pattern, name, FNM_CASEFOLD) == 0;
}

bool
auth_acl_match_any(const char *const *patterns, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (auth_acl_match(patterns[i], name))
			return true;
	return false;
}
