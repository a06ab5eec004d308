// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A small synchronous QMP client over a unix socket, with json-c.
 * See qmp.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

/*
 * strerror() for threads (svmigd drives several QEMUs at once): GNU
 * strerror_r() into a buffer of the caller's, a compound literal that
 * lives to the end of the enclosing block.
 */
#define qmp_errstr(e) strerror_r((e), (char[128]){ 0 }, 128)

#define QMP_READ_CHUNK	8192
#define QMP_JSON_DEPTH	64

struct qmp {
	int fd;
	int timeout_ms;
	bool broken;			/* timed out or desynchronised: unusable */
	struct json_tokener *tok;
	char buf[QMP_READ_CHUNK];
	size_t len, off;		/* unparsed bytes are buf[off..len) */
	struct json_object *greeting;	/* the whole greeting message */
	struct json_object *events[QMP_EVENT_KEEP];
	size_t ev_first, ev_count;
	long long next_id;
	char err_class[64];
	char err_desc[512];
	char errmsg[768];
};

/* ------------------------------------------------------------ errors */

static int fail(struct qmp *q, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct qmp *q, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->errmsg, sizeof(q->errmsg), fmt, ap);
	va_end(ap);
	if (err == -ETIMEDOUT || err == -EPROTO || err == -ECONNRESET ||
	    err == -EPIPE)
		q->broken = true;
	return err;
}

static void clear_error(struct qmp *q)
{
	q->err_class[0] = '\0';
	q->err_desc[0] = '\0';
	q->errmsg[0] = '\0';
}

const char *qmp_error_class(const struct qmp *q)
{
	return q->err_class;
}

const char *qmp_error_desc(const struct qmp *q)
{
	return q->err_desc;
}

const char *qmp_strerror(const struct qmp *q)
{
	return q->errmsg;
}

