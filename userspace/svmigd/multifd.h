/* SPDX-License-Identifier: GPL-2.0 */
/*
 * multifd: QEMU's multifd channels through the libvirt relay (libvirt.h,
 * Documentation/libvirt.rst).  With libvirt's VIR_MIGRATE_PARALLEL, QEMU
 * connects to the relay's socket 1 + N times: first the main channel
 * (relay.h: channels 0 and 1), then N multifd channels, each carried one
 * way (QEMU never reads them back) by its own /dev/svmig stream channel
 * (channel 1 + k for the k-th, k = 1..N) on its own data connection, in
 * that order at both ends.
 *
 * No multifd channel can end a migration: the destination QEMU starts
 * loading only once every channel is connected, and its SHUT (the main
 * channel's gate, relay.h) comes after the last multifd packet was read.
 * So at the gate the source stops each channel (what QEMU wrote is
 * sealed, then the END), and the target verifies each channel's END
 * before its receipt.
 */
#ifndef SVMIGD_MULTIFD_H
#define SVMIGD_MULTIFD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "libsvmig.h"
#include "relay.h"

/* One multifd channel: its relay and the thread that runs it. */
struct svmigd_mfd_chan {
	struct svmigd_relay r;
	int sock;			/* its data connection */
	int stop;			/* source: the gate's pipe (read end) */
	int main_sock;			/* the main channel's data connection */
	unsigned int k;			/* its number (1..) */
	atomic_uint *first_failed;	/* the migration's: which failed first */
	pthread_t thread;
	bool running;
	int rc;
	char err[512];
	struct svmig_stats st;		/* its counts, once ended */
};

/* The extra connections of one migration; a thread takes them as they come. */
struct svmigd_mfd {
	bool source;
	unsigned int want;		/* source: N; target: at most N */
	unsigned int n;			/* channels taken so far */
	struct svmigd_mfd_chan ch[SVMIGD_RELAY_MULTIFD_MAX];
	/* source: QEMU's connections; target: QEMU's socket to connect to */
	int lfd;
	const char *qemu_path;
	int stop[2];			/* a pipe: written at the gate (or to give up) */
	int idle_ms;
	int watch;
	/* the main channel's data connection: a channel that fails shuts it
	 * down, so the main relay (and with it the migration) fails at once
	 * instead of waiting for a load that cannot finish */
	int main_sock;
	/* the channel (1..) whose failure came first, 0 while none: one
	 * failing breaks the others (QEMU drops them all), and the first is
	 * the cause */
	atomic_uint first_failed;
	/* a data connection to (source) or from (target) the peer, or -1 */
	int (*data_conn)(void *arg);
	void *arg;
	pthread_t acceptor;
	bool accepting;
	int rc;
	char err[512];
};

/*
 * Everything closed, @want channels wanted (source: N; target: at most
 * N), the stop pipe made.  The caller sets lfd (source), qemu_path
 * (target), data_conn and arg.
 */
int svmigd_mfd_init(struct svmigd_mfd *m, bool source, unsigned int want,
		    int idle_ms, int watch, char *err, size_t errlen);

/*
 * Source: keys N senders (channels 2..N+1) with @secret (the caller wipes
 * it); target: keys N receivers the same way (N: the REQUEST's channels).
 * All are channels of the migration's kernel session (SVMIG_KEY_SESSION,
 * with the main channel 0): the session's END verification covers them.
 */
int svmigd_mfd_key(struct svmigd_mfd *m, const uint8_t *session_id,
		   const uint8_t *secret, bool no_tpm, char *err, size_t errlen);

/* Starts taking channels (after the main channel's QEMU connection). */
int svmigd_mfd_start(struct svmigd_mfd *m, char *err, size_t errlen);

/*
 * At the gate (or after a failure, @ok false): stops taking channels,
 * waits for every channel, and (@ok) ends each: the source FINISHes its
 * senders, the target checks each receiver read its END with nothing
 * refused (the caller's VERIFY on the main channel then answers for the
 * session: every channel).  0 if all did; the channels' records and
 * bytes are added to @st, each channel's in its ch[].st.
 */
int svmigd_mfd_end(struct svmigd_mfd *m, bool ok, struct svmig_stats *st,
		   char *err, size_t errlen);

/*
 * After a failure of the main channel: stops the channels (as
 * svmigd_mfd_end(m, false, ...)) and says which failed first, if one did
 * (its number in *k, its error returned), else NULL.
 */
const char *svmigd_mfd_failed(struct svmigd_mfd *m, unsigned int *k);

/* "channel 2: R records, B bytes; channel 3: ..." of the ended channels. */
int svmigd_mfd_counts(const struct svmigd_mfd *m, char *out, size_t len);

/*
 * Source, after a failure, the main channel's QEMU connection closed:
 * stops the channels and reads and drops what QEMU still writes on its
 * multifd connections until QEMU closes them (its migration failed on
 * the main channel and its cleanup shut them), @done turns readable
 * (libvirt's call returned), or @timeout_ms passed.  Closing them under
 * QEMU instead can hang QEMU 7.2's migration thread (chan_failed()).
 */
void svmigd_mfd_drain(struct svmigd_mfd *m, int timeout_ms, int done);

/* Closes everything (after svmigd_mfd_end, or instead of it). */
void svmigd_mfd_free(struct svmigd_mfd *m);

#endif /* SVMIGD_MULTIFD_H */
