/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Both codecs write through their library's streaming interface into one
 * output buffer of ours, flushed with write(): the caller keeps the file
 * descriptor for its paced sync_file_range() and the final fsync.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "err.h"
#include "zwriter.h"

/* zstd's default level: at level 1 it was no faster on these files and
 * wrote 40% more. */
#define ZWRITER_ZSTD_LEVEL	3
/* zlib's fastest level: level 6 compressed slower than a busy collector
 * fills a file. */
#define ZWRITER_GZIP_LEVEL	1
#define ZWRITER_OUT_BYTES	(128 * 1024)

struct zwriter {
	enum zwriter_codec codec;
	int		 fd;
	int		 err;		/* the first error, kept for close */
	ZSTD_CCtx	*zc;
	z_stream	 zs;
	bool		 zs_init;
	uint8_t		*out;
	size_t		 cap;
};

int
zwriter_codec_parse(const char *s, enum zwriter_codec *out)
{
	if (strcmp(s, "zstd") == 0 || strcmp(s, "true") == 0)
		*out = ZWRITER_ZSTD;
	else if (strcmp(s, "gzip") == 0)
		*out = ZWRITER_GZIP;
	else if (strcmp(s, "false") == 0 || strcmp(s, "none") == 0)
		*out = ZWRITER_NONE;
	else
		return -EINVAL;
	return CD_EOK;
}

const char *
zwriter_suffix(enum zwriter_codec codec)
{
	switch (codec) {
	case ZWRITER_ZSTD:
		return ".zst";
	case ZWRITER_GZIP:
		return ".gz";
	default:
		return "";
	}
}

/* Write all n bytes of the output buffer. */
static int
zwriter_flush(struct zwriter *z, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(z->fd, z->out + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)w;
	}
	return CD_EOK;
}

int
zwriter_open(struct zwriter **out, int fd, enum zwriter_codec codec)
{
	struct zwriter *z;

	*out = NULL;
	if (codec != ZWRITER_ZSTD && codec != ZWRITER_GZIP)
		return -EINVAL;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return -ENOMEM;
	z->codec = codec;
	z->fd = fd;
	z->cap = ZWRITER_OUT_BYTES;
	if ((z->out = malloc(z->cap)) == NULL)
		goto nomem;
	if (codec == ZWRITER_ZSTD) {
		if ((z->zc = ZSTD_createCCtx()) == NULL ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->zc,
		    ZSTD_c_compressionLevel, ZWRITER_ZSTD_LEVEL)) ||
		    /* As the zstd command writes them: a damaged file is
		     * detected when read back. */
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->zc,
		    ZSTD_c_checksumFlag, 1)))
			goto nomem;
	} else {
		/* windowBits 15 + 16: a gzip header and trailer. */
		if (deflateInit2(&z->zs, ZWRITER_GZIP_LEVEL, Z_DEFLATED,
		    15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			goto nomem;
		z->zs_init = true;
	}
	*out = z;
	return CD_EOK;
nomem:
	(void)zwriter_close(z);
	return -ENOMEM;
}

/* Run the codec over data (end: and finish the stream). */
static int
zwriter_run(struct zwriter *z, const void *data, size_t n, bool end)
{
	int rc;

	if (z->err != CD_EOK)
		return z->err;
	if (z->codec == ZWRITER_ZSTD) {
		ZSTD_inBuffer in = { data, n, 0 };
		size_t left;
		do {
			ZSTD_outBuffer o = { z->out, z->cap, 0 };
			left = ZSTD_compressStream2(z->zc, &o, &in,
			    end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left))
				return z->err = -EIO;
			if ((rc = zwriter_flush(z, o.pos)) != CD_EOK)
				return z->err = rc;
		} while (end ? left != 0 : in.pos < in.size);
		return CD_EOK;
	}
	z->zs.next_in = (Bytef *)(uintptr_t)data;
	z->zs.avail_in = (uInt)n;
	for (;;) {
		z->zs.next_out = z->out;
		z->zs.avail_out = (uInt)z->cap;
		int zr = deflate(&z->zs, end ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR)
			return z->err = -EIO;
		if ((rc = zwriter_flush(z, z->cap - z->zs.avail_out)) != CD_EOK)
			return z->err = rc;
		if (end ? zr == Z_STREAM_END : z->zs.avail_in == 0)
			return CD_EOK;
	}
}

int
zwriter_write(struct zwriter *z, const void *data, size_t n)
{
	const uint8_t *p = data;

	/* zlib counts in uInt. */
	while (n > 0) {
		size_t step = n > (1u << 30) ? (1u << 30) : n;
		int rc = zwriter_run(z, p, step, false);
		if (rc != CD_EOK)
			return rc;
		p += step;
		n -= step;
	}
	return CD_EOK;
}

int
zwriter_close(struct zwriter *z)
{
	int rc;

	if (z == NULL)
		return CD_EOK;
	rc = z->out != NULL && (z->zc != NULL || z->zs_init) ?
	    zwriter_run(z, NULL, 0, true) : z->err;
	ZSTD_freeCCtx(z->zc);
	if (z->zs_init)
		deflateEnd(&z->zs);
	free(z->out);
	free(z);
	return rc;
}
