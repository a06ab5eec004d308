// SPDX-License-Identifier: GPL-2.0
/*
 * svmig: secure VM live migration, the crypto and verification in the
 * kernel.  /dev/svmig: one open file is one channel of one session.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/tpm.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "svmig.h"

static bool svmig_have_tpm(void)
{
	struct tpm_chip *chip = tpm_default_chip();

	if (!chip)
		return false;
	put_device(&chip->dev);
	return true;
}

static int svmig_info_get(void __user *argp)
{
	struct svmig_info info = {
		.abi_version = SVMIG_ABI_VERSION,
		.page_size = SVMIG_PAGE_SIZE,
		.features = SVMIG_FEAT_PAGE_MODE | SVMIG_FEAT_SOCKET | SVMIG_FEAT_RW |
			    SVMIG_FEAT_STREAM | SVMIG_FEAT_EXPLICIT_END | SVMIG_FEAT_SESSION |
			    SVMIG_FEAT_TPM_SALT_FLAG,
		.max_regions = SVMIG_MAX_REGIONS,
		.max_ring_entries = SVMIG_MAX_RING_ENTRIES,
		.max_region_size = SVMIG_MAX_REGION_SIZE,
		.max_total_size = SVMIG_MAX_TOTAL_SIZE,
		.page_record_size = SVMIG_PAGE_REC_LEN,
		.epoch_shift = SVMIG_EPOCH_SHIFT,
	};

	if (svmig_have_tpm())
		info.features |= SVMIG_FEAT_TPM;
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

/*
 * Without the channel lock, so a controller can watch a channel whose
 * owner is blocked in a send or receive.  Counters may be mid-update; the
 * one pointer followed, the session, is published once and kept until the
 * file is released.  A receiver's verdict is its session's.
 */
