/* SPDX-License-Identifier: GPL-2.0 */
/*
 * relay: a QEMU migration connection carried through /dev/svmig
 * (Documentation/libvirt.rst).  libvirt (or QEMU) migrates over a UNIX
 * socket; the relay on each host stands between that socket and two
 * /dev/svmig stream channels of the migration's session, both attached to
 * the one data connection (TCP is full duplex):
 *
 *   channel 0 (SVMIGD_RELAY_FWD), source -> target: the migration stream;
 *   channel 1 (SVMIGD_RELAY_REV), target -> source: QEMU's return path
 *     (libvirt turns on QEMU's "return-path" capability: the target's
 *     QEMU answers PING with PONG and reports the end of its load with
 *     SHUT).
 *
 * The keys differ per channel (the kernel's HKDF takes the channel number),
 * so neither direction's records verify on the other.
 *
 * The resume gate.  With the return path, the source QEMU completes (and
 * libvirt goes on to start the VM on the target, Finish) only once the
 * target's QEMU sent SHUT, which it does after loading the whole stream.
 * The source relay holds that SHUT back: on seeing it, it ends the forward
 * channel (FINISH: the authenticated END record), and releases the SHUT to
 * its QEMU only after the target's svmigd verified the END and sent its
 * signed receipt.  Every record before the END is authenticated and in
 * order as it arrives, so what the target's QEMU loaded is a prefix of
 * what the source's QEMU sent; only the END proves it is all of it, and
 * until it is verified nobody can run the VM on the target.  A refusal
 * closes the source QEMU's connection instead: its migration fails and
 * libvirt keeps the VM running on the source.
 *
 * Functions return 0 or -1 with a message in @err.  Every descriptor is
 * the caller's.
 */
#ifndef SVMIGD_RELAY_H
#define SVMIGD_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVMIGD_RELAY_FWD	0	/* channel numbers within the session */
#define SVMIGD_RELAY_REV	1
/* multifd channel k (1..SVMIGD_RELAY_MULTIFD_MAX) is channel 1 + k */
#define SVMIGD_RELAY_MULTIFD_MAX	8
#define SVMIGD_RELAY_BUF	(1U << 20)	/* bytes per read() */
/* QEMU's return path: be16 type, be16 length, then that many bytes */
#define SVMIGD_RP_HDR		4
#define SVMIGD_RP_MSG_SHUT	1
#define SVMIGD_RP_MSG_PONG	2	/* the only other type precopy sends;
					 * postcopy's page requests are refused */
#define SVMIGD_RP_MSG_MAX	4096	/* longer: not QEMU's, refused */

struct svmigd_relay {
	int qemu;		/* the UNIX socket of QEMU's migration */
	int out;		/* /dev/svmig sender (blocking) */
	int in;			/* /dev/svmig receiver (made non-blocking) */
	int watch;		/* readable means give up (the control connection); or -1 */
	int idle_ms;		/* no byte either way for this long: give up */
	uint8_t *buf;		/* SVMIGD_RELAY_BUF bytes */
	/* source: return-path bytes not yet given to QEMU (a partial
	 * message, or the SHUT held back and anything after it) */
	uint8_t rp[2 * SVMIGD_RP_MSG_MAX];
	size_t rp_len;
	bool shut_held;
	uint64_t fwd_bytes, rev_bytes;
};

/* Allocates the buffer; the descriptors start at -1. */
int svmigd_relay_init(struct svmigd_relay *r, int idle_ms, char *err, size_t errlen);
void svmigd_relay_free(struct svmigd_relay *r);

/*
 * Opens /dev/svmig and keys it as channel @channel of the session, in
 * @role (SVMIG_ROLE_*); a receiver requires a TPM-salted sender unless
 * @no_tpm.  The caller wipes @secret once every channel is keyed.
 */
int svmigd_relay_key(int *fd, uint32_t role, uint32_t channel,
		     const uint8_t *session_id, const uint8_t *secret,
		     bool no_tpm, char *err, size_t errlen);

/*
 * Source, up to the gate: QEMU's stream into r->out, the return path from
 * r->in to QEMU, until the target's QEMU sent SHUT (0, the SHUT held), or
 * a failure.  The caller then FINISHes r->out.
 */
int svmigd_relay_source_run(struct svmigd_relay *r, char *err, size_t errlen);

/*
 * Source, the gate opened: gives QEMU the SHUT and what followed, then
 * carries the return path until its END (verified by svmig_verify()).
 */
int svmigd_relay_source_release(struct svmigd_relay *r, char *err, size_t errlen);

/*
 * Source, a multifd channel (one way: QEMU never reads it back): QEMU's
 * bytes into r->out until @stop turns readable (the main channel's gate
 * reached: the target loaded everything), then what is left; or QEMU
 * closes it.  The caller then FINISHes r->out.
 */
int svmigd_relay_forward_run(struct svmigd_relay *r, int stop, char *err, size_t errlen);

/*
 * Target: the stream from r->in into QEMU, QEMU's return path into r->out,
 * until the stream's END (0: r->in verified by the kernel's read() of 0;
 * the caller still asks SVMIG_IOC_VERIFY).  The caller then FINISHes
 * r->out.
 */
int svmigd_relay_target_run(struct svmigd_relay *r, char *err, size_t errlen);

/* Connects to the UNIX socket @path, retrying until @timeout_ms while it
 * is absent or refuses (QEMU not listening yet), giving up early if @watch
 * turns readable. */
int svmigd_relay_unix_connect(const char *path, int timeout_ms, int watch,
			      char *err, size_t errlen);

/* A listening UNIX socket at @path (replacing a stale one), mode 0600. */
int svmigd_relay_unix_listen(const char *path, char *err, size_t errlen);

/* Accepts one connection on @lfd within @timeout_ms, unless @watch or
 * @cancel (either may be -1) turns readable first. */
int svmigd_relay_unix_accept(int lfd, int timeout_ms, int watch, int cancel,
			     char *err, size_t errlen);

#endif /* SVMIGD_RELAY_H */
