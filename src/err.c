/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "err.h"

const char *
cd_strerror(int code)
{
	switch (code) {
	case CD_EOK:		return "success";
	case CD_EPARSE:		return "malformed input";
	case CD_ETOOBIG:	return "size limit exceeded";
	case CD_EMAPFULL:	return "store is full";
	case CD_ENOTFOUND:	return "not found";
	case CD_ECORRUPT:	return "stored data is corrupt";
	case CD_ESTORE:		return "storage failure";
	case CD_EAUTH:		return "authentication failed";
	case CD_EDENIED:	return "access denied";
	case CD_ECONFIG:	return "invalid configuration";
	case CD_ESHUTDOWN:	return "shutting down";
	case CD_EBUSY:		return "temporarily unavailable";
	case CD_ECRYPTO:	return "encryption failure";
	case CD_EUNSUPPORTED:	return "not supported";
	case CD_EDISKFULL:	return "no space left for durable data";
	}
	if (code < 0 && code > CD_EINVAL_BASE)
		return strerror(-code);
	return "unknown error";
}
