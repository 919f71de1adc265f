/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP listeners (libmicrohttpd): the WEF endpoints on --listen (HTTP)
 * and --tls-listen (HTTPS with client certificates), and the REST API on
 * --api-listen. This is the only module that knows libmicrohttpd.
 */
#ifndef CD_LISTENER_H
#define CD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

struct listener;
struct wsman;
struct api_ctx;
struct cd_conf;

/**
 * Bind and start every listener the configuration names. wsman and api are
 * borrowed and must outlive the listener. Returns CD_EOK, or an error after
 * logging which address failed.
 */
int listener_start(struct listener **out, const struct cd_conf *conf,
    struct wsman *wsman, struct api_ctx *api);

/** Stop accepting new connections; existing ones go on. NULL is a no-op. */
void listener_quiesce(struct listener *l);

/** Stop accepting, finish or refuse what is in flight, free everything. */
void listener_stop(struct listener *l);

/** True while every configured listener is running. */
bool listener_up(const struct listener *l);

/** The port actually bound by the n-th WEF listener (for --listen 0). */
unsigned listener_port(const struct listener *l, size_t n);

#endif
