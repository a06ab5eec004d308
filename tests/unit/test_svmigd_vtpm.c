// SPDX-License-Identifier: GPL-2.0
/*
 * vtpm.c: the target's check of a vTPM state that arrived with a VM
 * (Documentation/svmigd.rst, "vTPM"): the state the source declared in its
 * signed VTPM statement, or refused (it differs, it is another VM's, it is
 * missing, the statement is for another VM or session or forged), and the
 * source's destruction of its copy (never while an swtpm holds it).
 *
 * The states are real: two swtpm TPMs (two VMs' vTPMs) manufacture their
 * tpm2-00.permall; swtpm's lock is the real one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "msg.h"
#include "swtpm.h"
#include "util.h"
#include "vtpm.h"

static const uint8_t ses_id[SVMIGD_VTPM_SESSION_LEN] = { [0 ... 15] = 0x5a };

struct fx {
	struct swtpm a, b;		/* two VMs' vTPMs (stopped) */
	char dir[64];			/* scratch: arrived states */
	EVP_PKEY *src_key, *other_key;
	const char *bin;
};

static int read_all(const char *path, uint8_t *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	close(fd);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

static int write_all(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* @sub of the scratch directory, made afresh (only flat files in it). */
static void subdir(struct fx *f, const char *sub, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", f->dir, sub);

	assert_true(n > 0 && (size_t)n < len);
	test_rmdir(out);
	assert_int_equal(mkdir(out, 0700), 0);
}

/* @from's tpm2-00.permall into @dir (as QEMU's swtpm writes it there). */
static void put_state(const char *from, const char *dir, int flip)
{
	uint8_t buf[1 << 16];
	char path[PATH_MAX];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/" SVMIGD_VTPM_PERMALL, from);
	assert_int_equal(read_all(path, buf, sizeof(buf), &len), 0);
	if (flip)
		buf[len / 2] ^= 0x01;
	snprintf(path, sizeof(path), "%s/" SVMIGD_VTPM_PERMALL, dir);
	assert_int_equal(write_all(path, buf, len), 0);
}

/* Until the swtpm wrote its manufactured TPM's permanent state. */
static int wait_state(const struct swtpm *s)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	char path[PATH_MAX];
	struct stat st;
	int i;

	snprintf(path, sizeof(path), "%s/" SVMIGD_VTPM_PERMALL, s->dir);
	for (i = 0; i < 500; i++) {
		if (!stat(path, &st) && st.st_size > 0)
			return 0;
		nanosleep(&nap, NULL);
	}
	return -1;
}

static int setup(void **state)
{
	static struct fx f;
	const char *bin = swtpm_binary();

	memset(&f, 0, sizeof(f));
	*state = &f;
	if (!bin)
		return 0;	/* each test skips */
	f.bin = bin;
	/* each swtpm manufactures its TPM: two VMs' vTPM states */
	if (swtpm_start(&f.a, bin) || swtpm_start(&f.b, bin) ||
	    wait_state(&f.a) || wait_state(&f.b))
		return -1;
	swtpm_kill(&f.a);
	swtpm_kill(&f.b);
	snprintf(f.dir, sizeof(f.dir), "/tmp/svmig-vtpm-XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	f.src_key = EVP_EC_gen("P-256");
	f.other_key = EVP_EC_gen("P-256");
	return f.src_key && f.other_key ? 0 : -1;
}

static void rm_tree(const char *dir)
{
	char path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] ||
		    (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (test_rmdir(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	swtpm_stop(&f->a);
	swtpm_stop(&f->b);
	if (f->dir[0])
		rm_tree(f->dir);
	EVP_PKEY_free(f->src_key);
	EVP_PKEY_free(f->other_key);
	return 0;
}

#define NEED_SWTPM(f) do { if (!(f)->bin) skip(); } while (0)

/* The claim a VTPM statement signed by the source carries for @dir's state. */
static void claim_of(struct fx *f, const char *dir, const char *vm,
		     struct svmigd_vtpm_claim *c)
{
	uint8_t st[SVMIGD_SHA256_LEN];
	struct json_object *msg;
	char err[512];
	bool present;

	assert_int_equal(svmigd_vtpm_state(dir, &present, st, err, sizeof(err)), 0);
	assert_int_equal(svmigd_vtpm_msg(f->src_key, ses_id, vm, present ? st : NULL,
					 &msg, err, sizeof(err)), 0);
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, vm, c,
					       err, sizeof(err)), 0);
	assert_int_equal(c->present, present);
	json_object_put(msg);
}

static void expect_refused(const struct svmigd_vtpm_claim *c, const char *dir,
			   const char *words)
{
	char err[512] = "";

	assert_int_equal(svmigd_vtpm_check(c, dir, err, sizeof(err)), -EACCES);
	if (!strstr(err, words))
		fail_msg("refusal \"%s\" lacks \"%s\"", err, words);
}

static void test_dir(void **state)
{
	char out[64], err[256];

	(void)state;
	assert_true(svmigd_vtpm_pattern_ok("/var/lib/svmigd/vtpm/%s"));
	assert_true(svmigd_vtpm_pattern_ok("/var/lib/libvirt/swtpm/%s/tpm2"));
	assert_false(svmigd_vtpm_pattern_ok("/var/lib/vtpm"));
	assert_false(svmigd_vtpm_pattern_ok("/v/%s/%s"));
	assert_false(svmigd_vtpm_pattern_ok("/v/%d"));
	assert_false(svmigd_vtpm_pattern_ok("/v/%s%"));
	assert_false(svmigd_vtpm_pattern_ok(""));
	assert_int_equal(svmigd_vtpm_dir("/v/%s/tpm2", "web-1", out, sizeof(out),
					 err, sizeof(err)), 0);
	assert_string_equal(out, "/v/web-1/tpm2");
	/* a VM's name never leaves the directory */
	assert_int_equal(svmigd_vtpm_dir("/v/%s", "../etc", out, sizeof(out),
					 err, sizeof(err)), -EINVAL);
	assert_int_equal(svmigd_vtpm_dir("/v/%s", "..", out, sizeof(out),
					 err, sizeof(err)), -EINVAL);
	assert_int_equal(svmigd_vtpm_dir("/v/%s", ".", out, sizeof(out),
					 err, sizeof(err)), -EINVAL);
	assert_int_equal(svmigd_vtpm_dir("/v/%s", "", out, sizeof(out),
					 err, sizeof(err)), -EINVAL);
	assert_int_equal(svmigd_vtpm_dir("/v/%s", "a/b", out, sizeof(out),
					 err, sizeof(err)), -EINVAL);
	assert_int_equal(svmigd_vtpm_dir("/v/%s", "a-very-long-name-indeed-"
					 "longer-than-the-buffer-of-64-bytes-xxxxxxxx",
					 out, sizeof(out), err, sizeof(err)),
			 -ENAMETOOLONG);
}

/* The digest is SHA-256 of the file; no file or no directory: no state. */
static void test_state(void **state)
{
	struct fx *f = *state;
	uint8_t buf[1 << 16], want[SVMIGD_SHA256_LEN], got[SVMIGD_SHA256_LEN];
	char d[PATH_MAX], path[PATH_MAX + 32], err[512];
	bool present = true;
	size_t len = 0;

	NEED_SWTPM(f);
	snprintf(path, sizeof(path), "%s/" SVMIGD_VTPM_PERMALL, f->a.dir);
	assert_int_equal(read_all(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(svmigd_sha256(buf, len, want), 0);
	assert_int_equal(svmigd_vtpm_state(f->a.dir, &present, got, err,
					   sizeof(err)), 0);
	assert_true(present);
	assert_memory_equal(got, want, sizeof(want));

	subdir(f, "empty", d, sizeof(d));
	assert_int_equal(svmigd_vtpm_state(d, &present, got, err, sizeof(err)), 0);
	assert_false(present);
	snprintf(path, sizeof(path), "%s/nonexistent", f->dir);
	present = true;
	assert_int_equal(svmigd_vtpm_state(path, &present, got, err, sizeof(err)), 0);
	assert_false(present);
	/* a symbolic link in place of the file, an empty file: refused */
	subdir(f, "link", d, sizeof(d));
	snprintf(path, sizeof(path), "%s/" SVMIGD_VTPM_PERMALL, d);
	snprintf((char *)buf, sizeof(buf), "%s/" SVMIGD_VTPM_PERMALL, f->a.dir);
	assert_int_equal(symlink((char *)buf, path), 0);
	assert_int_equal(svmigd_vtpm_state(d, &present, got, err, sizeof(err)), -ELOOP);
	unlink(path);
	assert_int_equal(write_all(path, buf, 0), 0);
	assert_int_equal(svmigd_vtpm_state(d, &present, got, err, sizeof(err)), -EINVAL);
	assert_false(present);
}

/* The state that arrived is the one the source declared: accepted. */
static void test_matches(void **state)
{
	struct fx *f = *state;
	struct svmigd_vtpm_claim c;
	char d[PATH_MAX], err[512] = "";

	NEED_SWTPM(f);
	claim_of(f, f->a.dir, "web-1", &c);
	subdir(f, "arrived", d, sizeof(d));
	put_state(f->a.dir, d, 0);
	assert_int_equal(svmigd_vtpm_check(&c, d, err, sizeof(err)), 0);
	/* no vTPM on either side: nothing to check */
	claim_of(f, f->dir, "web-1", &c);	/* f->dir has no permall */
	assert_false(c.present);
	subdir(f, "none", d, sizeof(d));
	assert_int_equal(svmigd_vtpm_check(&c, d, err, sizeof(err)), 0);
	assert_int_equal(svmigd_vtpm_check(&c, NULL, err, sizeof(err)), 0);
}

/* The same VM's state, one bit changed (an older or altered one): refused. */
static void test_differs(void **state)
{
	struct fx *f = *state;
	struct svmigd_vtpm_claim c;
	char d[PATH_MAX];

	NEED_SWTPM(f);
	claim_of(f, f->a.dir, "web-1", &c);
	subdir(f, "changed", d, sizeof(d));
	put_state(f->a.dir, d, 1);
	expect_refused(&c, d, "is not the one the source sent");
}

/* Another VM's vTPM state where this VM's should be: refused. */
static void test_other_vm(void **state)
{
	struct fx *f = *state;
	struct svmigd_vtpm_claim c;
	struct json_object *msg;
	char d[PATH_MAX], err[512] = "";

	NEED_SWTPM(f);
	claim_of(f, f->a.dir, "web-1", &c);
	subdir(f, "other", d, sizeof(d));
	put_state(f->b.dir, d, 0);
	expect_refused(&c, d, "is not the one the source sent");
	/* the source has none for this VM, but a state is there: refused */
	claim_of(f, f->dir, "web-1", &c);
	expect_refused(&c, d, "a state from elsewhere");
	/* a statement about another VM does not pass for this one */
	assert_int_equal(svmigd_vtpm_msg(f->src_key, ses_id, "web-2", c.state,
					 &msg, err, sizeof(err)), 0);
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "it is for vm web-2, not web-1"));
	assert_false(c.present);
	json_object_put(msg);
}

/* The source declared a state, none arrived (or nowhere to look): refused. */
static void test_missing(void **state)
{
	struct fx *f = *state;
	struct svmigd_vtpm_claim c;
	char d[PATH_MAX], path[PATH_MAX + 16];

	NEED_SWTPM(f);
	claim_of(f, f->a.dir, "web-1", &c);
	subdir(f, "missing", d, sizeof(d));
	expect_refused(&c, d, "no vTPM state arrived");
	snprintf(path, sizeof(path), "%s/gone", f->dir);
	expect_refused(&c, path, "no vTPM state arrived");
	expect_refused(&c, NULL, "no vtpm_dir");
}

/* Forged, edited, replayed into another session, malformed: refused. */
static void test_message(void **state)
{
	struct fx *f = *state;
	static const uint8_t other_ses[SVMIGD_VTPM_SESSION_LEN] = { 1 };
	uint8_t st[SVMIGD_SHA256_LEN];
	struct svmigd_vtpm_claim c;
	struct json_object *msg, *stmt;
	char err[512];
	bool present;

	NEED_SWTPM(f);
	assert_int_equal(svmigd_vtpm_state(f->a.dir, &present, st, err,
					   sizeof(err)), 0);
	assert_int_equal(svmigd_vtpm_msg(f->src_key, ses_id, "web-1", st, &msg,
					 err, sizeof(err)), 0);
	assert_string_equal(svmig_msg_type(msg), SVMIG_MSG_VTPM);
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), 0);
	assert_memory_equal(c.state, st, sizeof(st));
	/* signed by another key than the source certificate's */
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->other_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "signature does not verify"));
	assert_int_equal(svmigd_vtpm_msg_check(msg, NULL, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	/* another session's */
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, other_ses, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "another session"));
	/* the state edited after signing: "none" */
	stmt = json_object_object_get(msg, "statement");
	json_object_object_add(stmt, "state", json_object_new_string("none"));
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "signature does not verify"));
	/* malformed states and an extra field */
	json_object_object_add(stmt, "state", json_object_new_string("NONE"));
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "malformed"));
	json_object_object_add(stmt, "state", json_object_new_string("00"));
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	json_object_object_add(stmt, "state", json_object_new_string("none"));
	json_object_object_add(stmt, "extra", json_object_new_int(1));
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	json_object_put(msg);
	/* another message in its place */
	msg = svmig_msg_new(SVMIG_MSG_RECEIPT);
	assert_int_equal(svmigd_vtpm_msg_check(msg, f->src_key, ses_id, "web-1",
					       &c, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "RECEIPT"));
	json_object_put(msg);
}

