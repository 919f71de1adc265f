/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared helpers for the check unit tests: temporary directories and test
 * data files. Every helper aborts the test (ck_abort) on failure.
 */
#ifndef CD_TEST_HARNESS_H
#define CD_TEST_HARNESS_H

#include <stddef.h>

/** Create a fresh temporary directory; the caller frees the string and
 * removes the directory with harness_rmdir_rf(). */
char *harness_mkdtemp(void);
/** Remove a directory tree. */
void harness_rmdir_rf(const char *path);
/** Path of a file under tests/data (static storage, overwritten per call). */
const char *harness_data_path(const char *rel);
/** Read a whole file under tests/data; caller frees; *len gets the size.
 * The buffer is NUL-terminated. */
char *harness_read_data(const char *rel, size_t *len);
/** Read any file; NULL when missing. */
char *harness_read_file(const char *path, size_t *len);

#endif
