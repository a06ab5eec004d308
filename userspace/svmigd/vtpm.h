/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vtpm: a VM's vTPM state bound to the VM and to the migration
 * (Documentation/svmigd.rst, "vTPM").
 *
 * A VM's vTPM is QEMU's tpm-emulator backend with an swtpm process whose
 * state directory (swtpm --tpmstate dir=DIR) holds the TPM's permanent
 * state in tpm2-00.permall.  QEMU carries the vTPM's state blobs inside
 * the migration stream (sealed by svmig.ko); on the destination it sets
 * them into the destination swtpm, which writes tpm2-00.permall before
 * QEMU has loaded the stream.  Measured with swtpm 0.7 and QEMU 7.2: the
 * destination's file is byte for byte the source's at the moment the
 * source VM stopped, and stays so until the guest runs again.
 *
 * svmigd.conf's [paths] vtpm_dir says where each VM's state directory is:
 * a path with one "%s", replaced by the VM's name.  The SOURCE, once its
 * QEMU completed the migration (its VM stopped for good), sends
 *
 *   S -> T  VTPM {statement: {step: "vtpm", session, vm, state, time},
 *                 signature}
 *
 * state being the lowercase hex SHA-256 of its tpm2-00.permall, or "none"
 * when the VM has no vTPM state here (no vtpm_dir, or no such file); the
 * statement is json-c's plain form with the keys in that order, signed
 * with svmigd_sign() by the source's host key.  The TARGET, after the END
 * verified and before its receipt, checks the signature with the source's
 * TLS certificate key, that session is its own and vm the request's, then
 * its own vtpm_dir for that VM: the digest of its tpm2-00.permall must be
 * state; "none" must find no state there.  Anything else is refused (a
 * "failed" receipt whose reason says why; the source resumes its VM).
 *
 * After the handover committed (the target's RESUMED verified, the source
 * QEMU told to quit), the source destroys its copy: it waits until no
 * swtpm holds the state (swtpm's fcntl lock on DIR/.lock), overwrites each
 * state file (tpm2-00.permall, tpm2-00.volatilestate, tpm2-00.savestate)
 * with zeros, fsyncs and unlinks it, then fsyncs the directory.
 *
 * Functions return 0 or a negative errno with a sentence in @err.
 */
#ifndef SVMIGD_VTPM_H
#define SVMIGD_VTPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "tls.h"
#include "util.h"

#define SVMIG_MSG_VTPM		"VTPM"
#define SVMIGD_VTPM_PERMALL	"tpm2-00.permall"
#define SVMIGD_VTPM_STATE_MAX	(16u << 20)	/* bytes of a permall file */
#define SVMIGD_VTPM_SESSION_LEN	16		/* = SVMIGD_SESSION_ID_LEN */

/* A VTPM statement as verified by the target. */
struct svmigd_vtpm_claim {
	uint8_t session[SVMIGD_VTPM_SESSION_LEN];
	char vm[129];			/* SVMIGD_NAME_MAX + 1 */
	bool present;			/* false: "none" */
	uint8_t state[SVMIGD_SHA256_LEN];
	int64_t time;
};

/* A vtpm_dir pattern: a path with exactly one "%s" and no other '%'. */
bool svmigd_vtpm_pattern_ok(const char *pattern);

/*
 * The state directory of @vm under @pattern; -EINVAL when the VM's name
 * could leave the directory (empty, ".", "..", or with a '/').
 */
int svmigd_vtpm_dir(const char *pattern, const char *vm, char *out,
		    size_t len, char *err, size_t errlen);

/*
 * SHA-256 of @dir's tpm2-00.permall (a regular file of at most
 * SVMIGD_VTPM_STATE_MAX bytes, not a symbolic link).  *@present false
 * (and 0 returned) when the directory or the file does not exist.
 */
int svmigd_vtpm_state(const char *dir, bool *present,
		      uint8_t out[SVMIGD_SHA256_LEN], char *err, size_t errlen);

/* The canonical statement (the keys in the order above); NULL: no memory. */
struct json_object *svmigd_vtpm_statement(const uint8_t *session,
					  const char *vm, const uint8_t *state,
					  int64_t t);

/* The VTPM message, signed with @key; @state NULL for "none". */
int svmigd_vtpm_msg(EVP_PKEY *key, const uint8_t *session, const char *vm,
		    const uint8_t *state, struct json_object **out,
		    char *err, size_t errlen);

/*
 * Checks a received VTPM message: exactly "type", "statement" and
 * "signature"; the statement well formed, signed by @peer_key, for
 * @session and @vm.  *@claim: what it says.  -EBADMSG when refused.
 */
int svmigd_vtpm_msg_check(struct json_object *msg, EVP_PKEY *peer_key,
			  const uint8_t *session, const char *vm,
			  struct svmigd_vtpm_claim *claim,
			  char *err, size_t errlen);

/*
 * The target's check of the state that arrived in @dir (NULL: this host
 * has no vtpm_dir) against @claim: 0 when it is the state the source
 * declared (or both have none), -EACCES with the reason otherwise.
 */
int svmigd_vtpm_check(const struct svmigd_vtpm_claim *claim, const char *dir,
		      char *err, size_t errlen);

/*
 * Destroys the vTPM state in @dir once no swtpm holds it (waits up to
 * @wait_ms for swtpm's lock): each state file overwritten with zeros,
 * fsync'd and unlinked, then the directory fsync'd.  *@files: how many
 * were destroyed.  -EBUSY when an swtpm still holds the state.
 */
int svmigd_vtpm_destroy(const char *dir, int wait_ms, unsigned int *files,
			char *err, size_t errlen);

/*
 * svmigd_vtpm_destroy() of @vm's directory under @pattern (NULL: none
 * configured, nothing done); a directory that does not exist is no vTPM
 * state (0, *@files 0).  @dir gets the directory's path.
 */
int svmigd_vtpm_destroy_vm(const char *pattern, const char *vm, int wait_ms,
			   unsigned int *files, char *dir, size_t dirlen,
			   char *err, size_t errlen);

/*
 * The source's step: the VTPM of @vm's state under @pattern (NULL: none)
 * for @session, signed with @key, sent on @conn.  @state_hex (65 bytes)
 * gets the digest sent, or "none".
 */
int svmigd_vtpm_send(struct svmig_tls_conn *conn, EVP_PKEY *key,
		     const char *pattern, const uint8_t *session,
		     const char *vm, int timeout_ms, char *state_hex,
		     char *err, size_t errlen);

/*
 * The target's step: receives the source's VTPM on @conn, checks it with
 * the key of the peer's certificate (svmigd_vtpm_msg_check), then the
 * state that arrived under @pattern (svmigd_vtpm_check).  @state_hex (65
 * bytes) gets the digest the source declared, or "none".  -EACCES: the
 * state is refused; -EBADMSG: the message; tls.h's: the connection.
 */
int svmigd_vtpm_recv(struct svmig_tls_conn *conn, const char *pattern,
		     const uint8_t *session, const char *vm, int timeout_ms,
		     char *state_hex, char *err, size_t errlen);

#endif /* SVMIGD_VTPM_H */