/* ------------------------------------------------------------ time */

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(long long deadline)
{
	long long left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

/* Waits for @events on the socket; 0, or -ETIMEDOUT / -errno. */
static int wait_fd(struct qmp *q, short events, long long deadline)
{
	struct pollfd pfd = { .fd = q->fd, .events = events };
	int n;

	for (;;) {
		n = poll(&pfd, 1, remaining_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* ------------------------------------------------------------ events */

static void keep_event(struct qmp *q, struct json_object *msg)
{
	size_t slot;

	if (q->ev_count == QMP_EVENT_KEEP) {
		json_object_put(q->events[q->ev_first]);
		q->ev_first = (q->ev_first + 1) % QMP_EVENT_KEEP;
		q->ev_count--;
	}
	slot = (q->ev_first + q->ev_count) % QMP_EVENT_KEEP;
	q->events[slot] = msg;
	q->ev_count++;
}

size_t qmp_event_count(const struct qmp *q)
{
	return q->ev_count;
}

struct json_object *qmp_event(const struct qmp *q, size_t index)
{
	if (index >= q->ev_count)
		return NULL;
	return q->events[(q->ev_first + index) % QMP_EVENT_KEEP];
}

void qmp_events_clear(struct qmp *q)
{
	while (q->ev_count) {
		json_object_put(q->events[q->ev_first]);
		q->ev_first = (q->ev_first + 1) % QMP_EVENT_KEEP;
		q->ev_count--;
	}
	q->ev_first = 0;
}

/* ------------------------------------------------------------ reading */

/* Reads more bytes into the (drained) buffer. */
static int fill(struct qmp *q, long long deadline)
{
	ssize_t n;
	int ret;

	q->off = q->len = 0;
	for (;;) {
		ret = wait_fd(q, POLLIN, deadline);
		if (ret == -ETIMEDOUT)
			return fail(q, ret, "no reply from QEMU within %d ms",
				    q->timeout_ms);
		if (ret)
			return fail(q, ret, "poll on the QMP socket: %s",
				    qmp_errstr(-ret));
		n = read(q->fd, q->buf, sizeof(q->buf));
		if (n > 0) {
			q->len = (size_t)n;
			return 0;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return fail(q, -ECONNRESET,
				    "QEMU closed the QMP connection");
		if (errno != EINTR && errno != EAGAIN)
			return fail(q, -errno, "read from the QMP socket: %s",
				    qmp_errstr(errno));
	}
}

/* Parses the next whole JSON value from the stream into *msg. */
static int read_message(struct qmp *q, long long deadline,
			struct json_object **msg)
{
	enum json_tokener_error jerr;
	struct json_object *obj;
	int ret;

	for (;;) {
		if (q->off == q->len) {
			ret = fill(q, deadline);
			if (ret)
				return ret;
		}
		obj = json_tokener_parse_ex(q->tok, q->buf + q->off,
					    (int)(q->len - q->off));
		jerr = json_tokener_get_error(q->tok);
		if (jerr == json_tokener_continue) {
			q->off = q->len;
			continue;
		}
		if (jerr != json_tokener_success || !obj) {
			json_object_put(obj);
			return fail(q, -EPROTO, "QEMU sent invalid JSON: %s",
				    json_tokener_error_desc(jerr));
		}
		q->off += json_tokener_get_parse_end(q->tok);
		json_tokener_reset(q->tok);
		if (!json_object_is_type(obj, json_type_object)) {
			json_object_put(obj);
			return fail(q, -EPROTO, "QEMU sent a non-object message");
		}
		*msg = obj;
		return 0;
	}
}

static void take_error(struct qmp *q, struct json_object *error)
{
	struct json_object *v;

	if (json_object_object_get_ex(error, "class", &v))
		snprintf(q->err_class, sizeof(q->err_class), "%s",
			 json_object_get_string(v));
	if (json_object_object_get_ex(error, "desc", &v))
		snprintf(q->err_desc, sizeof(q->err_desc), "%s",
			 json_object_get_string(v));
}

/* True if @msg carries an "id" other than @id (a stale reply). */
static bool other_id(struct json_object *msg, long long id)
{
	struct json_object *v;

	if (!json_object_object_get_ex(msg, "id", &v))
		return false;
	return !json_object_is_type(v, json_type_int) ||
	       json_object_get_int64(v) != id;
}

/* Waits for the reply to command @id, keeping events on the way. */
static int wait_reply(struct qmp *q, const char *command, long long id,
		      struct json_object **ret)
{
	long long deadline = now_ms() + q->timeout_ms;
	struct json_object *msg, *v;
	int err;

	for (;;) {
		err = read_message(q, deadline, &msg);
		if (err) {
			if (err == -ETIMEDOUT)
				fail(q, err, "no reply to '%s' within %d ms",
				     command, q->timeout_ms);
			return err;
		}
		if (json_object_object_get_ex(msg, "event", NULL)) {
			keep_event(q, msg);
			continue;
		}
		if (other_id(msg, id)) {
			json_object_put(msg);
			continue;
		}
		if (json_object_object_get_ex(msg, "return", &v)) {
			if (ret)
				*ret = json_object_get(v);
			json_object_put(msg);
			return 0;
		}
		if (json_object_object_get_ex(msg, "error", &v)) {
			take_error(q, v);
			fail(q, -EREMOTEIO, "'%s' failed: %s: %s", command,
			     q->err_class, q->err_desc);
			json_object_put(msg);
			return -EREMOTEIO;
		}
		json_object_put(msg);
		return fail(q, -EPROTO, "unexpected QMP message waiting for '%s'",
			    command);
	}
}

/* ------------------------------------------------------------ writing */

/* Sends the first chunk, with @fd attached when it is >= 0. */
static ssize_t send_first(struct qmp *q, const char *p, size_t n, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	return sendmsg(q->fd, &mh, MSG_NOSIGNAL);
}

static int send_all(struct qmp *q, const char *p, size_t n, int fd)
{
	long long deadline = now_ms() + q->timeout_ms;
	ssize_t sent;
	int ret;

	while (n) {
		ret = wait_fd(q, POLLOUT, deadline);
		if (ret)
			return fail(q, ret == -ETIMEDOUT ? ret : -EPIPE,
				    "cannot send to QEMU: %s", qmp_errstr(-ret));
		sent = send_first(q, p, n, fd);
		if (sent < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return fail(q, -ECONNRESET,
					    "QEMU closed the QMP connection");
			return fail(q, -EPIPE, "send to QEMU: %s",
				    qmp_errstr(errno));
		}
		fd = -1;	/* the fd went with the first byte */
		p += sent;
		n -= (size_t)sent;
	}
	return 0;
}

static struct json_object *build_command(const char *command,
					 struct json_object *arguments,
					 long long id)
{
	struct json_object *cmd = json_object_new_object();

	if (!cmd)
		return NULL;
	if (json_object_object_add(cmd, "execute",
				   json_object_new_string(command)) ||
	    (arguments && json_object_object_add(cmd, "arguments",
						 json_object_get(arguments))) ||
	    json_object_object_add(cmd, "id", json_object_new_int64(id))) {
		json_object_put(cmd);
		return NULL;
	}
	return cmd;
}

int qmp_execute_fd(struct qmp *q, const char *command,
		   struct json_object *arguments, int fd,
		   struct json_object **ret)
{
	struct json_object *cmd;
	const char *text;
	long long id;
	int err;

	clear_error(q);
	if (ret)
		*ret = NULL;
	if (q->broken)
		return fail(q, -EPIPE, "the QMP connection is unusable after an earlier failure");
	if (arguments && !json_object_is_type(arguments, json_type_object))
		return fail(q, -EINVAL, "'%s': arguments must be an object",
			    command);
	id = q->next_id++;
	cmd = build_command(command, arguments, id);
	if (!cmd)
		return fail(q, -ENOMEM, "out of memory");
	text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
	err = text ? send_all(q, text, strlen(text), fd) : -ENOMEM;
	json_object_put(cmd);
	if (err)
		return err;
	return wait_reply(q, command, id, ret);
}

int qmp_execute(struct qmp *q, const char *command,
		struct json_object *arguments, struct json_object **ret)
{
	return qmp_execute_fd(q, command, arguments, -1, ret);
}

/* ------------------------------------------------------------ setup */

static int connect_unix(struct qmp *q, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		return fail(q, -ENAMETOOLONG, "QMP socket path too long: %s",
			    path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return fail(q, -errno, "socket: %s", qmp_errstr(errno));
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return fail(q, -errno, "connect to %s: %s", path,
			    qmp_errstr(errno));
	return 0;
}

static int handshake(struct qmp *q)
{
	long long deadline = now_ms() + q->timeout_ms;
	struct json_object *msg;
	int ret;

	ret = read_message(q, deadline, &msg);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(msg, "QMP", NULL)) {
		json_object_put(msg);
		return fail(q, -EPROTO, "no QMP greeting (not a QMP socket?)");
	}
	q->greeting = msg;
	return qmp_execute(q, "qmp_capabilities", NULL, NULL);
}

/* Connects to @path, or takes @fd when @path is NULL; then the greeting. */
static int open_client(const char *path, int fd, int timeout_ms,
		       struct qmp **client, char *err, size_t errlen)
{
	struct qmp *q;
	int ret;

	*client = NULL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		if (!path && fd >= 0)
			(void)close(fd);
		return -ENOMEM;
	}
	q->fd = path ? -1 : fd;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_DEFAULT_TIMEOUT_MS;
	q->tok = json_tokener_new_ex(QMP_JSON_DEPTH);
	if (!q->tok)
		ret = fail(q, -ENOMEM, "out of memory");
	else if (path)
		ret = connect_unix(q, path);
	else
		ret = q->fd < 0 ? fail(q, -EBADF, "no QMP socket") : 0;
	if (!ret)
		ret = handshake(q);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s", q->errmsg);
		qmp_close(q);
		return ret;
	}
	*client = q;
	return 0;
}

int qmp_open(const char *path, int timeout_ms, struct qmp **client,
	     char *err, size_t errlen)
{
	return open_client(path, -1, timeout_ms, client, err, errlen);
}

int qmp_open_fd(int fd, int timeout_ms, struct qmp **client,
		char *err, size_t errlen)
{
	return open_client(NULL, fd, timeout_ms, client, err, errlen);
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	qmp_events_clear(q);
	json_object_put(q->greeting);
	if (q->tok)
		json_tokener_free(q->tok);
	if (q->fd >= 0)
		(void)close(q->fd);	/* a unix socket: nothing left to flush */
	free(q);
}

bool qmp_usable(const struct qmp *q)
{
	return q && !q->broken;
}

void qmp_set_timeout(struct qmp *q, int timeout_ms)
{
	if (timeout_ms > 0)
		q->timeout_ms = timeout_ms;
}

struct json_object *qmp_greeting(const struct qmp *q)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(q->greeting, "QMP", &v);
	return v;
}
