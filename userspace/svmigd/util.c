// SPDX-License-Identifier: GPL-2.0
/*
 * The small helpers the svmigd components share: hex, base64, SHA-256,
 * signatures, strict JSON, files, numbers, PEM.  See util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "util.h"

static void util_msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void util_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void svmigd_hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int svmigd_hex_decode(uint8_t *out, size_t n, const char *hex)
{
	int hi, lo;
	size_t i;

	if (strnlen(hex, 2 * n + 1) != 2 * n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		hi = hex_digit(hex[2 * i]);
		lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

#define B64_MAX_IN	((size_t)1 << 28)

char *svmigd_base64_encode(const uint8_t *in, size_t n)
{
	char *out;

	if (n > B64_MAX_IN)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

int svmigd_base64_decode(const char *in, size_t max, uint8_t **out, size_t *n)
{
	size_t len = strnlen(in, B64_MAX_IN + 1), pad;
	uint8_t *buf;
	char *again;
	int got, ret = -EINVAL;

	if (!len || len % 4 || max > B64_MAX_IN || len > (max + 2) / 3 * 4)
		return -EINVAL;
	buf = malloc(len / 4 * 3);
	if (!buf)
		return -ENOMEM;
	got = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	pad = (in[len - 1] == '=') + (in[len - 2] == '=');
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > max)
		goto fail;
	got -= (int)pad;
	/* only the canonical spelling: no whitespace, no stray bits */
	ret = -ENOMEM;
	again = svmigd_base64_encode(buf, (size_t)got);
	if (!again)
		goto fail;
	ret = strcmp(again, in) ? -EINVAL : 0;
	free(again);
	if (ret)
		goto fail;
	*out = buf;
	*n = (size_t)got;
	return 0;
fail:
	free(buf);
	return ret;
}

int svmigd_sha256(const void *data, size_t len, uint8_t out[SVMIGD_SHA256_LEN])
{
	return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ?
	       0 : -ENOMEM;
}

int svmigd_cert_sha256(X509 *cert, uint8_t out[SVMIGD_SHA256_LEN])
{
	unsigned int n = 0;

	if (!cert || X509_digest(cert, EVP_sha256(), out, &n) != 1 ||
	    n != SVMIGD_SHA256_LEN)
		return -EINVAL;
	return 0;
}

int svmigd_pubkey_sha256(EVP_PKEY *key, uint8_t out[SVMIGD_SHA256_LEN])
{
	unsigned char *der = NULL;
	int len, ret;

	if (!key)
		return -EINVAL;
	len = i2d_PUBKEY(key, &der);
	if (len <= 0)
		return -EINVAL;
	ret = svmigd_sha256(der, (size_t)len, out);
	OPENSSL_free(der);
	return ret;
}

/*
 * A certificate whose key OpenSSL cannot decode gives X509_get0_pubkey()
 * == NULL: every user of a key comes through here, so NULL is refused once.
 */
static int key_supported(EVP_PKEY *key)
{
	if (!key)
		return -EINVAL;
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		return 0;
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(key) >= 2048 ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int key_set_pss(EVP_PKEY *key, EVP_PKEY_CTX *pctx, int saltlen)
{
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return 0;
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) <= 0)
		return -EINVAL;
	return 0;
}

int svmigd_sign(EVP_PKEY *key, const void *data, size_t len, uint8_t **sig,
		size_t *siglen)
{
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *md;
	uint8_t *s = NULL;
	size_t n;
	int ret;

	ret = key_supported(key);
	if (ret)
		return ret;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	ret = -EINVAL;
	if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    key_set_pss(key, pctx, RSA_PSS_SALTLEN_DIGEST))
		goto out;
	ret = -ENOMEM;
	n = (size_t)EVP_PKEY_get_size(key);
	s = malloc(n);
	if (!s)
		goto out;
	ret = -EINVAL;
	if (EVP_DigestSign(md, s, &n, data, len) != 1) {
		free(s);
		goto out;
	}
	*sig = s;
	*siglen = n;
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ret;
}

int svmigd_verify(EVP_PKEY *key, const void *data, size_t len,
		  const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *md;
	int ret;

	ret = key_supported(key);
	if (ret)
		return ret;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	ret = -EINVAL;
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    key_set_pss(key, pctx, RSA_PSS_SALTLEN_AUTO))
		goto out;
	ret = EVP_DigestVerify(md, sig, siglen, data, len) == 1 ? 0 : -EBADMSG;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ret;
}

int svmigd_read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
		     char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	uint8_t *b;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		util_msg(err, errlen, "%s: %s", path, svmigd_strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		util_msg(err, errlen, "%s: %s", path, svmigd_strerror(-ret));
		goto out;
	}
	ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		util_msg(err, errlen, "%s: not a regular file of at most %zu bytes",
			path, max);
		goto out;
	}
	ret = -ENOMEM;
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		util_msg(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = read(fd, b, (size_t)st.st_size + 1);
	if (n < 0 || n > st.st_size) {
		ret = n < 0 ? -errno : -EIO;
		util_msg(err, errlen, "%s: %s", path,
			n < 0 ? svmigd_strerror(-ret) : "file grew while reading");
		free(b);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = (size_t)n;
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Line of byte @off. */
static unsigned int text_line(const char *buf, size_t off)
{
	unsigned int line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

int svmigd_json_parse(const char *buf, size_t len, int depth,
		      struct json_object **out, char *err, size_t errlen)
{
	struct json_object *obj = NULL;
	enum json_tokener_error e;
	struct json_tokener *tok;
	const char *nul;
	size_t end;
	int ret = -EINVAL;

	*out = NULL;
	nul = memchr(buf, '\0', len);
	if (nul) {
		util_msg(err, errlen, "NUL byte on line %u",
			text_line(buf, (size_t)(nul - buf)));
		return -EINVAL;
	}
	if (len > INT_MAX) {
		util_msg(err, errlen, "JSON text too long");
		return -EINVAL;
	}
	tok = json_tokener_new_ex(depth);
	if (!tok) {
		util_msg(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue)
		util_msg(err, errlen, "truncated JSON");
	else if (e != json_tokener_success)
		util_msg(err, errlen, "JSON error on line %u: %s",
			text_line(buf, end), json_tokener_error_desc(e));
	else
		ret = 0;
	while (!ret && end < len && isspace((unsigned char)buf[end]))
		end++;
	if (!ret && end < len) {
		util_msg(err, errlen, "data after the JSON value on line %u",
			text_line(buf, end));
		ret = -EINVAL;
	}
	json_tokener_free(tok);
	if (ret)
		json_object_put(obj);
	else
		*out = obj;
	return ret;
}

int svmigd_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int svmigd_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

X509 *svmigd_load_cert(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	X509 *cert;

	if (!f) {
		util_msg(err, errlen, "%s: %s", path, svmigd_strerror(errno));
		return NULL;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert)
		util_msg(err, errlen, "%s: no PEM certificate", path);
	ERR_clear_error();
	return cert;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

EVP_PKEY *svmigd_load_key(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key;

	if (!f) {
		util_msg(err, errlen, "%s: %s", path, svmigd_strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	ERR_clear_error();
	if (!key) {
		util_msg(err, errlen, "%s: no unencrypted PEM private key", path);
		return NULL;
	}
	if (key_supported(key)) {
		util_msg(err, errlen,
			"%s: unsupported key (EC, or RSA of at least 2048 bits)",
			path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

int svmigd_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char extra;

	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &extra) != 2 ||
	    fstat(STDERR_FILENO, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

const char *svmigd_strerror_r(int errnum, char *buf, size_t len)
{
	return strerror_r(errnum, buf, len);
}
