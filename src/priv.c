/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privilege checks and the drop to an unprivileged user (priv.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "priv.h"

static int priv_chown_dir(const char *dir, uid_t uid, gid_t gid);

int
priv_check(const char *user, bool allow_root)
{
	if (geteuid() != 0) {
		if (user != NULL)
			log_warn("main", "not started as root: <user>%s</user> "
			    "is ignored, running as uid %u", user,
			    (unsigned)geteuid());
		return CD_EOK;
	}
	if (user != NULL)
		return CD_EOK;
	if (allow_root) {
		log_warn("main", "running as root (allowed by allow-root): "
		    "a flaw in request handling would give away the machine");
		return CD_EOK;
	}
	log_err("main", "refusing to run as root: set <user> in the "
	    "configuration (privileges are dropped after binding), start as "
	    "an unprivileged user, or allow root with "
	    "<allow-root>true</allow-root> or --allow-root");
	return CD_EDENIED;
}

/* The data directory and its direct entries (the LMDB files, output
 * files): nothing deeper is created by collectord. Symbolic links are not
 * followed, so a planted link cannot redirect the chown. */
static int
priv_chown_dir(const char *dir, uid_t uid, gid_t gid)
{
	DIR *d = NULL;
	struct dirent *de;
	int fd, rc = CD_EOK;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) != 0) {
		rc = -errno;
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		rc = -errno;
		goto out;
	}
	fd = -1;	/* owned by d now */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fchownat(dirfd(d), de->d_name, uid, gid,
		    AT_SYMLINK_NOFOLLOW) != 0) {
			rc = -errno;
			log_err("main", "cannot give %s/%s to uid %u: %s", dir,
			    de->d_name, (unsigned)uid, strerror(errno));
			goto out;
		}
	}
out:
	if (d != NULL)
		closedir(d);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
priv_prepare(const char *user, const char *data_dir, struct priv_user *out)
{
	struct passwd *pw;
	int rc;

	memset(out, 0, sizeof(*out));
	if (geteuid() != 0 || user == NULL)
		return CD_EOK;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_err("main", "<user>%s</user>: no such user%s%s", user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return CD_ECONFIG;
	}
	if (pw->pw_uid == 0) {
		log_err("main", "<user>%s</user> is root: nothing would be "
		    "dropped", user);
		return CD_ECONFIG;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	snprintf(out->name, sizeof(out->name), "%s", user);
	if (mkdir(data_dir, 0750) != 0 && errno != EEXIST) {
		rc = -errno;
		log_err("main", "cannot create %s: %s", data_dir,
		    strerror(errno));
		return rc;
	}
	if ((rc = priv_chown_dir(data_dir, out->uid, out->gid)) != CD_EOK) {
		log_err("main", "cannot give %s to %s: %s", data_dir, user,
		    cd_strerror(rc));
		return rc;
	}
	out->set = true;
	return CD_EOK;
}

int
priv_drop(const struct priv_user *u)
{
	int rc;

	if (!u->set)
		return CD_EOK;
	if (initgroups(u->name, u->gid) != 0 || setgid(u->gid) != 0 ||
	    setuid(u->uid) != 0) {
		rc = -errno;
		log_err("main", "cannot drop privileges to %s: %s", u->name,
		    strerror(errno));
		return rc;
	}
	/* A saved set-user-ID of 0 would let root come back. */
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
		log_err("main", "privileges could be regained after the drop");
		return -EPERM;
	}
	log_info("main", "privileges dropped to %s (uid %u, gid %u)", u->name,
	    (unsigned)u->uid, (unsigned)u->gid);
	return CD_EOK;
}
