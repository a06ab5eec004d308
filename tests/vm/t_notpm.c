// SPDX-License-Identifier: GPL-2.0
/*
 * No TPM: refuse, unless an explicit, logged opt-in.  Runs in the boot of
 * `tests/vm/run-vm.sh --no-tpm` (no swtpm, no TPM device) and skips itself
 * wherever /dev/tpm0 exists.  Checks that GET_INFO does not claim a TPM,
 * that SET_KEY without SVMIG_KEY_NO_TPM fails with ENODEV for both roles
 * and leaves the channel unkeyed (silently), that with the flag the sender
 * keys with a CRNG salt, says so in its stats and in the kernel log, and
 * that an opted-in sender and receiver still interoperate end to end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"

#define SLOT		3
#define NPAGES		8
#define CH_REFUSED	40
#define CH_OPTIN	41
#define CH_PAIR		42

/* SYSLOG_ACTION_* of syslog(2); glibc's <sys/klog.h> has no names. */
#define LOG_READ_ALL	3
#define LOG_SIZE_BUFFER	10

static const uint8_t session[SVMIG_SESSION_ID_LEN] = "svmig-no-tpm-001";
static const uint8_t secret[SVMIG_SECRET_LEN] = "no TPM here, opt-in test secret";

static int open_dev(void)
{
	int fd = svmig_open();

	if (fd < 0)
		tap_bail("open %s: %s", SVMIG_DEVICE, strerror(-fd));
	return fd;
}

static struct svmig_stats stats(int fd)
{
	struct svmig_stats st;
	int ret;

	memset(&st, 0, sizeof(st));
	ret = svmig_get_stats(fd, &st);
	if (ret)
		tap_bail("GET_STATS: %s", strerror(-ret));
	return st;
}

