/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared helpers of the libFuzzer harnesses (fuzz/fuzz_*.c). Each harness
 * feeds one untrusted-input entry point and, where the module's contract
 * promises something checkable (idempotence, caps, round trips), aborts
 * when the promise is broken so libFuzzer reports it like a crash.
 * FUZZ_SRCDIR (set by Makefile.am) locates schemas/ and tests/data/.
 */
#ifndef CD_FUZZ_H
#define CD_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy: most parsers take C strings or need one past
 * the end; a heap copy of the exact size lets ASan see every overread. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Report a broken contract as a crash, with the reason. */
static inline void
fuzz_fail(const char *why)
{
	fprintf(stderr, "fuzz: contract broken: %s\n", why);
	abort();
}

/* Logs would flood the fuzzer's output: keep errors only. */
static inline void
fuzz_quiet(void)
{
	log_set_level(LOG_LEVEL_ERR);
}

/* Write data to path (replacing it); aborts on I/O errors, which are the
 * harness's own problem, not a finding. */
static inline void
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
	    fclose(f) != 0)
		fuzz_fail("cannot write the temporary file");
}

/* A private temporary directory for harnesses that need files or a store;
 * removed by the caller (or left to the system's tmp cleaner: libFuzzer
 * exits without running destructors on a crash anyway). */
static inline char *
fuzz_mkdtemp(void)
{
	static char tmpl[64];
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpl, sizeof(tmpl), "%s/cd-fuzz-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		fuzz_fail("mkdtemp");
	return tmpl;
}

#endif