static int svmig_stats_get(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_stats st;

	/* Racy by design, see above: a torn counter is harmless. */
	memcpy(&st, data_race(&ch->stats), sizeof(st));
	/*
	 * Error and verdict agree, though: the error (set once) first, then
	 * the verdict written before it (svmig_fail()), again if the error
	 * came meanwhile.
	 */
	do {
		st.error = READ_ONCE(ch->stats.error);
		/* Pairs with the smp_wmb() in svmig_fail(). */
		smp_rmb();
		st.verdict = READ_ONCE(ch->role) == SVMIG_ROLE_RECEIVER ?
			     svmig_session_verdict(ch) : READ_ONCE(ch->stats.verdict);
		/* The verdict read before the error is read again. */
		smp_rmb();
	} while (st.error != READ_ONCE(ch->stats.error));
	st.role = READ_ONCE(ch->role);
	st.aead_driver[sizeof(st.aead_driver) - 1] = '\0';
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static int svmig_ioctl_finish(struct svmig_channel *ch)
{
	return ch->stream ? svmig_stream_finish(ch) : svmig_page_finish(ch);
}

static long svmig_channel_ioctl(struct svmig_channel *ch, unsigned int cmd, void __user *argp)
{
	switch (cmd) {
	case SVMIG_IOC_SET_KEY:
		return svmig_keys_set(ch, argp);
	case SVMIG_IOC_ADD_REGION:
		return svmig_region_add(ch, argp);
	case SVMIG_IOC_SETUP_RING:
		return svmig_setup_ring(ch, argp);
	case SVMIG_IOC_ATTACH_SOCK:
		return svmig_attach_sock(ch, argp);
	case SVMIG_IOC_SUBMIT:
		return svmig_page_submit(ch, argp);
	case SVMIG_IOC_FINISH:
		return svmig_ioctl_finish(ch);
	case SVMIG_IOC_RECV:
		return svmig_rx_recv(ch, argp, ch->stream ? svmig_stream_rx_apply :
							    svmig_page_rx_apply);
	case SVMIG_IOC_VERIFY:
		return svmig_rx_verify(ch);
	}
	return -ENOTTY;	/* not reached: svmig_ioctl() checked cmd */
}

/*
 * Every call that may change the channel's state takes its lock here:
 * O_NONBLOCK callers do not wait for it (-EAGAIN), and the flag reaches the
 * socket calls through ch->nonblock.  Poll()ers are woken after the call.
 */
static int svmig_lock(struct svmig_channel *ch, struct file *file)
{
	bool nonblock = file->f_flags & O_NONBLOCK;

	if (nonblock) {
		if (!mutex_trylock(&ch->lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&ch->lock)) {
		return -ERESTARTSYS;
	}
	ch->nonblock = nonblock;
	return 0;
}

static void svmig_unlock(struct svmig_channel *ch)
{
	mutex_unlock(&ch->lock);
	svmig_wake(ch);
}

/*
 * SUBMIT and RECV write their count back whatever happens (uapi.rst), also
 * when the call never got the channel: a signal while waiting for it, or
 * O_NONBLOCK while another call holds it.  A fault here changes nothing.
 */
static void svmig_count_none(unsigned int cmd, void __user *argp)
{
	if (cmd == SVMIG_IOC_SUBMIT)
		(void)put_user(0, &((struct svmig_submit __user *)argp)->completed);
	else if (cmd == SVMIG_IOC_RECV)
		(void)put_user(0, &((struct svmig_recv __user *)argp)->records);
}

static long svmig_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct svmig_channel *ch = file->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	switch (cmd) {
	case SVMIG_IOC_GET_INFO:
		return svmig_info_get(argp);
	case SVMIG_IOC_GET_STATS:
		return svmig_stats_get(ch, argp);
	case SVMIG_IOC_SET_KEY:
	case SVMIG_IOC_ADD_REGION:
	case SVMIG_IOC_SETUP_RING:
	case SVMIG_IOC_ATTACH_SOCK:
	case SVMIG_IOC_SUBMIT:
	case SVMIG_IOC_FINISH:
	case SVMIG_IOC_RECV:
	case SVMIG_IOC_VERIFY:
		break;
	default:
		return -ENOTTY;	/* without the lock: no EAGAIN, no EINTR */
	}
	ret = svmig_lock(ch, file);
	if (ret) {
		svmig_count_none(cmd, argp);
		return ret;
	}
	ret = svmig_channel_ioctl(ch, cmd, argp);
	svmig_unlock(ch);
	return ret;
}

/* Stream mode: plaintext out of a receiver.  Page mode: records out of a sender. */
static ssize_t svmig_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct svmig_channel *ch = iocb->ki_filp->private_data;
	ssize_t ret;

	ret = svmig_lock(ch, iocb->ki_filp);
	if (ret)
		return ret;
	if (ch->stream)
		ret = svmig_stream_read(ch, to);
	else
		ret = svmig_tx_read(ch, to);
	svmig_unlock(ch);
	return ret;
}

/* Stream mode: plaintext into a sender.  Page mode: records into a receiver. */
static ssize_t svmig_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct svmig_channel *ch = iocb->ki_filp->private_data;
	ssize_t ret;

	ret = svmig_lock(ch, iocb->ki_filp);
	if (ret)
		return ret;
	if (ch->stream)
		ret = svmig_stream_write(ch, from);
	else
		ret = svmig_page_write(ch, from);
	svmig_unlock(ch);
	return ret;
}

/*
 * Lockless, like GET_STATS: what the channel holds, combined with the
 * attached socket's readiness.  The channel's wait queue is the only one
 * registered: the socket's callbacks wake it (transport.c), so an epoll set
 * up before ATTACH_SOCK is woken by the socket too.
 */
