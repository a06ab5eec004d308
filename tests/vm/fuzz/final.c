// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's final checks: clean page-mode and stream-mode migrations that
 * must still verify after the fuzzing, and the kernel's counters read from
 * /proc and /sys (taint flags, svmig's module reference count).
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"

unsigned long read_ulong(const char *path)
{
	char buf[64] = "";
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return ~0UL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoul(buf, NULL, 10) : ~0UL;
}

/* A clean page-mode migration over a socket pair: it must verify. */
bool clean_page_migration(void)
{
	uint8_t *src = arena, *dst = arena + 16 * PG;
	struct svmig_ring ring;
	uint32_t done = 0, recs = 0;
	int tx, rx, sv[2], i;
	bool ok;

	rnd_bytes(src, 8 * PG);
	memset(dst, 0, 8 * PG);
	tx = open_keyed(SVMIG_ROLE_SENDER, 1);
	rx = open_keyed(SVMIG_ROLE_RECEIVER, 1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	ok = !svmig_add_region(tx, 2, 0, src, 8 * PG) && !svmig_add_region(rx, 2, 0, dst, 8 * PG) &&
	     !svmig_ring_init(tx, 16, &ring) && !svmig_attach_socket(tx, sv[0]) &&
	     !svmig_attach_socket(rx, sv[1]);
	for (i = 0; ok && i < 8; i++)
		svmig_ring_push(&ring, 2, i);
	if (ok) {
		svmig_ring_publish(&ring);
		ok = !svmig_submit(tx, 0, &done) && done == 8 && !svmig_finish(tx) &&
		     !svmig_recv(rx, 0, &recs) && !svmig_verify(rx) && !memcmp(src, dst, 8 * PG);
		svmig_ring_exit(&ring);
	}
	if (!ok)
		tap_diag("clean page migration: %u submitted, %u received", done, recs);
	close(tx);
	close(rx);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

bool clean_stream_migration(void)
{
	static uint8_t data[60000], got[60000];
	size_t n = 0;
	ssize_t r;
	int tx, rx, sv[2];
	bool ok;

	rnd_bytes(data, sizeof(data));
	tx = open_keyed(SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, 0);
	rx = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	ok = !svmig_attach_socket(tx, sv[0]) && !svmig_attach_socket(rx, sv[1]) &&
	     write(tx, data, sizeof(data)) == (ssize_t)sizeof(data) && !svmig_finish(tx);
	while (ok && (r = read(rx, got + n, sizeof(got) - n)) > 0)
		n += r;
	ok = ok && n == sizeof(data) && !memcmp(got, data, n) && read(rx, got, 1) == 0 &&
	     !svmig_verify(rx);
	if (!ok)
		tap_diag("clean stream migration: %zu of %zu bytes read", n, sizeof(data));
	close(tx);
	close(rx);
	close(sv[0]);
	close(sv[1]);
	return ok;
}
