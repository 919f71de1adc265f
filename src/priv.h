/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privileges at start-up: collectord refuses to run as root unless told to,
 * and drops to a configured user once the sockets are bound and the store
 * is open (OpenBSD daemons' order: acquire what needs root, then drop).
 */
#ifndef CD_PRIV_H
#define CD_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

/** The user to drop to, resolved while the user database is readable. */
struct priv_user {
	bool	 set;		/**< a drop is due (root, a user configured) */
	uid_t	 uid;
	gid_t	 gid;
	char	 name[64];
};

/**
 * Decide whether start-up may continue. As root it may only when a user to
 * drop to is configured or running as root was allowed (allow_root, from
 * the configuration or --allow-root). Not root: always, but a configured
 * user must then be the current one or is ignored with a warning. Returns
 * CD_EOK, or CD_EDENIED after logging why.
 */
int priv_check(const char *user, bool allow_root);

/**
 * As root with a user configured: look the user up (CD_ECONFIG when
 * unknown), create data_dir if missing and give it, and every entry
 * directly in it, to the user so the store stays writable after the drop.
 * Otherwise fills out->set = false and does nothing. Call once the store
 * has created its files.
 */
int priv_prepare(const char *user, const char *data_dir, struct priv_user *out);

/**
 * Drop to the prepared user: supplementary groups, gid, uid (all threads,
 * glibc applies set*id process-wide), then make sure root cannot be
 * regained. No-op when u->set is false. Returns CD_EOK or -errno (the
 * caller must stop: running on as root was not asked for).
 */
int priv_drop(const struct priv_user *u);

#endif
