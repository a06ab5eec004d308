// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest VMM of the install test (tests/install/guest-install.sh):
 * built against the *installed* libsvmig only, with
 *   cc $(pkg-config --cflags svmig) vmm-min.c $(pkg-config --libs svmig)
 * It opens /dev/svmig, checks the ABI version, keys a sender channel,
 * registers four pages of "guest memory", names two of them dirty in a
 * KVM-style bitmap and reads back the records the kernel sealed.
 *
 * Exit status: 0 all done; 3 /dev/svmig could not be opened (the errno is
 * printed: the test runs it with and without the svmig group); 1 anything
 * else failed.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libsvmig.h>	/* and through it <linux/svmig.h>, both from pkg-config's -I */

#define PAGES 4

static int fail(const char *what, int err)
{
	fprintf(stderr, "vmm-min: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(void)
{
	static uint8_t buf[1 << 16];
	uint8_t session[SVMIG_SESSION_ID_LEN] = { 1 }, secret[SVMIG_SECRET_LEN] = { 2 };
	uint64_t bitmap = (1u << 0) | (1u << 2);	/* pages 0 and 2 dirty */
	size_t want = SVMIG_HELLO_REC_LEN + 2 * SVMIG_PAGE_REC_LEN, got = 0;
	struct svmig_info info;
	struct svmig_stats st;
	struct svmig_ring ring;
	int64_t sent;
	uint8_t *mem;
	ssize_t n;
	int fd, ret;

	fd = svmig_open();
	if (fd < 0) {
		fprintf(stderr, "vmm-min: open " SVMIG_DEVICE ": %s\n", strerror(-fd));
		return 3;
	}
	ret = svmig_get_info(fd, &info);
	if (ret)
		return fail("SVMIG_IOC_GET_INFO", ret);
	if (info.abi_version != SVMIG_ABI_VERSION) {
		fprintf(stderr, "vmm-min: ABI %u, the header says %u\n",
			info.abi_version, SVMIG_ABI_VERSION);
		return 1;
	}
	ret = svmig_set_key(fd, SVMIG_ROLE_SENDER, 0, session, secret);
	if (ret)
		return fail("svmig_set_key", ret);
	mem = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap", errno);
	memset(mem, 0x5a, PAGES * 4096);
	ret = svmig_add_region(fd, 1, 0, mem, PAGES * 4096);
	if (ret)
		return fail("svmig_add_region", ret);
	ret = svmig_ring_init(fd, 16, &ring);
	if (ret)
		return fail("svmig_ring_init", ret);
	sent = svmig_submit_bitmap(&ring, 1, &bitmap, PAGES);
	if (sent != 2) {
		fprintf(stderr, "vmm-min: svmig_submit_bitmap: %lld, not 2\n",
			(long long)sent);
		return 1;
	}
	while (got < want && (n = read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	if (got != want) {
		fprintf(stderr, "vmm-min: read %zu bytes of records, not %zu\n",
			got, want);
		return 1;
	}
	ret = svmig_get_stats(fd, &st);
	if (ret)
		return fail("svmig_get_stats", ret);
	if (st.pages != 2) {
		fprintf(stderr, "vmm-min: stats: %llu pages sealed, not 2\n",
			(unsigned long long)st.pages);
		return 1;
	}
	printf("vmm-min: ABI %u, AEAD %.64s: 2 dirty pages sealed, %zu bytes of records\n",
	       info.abi_version, st.aead_driver, got);
	svmig_ring_exit(&ring);
	munmap(mem, PAGES * 4096);
	close(fd);
	return 0;
}
