/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Authentication of WEF sources, as the listener sees it.
 *
 * Kerberos (auth_gss.c, MIT krb5 GSSAPI; an SSPI backend could provide the
 * same functions): one security context per TCP connection, established by
 * the Authorization header of the connection's first request (Windows sends
 * it pre-emptively on an empty POST) and then used to decrypt every request
 * body and encrypt every reply body on that connection, in order.
 *
 * Mutual TLS (auth_tls.c, OpenSSL): certificate work only; the TLS session
 * itself belongs to the listener. Identity rules and ACL patterns
 * (auth_acl.c) serve both.
 *
 * Identities: a Kerberos source is its client principal ("WIN10$@EXAMPLE.COM"),
 * a TLS source its certificate's subject CN; auth_identity_host() maps
 * either to the host name events from it may carry.
 */
#ifndef CD_AUTH_H
#define CD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multipart.h"

struct buf;

/*
 * Kerberos
 */

struct auth_gss_ctx;

/**
 * Acquire acceptor credentials for every principal in the keytab (HTTP/fqdn
 * and HOST/fqdn, since newer Windows asks for HOST/), for raw krb5 and
 * SPNEGO. keytab NULL means the krb5 default (KRB5_KTNAME). Call once at
 * start-up before any other auth_gss_* function. CD_ECONFIG when the keytab
 * is missing, unreadable or empty (the GSS text is logged).
 */
int auth_gss_init(const char *keytab);

/** Release the acceptor credentials. Safe to call without auth_gss_init(). */
void auth_gss_shutdown(void);

/**
 * The header value a 401 must carry in WWW-Authenticate, one header per
 * scheme: "Kerberos" and "Negotiate" (static strings, NULL-terminated list).
 */
const char *const *auth_gss_challenges(void);

/**
 * Process an Authorization header value ("Kerberos <base64>" or
 * "Negotiate <base64>"; scheme case-insensitive; raw krb5 or SPNEGO tokens
 * under Negotiate). *ctx is the connection's context: NULL on the first
 * call (one is created), reused while a multi-leg exchange continues,
 * replaced by a fresh one when an already established connection sends a new
 * token. The context stays owned by the caller (auth_gss_ctx_free) even when
 * this fails.
 *
 * CD_EOK: *www_authenticate is the value to send back (same scheme as the
 * request; NULL when the mechanism produced no token), to be freed by the
 * caller. If *principal is non-NULL the context is established: reply 200
 * (the principal, "WIN10$@EXAMPLE.COM", is the caller's to free and also
 * stays readable via auth_gss_ctx_principal). If *principal is NULL the
 * exchange continues: reply 401 with that header.
 *
 * CD_EAUTH: bad, unknown or NTLM token, or the context lacks the
 * confidentiality, integrity or mutual flags (reply 401 with the
 * challenges). -ENOMEM. The GSS major/minor text is logged at warning level.
 */
int auth_gss_accept(struct auth_gss_ctx **ctx, const char *authorization,
    char **www_authenticate, char **principal);

/** True once the context is established and may unwrap and wrap. */
bool auth_gss_ctx_established(const struct auth_gss_ctx *ctx);

/** The authenticated client principal, or NULL; borrowed from the context. */
const char *auth_gss_ctx_principal(const struct auth_gss_ctx *ctx);

/** Free a context (at connection close). NULL is a no-op. */
void auth_gss_ctx_free(struct auth_gss_ctx *ctx);

/**
 * Decrypt a request body. content_type is the HTTP Content-Type value; the
 * body must be multipart/encrypted in WinRM's framing (see multipart.h),
 * with either protocol string (the context, not the label, does the
 * crypto). Calls on one context must be serialised, in arrival order.
 * The plaintext is appended to plain (its cap applies: CD_ETOOBIG); *charset
 * gets the OriginalContent charset label ("UTF-16", possibly "" when absent;
 * caller frees; the byte-order mark should win over it); *form records the
 * framing for the reply. CD_EUNSUPPORTED when the body is not
 * multipart/encrypted, CD_EPARSE for broken framing or a Length that is not
 * the plaintext length, CD_ECRYPTO when unwrapping fails or was not
 * confidential (sequence errors included), CD_EAUTH without an established
 * context.
 */
