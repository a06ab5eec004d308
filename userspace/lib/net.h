/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCP endpoints as svmig's programs name them, and the monotonic clock
 * their deadlines count on; shared by svmigd and svmig-migrate.
 *
 * An endpoint is "HOST:PORT", "[IPV6]:PORT", or ":PORT" (every local
 * address, to listen on).  Functions return a descriptor or 0 on success
 * and a negative errno on failure; where they take @err (may be NULL), a
 * failure also leaves a description there.
 */
#ifndef SVMIG_NET_H
#define SVMIG_NET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct addrinfo;

/* CLOCK_MONOTONIC in milliseconds. */
long long svmig_now_ms(void);
/* Milliseconds left until @deadline (svmig_now_ms() based), 0 if past. */
int svmig_left_ms(long long deadline);
/* Sleeps @ms; a signal ends the sleep early (callers re-check their state). */
void svmig_sleep_ms(int ms);

/* Splits an endpoint; -EINVAL if it is not one or a part does not fit. */
int svmig_split_hostport(const char *endpoint, char *host, size_t hlen,
			 char *port, size_t plen);
/* getaddrinfo() of an endpoint (numeric port); freeaddrinfo() the result. */
int svmig_resolve(const char *endpoint, bool passive, struct addrinfo **res,
		  char *err, size_t errlen);
/* A listening socket (SO_REUSEADDR) on the first address that takes one. */
int svmig_tcp_listen(const char *endpoint, int backlog, char *err,
		     size_t errlen);
/*
 * A connected, blocking socket to @endpoint, trying each of its addresses
 * until @deadline (svmig_now_ms() based).  With @retry_refused, a refused
 * connection is tried again every 200 ms until then (the peer may not
 * listen yet).  A non-NULL @stop that turns non-zero ends the attempts
 * (-EINTR).
 */
int svmig_tcp_connect(const char *endpoint, long long deadline,
		      bool retry_refused, const volatile sig_atomic_t *stop,
		      char *err, size_t errlen);

#endif /* SVMIG_NET_H */
