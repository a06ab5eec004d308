// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's vTPM state bound to the VM and to the migration.  See vtpm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "msg.h"
#include "vtpm.h"

/* The files of an swtpm TPM 2.0 state directory (swtpm's own names). */
static const char *const state_files[] = {
	SVMIGD_VTPM_PERMALL, "tpm2-00.volatilestate", "tpm2-00.savestate",
};

static int vt_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int vt_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

bool svmigd_vtpm_pattern_ok(const char *pattern)
{
	const char *p;
	int n = 0;

	if (!pattern || !pattern[0])
		return false;
	for (p = strchr(pattern, '%'); p; p = strchr(p + 1, '%')) {
		if (p[1] != 's')
			return false;
		n++;
	}
	return n == 1;
}

int svmigd_vtpm_dir(const char *pattern, const char *vm, char *out,
		    size_t len, char *err, size_t errlen)
{
	const char *at;
	int n;

	if (!svmigd_vtpm_pattern_ok(pattern))
		return vt_fail(err, errlen, -EINVAL,
			       "vtpm_dir needs one %%s (the VM's name)");
	if (!vm || !vm[0] || strchr(vm, '/') || !strcmp(vm, ".") ||
	    !strcmp(vm, ".."))
		return vt_fail(err, errlen, -EINVAL,
			       "vm \"%s\" cannot name a vTPM state directory",
			       vm ? vm : "");
	at = strstr(pattern, "%s");
	n = snprintf(out, len, "%.*s%s%s", (int)(at - pattern), pattern, vm,
		     at + 2);
	if (n < 0 || (size_t)n >= len)
		return vt_fail(err, errlen, -ENAMETOOLONG,
			       "the vTPM state directory of %s is too long", vm);
	return 0;
}

int svmigd_vtpm_state(const char *dir, bool *present,
		      uint8_t out[SVMIGD_SHA256_LEN], char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t buf[65536];
	struct stat st;
	unsigned int mdlen = 0;
	uint64_t total = 0;
	int dfd, fd, ret = 0;
	ssize_t n;

	*present = false;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT)
		return 0;
	if (dfd < 0)
		return vt_fail(err, errlen, -errno, "vTPM state directory %s: %s",
			       dir, svmigd_strerror(errno));
	fd = openat(dfd, SVMIGD_VTPM_PERMALL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return vt_fail(err, errlen, -errno, "%s/%s: %s", dir,
			       SVMIGD_VTPM_PERMALL, svmigd_strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > SVMIGD_VTPM_STATE_MAX) {
		ret = vt_fail(err, errlen, -EINVAL,
			      "%s/%s is not a regular file of at most %u bytes",
			      dir, SVMIGD_VTPM_PERMALL, SVMIGD_VTPM_STATE_MAX);
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = vt_fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = vt_fail(err, errlen, -errno, "%s/%s: %s", dir,
				      SVMIGD_VTPM_PERMALL, svmigd_strerror(errno));
			goto out;
		}
		total += (uint64_t)n;
		if (total > SVMIGD_VTPM_STATE_MAX) {
			ret = vt_fail(err, errlen, -EFBIG, "%s/%s grew past %u bytes",
				      dir, SVMIGD_VTPM_PERMALL,
				      SVMIGD_VTPM_STATE_MAX);
			goto out;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			ret = vt_fail(err, errlen, -ENOMEM, "SHA-256 failed");
			goto out;
		}
	}
	if (!total) {
		ret = vt_fail(err, errlen, -EINVAL, "%s/%s is empty", dir,
			      SVMIGD_VTPM_PERMALL);
		goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, out, &mdlen) || mdlen != SVMIGD_SHA256_LEN) {
		ret = vt_fail(err, errlen, -ENOMEM, "SHA-256 failed");
		goto out;
	}
	*present = true;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}

/* ------------------------------------------------------------ the message */