/* The kernel log since the last `dmesg -C` (guest-run.sh clears it). */
static char *kernel_log(void)
{
	int size = klogctl(LOG_SIZE_BUFFER, NULL, 0);
	char *buf;
	int n;

	if (size <= 0)
		size = 1 << 20;
	buf = calloc(1, size + 1);
	if (!buf)
		tap_bail("out of memory");
	n = klogctl(LOG_READ_ALL, buf, size);
	if (n < 0) {
		tap_diag("klogctl(SYSLOG_ACTION_READ_ALL): %s", strerror(errno));
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

static bool log_has(const char *needle)
{
	char *log = kernel_log();
	bool found = strstr(log, needle) != NULL;

	free(log);
	return found;
}

static void test_info(void)
{
	struct svmig_info info;
	int fd = open_dev();

	memset(&info, 0, sizeof(info));
	tap_errno(svmig_get_info(fd, &info), 0, "GET_INFO succeeds");
	tap_ok(!(info.features & SVMIG_FEAT_TPM) && (info.features & SVMIG_FEAT_PAGE_MODE),
	       "GET_INFO features lack SVMIG_FEAT_TPM (0x%llx)",
	       (unsigned long long)info.features);
	close(fd);
}

static void test_refused(uint32_t role, const char *name)
{
	struct svmig_stats st;
	int fd = open_dev();

	tap_errno(svmig_set_key(fd, role, CH_REFUSED, session, secret), -ENODEV,
		  "SET_KEY %s without SVMIG_KEY_NO_TPM: ENODEV", name);
	st = stats(fd);
	tap_ok(st.role == 0 && !(st.flags & (SVMIG_STAT_KEYED | SVMIG_STAT_TPM_SALT |
					      SVMIG_STAT_NO_TPM)),
	       "refused %s: channel left unkeyed (role %u, flags 0x%x)", name, st.role,
	       st.flags);
	tap_errno(svmig_verify(fd), -EINVAL, "refused %s: VERIFY says unkeyed (EINVAL)", name);
	/* The refusal leaves nothing behind: the opt-in still works on it. */
	tap_errno(svmig_set_key(fd, role | SVMIG_KEY_NO_TPM, CH_REFUSED, session, secret), 0,
		  "refused %s: the same channel can then be keyed with the opt-in", name);
	close(fd);
}

static void test_optin_sender(void)
{
	char needle[64];
	struct svmig_stats st;
	int fd = open_dev();

	snprintf(needle, sizeof(needle), "channel %u keyed WITHOUT a TPM", CH_OPTIN);
	tap_ok(!log_has(needle), "no opt-in logged for channel %u before its SET_KEY",
	       CH_OPTIN);
	tap_errno(svmig_set_key(fd, SVMIG_ROLE_SENDER | SVMIG_KEY_NO_TPM, CH_OPTIN, session,
				secret), 0, "SET_KEY sender with SVMIG_KEY_NO_TPM succeeds");
	st = stats(fd);
	tap_ok(st.role == SVMIG_ROLE_SENDER && (st.flags & SVMIG_STAT_KEYED),
	       "opted-in sender is keyed (role %u, flags 0x%x)", st.role, st.flags);
	tap_ok((st.flags & SVMIG_STAT_NO_TPM) && !(st.flags & SVMIG_STAT_TPM_SALT),
	       "stats.flags has SVMIG_STAT_NO_TPM, not SVMIG_STAT_TPM_SALT (0x%x)", st.flags);
	tap_ok(log_has(needle), "kernel log says \"%s\"", needle);
	tap_ok(log_has("keyed WITHOUT a TPM (SVMIG_KEY_NO_TPM)"),
	       "kernel log names the opt-in flag");
	close(fd);
}

static void fill_page(uint8_t *page, int index)
{
	int i;

	for (i = 0; i < SVMIG_PAGE_SIZE; i++)
		page[i] = (uint8_t)(index * 37 + i * 11 + 5);
}

static uint8_t *map_pages(int fill)
{
	uint8_t *p = mmap(NULL, NPAGES * SVMIG_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	memset(p, fill, NPAGES * SVMIG_PAGE_SIZE);
	return p;
}

/* Opted-in sender (ring, FINISH, read()) to opted-in receiver (write()). */
static void test_optin_pair(void)
{
	uint8_t *src = map_pages(0), *dst = map_pages(0xee);
	size_t len = 0, cap = 2 * SVMIG_HELLO_REC_LEN + NPAGES * SVMIG_PAGE_REC_LEN +
			      SVMIG_MANIFEST_REC_LEN;
	size_t want = SVMIG_HELLO_REC_LEN + NPAGES * SVMIG_PAGE_REC_LEN + SVMIG_MANIFEST_REC_LEN;
	uint8_t *stream = malloc(cap);
	struct svmig_ring ring;
	struct svmig_stats st;
	uint32_t done = 0;
	int tx, rx, i, ret;
	ssize_t n;

	if (!stream)
		tap_bail("out of memory");
	for (i = 0; i < NPAGES; i++)
		fill_page(src + i * SVMIG_PAGE_SIZE, i);

	tx = open_dev();
	ret = svmig_set_key(tx, SVMIG_ROLE_SENDER | SVMIG_KEY_NO_TPM, CH_PAIR, session, secret);
	if (!ret)
		ret = svmig_add_region(tx, SLOT, 0x400000, src, NPAGES * SVMIG_PAGE_SIZE);
	if (!ret)
		ret = svmig_ring_init(tx, 16, &ring);
	if (ret)
		tap_bail("opted-in sender setup: %s", strerror(-ret));
	for (i = 0; i < NPAGES; i++)
		svmig_ring_push(&ring, SLOT, i);
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(tx, 0, &done), 0, "opted-in sender: SUBMIT via the ring");
	tap_ok(done == NPAGES, "opted-in sender: %u of %d pages sealed", done, NPAGES);
	tap_errno(svmig_finish(tx), 0, "opted-in sender: FINISH (manifest)");
	while (len < cap && (n = read(tx, stream + len, cap - len)) > 0)
		len += n;
	tap_ok(len == want, "opted-in sender: read() yields HELLO, %d pages, manifest "
	       "(%zu of %zu bytes)", NPAGES, len, want);
	svmig_ring_exit(&ring);
	close(tx);

	rx = open_dev();
	tap_errno(svmig_set_key(rx, SVMIG_ROLE_RECEIVER, CH_PAIR, session, secret), -ENODEV,
		  "receiver without the opt-in: ENODEV");
	ret = svmig_set_key(rx, SVMIG_ROLE_RECEIVER | SVMIG_KEY_NO_TPM, CH_PAIR, session, secret);
	tap_errno(ret, 0, "SET_KEY receiver with SVMIG_KEY_NO_TPM succeeds");
	if (!ret)
		ret = svmig_add_region(rx, SLOT, 0x400000, dst, NPAGES * SVMIG_PAGE_SIZE);
	if (ret)
		tap_bail("opted-in receiver setup: %s", strerror(-ret));
	n = write(rx, stream, len);
	tap_ok(n == (ssize_t)len, "opted-in receiver: write() takes the whole stream (%zd of %zu)",
	       n, len);
	if (n < 0)
		tap_diag("write: %s", strerror(errno));
	tap_errno(svmig_verify(rx), 0, "opted-in receiver: VERIFY returns 0");
	st = stats(rx);
	tap_ok(st.verdict == SVMIG_VERDICT_VERIFIED && st.pages == NPAGES &&
	       st.auth_failures == 0 && st.replays == 0 && st.proto_errors == 0,
	       "opted-in receiver: verdict verified, %llu pages, no errors",
	       (unsigned long long)st.pages);
	tap_ok(!memcmp(src, dst, NPAGES * SVMIG_PAGE_SIZE),
	       "guest memory on the receiver equals the sender's");
	close(rx);
	free(stream);
	munmap(src, NPAGES * SVMIG_PAGE_SIZE);
	munmap(dst, NPAGES * SVMIG_PAGE_SIZE);
}

/* The number of checks main() runs, printed first. */
#define PLAN	26

int main(void)
{
	if (access("/dev/tpm0", F_OK) == 0) {
		printf("1..0 # SKIP a TPM is present (this test runs in the --no-tpm boot)\n");
		return 0;
	}
	tap_plan(PLAN);
	tap_diag("no /dev/tpm0: checking refusal and the SVMIG_KEY_NO_TPM opt-in");
	test_info();
	test_refused(SVMIG_ROLE_SENDER, "sender");
	test_refused(SVMIG_ROLE_RECEIVER, "receiver");
	test_optin_sender();
	test_optin_pair();
	return tap_done();
}
