/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small synchronous QMP (QEMU Machine Protocol) client over a unix
 * socket, with json-c.  One command at a time: qmp_execute() sends it and
 * waits for its reply, keeping the asynchronous events that arrive in the
 * meantime in a small ring (the last QMP_EVENT_KEEP).  Every read and write
 * is bounded by the client's timeout (poll()); a timed-out or broken
 * connection is not reusable.
 *
 * Functions return 0 on success and a negative errno on failure:
 *   -EREMOTEIO  QEMU answered with an error (qmp_error_class/_desc say which)
 *   -ETIMEDOUT  no complete reply within the timeout
 *   -ECONNRESET QEMU closed the connection (it quit, or crashed)
 *   -EPROTO     QEMU sent something that is not QMP
 * qmp_strerror() describes the last failure in words in every case.
 *
 * Link with -ljson-c.
 */
#ifndef SVMIG_QMP_H
#define SVMIG_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QMP_EVENT_KEEP		16
#define QMP_DEFAULT_TIMEOUT_MS	30000

struct qmp;

/*
 * Connects to the QMP unix socket at @path, reads the greeting and leaves
 * capabilities negotiation (qmp_capabilities).  On failure *client stays
 * NULL and, if @err is not NULL, a description lands there.
 */
int qmp_open(const char *path, int timeout_ms, struct qmp **client,
	     char *err, size_t errlen);
/*
 * The same over a socket already connected to QEMU's QMP server (e.g. one
 * end of a socketpair in tests); the client owns @fd from then on, and
 * closes it on failure too.
 */
int qmp_open_fd(int fd, int timeout_ms, struct qmp **client,
		char *err, size_t errlen);
void qmp_close(struct qmp *q);

/*
 * False once the connection broke (timeout, QEMU gone, garbage): every
 * later command fails at once, so there is no point trying.
 */
bool qmp_usable(const struct qmp *q);

/* Bound on each later wait for a reply, in milliseconds (> 0). */
void qmp_set_timeout(struct qmp *q, int timeout_ms);

/* The greeting's "QMP" object (version, capabilities); owned by @q. */
struct json_object *qmp_greeting(const struct qmp *q);

/*
 * Runs @command with @arguments (an object, or NULL for none; borrowed).
 * On success *ret (if not NULL) receives a new reference to the "return"
 * value; release it with json_object_put().
 */
int qmp_execute(struct qmp *q, const char *command,
		struct json_object *arguments, struct json_object **ret);
/* The same, passing @fd along with the command (SCM_RIGHTS), e.g. for getfd. */
int qmp_execute_fd(struct qmp *q, const char *command,
		   struct json_object *arguments, int fd,
		   struct json_object **ret);

/* After -EREMOTEIO: QEMU's error class and description ("" otherwise). */
const char *qmp_error_class(const struct qmp *q);
const char *qmp_error_desc(const struct qmp *q);
/* The last failure of any kind, in words ("" when there was none). */
const char *qmp_strerror(const struct qmp *q);

/*
 * Events seen while waiting for replies, oldest first: index 0 up to
 * qmp_event_count() - 1.  Each is the whole message ("event", "data",
 * "timestamp"), owned by @q and valid until the next call on @q.
 */
size_t qmp_event_count(const struct qmp *q);
struct json_object *qmp_event(const struct qmp *q, size_t index);
void qmp_events_clear(struct qmp *q);

#ifdef __cplusplus
}
#endif

#endif /* SVMIG_QMP_H */