struct json_object *svmigd_vtpm_statement(const uint8_t *session,
					  const char *vm, const uint8_t *state,
					  int64_t t)
{
	struct json_object *o = json_object_new_object();
	char hex[2 * SVMIGD_SHA256_LEN + 1];
	int ret = o ? 0 : -ENOMEM;

	if (!ret)
		ret = json_object_object_add(o, "step",
					     json_object_new_string("vtpm"));
	if (!ret)
		ret = svmig_msg_add_hex(o, "session", session,
					SVMIGD_VTPM_SESSION_LEN);
	if (!ret)
		ret = json_object_object_add(o, "vm", json_object_new_string(vm));
	if (!ret) {
		if (state)
			svmigd_hex_encode(hex, state, SVMIGD_SHA256_LEN);
		ret = json_object_object_add(o, "state", json_object_new_string(
						     state ? hex : "none"));
	}
	if (!ret)
		ret = json_object_object_add(o, "time", json_object_new_int64(t));
	if (ret) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *vtpm_statement_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

int svmigd_vtpm_msg(EVP_PKEY *key, const uint8_t *session, const char *vm,
		    const uint8_t *state, struct json_object **out,
		    char *err, size_t errlen)
{
	struct json_object *o, *msg = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	const char *text;
	int ret;

	*out = NULL;
	o = svmigd_vtpm_statement(session, vm, state, (int64_t)time(NULL));
	text = o ? vtpm_statement_text(o) : NULL;
	ret = text ? svmigd_sign(key, text, strlen(text), &sig, &siglen) : -ENOMEM;
	if (!ret) {
		msg = svmig_msg_new(SVMIG_MSG_VTPM);
		if (!msg || json_object_object_add(msg, "statement", o))
			ret = -ENOMEM;
		else
			o = NULL;	/* msg holds it */
	}
	if (!ret)
		ret = svmig_msg_add_hex(msg, "signature", sig, siglen);
	free(sig);
	json_object_put(o);
	if (ret) {
		json_object_put(msg);
		return vt_fail(err, errlen, ret, "signing the VTPM statement: %s",
			       svmigd_strerror(-ret));
	}
	*out = msg;
	return 0;
}

/* The statement's fields; -EINVAL when any is missing, extra or wrong. */
static int vtpm_statement_parse(struct json_object *o,
				struct svmigd_vtpm_claim *c)
{
	struct json_object *step, *vm, *state, *t;
	const char *s;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 5 ||
	    !json_object_object_get_ex(o, "step", &step) ||
	    !json_object_object_get_ex(o, "vm", &vm) ||
	    !json_object_object_get_ex(o, "state", &state) ||
	    !json_object_object_get_ex(o, "time", &t) ||
	    !json_object_is_type(step, json_type_string) ||
	    strcmp(json_object_get_string(step), "vtpm") ||
	    svmig_msg_get_hex(o, "session", c->session, sizeof(c->session)) ||
	    !json_object_is_type(vm, json_type_string) ||
	    !json_object_is_type(state, json_type_string) ||
	    !json_object_is_type(t, json_type_int))
		return -EINVAL;
	s = json_object_get_string(vm);
	if (!s[0] || json_object_get_string_len(vm) >= (int)sizeof(c->vm) ||
	    strlen(s) != (size_t)json_object_get_string_len(vm))
		return -EINVAL;
	memcpy(c->vm, s, (size_t)json_object_get_string_len(vm) + 1);
	s = json_object_get_string(state);
	if (!strcmp(s, "none")) {
		c->present = false;
		memset(c->state, 0, sizeof(c->state));
	} else if (json_object_get_string_len(state) == 2 * SVMIGD_SHA256_LEN &&
		   !svmigd_hex_decode(c->state, sizeof(c->state), s)) {
		c->present = true;
	} else {
		return -EINVAL;
	}
	c->time = json_object_get_int64(t);
	if (c->time < 1 || c->time == INT64_MAX)
		return -EINVAL;
	return 0;
}

int svmigd_vtpm_msg_check(struct json_object *msg, EVP_PKEY *peer_key,
			  const uint8_t *session, const char *vm,
			  struct svmigd_vtpm_claim *claim,
			  char *err, size_t errlen)
{
	uint8_t sig[SVMIGD_SIG_MAX];
	struct json_object *st, *canon;
	const char *type = msg ? svmig_msg_type(msg) : NULL;
	const char *text;
	size_t siglen = 0;
	int ret;

	memset(claim, 0, sizeof(*claim));
	if (!type || strcmp(type, SVMIG_MSG_VTPM))
		return vt_fail(err, errlen, -EBADMSG,
			       "VTPM refused: a %s message in its place",
			       type ? type : "typeless");
	if (json_object_object_length(msg) != 3 ||
	    !json_object_object_get_ex(msg, "statement", &st) ||
	    vtpm_statement_parse(st, claim) ||
	    svmig_msg_get_hex_range(msg, "signature", sig, 1, sizeof(sig),
				    &siglen)) {
		memset(claim, 0, sizeof(*claim));
		return vt_fail(err, errlen, -EBADMSG, "VTPM refused: malformed");
	}
	/* what the source signed: the statement rebuilt from its fields */
	canon = svmigd_vtpm_statement(claim->session, claim->vm,
				      claim->present ? claim->state : NULL,
				      claim->time);
	text = canon ? vtpm_statement_text(canon) : NULL;
	ret = text ? svmigd_verify(peer_key, text, strlen(text), sig, siglen) :
		     -ENOMEM;
	json_object_put(canon);
	if (ret == -ENOMEM)
		ret = vt_fail(err, errlen, -ENOMEM, "out of memory");
	else if (ret)
		ret = vt_fail(err, errlen, -EBADMSG,
			      "VTPM refused: its signature does not verify "
			      "with the source's certificate");
	else if (memcmp(claim->session, session, sizeof(claim->session)))
		ret = vt_fail(err, errlen, -EBADMSG,
			      "VTPM refused: it is for another session");
	else if (strcmp(claim->vm, vm))
		ret = vt_fail(err, errlen, -EBADMSG,
			      "VTPM refused: it is for vm %s, not %s",
			      claim->vm, vm);
	if (ret)
		memset(claim, 0, sizeof(*claim));
	return ret;
}

