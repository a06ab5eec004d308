// SPDX-License-Identifier: GPL-2.0
/*
 * The attached socket: records leave and arrive through the kernel's own
 * socket calls, never through a userspace buffer.
 */
#include <linux/net.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "svmig.h"

static bool svmig_sock_usable(struct socket *sock)
{
	int family;

	if (sock->type != SOCK_STREAM || !sock->sk)
		return false;
	family = sock->sk->sk_family;
	return family == AF_INET || family == AF_INET6 || family == AF_UNIX;
}

int svmig_attach_sock(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_attach a;
	struct socket *sock;
	int err;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags || !svmig_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	if (ch->sock || ch->started)
		return -EBUSY;
	sock = sockfd_lookup(a.fd, &err);
	if (!sock)
		return err;
	if (!svmig_sock_usable(sock)) {
		sockfd_put(sock);
		return -EINVAL;
	}
	/* Pairs with the acquire in svmig_sock_poll(), which takes no lock. */
	smp_store_release(&ch->sock, sock);
	ch->stats.flags |= SVMIG_STAT_SOCKET;
	return 0;
}

/* Returns the bytes sent (at least one) or a negative errno. */
int svmig_sock_send(struct svmig_channel *ch, const u8 *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
	int n;

	n = kernel_sendmsg(ch->sock, &msg, &iov, 1, len);
	return n == 0 ? -EPIPE : n;
}

/* Returns the bytes received, 0 at end of stream, or a negative errno. */
int svmig_sock_recv(struct svmig_channel *ch, u8 *buf, size_t len, bool nonblock)
{
	struct msghdr msg = { .msg_flags = 0 };
	struct kvec iov = { .iov_base = buf, .iov_len = len };

	return kernel_recvmsg(ch->sock, &msg, &iov, 1, len, nonblock ? MSG_DONTWAIT : 0);
}

/* The attached socket's readiness (0 without one); @wait may be NULL. */
__poll_t svmig_sock_poll(struct svmig_channel *ch, poll_table *wait)
{
	struct socket *sock = smp_load_acquire(&ch->sock);

	return sock ? vfs_poll(sock->file, wait) : 0;
}

void svmig_detach_sock(struct svmig_channel *ch)
{
	if (ch->sock)
		sockfd_put(ch->sock);
	ch->sock = NULL;
}
