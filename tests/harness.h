/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared helpers for the check unit tests: temporary directories and test
 * data files. Every helper aborts the test (ck_abort) on failure.
 */
#ifndef CD_TEST_HARNESS_H
#define CD_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

struct event;
struct output_msg;
struct store;

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

/** Open a store (nosync: tests need no durability) in a fresh temporary
 * directory; *dirp gets that directory. Close both with
 * harness_store_close(). */
struct store *harness_store_open(char **dirp);
/** Close st, remove dir and everything in it, and free dir; either may be
 * NULL. */
void harness_store_close(struct store *st, char *dir);
/** The store of the checked fixture harness_store_setup() /
 * harness_store_teardown(), which open it in a fresh directory with
 * harness_store_open() and close it with harness_store_close(). */
extern struct store *harness_store;
void harness_store_setup(void);
void harness_store_teardown(void);
struct ingest_batch;
/**
 * Submit the events of one file under tests/data as batches of 37, the way
 * the store tests ingest the real data: every 11th event (k % 11 == 5)
 * foreign, and in pass 0 every 50th (k % 50 == 7) replaced by a malformed
 * one. new_batch(source, arg) makes each batch (source: "src-" and the
 * file's name). Returns how many batches were submitted.
 */
size_t harness_ingest_file(struct store *st, const char *rel, int pass,
    struct ingest_batch *(*new_batch)(const char *source, void *arg), void *arg);
/** Entries of database dbi (enum store_dbi) in harness_store. */
uint64_t harness_store_count(int dbi);
/** The Sysmon event files of tests/data/sysmon (paths relative to
 * tests/data, for harness_read_data() and harness_each_event()). */
#define HARNESS_NSYSMON_FILES	8
extern const char *const harness_sysmon_files[HARNESS_NSYSMON_FILES];

/** Parse every line of the tests/data file rel as one event (each line
 * must end in a newline and parse) and call fn with it; the event is freed
 * after fn returns. */
void harness_each_event(const char *rel,
    void (*fn)(struct event *ev, void *arg), void *arg);

/** Fill m as the spool hands a raw-format event record to a sink: seq,
 * the record data[0..len) and ev's host, time, channel, provider and event
 * id, all borrowed ("" for what ev lacks); level stays 0. */
void harness_event_msg(struct output_msg *m, uint64_t seq, const char *data,
    size_t len, const struct event *ev);

/** Run every test of s in check's default mode (a child process per test
 * unless CK_FORK=no), free the runner and with it s, and return
 * EXIT_SUCCESS when none failed, else EXIT_FAILURE: main()'s exit code. */
int harness_run(Suite *s);
/** As harness_run(), but always in one process (CK_NOFORK), for suites
 * whose tests share process-wide state across tests. */
int harness_run_nofork(Suite *s);

#endif