int svmigd_vtpm_check(const struct svmigd_vtpm_claim *claim, const char *dir,
		      char *err, size_t errlen)
{
	uint8_t got[SVMIGD_SHA256_LEN];
	char why[512];
	bool present = false;
	int ret;

	if (!dir) {
		if (!claim->present)
			return 0;
		return vt_fail(err, errlen, -EACCES,
			       "vm %s has a vTPM and this host has no vtpm_dir "
			       "to check its state in", claim->vm);
	}
	ret = svmigd_vtpm_state(dir, &present, got, why, sizeof(why));
	if (ret)
		return vt_fail(err, errlen, -EACCES, "vTPM state of vm %s: %s",
			       claim->vm, why);
	if (!claim->present && !present)
		return 0;
	if (!claim->present)
		return vt_fail(err, errlen, -EACCES,
			       "vm %s: the source has no vTPM state for it, yet "
			       "%s holds one: a state from elsewhere; refused",
			       claim->vm, dir);
	if (!present)
		return vt_fail(err, errlen, -EACCES,
			       "vm %s: no vTPM state arrived in %s (the "
			       "destination's vTPM is not this VM's)",
			       claim->vm, dir);
	if (CRYPTO_memcmp(got, claim->state, sizeof(got)))
		return vt_fail(err, errlen, -EACCES,
			       "vm %s: the vTPM state in %s is not the one the "
			       "source sent (another VM's, or an older one); "
			       "refused", claim->vm, dir);
	return 0;
}

/* ------------------------------------------------------------ destruction */

/* swtpm's lock on DIR/.lock (fcntl F_WRLCK while it runs the TPM). */
static int lock_state(int dfd, int wait_ms, int *lfd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	int fd, tries = wait_ms / 50 + 1;

	fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (fcntl(fd, F_SETLK, &fl)) {
		if ((errno != EAGAIN && errno != EACCES) || --tries <= 0) {
			int e = errno == EAGAIN || errno == EACCES ? EBUSY : errno;

			close(fd);
			return -e;
		}
		nanosleep(&nap, NULL);
	}
	*lfd = fd;
	return 0;
}

