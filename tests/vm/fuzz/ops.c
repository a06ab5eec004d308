// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's operations: every call the fuzzer makes is counted and timed
 * (op_begin, op_end: what the watchdog watches), and its errno checked
 * against what the uapi allows for that call.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz.h"

const char *const op_names[OP_NR] = {
	"GET_INFO", "SET_KEY", "ADD_REGION", "SETUP_RING", "ATTACH_SOCK", "SUBMIT",
	"FINISH", "RECV", "VERIFY", "GET_STATS", "bad ioctl", "read", "write",
	"poll", "mmap", "munmap/mprotect/madvise/mremap", "ring access", "ring entries",
	"close", "dup", "fork", "peer socket", "page-mode records",
	"stream-mode records", "sender output opened",
};

_Atomic unsigned long op_calls[OP_NR], op_ok[OP_NR];

/*
 * Errnos each call may return (Documentation/uapi.rst, plus what the
 * attached socket's own calls return, which the channel passes on).
 */
#define SOCK_ERRS	EPIPE, ECONNRESET, ENOTCONN, EAGAIN, EINTR, ETIMEDOUT, \
			ECONNREFUSED, ENOMEM, EINVAL
static const int errs_info[] = { EFAULT, 0 };
/*
 * Every call that takes the channel's lock may return EAGAIN (O_NONBLOCK,
 * lock held); EPERM where region memory is touched from another process.
 */
static const int errs_set_key[] = { EFAULT, EINVAL, EBUSY, ENODEV, ENOMEM, EINTR, EPIPE, EIO,
				    EAGAIN, EEXIST, EKEYREJECTED, EALREADY, 0 };
static const int errs_region[] = { EFAULT, EINVAL, EBUSY, EEXIST, ENOSPC, ENOMEM, EINTR, EPIPE,
				   EAGAIN, EPERM, 0 };
static const int errs_ring[] = { EFAULT, EINVAL, EBUSY, ENOMEM, EINTR, EPIPE, EAGAIN, 0 };
static const int errs_attach[] = { EFAULT, EINVAL, EBUSY, EBADF, ENOTSOCK, EINTR, EPIPE, EAGAIN,
				   0 };
static const int errs_submit[] = { EFAULT, EINVAL, EOVERFLOW, EPERM, SOCK_ERRS, 0 };
static const int errs_finish[] = { EINVAL, EOVERFLOW, SOCK_ERRS, 0 };
static const int errs_recv[] = { EFAULT, EPROTO, EILSEQ, EBADMSG, EOVERFLOW, ENODATA, EPERM,
				 EKEYREJECTED, SOCK_ERRS, 0 };
static const int errs_verify[] = { EINVAL, EINPROGRESS, EBADMSG, ENODATA, EINTR, EAGAIN, 0 };
static const int errs_read[] = { EBADF, EFAULT, EPROTO, EILSEQ, EBADMSG, EOVERFLOW, ENODATA,
				 EKEYREJECTED, SOCK_ERRS, 0 };
static const int errs_write[] = { EBADF, EFAULT, EPROTO, EILSEQ, EBADMSG, EOVERFLOW, EPERM,
				  EKEYREJECTED, SOCK_ERRS, 0 };
static const int errs_bad_ioctl[] = { ENOTTY, 0 };

static const int *const op_errs[OP_NR] = {
	[OP_GET_INFO] = errs_info, [OP_GET_STATS] = errs_info,
	[OP_SET_KEY] = errs_set_key, [OP_ADD_REGION] = errs_region,
	[OP_SETUP_RING] = errs_ring, [OP_ATTACH] = errs_attach,
	[OP_SUBMIT] = errs_submit, [OP_FINISH] = errs_finish, [OP_RECV] = errs_recv,
	[OP_VERIFY] = errs_verify, [OP_READ] = errs_read, [OP_WRITE] = errs_write,
	[OP_BAD_IOCTL] = errs_bad_ioctl,
};

static bool errno_allowed(enum op op, int err)
{
	const int *e = op_errs[op];

	if (!e || !err)
		return true;
	if (racing && err == EBADF)
		return true;
	for (; *e; e++)
		if (*e == err)
			return true;
	return false;
}

struct worker workers[MAX_WORKERS];
__thread struct worker *self;
_Atomic bool hung;

void worker_register(int i)
{
	scratch = scratch_pool[i];
	self = &workers[i];
	atomic_store(&self->tid, (pid_t)syscall(SYS_gettid));
	atomic_store(&self->since, 0);
	self->depth = 0;
	self->kicked = false;
}

void op_begin(enum op op)
{
	atomic_fetch_add(&op_calls[op], 1);
	if (self && !in_child && !self->depth++) {
		atomic_store(&self->op, op);
		atomic_store(&self->since, now_ns());
	}
}

/*
 * The storm's channel whose call is running, if its model is exact, and
 * whether it is known to have failed: after a fatal error "every later
 * call fails" (Documentation/uapi.rst), GET_INFO and GET_STATS aside.
 */
__thread bool cur_failed;

/* Ends a call: counts it and checks its errno against the uapi's list. */
int op_end(enum op op, int ret)
{
	if (self && !in_child && self->depth && !--self->depth) {
		uint64_t d = now_ns() - atomic_load(&self->since);
		uint64_t cur = atomic_load(&longest_op_ns);

		while (d > cur && !atomic_compare_exchange_weak(&longest_op_ns, &cur, d))
			;
		atomic_store(&self->since, 0);
	}
	if (ret >= 0 && cur_failed && !racing && !in_child &&
	    (op == OP_SET_KEY || op == OP_ADD_REGION || op == OP_SETUP_RING || op == OP_ATTACH ||
	     op == OP_SUBMIT || op == OP_FINISH || op == OP_RECV || op == OP_VERIFY ||
	     op == OP_READ || op == OP_WRITE))
		report(&n_contract, "%s succeeded on a channel that had failed", op_names[op]);
	if (ret >= 0)
		atomic_fetch_add(&op_ok[op], 1);
	else if (!errno_allowed(op, -ret))
		report(&n_contract, "%s returned %s (%d), which the uapi does not allow",
		       op_names[op], strerror(-ret), ret);
	return ret;
}

int xioctl(enum op op, int fd, unsigned long cmd, void *arg)
{
	int ret;

	op_begin(op);
	ret = ioctl(fd, cmd, arg) < 0 ? -errno : 0;
	return op_end(op, ret);
}