static __poll_t svmig_poll(struct file *file, poll_table *wait)
{
	struct svmig_channel *ch = file->private_data;
	__poll_t sock_mask, mask = 0;
	bool has_sock;
	u32 role;

	poll_wait(file, &ch->wq, wait);
	sock_mask = svmig_sock_poll(ch);
	has_sock = sock_mask || READ_ONCE(ch->sock);
	role = READ_ONCE(ch->role);
	if (READ_ONCE(ch->failed))
		return EPOLLERR | EPOLLIN | EPOLLOUT;
	if (role == SVMIG_ROLE_RECEIVER) {
		if (READ_ONCE(ch->pt_len) || READ_ONCE(ch->ended) || READ_ONCE(ch->rx_whole) ||
		    (sock_mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (!has_sock)
			mask |= EPOLLOUT | EPOLLWRNORM;
	} else if (role == SVMIG_ROLE_SENDER) {
		if (has_sock)
			mask |= sock_mask & (EPOLLOUT | EPOLLWRNORM);
		else
			mask |= EPOLLOUT | EPOLLWRNORM;
		if (!has_sock && READ_ONCE(ch->tx_len) != READ_ONCE(ch->tx_off))
			mask |= EPOLLIN | EPOLLRDNORM;
	}
	return mask;
}

static int svmig_open_file(struct inode *inode, struct file *file)
{
	struct svmig_channel *ch = kzalloc(sizeof(*ch), GFP_KERNEL_ACCOUNT);

	if (!ch)
		return -ENOMEM;
	mutex_init(&ch->lock);
	init_waitqueue_head(&ch->wq);
	file->private_data = ch;
	return stream_open(inode, file);
}

static int svmig_release(struct inode *inode, struct file *file)
{
	struct svmig_channel *ch = file->private_data;

	/* Nobody else holds the file: the lock only satisfies the helpers' asserts. */
	mutex_lock(&ch->lock);
	svmig_tx_release(ch);
	mutex_unlock(&ch->lock);
	svmig_detach_sock(ch);
	svmig_free_ring(ch);
	svmig_free_regions(ch);
	svmig_session_leave(ch);
	svmig_batch_free(ch);
	svmig_keys_free(&ch->keys);
	svmig_txbuf_free(ch);
	kfree_sensitive(ch->rxbuf);
	mutex_destroy(&ch->lock);
	kfree_sensitive(ch);
	return 0;
}

static const struct file_operations svmig_fops = {
	.owner = THIS_MODULE,
	.open = svmig_open_file,
	.release = svmig_release,
	.read_iter = svmig_read_iter,
	.write_iter = svmig_write_iter,
	.poll = svmig_poll,
	.unlocked_ioctl = svmig_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = svmig_ring_mmap,
	.llseek = no_llseek,
};

static struct miscdevice svmig_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "svmig",
	.fops = &svmig_fops,
	.mode = 0600,
};

/* The ABI is the same for 32- and 64-bit callers: sizes are fixed. */
static void svmig_abi_checks(void)
{
	BUILD_BUG_ON(sizeof(struct svmig_info) != 80);
	BUILD_BUG_ON(sizeof(struct svmig_key_setup) != 88);
	BUILD_BUG_ON(sizeof(struct svmig_region) != 48);
	BUILD_BUG_ON(sizeof(struct svmig_ring_setup) != 64);
	BUILD_BUG_ON(sizeof(struct svmig_dirty_gfn) != 16);
	BUILD_BUG_ON(sizeof(struct svmig_submit) != 32);
	BUILD_BUG_ON(sizeof(struct svmig_attach) != 24);
	BUILD_BUG_ON(sizeof(struct svmig_recv) != 32);
	BUILD_BUG_ON(sizeof(struct svmig_stats) != 216);
	BUILD_BUG_ON(sizeof(struct svmig_wire_hdr) != SVMIG_HDR_LEN);
	BUILD_BUG_ON(sizeof(struct svmig_wire_hello) != 56);
	BUILD_BUG_ON(sizeof(struct svmig_wire_page) != 16);
	BUILD_BUG_ON(sizeof(struct svmig_wire_manifest) != 40);
	BUILD_BUG_ON(sizeof(struct svmig_wire_end) != 56);
	BUILD_BUG_ON(SVMIG_PAGE_REC_LEN % 8 || SVMIG_HELLO_REC_LEN % 8 ||
		     SVMIG_MANIFEST_REC_LEN % 8);
}

static int __init svmig_init(void)
{
	int ret;

	svmig_abi_checks();
	ret = svmig_selftest();
	if (ret) {
		pr_err("HKDF self-test failed (%d), not loading\n", ret);
		return ret;
	}
	ret = svmig_batch_init();
	if (ret)
		return ret;
	ret = misc_register(&svmig_misc);
	if (ret)
		goto err_batch;
	return 0;

err_batch:
	svmig_batch_exit();
	return ret;
}

static void __exit svmig_exit(void)
{
	misc_deregister(&svmig_misc);
	svmig_batch_exit();
}

module_init(svmig_init);
module_exit(svmig_exit);

MODULE_DESCRIPTION("svmig: VM live migration crypto and verification in the kernel");
MODULE_AUTHOR("The svmig authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(SVMIG_VERSION);