/* Zeros over the file's bytes, fsync, unlink; 1 done, 0 absent. */
static int shred_one(int dfd, const char *name)
{
	static const uint8_t zeros[65536];
	struct stat st;
	off_t left;
	int fd, e;

	fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	for (left = st.st_size; left > 0;) {
		ssize_t n = write(fd, zeros, left > (off_t)sizeof(zeros) ?
				  sizeof(zeros) : (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		left -= n;
	}
	if (fsync(fd)) {
		e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	if (unlinkat(dfd, name, 0))
		return -errno;
	return 1;
}

int svmigd_vtpm_destroy(const char *dir, int wait_ms, unsigned int *files,
			char *err, size_t errlen)
{
	int dfd, lfd = -1, ret = 0;
	size_t i;

	*files = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vt_fail(err, errlen, -errno, "vTPM state directory %s: %s",
			       dir, svmigd_strerror(errno));
	ret = lock_state(dfd, wait_ms, &lfd);
	if (ret) {
		close(dfd);
		if (ret == -EBUSY)
			return vt_fail(err, errlen, ret, "an swtpm still holds "
				       "the vTPM state in %s after %d ms", dir,
				       wait_ms);
		return vt_fail(err, errlen, ret, "%s/.lock: %s", dir,
			       svmigd_strerror(-ret));
	}
	for (i = 0; i < sizeof(state_files) / sizeof(state_files[0]); i++) {
		int r = shred_one(dfd, state_files[i]);

		if (r < 0) {
			ret = vt_fail(err, errlen, r, "%s/%s: %s", dir,
				      state_files[i], svmigd_strerror(-r));
			break;
		}
		*files += (unsigned int)r;
	}
	if (!ret && unlinkat(dfd, ".lock", 0) && errno != ENOENT)
		ret = vt_fail(err, errlen, -errno, "%s/.lock: %s", dir,
			      svmigd_strerror(errno));
	if (!ret && fsync(dfd))
		ret = vt_fail(err, errlen, -errno, "fsync %s: %s", dir,
			      svmigd_strerror(errno));
	close(lfd);	/* releases the lock */
	close(dfd);
	return ret;
}

/* ------------------------------------------------------------ the daemon's steps */

int svmigd_vtpm_destroy_vm(const char *pattern, const char *vm, int wait_ms,
			   unsigned int *files, char *dir, size_t dirlen,
			   char *err, size_t errlen)
{
	struct stat st;
	int ret;

	*files = 0;
	if (dirlen)
		dir[0] = '\0';
	if (!pattern)
		return 0;
	ret = svmigd_vtpm_dir(pattern, vm, dir, dirlen, err, errlen);
	if (ret)
		return ret;
	if (stat(dir, &st) && errno == ENOENT)
		return 0;	/* no vTPM state here */
	return svmigd_vtpm_destroy(dir, wait_ms, files, err, errlen);
}

/* ERROR {step, reason} in place of the VTPM: this host failed. */
static void send_error(struct svmig_tls_conn *conn, int timeout_ms)
{
	struct json_object *msg = svmig_msg_new("ERROR");

	if (msg && !json_object_object_add(msg, "step",
					   json_object_new_string(SVMIG_MSG_VTPM)) &&
	    !json_object_object_add(msg, "reason", json_object_new_string(
		    "the source cannot read its vTPM state")))
		svmig_msg_send(conn, msg, timeout_ms);
	json_object_put(msg);
}

int svmigd_vtpm_send(struct svmig_tls_conn *conn, EVP_PKEY *key,
		     const char *pattern, const uint8_t *session,
		     const char *vm, int timeout_ms, char *state_hex,
		     char *err, size_t errlen)
{
	uint8_t state[SVMIGD_SHA256_LEN];
	char dir[4096];
	struct json_object *msg = NULL;
	bool present = false;
	int ret = 0;

	snprintf(state_hex, 2 * SVMIGD_SHA256_LEN + 1, "none");
	if (pattern) {
		ret = svmigd_vtpm_dir(pattern, vm, dir, sizeof(dir), err, errlen);
		if (!ret)
			ret = svmigd_vtpm_state(dir, &present, state, err, errlen);
		if (ret) {	/* the target stops waiting for the VTPM */
			send_error(conn, timeout_ms);
			return ret;
		}
	}
	if (present)
		svmigd_hex_encode(state_hex, state, SVMIGD_SHA256_LEN);
	ret = svmigd_vtpm_msg(key, session, vm, present ? state : NULL, &msg,
			      err, errlen);
	if (ret)
		return ret;
	ret = svmig_msg_send(conn, msg, timeout_ms);
	json_object_put(msg);
	if (ret)
		return vt_fail(err, errlen, ret, "sending the VTPM: %s",
			       svmig_tls_error(conn));
	return 0;
}

int svmigd_vtpm_recv(struct svmig_tls_conn *conn, const char *pattern,
		     const uint8_t *session, const char *vm, int timeout_ms,
		     char *state_hex, char *err, size_t errlen)
{
	struct svmigd_vtpm_claim claim;
	struct json_object *msg = NULL, *reason;
	X509 *cert = svmig_tls_peer_cert(conn);
	const char *type;
	char dir[4096];
	int ret;

	snprintf(state_hex, 2 * SVMIGD_SHA256_LEN + 1, "none");
	ret = svmig_msg_recv(conn, timeout_ms, &msg);
	if (ret)
		return vt_fail(err, errlen, ret, "no VTPM from the source: %s",
			       svmig_tls_error(conn));
	type = svmig_msg_type(msg);
	if (type && !strcmp(type, "ERROR")) {
		reason = json_object_object_get(msg, "reason");
		ret = vt_fail(err, errlen, -ECONNABORTED,
			      "the source gave up before its VTPM: %.200s",
			      json_object_is_type(reason, json_type_string) ?
			      json_object_get_string(reason) : "no reason");
		json_object_put(msg);
		return ret;
	}
	ret = svmigd_vtpm_msg_check(msg, cert ? X509_get0_pubkey(cert) : NULL,
				    session, vm, &claim, err, errlen);
	json_object_put(msg);
	if (ret)
		return ret;
	if (claim.present)
		svmigd_hex_encode(state_hex, claim.state, SVMIGD_SHA256_LEN);
	if (pattern) {
		ret = svmigd_vtpm_dir(pattern, vm, dir, sizeof(dir), err, errlen);
		if (ret)
			return ret;
	}
	return svmigd_vtpm_check(&claim, pattern ? dir : NULL, err, errlen);
}
