// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the data listener: data connections accepted for every target
 * migration at once, and taken by the one whose peer has their address.
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon_int.h"

/*
 * The data listener, for every target migration at once: accepts each
 * data connection as it comes and keeps it (a bounded number, each for
 * at most IO_TIMEOUT_MS) for the migration whose control peer has its
 * address (target_accept_data).  Runs until svmigd has served its last
 * connection.
 */
void *data_thread(void *arg)
{
	struct daemon *d = arg;

	for (;;) {
		struct pollfd pfd = { .fd = d->data_fd, .events = POLLIN };
		long long now;
		size_t i, j, same;
		bool quit;

		poll(&pfd, 1, 500);
		pthread_mutex_lock(&d->lock);
		quit = d->data_quit;
		now = svmig_now_ms();
		for (i = j = 0; i < d->n_pending; i++)	/* nobody took these */
			if (quit || now - d->pending[i].at > IO_TIMEOUT_MS)
				close(d->pending[i].fd);
			else
				d->pending[j++] = d->pending[i];
		d->n_pending = j;
		pthread_mutex_unlock(&d->lock);
		if (quit)
			return NULL;
		for (;;) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			int fd = accept4(d->data_fd, (struct sockaddr *)&ss, &sl,
					 SOCK_CLOEXEC);

			if (fd < 0)
				break;
			pthread_mutex_lock(&d->lock);
			for (i = same = 0; i < d->n_pending; i++)
				same += same_host(&d->pending[i].peer, &ss);
			if (d->n_pending == DATA_PENDING_MAX ||
			    same >= DATA_PENDING_PER_ADDR) {
				pthread_mutex_unlock(&d->lock);
				logp_(LOG_WARNING, "data connection refused: too many waiting");
				close(fd);
				continue;
			}
			d->pending[d->n_pending++] = (struct data_conn){
				.fd = fd, .peer = ss, .at = svmig_now_ms() };
			pthread_cond_broadcast(&d->cond);
			pthread_mutex_unlock(&d->lock);
		}
	}
}

/*
 * This migration's data connection: the first one from the control
 * peer's address accepted since its TLS handshake ended (older ones are
 * left over from earlier attempts).  check_request lets only one
 * migration from each host arrive at a time, so it is this one's.
 */
int target_accept_data(struct mig *m, const struct sockaddr_storage *peer,
		       long long since)
{
	struct daemon *d = m->d;
	long long deadline = svmig_now_ms() + IO_TIMEOUT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = m->conn_fd, .events = POLLIN };
		struct timespec ts;
		size_t i;

		pthread_mutex_lock(&d->lock);
		for (i = 0; i < d->n_pending; i++)
			if (same_host(&d->pending[i].peer, peer) &&
			    d->pending[i].at >= since)
				break;
		if (i < d->n_pending) {
			m->sock = d->pending[i].fd;
			/* in order: a libvirt migration's multifd channels count on it */
			memmove(&d->pending[i], &d->pending[i + 1],
				(d->n_pending - i - 1) * sizeof(d->pending[0]));
			d->n_pending--;
			pthread_mutex_unlock(&d->lock);
			/* blocking, as the kernel's socket use expects */
			fcntl(m->sock, F_SETFL, fcntl(m->sock, F_GETFL) & ~O_NONBLOCK);
			return 0;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		pthread_mutex_unlock(&d->lock);
		if (svmig_now_ms() >= deadline)
			return failf(m, "no data connection from %s within %d s",
				     m->s->peer, IO_TIMEOUT_MS / 1000);
		if (poll(&pfd, 1, 0) == 1 && pfd.revents)
			return failf(m, "%s ended the session before DATA",
				     m->s->peer);
	}
}
