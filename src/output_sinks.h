/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sinks compiled in. Each sink file defines one struct
 * output_sink_ops; add its declaration here and its address to
 * OUTPUT_SINKS, which output_sink_find() searches.
 */
#ifndef CD_OUTPUT_SINKS_H
#define CD_OUTPUT_SINKS_H

#include "output.h"

extern const struct output_sink_ops output_file_ops;
extern const struct output_sink_ops output_syslog_ops;
extern const struct output_sink_ops output_relp_ops;
extern const struct output_sink_ops output_http_ops;
extern const struct output_sink_ops output_kafka_ops;

#define OUTPUT_SINKS	&output_file_ops, &output_syslog_ops, &output_relp_ops, \
	&output_http_ops, &output_kafka_ops
#endif
