// SPDX-License-Identifier: GPL-2.0
/*
 * The attached socket: records leave and arrive through the kernel's own
 * socket calls, never through a userspace buffer.  While attached, the
 * socket's wake-ups also wake the channel's wait queue, the one poll()
 * sleeps on, so an epoll set up before ATTACH_SOCK sees the socket.
 */
#include <linux/net.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "svmig.h"

static bool svmig_sock_usable(struct socket *sock)
{
	int family;

	if (sock->type != SOCK_STREAM || !sock->sk || !sock->file)
		return false;
	family = sock->sk->sk_family;
	return family == AF_INET || family == AF_INET6 || family == AF_UNIX;
}

/*
 * The channel's own entry on the socket's wait queue (vhost-net polls its
 * sockets the same way): every wake-up of the socket (data, room, state,
 * error) is passed on to the channel's wait queue, which is the only one
 * poll() registers.  Runs with the socket's wait-queue lock held, in any
 * context; it only wakes.
 */
static int svmig_sock_wake(struct wait_queue_entry *wait, unsigned int mode, int sync,
			   void *key)
{
	struct svmig_channel *ch = container_of(wait, struct svmig_channel, sock_wait);

	wake_up_interruptible_poll(&ch->wq, key_to_poll(key));
	return 0;
}

static void svmig_sock_queue(struct file *file, wait_queue_head_t *whead, poll_table *pt)
{
	struct svmig_channel *ch = container_of(pt, struct svmig_channel, sock_pt);

	/* A socket has one wait queue; anything more is not ours to watch. */
	if (ch->sock_whead)
		return;
	ch->sock_whead = whead;
	add_wait_queue(whead, &ch->sock_wait);
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
	init_waitqueue_func_entry(&ch->sock_wait, svmig_sock_wake);
	init_poll_funcptr(&ch->sock_pt, svmig_sock_queue);
	vfs_poll(sock->file, &ch->sock_pt);
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

	if (ch->nonblock)
		msg.msg_flags |= MSG_DONTWAIT;
	n = kernel_sendmsg(ch->sock, &msg, &iov, 1, len);
	return n == 0 ? -EPIPE : n;
}

/*
 * Whether the next send may lend pages.  TCP's sendpage waits for room in
 * the send buffer (or returns EAGAIN) as its sendmsg does.  AF_UNIX's, in
 * 6.1, appends to the peer's last skb without waiting for room, so a full
 * AF_UNIX socket is sent to by copy, which waits as sendmsg does: the
 * socket's back-pressure, O_NONBLOCK and signals behave the same either way.
 */
bool svmig_sock_can_lend(struct svmig_channel *ch)
{
	if (ch->sock->sk->sk_family != AF_UNIX)
		return true;
	return vfs_poll(ch->sock->file, NULL) & EPOLLOUT;
}

/*
 * Lends the socket part of one page (txbuf.c): it takes a reference and
 * reads the bytes when it transmits them.  @more: the next call follows at
 * once, so the protocol may wait for it before pushing a segment out.
 */
int svmig_sock_send_page(struct svmig_channel *ch, struct page *page, size_t off, size_t len,
			 bool more)
{
	int flags = MSG_NOSIGNAL;
	int n;

	if (ch->nonblock)
		flags |= MSG_DONTWAIT;
	if (more)
		flags |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
	n = kernel_sendpage(ch->sock, page, off, len, flags);
	return n == 0 ? -EPIPE : n;
}

/* Returns the bytes received, 0 at end of stream, or a negative errno. */
int svmig_sock_recv(struct svmig_channel *ch, u8 *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = 0 };
	struct kvec iov = { .iov_base = buf, .iov_len = len };

	return kernel_recvmsg(ch->sock, &msg, &iov, 1, len, ch->nonblock ? MSG_DONTWAIT : 0);
}

/* The attached socket's readiness, 0 without one.  Registers no waiter. */
__poll_t svmig_sock_poll(struct svmig_channel *ch)
{
	/* Pairs with the release in svmig_attach_sock(). */
	struct socket *sock = smp_load_acquire(&ch->sock);

	return sock ? vfs_poll(sock->file, NULL) : 0;
}

void svmig_detach_sock(struct svmig_channel *ch)
{
	if (!ch->sock)
		return;
	if (ch->sock_whead)
		remove_wait_queue(ch->sock_whead, &ch->sock_wait);
	ch->sock_whead = NULL;
	sockfd_put(ch->sock);
	ch->sock = NULL;
}