int auth_gss_unwrap_body(struct auth_gss_ctx *ctx, const char *content_type,
    const uint8_t *body, size_t len, struct buf *plain, char **charset,
    struct multipart_form *form);

/**
 * Encrypt a reply body with confidentiality, framed like the request (form
 * from auth_gss_unwrap_body), with OriginalContent
 * "type=application/soap+xml;charset=<charset>" (charset NULL: "UTF-16").
 * The framed body is appended to body; *content_type gets the reply's
 * Content-Type value (static string, do not free). CD_ECRYPTO, CD_EAUTH
 * without an established context, CD_ETOOBIG/-ENOMEM.
 */
int auth_gss_wrap_body(struct auth_gss_ctx *ctx, const struct multipart_form *form,
    const char *charset, const uint8_t *plain, size_t len, struct buf *body,
    const char **content_type);

/*
 * Mutual TLS helpers
 */

/**
 * SHA-1 thumbprints of every certificate in a PEM file (what Windows
 * IssuerCA= names): 40 upper-case hex digits each. *thumbs is a new array of
 * *n new strings; free with auth_tls_thumbprints_free. -errno when the file
 * cannot be read, CD_EPARSE when it holds no certificate or a broken one.
 */
int auth_tls_thumbprint_file(const char *pem_path, char ***thumbs, size_t *n);

/** Free what auth_tls_thumbprint_file returned. NULL is a no-op. */
void auth_tls_thumbprints_free(char **thumbs, size_t n);

/**
 * SHA-1 thumbprint of one DER certificate into out (41 bytes, upper-case
 * hex, NUL-terminated). CD_EPARSE when it is not a certificate.
 */
int auth_tls_thumbprint_der(const uint8_t *der, size_t len, char out[41]);

/**
 * The subject CN of a certificate given as DER or PEM, as UTF-8 (new string
 * in *cn). CD_EPARSE when not a certificate, CD_ENOTFOUND when the subject
 * has no CN, CD_EAUTH when the CN contains a NUL (a forgery attempt).
 */
int auth_tls_subject_cn(const uint8_t *der, size_t len, char **cn);

struct auth_tls_cas;

/**
 * Load the CA certificates that client certificates must chain to, from
 * one or more PEM files. *out is freed with auth_tls_cas_free. -errno,
 * CD_EPARSE when a file holds no certificate.
 */
int auth_tls_cas_load(struct auth_tls_cas **out, const char *const *pem_paths,
    size_t n);

/** Free a CA set. NULL is a no-op. */
void auth_tls_cas_free(struct auth_tls_cas *cas);

/**
 * Verify a client certificate chain (chain[0] is the client's DER
 * certificate, the rest optional intermediates) against the CA set at the
 * current time, requiring the clientAuth purpose when an EKU is present.
 * On success *cn gets the subject CN (new string) and issuer (41 bytes)
 * the thumbprint of the certificate that directly issued chain[0], for the
 * subscription policy. CD_EAUTH when it does not verify (unknown CA,
 * expired, wrong purpose; reason logged), CD_EPARSE, -ENOMEM.
 */
int auth_tls_verify(const struct auth_tls_cas *cas, const uint8_t *const *chain,
    const size_t *chain_len, size_t chain_n, char **cn, char issuer[41]);

/*
 * Identities and ACLs
 */

/**
 * The host name of a source identity, lower-cased, as a new string:
 * "WIN10$@EXAMPLE.COM" -> "win10", "host/win10.example.com@EXAMPLE.COM" ->
 * "win10.example.com", a CN "Win10.Example.com" -> "win10.example.com".
 * CD_EPARSE for an empty or unusable name.
 */
int auth_identity_host(const char *principal_or_cn, char **host);

/**
 * Whether an event's Computer names the source's host: equal ignoring case,
 * or, when either side is a short name, equal first labels ("win10" matches
 * "WIN10" and "win10.example.com"; "win10.example.com" matches "WIN10" but
 * not "win10.other.org").
 */
bool auth_identity_matches_computer(const char *source_host,
    const char *computer);

/**
 * Shell-style pattern match (*, ?, [...]), ignoring case, e.g. "WIN*$@EXAMPLE.COM"
 * or "*.example.com".
 */
bool auth_acl_match(const char *pattern, const char *name);

/** Whether name matches any of n patterns. */
bool auth_acl_match_any(const char *const *patterns, size_t n, const char *name);

#endif
