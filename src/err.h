/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Error codes of collectord. Every fallible function returns CD_EOK (0) or a
 * negative code: either -errno, or one of the private codes below, which sit
 * at -1000 and lower so they never collide with errno values. Foreign error
 * spaces (LMDB, GSSAPI, OpenSSL, libxml2) are translated at the boundary of
 * the one file that uses that library; the library's own text goes to the log.
 */
#ifndef CD_ERR_H
#define CD_ERR_H

enum {
	CD_EOK = 0,
	CD_EINVAL_BASE = -1000,
	CD_EPARSE = -1001,	/**< malformed input (XML, encoding, framing) */
	CD_ETOOBIG = -1002,	/**< a size or count cap was exceeded */
	CD_EMAPFULL = -1003,	/**< the store map is full at its maximum size */
	CD_ENOTFOUND = -1004,	/**< no such key or record */
	CD_ECORRUPT = -1005,	/**< stored data is corrupt or of another format */
	CD_ESTORE = -1006,	/**< any other storage failure */
	CD_EAUTH = -1007,	/**< authentication failed */
	CD_EDENIED = -1008,	/**< authenticated, but not allowed */
	CD_ECONFIG = -1009,	/**< invalid configuration */
	CD_ESHUTDOWN = -1010,	/**< the component is stopping */
	CD_EBUSY = -1011,	/**< temporarily unable (spool cap, queue full) */
	CD_ECRYPTO = -1012,	/**< encryption or decryption failed */
	CD_EUNSUPPORTED = -1013,	/**< a valid request we do not implement */
	CD_EDISKFULL = -1014,	/**< no space left for durable data */
};

/** A static, human-readable text for any code (errno values included). */
const char *cd_strerror(int code);

#endif
