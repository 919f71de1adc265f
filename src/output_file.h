/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The file output (output_file.c): one record per line, appended with
 * write() and fsync'd before a batch is confirmed; rotation by size and
 * age, rotated files compressed as NAME.TIMESTAMP.zst (or .gz: zwriter.h). Its ops
 * are declared in output_sinks.h; this header only holds the test hook.
 */
#ifndef CD_OUTPUT_FILE_H
#define CD_OUTPUT_FILE_H

#include <stdint.h>

/**
 * Replace the clock the file output uses for rotation by age and for the
 * names of rotated files (ms since the epoch). NULL restores the real
 * clock. For tests only: not thread-safe, set it before creating sinks.
 */
void output_file_set_clock(int64_t (*now_ms)(void));

/**
 * Wait until the compression of the last rotated file (which runs in a
 * thread of its own) and the pruning after it are done. sink is a file
 * output's sink. For tests, which look at the rotated files.
 */
void output_file_settle(void *sink);

#endif