/* Held by an swtpm: not destroyed; let go: overwritten and unlinked. */
static void test_destroy(void **state)
{
	struct fx *f = *state;
	uint8_t buf[1 << 16];
	char d[sizeof(((struct swtpm *)0)->dir)], link_path[PATH_MAX + 16];
	char path[PATH_MAX + 32], err[512] = "";
	unsigned int files = 99;
	struct swtpm s;
	size_t len = 0, i;

	NEED_SWTPM(f);
	subdir(f, "doomed", d, sizeof(d));
	put_state(f->a.dir, d, 0);
	snprintf(path, sizeof(path), "%s/tpm2-00.volatilestate", d);
	assert_int_equal(write_all(path, (const uint8_t *)"volatile", 8), 0);
	snprintf(path, sizeof(path), "%s/" SVMIGD_VTPM_PERMALL, d);
	/* an swtpm runs the TPM on that state: it holds its lock */
	memset(&s, 0, sizeof(s));
	assert_true(strlen(d) < sizeof(s.dir));
	memcpy(s.dir, d, strlen(d) + 1);
	assert_int_equal(swtpm_run(&s, f->bin), 0);
	assert_int_equal(svmigd_vtpm_destroy(d, 300, &files, err, sizeof(err)),
			 -EBUSY);
	assert_non_null(strstr(err, "still holds"));
	assert_int_equal(files, 0);
	assert_int_equal(access(path, F_OK), 0);
	swtpm_kill(&s);
	/*
	 * A hard link shows what happens to the bytes (after the swtpm: it
	 * writes a new file and renames it over the old one).
	 */
	snprintf(link_path, sizeof(link_path), "%s/witness", f->dir);
	unlink(link_path);
	assert_int_equal(link(path, link_path), 0);

	assert_int_equal(svmigd_vtpm_destroy(d, 2000, &files, err, sizeof(err)), 0);
	assert_int_equal(files, 2);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/tpm2-00.volatilestate", d);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/.lock", d);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(read_all(link_path, buf, sizeof(buf), &len), 0);
	for (i = 0; i < len; i++)
		if (buf[i])
			fail_msg("byte %zu of the destroyed state is %#x", i, buf[i]);
	unlink(link_path);
	/* by VM name; no directory: nothing to destroy */
	assert_int_equal(svmigd_vtpm_destroy_vm("/nonexistent/svmig/%s", "web-1",
						100, &files, d, sizeof(d), err,
						sizeof(err)), 0);
	assert_int_equal(files, 0);
	assert_int_equal(svmigd_vtpm_destroy_vm(NULL, "web-1", 100, &files, d,
						sizeof(d), err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_differs),
		cmocka_unit_test(test_other_vm),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_destroy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
