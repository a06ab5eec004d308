// SPDX-License-Identifier: GPL-2.0
/*
 * Documentation/wire-vectors.txt cannot drift: regenerate it with the very
 * code svmig-vectors runs and compare byte for byte.  Then read it as a
 * second implementation would (the format of Documentation/wire-format.rst,
 * "Test vectors"): for every vector, from its key=value inputs alone,
 * derive the keys (the HKDF calls spelt out here, labels included), build
 * every record's header, clear part and plaintext by hand, seal it with
 * the oracle and compare the bytes, nonce, AAD, tag and table value; then
 * open the records in order with an oracle receiver and compare each
 * result (accept, stale, or the refusal's errno), the plaintexts, the
 * verdicts, the receivers' parts and the session's sums.  The MANIFESTs'
 * parts are also recomputed from the PAGE records' values (each channel:
 * the entries it created and the sum of v(new) - v(old)).
 */
#include <ctype.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "test_util.h"

#ifndef SVMIG_SRCDIR
#define SVMIG_SRCDIR "."
#endif
#define VECTORS "Documentation/wire-vectors.txt"
#define MAX_KEYS 512
#define MAX_STEPS 16

static char *read_vectors(size_t *len)
{
	const char *dir = getenv("SVMIG_SRCDIR");
	char path[4096];
	char *buf = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : SVMIG_SRCDIR,
		 VECTORS);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	*len = 0;
	for (;;) {
		size_t n;

		if (cap - *len < 65536) {
			char *nbuf = realloc(buf, cap + 65536 + 1);

			assert_non_null(nbuf);
			buf = nbuf;
			cap += 65536;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
		if (!n)
			break;
	}
	assert_false(ferror(f));
	fclose(f);
	buf[*len] = 0;
	return buf;
}

static void test_vectors_match_file(void **state)
{
	char *gen = NULL, *file;
	size_t gen_len = 0, file_len, i, line = 1;
	FILE *f;

	(void)state;
	f = open_memstream(&gen, &gen_len);
	assert_non_null(f);
	assert_int_equal(svmig_wire_write_vectors(f), 0);
	assert_int_equal(fclose(f), 0);
	file = read_vectors(&file_len);
	for (i = 0; i < gen_len && i < file_len && gen[i] == file[i]; i++)
		if (gen[i] == '\n')
			line++;
	if (i != gen_len || i != file_len)
		fail_msg(VECTORS " differs from svmig_wire_write_vectors() at "
			 "line %zu: regenerate it with svmig-vectors", line);
	free(gen);
	free(file);
}

/* ---- the file's syntax ---- */

struct vec {
	const char *name;
	int line;
	size_t n;
	char *key[MAX_KEYS], *val[MAX_KEYS];
};

static const char *vget(const struct vec *v, const char *key)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->key[i], key))
			return v->val[i];
	return NULL;
}

static const char *vreq(const struct vec *v, const char *key)
{
	const char *s = vget(v, key);

	if (!s)
		fail_msg("vector %s: no %s", v->name, key);
	return s;
}

static const char *sget(const struct vec *v, int step, const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), "step%d.%s", step, key);
	return vget(v, k);
}

static const char *sreq(const struct vec *v, int step, const char *key)
{
	const char *s = sget(v, step, key);

	if (!s)
		fail_msg("vector %s: no step%d.%s", v->name, step, key);
	return s;
}

static uint64_t dec(const struct vec *v, const char *s)
{
	char *e;
	unsigned long long n;

	if (!isdigit((unsigned char)*s))
		fail_msg("vector %s: not a decimal number: %s", v->name, s);
	errno = 0;
	n = strtoull(s, &e, 10);
	if (*e || errno)
		fail_msg("vector %s: not a decimal number: %s", v->name, s);
	return n;
}

/* Hex of exactly @len bytes (any length if @len is SIZE_MAX: *got). */
static size_t unhex(const struct vec *v, const char *s, uint8_t *out,
		    size_t len)
{
	size_t n = strlen(s), i;

	if (n % 2 || (len != SIZE_MAX && n != 2 * len))
		fail_msg("vector %s: %zu hex digits, %zu bytes wanted: %.40s",
			 v->name, n, len, s);
	for (i = 0; i < n / 2; i++) {
		unsigned int b = 0;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &b) != 1)
			fail_msg("vector %s: bad hex %.40s", v->name, s);
		out[i] = (uint8_t)b;
	}
	return n / 2;
}

static void hexeq(const struct vec *v, const char *what, const char *s,
		  const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len + 1);

	assert_non_null(got);
	unhex(v, s, got, len);
	if (memcmp(got, want, len))
		fail_msg("vector %s: %s differs", v->name, what);
	free(got);
}

/*
 * Parse the file into vectors: "vector=NAME" ... "end", every other line
 * key=value (once per vector), '#' comments and blank lines ignored.
 */
static size_t parse(char *text, struct vec **out)
{
	struct vec *vs = NULL, *cur = NULL;
	size_t nv = 0, i;
	char *line, *next;
	int ln = 0;
	bool format = false;

	for (line = text; line && *line; line = next) {
		char *eq;

		ln++;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!*line || *line == '#')
			continue;
		if (!strcmp(line, "end")) {
			if (!cur)
				fail_msg("line %d: end outside a vector", ln);
			cur = NULL;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || eq == line)
			fail_msg("line %d: not key=value", ln);
		*eq = 0;
		if (!strcmp(line, "format")) {
			assert_string_equal(eq + 1, "svmig-wire-vectors 2");
			assert_null(cur);
			format = true;
			continue;
		}
		if (!strcmp(line, "vector")) {
			if (cur)
				fail_msg("line %d: vector inside a vector", ln);
			vs = realloc(vs, (nv + 1) * sizeof(*vs));
			assert_non_null(vs);
			cur = &vs[nv++];
			memset(cur, 0, sizeof(*cur));
			cur->name = eq + 1;
			cur->line = ln;
			for (i = 0; i + 1 < nv; i++)
				if (!strcmp(vs[i].name, cur->name))
					fail_msg("line %d: vector %s twice", ln,
						 cur->name);
			continue;
		}
		if (!cur)
			fail_msg("line %d: %s outside a vector", ln, line);
		if (vget(cur, line))
			fail_msg("line %d: %s twice in %s", ln, line, cur->name);
		assert_true(cur->n < MAX_KEYS);
		cur->key[cur->n] = line;
		cur->val[cur->n++] = eq + 1;
	}
	assert_null(cur);
	assert_true(format);
	*out = vs;
	return nv;
}

/* plaintext_formula=(i*MUL+ADD)&0xff, or plaintext=hex, of @len bytes */
static void plaintext(const struct vec *v, int step, uint8_t *p, size_t len)
{
	const char *f = sget(v, step, "plaintext_formula");
	unsigned int mul, add;
	size_t i;
	int end = 0;

	if (!f) {
		unhex(v, sreq(v, step, "plaintext"), p, len);
		return;
	}
	if (sget(v, step, "plaintext") ||
	    sscanf(f, "(i*%u+%u)&0xff%n", &mul, &add, &end) != 2 ||
	    f[end])
		fail_msg("vector %s: step %d: formula %s", v->name, step, f);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * mul + add) & 0xff);
}

static int errno_of(const char *s)
{
	static const struct { const char *name; int err; } e[] = {
		{ "EPROTO", EPROTO }, { "EILSEQ", EILSEQ },
		{ "EBADMSG", EBADMSG }, { "EKEYREJECTED", EKEYREJECTED },
		{ "ENODATA", ENODATA },
	};
	size_t i;

	for (i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		if (!strcmp(s, e[i].name))
			return e[i].err;
	fail_msg("errno %s", s);
	return 0;
}

static uint32_t verdict_of(const char *s)
{
	static const char *const names[] = {
		"PENDING", "VERIFIED", "MISMATCH", "FAILED", "TRUNCATED",
	};
	uint32_t i;

	for (i = 0; i < 5; i++)
		if (!strcmp(s, names[i]))
			return i;
	fail_msg("verdict %s", s);
	return 0;
}

static uint8_t type_of(const char *s)
{
	static const char *const names[] = {
		"EOF", "HELLO", "PAGE", "MANIFEST", "DATA", "END",
	};
	uint8_t i;

	for (i = 0; i < 6; i++)
		if (!strcmp(s, names[i]))
			return i;
	fail_msg("type %s", s);
	return 0;
}

static void be32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24);
	p[1] = (uint8_t)(x >> 16);
	p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

static void be64(uint8_t *p, uint64_t x)
{
	be32(p, (uint32_t)(x >> 32));
	be32(p + 4, (uint32_t)x);
}

/* ---- checking one vector ---- */

/* What a PAGE step carried, for the parts' recomputation. */
struct pstep {
	uint32_t ch, slot, gen;
	uint64_t page;
	bool own;			/* its channel's sender's, and accepted */
	uint8_t value[SVMIG_TABLE_SUM_LEN];
};

struct chk {
	const struct vec *v;
	bool stream, session;
	uint8_t secret[32], sid[16], k0[32], kt[64];
	size_t nch;
	uint32_t ch[2];
	uint32_t sender_channels;	/* what each MANIFEST/END says */
	uint8_t salt[2][32];
	struct svmig_wire *rx[2];
	/* tags of each channel's own accepted records, in order */
	uint8_t tags[2][MAX_STEPS][SVMIG_TAG_LEN];
	size_t ntags[2];
	struct pstep pages[MAX_STEPS];
	size_t npages;
	uint8_t rec[SVMIG_REC_MAX_LEN], pt[SVMIG_STREAM_RECORD_MAX + 16];
	uint8_t out[SVMIG_STREAM_RECORD_MAX];
};

static size_t ch_index(struct chk *c, uint32_t ch)
{
	size_t i;

	for (i = 0; i < c->nch; i++)
		if (c->ch[i] == ch)
			return i;
	fail_msg("vector %s: channel %u", c->v->name, ch);
	return 0;
}

/* The keys, by the HKDF calls of the document, labels spelt out here. */
static void check_keys(struct chk *c)
{
	const struct vec *v = c->v;
	uint8_t salt[32], info[64], x[64], prk[32];
	char key[32];
	size_t i;

	memcpy(salt, "svmig v2 session", 16);
	memcpy(salt + 16, c->sid, 16);
	assert_int_equal(svmig_hkdf_extract(salt, 32, c->secret, 32, c->k0), 0);
	hexeq(v, "k0", vreq(v, "k0"), c->k0, 32);
	assert_int_equal(svmig_kdf_k0(c->secret, c->sid, x), 0);
	assert_memory_equal(x, c->k0, 32);
	memcpy(info, "svmig v2 table key", 18);
	assert_int_equal(svmig_hkdf_expand(c->k0, 32, info, 18, c->kt, 64), 0);
	hexeq(v, "kt", vreq(v, "kt"), c->kt, 64);
	assert_int_equal(svmig_kdf_table_key(c->k0, x), 0);
	assert_memory_equal(x, c->kt, 64);
	memcpy(info, "svmig v2 session fp", 19);
	assert_int_equal(svmig_hkdf_expand(c->k0, 32, info, 19, x, 32), 0);
	hexeq(v, "fp", vreq(v, "fp"), x, 32);
	for (i = 0; i < c->nch; i++) {
		assert_int_equal(svmig_hkdf_extract(c->salt[i], 32, c->k0, 32,
						    prk), 0);
		snprintf(key, sizeof(key), "ch%u.prk", c->ch[i]);
		hexeq(v, key, vreq(v, key), prk, 32);
	}
}

/* K(epoch) of the sealer's inputs. */
static void key_of(const uint8_t *secret, const uint8_t *sid,
		   const uint8_t *salt, uint32_t ch, uint32_t epoch,
		   uint8_t key[32])
{
	uint8_t k0[32], prk[32], lsalt[32], info[24];

	memcpy(lsalt, "svmig v2 session", 16);
	memcpy(lsalt + 16, sid, 16);
	assert_int_equal(svmig_hkdf_extract(lsalt, 32, secret, 32, k0), 0);
	assert_int_equal(svmig_hkdf_extract(salt, 32, k0, 32, prk), 0);
	memcpy(info, "svmig v2 key s2r", 16);
	be32(info + 16, ch);
	be32(info + 20, epoch);
	assert_int_equal(svmig_hkdf_expand(prk, 32, info, 24, key, 32), 0);
}

/* Reseal step @i from its inputs and compare; its length. */
static size_t reseal(struct chk *c, int i, uint32_t ch, uint8_t type,
		     size_t *pt_len)
{
	const struct vec *v = c->v;
	uint8_t secret[32], salt[32], clear[56], key[32], nonce[12];
	uint8_t aad[SVMIG_AAD_MAX_LEN], hdr[16], *wire;
	uint32_t sch = ch, length = 0;
	size_t clear_len = 0, n = 0, len, wlen;
	uint64_t seq = dec(v, sreq(v, i, "seq"));
	struct svmig_wire *s = calloc(1, sizeof(*s));
	const char *x;

	assert_non_null(s);
	memcpy(secret, c->secret, 32);
	memcpy(salt, c->salt[ch_index(c, ch)], 32);
	if ((x = sget(v, i, "seal_secret")))
		unhex(v, x, secret, 32);
	if ((x = sget(v, i, "seal_salt")))
		unhex(v, x, salt, 32);
	if ((x = sget(v, i, "seal_channel")))
		sch = (uint32_t)dec(v, x);
	assert_int_equal(dec(v, sreq(v, i, "epoch")), seq >> 20);

	switch (type) {
	case SVMIG_REC_HELLO:
		be32(clear, sch);
		be32(clear + 4, (uint32_t)dec(v, sreq(v, i, "hello_flags")));
		memcpy(clear + 8, c->sid, 16);
		memcpy(clear + 24, salt, 32);
		clear_len = 56;
		hexeq(v, "clear", sreq(v, i, "clear"), clear, 56);
		length = 72;
		break;
	case SVMIG_REC_PAGE:
		be32(c->pt, (uint32_t)dec(v, sreq(v, i, "slot")));
		be32(c->pt + 4, (uint32_t)dec(v, sreq(v, i, "generation")));
		be64(c->pt + 8, dec(v, sreq(v, i, "page")));
		hexeq(v, "identity", sreq(v, i, "identity"), c->pt, 16);
		plaintext(v, i, c->pt + 16, SVMIG_PAGE_SIZE);
		n = 16 + SVMIG_PAGE_SIZE;
		length = 4128;
		break;
	case SVMIG_REC_MANIFEST:
		be64(c->pt, dec(v, sreq(v, i, "manifest_pages")));
		be64(c->pt + 8, dec(v, sreq(v, i, "manifest_page_records")));
		be32(c->pt + 16, (uint32_t)dec(v, sreq(v, i,
						       "manifest_channels")));
		be32(c->pt + 20, (uint32_t)dec(v, sreq(v, i,
						       "manifest_reserved")));
		unhex(v, sreq(v, i, "manifest_table_sum"), c->pt + 24, 16);
		hexeq(v, "plaintext", sreq(v, i, "plaintext"), c->pt, 40);
		/* the sender's session, whatever the receiver opened */
		assert_int_equal(dec(v, sreq(v, i, "manifest_channels")),
				 c->sender_channels);
		n = 40;
		length = 56;
		break;
	case SVMIG_REC_DATA:
		n = dec(v, sreq(v, i, "length"));
		assert_true(n <= SVMIG_STREAM_RECORD_MAX);
		if (n)
			plaintext(v, i, c->pt, n);
		length = (uint32_t)n + 16;
		break;
	case SVMIG_REC_END: {
		uint8_t tin[MAX_STEPS * SVMIG_TAG_LEN], md[32];
		size_t tlen = unhex(v, sreq(v, i, "end_transcript_input"), tin,
				    SIZE_MAX);
		size_t ci = ch_index(c, ch);

		assert_int_equal(EVP_Digest(tin, tlen, md, NULL, EVP_sha256(),
					    NULL), 1);
		hexeq(v, "end_transcript", sreq(v, i, "end_transcript"), md, 32);
		if (!sget(v, i, "seal_secret")) {
			/* the tags of the channel's records before, in order */
			assert_int_equal(tlen, c->ntags[ci] * SVMIG_TAG_LEN);
			assert_memory_equal(tin, c->tags[ci], tlen);
		}
		be64(c->pt, dec(v, sreq(v, i, "end_records")));
		be64(c->pt + 8, dec(v, sreq(v, i, "end_bytes")));
		be32(c->pt + 16, (uint32_t)dec(v, sreq(v, i, "end_channels")));
		be32(c->pt + 20, (uint32_t)dec(v, sreq(v, i, "end_reserved")));
		memcpy(c->pt + 24, md, 32);
		hexeq(v, "plaintext", sreq(v, i, "plaintext"), c->pt, 56);
		assert_int_equal(dec(v, sreq(v, i, "end_channels")),
				 c->sender_channels);
		n = 56;
		length = 72;
		break;
	}
	default:
		fail_msg("type %u", type);
	}
	*pt_len = n;

	/* header, nonce, AAD, key: by hand */
	hdr[0] = (uint8_t)dec(v, sreq(v, i, "version"));
	hdr[1] = type;
	hdr[2] = hdr[3] = 0;
	be32(hdr + 4, length);
	be64(hdr + 8, seq);
	memset(nonce, 0, 4);
	be64(nonce + 4, seq);
	hexeq(v, "nonce", sreq(v, i, "nonce"), nonce, 12);
	memcpy(aad, c->sid, 16);
	be32(aad + 16, sch);
	be32(aad + 20, 0);
	memcpy(aad + 24, hdr, 16);
	memcpy(aad + 40, clear, clear_len);
	hexeq(v, "aad", sreq(v, i, "aad"), aad, 40 + clear_len);
	key_of(secret, c->sid, salt, sch, (uint32_t)(seq >> 20), key);
	hexeq(v, "key", sreq(v, i, "key"), key, 32);

	/* seal with the oracle */
	assert_int_equal(svmig_wire_init(s, SVMIG_ROLE_SENDER, c->sid, sch,
					 secret), 0);
	assert_int_equal(svmig_wire_set_salt(s, salt), 0);
	len = 16 + length;
	assert_int_equal(svmig_wire_seal_raw(s, (struct svmig_wire_hdr *)hdr,
					     clear, clear_len, c->pt, n,
					     c->rec), (int)len);
	if (type == SVMIG_REC_PAGE && hdr[0] == SVMIG_WIRE_VERSION) {
		/* the forging helper makes the same bytes */
		static uint8_t again[SVMIG_PAGE_REC_LEN];

		assert_int_equal(svmig_wire_seal_page_at(s, seq,
			(uint32_t)dec(v, sreq(v, i, "slot")),
			dec(v, sreq(v, i, "page")),
			(uint32_t)dec(v, sreq(v, i, "generation")),
			c->pt + 16, again), SVMIG_PAGE_REC_LEN);
		assert_memory_equal(again, c->rec, SVMIG_PAGE_REC_LEN);
	}
	svmig_wire_free(s);
	free(s);
	hexeq(v, "tag", sreq(v, i, "tag"), c->rec + len - 16, 16);
	if (type == SVMIG_REC_PAGE) {
		uint8_t in[96], md[32], val[16];
		struct pstep *p = &c->pages[c->npages++];

		memcpy(in, c->kt, 64);
		memcpy(in + 64, c->pt, 4);		/* slot */
		memcpy(in + 68, c->pt + 8, 8);		/* page */
		memcpy(in + 76, c->pt + 4, 4);		/* generation */
		memcpy(in + 80, c->rec + len - 16, 16);	/* tag */
		assert_int_equal(EVP_Digest(in, 96, md, NULL, EVP_sha256(),
					    NULL), 1);
		hexeq(v, "value", sreq(v, i, "value"), md, 16);
		assert_int_equal(svmig_table_value(c->kt,
			(uint32_t)dec(v, sreq(v, i, "slot")),
			dec(v, sreq(v, i, "page")),
			(uint32_t)dec(v, sreq(v, i, "generation")),
			c->rec + len - 16, val), 0);
		assert_memory_equal(val, md, 16);
		p->ch = ch;
		p->slot = (uint32_t)dec(v, sreq(v, i, "slot"));
		p->page = dec(v, sreq(v, i, "page"));
		p->gen = (uint32_t)dec(v, sreq(v, i, "generation"));
		p->own = !sget(v, i, "seal_secret");
		memcpy(p->value, md, 16);
	}
	if ((x = sget(v, i, "xor"))) {
		unsigned int off, mask;
		int end = 0;

		if (sscanf(x, "%u:%2x%n", &off, &mask, &end) != 2 || x[end] ||
		    off >= len)
			fail_msg("vector %s: xor %s", v->name, x);
		c->rec[off] ^= (uint8_t)mask;
	}
	wire = malloc(len);
	assert_non_null(wire);
	wlen = unhex(v, sreq(v, i, "wire"), wire, SIZE_MAX);
	assert_int_equal(wlen, len);
	if (memcmp(wire, c->rec, len))
		fail_msg("vector %s: step %d: record bytes differ", v->name, i);
	free(wire);
	return len;
}

/*
 * A channel's part as its sender kept it, from the PAGE steps: the
 * entries it created (generation 1) and the sum of v(new) - v(old), the
 * old value being the same page's record of the generation before.
 */
static void part_of(struct chk *c, uint32_t ch, uint64_t *pages,
		    uint8_t sum[16])
{
	size_t i, j;

	*pages = 0;
	memset(sum, 0, 16);
	for (i = 0; i < c->npages; i++) {
		const struct pstep *p = &c->pages[i];

		if (p->ch != ch || !p->own)
			continue;
		if (p->gen == 1)
			(*pages)++;
		svmig_sum_add(sum, p->value);
		for (j = 0; p->gen > 1 && j < c->npages; j++) {
			const struct pstep *q = &c->pages[j];

			if (q->slot == p->slot && q->page == p->page &&
			    q->gen == p->gen - 1 && q->own) {
				svmig_sum_sub(sum, q->value);
				break;
			}
		}
		if (p->gen > 1 && j == c->npages)
			fail_msg("vector %s: no generation %u of (%u,%llu)",
				 c->v->name, p->gen - 1, p->slot,
				 (unsigned long long)p->page);
	}
}

static void check_vector(const struct vec *v)
{
	struct chk *c = calloc(1, sizeof(*c));
	const char *x, *expect = vreq(v, "expect");
	bool refuse = !strcmp(expect, "refuse");
	struct { uint32_t ch; uint64_t pages; uint8_t sum[16]; } man[2];
	int steps, i, want_err = 0;
	size_t k, nman = 0;
	char key[48];

	assert_non_null(c);
	c->v = v;
	assert_true(refuse || !strcmp(expect, "accept"));
	if (refuse)
		want_err = errno_of(vreq(v, "errno"));
	else
		assert_null(vget(v, "errno"));
	x = vreq(v, "mode");
	assert_true(!strcmp(x, "page") || !strcmp(x, "stream"));
	c->stream = !strcmp(x, "stream");
	c->session = dec(v, vreq(v, "session"));
	unhex(v, vreq(v, "secret"), c->secret, 32);
	unhex(v, vreq(v, "session_id"), c->sid, 16);
	x = vreq(v, "channels");
	if (sscanf(x, "%u,%u", &c->ch[0], &c->ch[1]) == 2)
		c->nch = 2;
	else
		c->nch = (c->ch[0] = (uint32_t)dec(v, x), 1);
	assert_true(c->nch == (c->session ? 2u : 1u));
	/* the sender's session may have channels the receiver never opens */
	c->sender_channels = (uint32_t)c->nch;
	if ((x = vget(v, "sender_channels"))) {
		unsigned int a, b;
		int end = 0;

		if (sscanf(x, "%u,%u%n", &a, &b, &end) != 2 || x[end] ||
		    a == b || (a != c->ch[0] && b != c->ch[0]))
			fail_msg("vector %s: sender_channels %s", v->name, x);
		assert_int_equal(c->nch, 1);
		c->sender_channels = 2;
	}
	for (k = 0; k < c->nch; k++) {
		snprintf(key, sizeof(key), "ch%u.salt", c->ch[k]);
		unhex(v, vreq(v, key), c->salt[k], 32);
	}
	check_keys(c);

	/* the receivers */
	for (k = 0; k < c->nch; k++) {
		const char *r = vreq(v, "regions");

		c->rx[k] = calloc(1, sizeof(*c->rx[k]));
		assert_non_null(c->rx[k]);
		assert_int_equal(svmig_wire_init(c->rx[k], SVMIG_ROLE_RECEIVER |
			(c->stream ? SVMIG_KEY_STREAM : 0) |
			(dec(v, vreq(v, "require_tpm_salt")) ?
			 SVMIG_KEY_REQUIRE_TPM_SALT : 0),
			c->sid, c->ch[k], c->secret), 0);
		if (k)
			assert_int_equal(svmig_wire_join(c->rx[k], c->rx[0]), 0);
		assert_true(!c->stream || !*r);
		while (*r) {
			unsigned int slot;
			unsigned long long np;
			int used = 0;

			assert_int_equal(sscanf(r, "%u:%llu%n", &slot, &np,
						&used), 2);
			assert_int_equal(svmig_wire_add_region(c->rx[k], slot,
							       np), 0);
			r += used;
			if (*r == ',')
				r++;
		}
	}

	steps = (int)dec(v, vreq(v, "steps"));
	assert_true(steps >= 1 && steps <= MAX_STEPS);
	assert_null(sget(v, steps + 1, "type"));
	for (i = 1; i <= steps; i++) {
		uint32_t ch = (uint32_t)dec(v, sreq(v, i, "channel"));
		uint8_t type = type_of(sreq(v, i, "type"));
		const char *result = sreq(v, i, "result");
		size_t ci = ch_index(c, ch), len, pt_len = 0;
		struct svmig_wire_rec info;
		int ret;

		if (strcmp(result, "accept") && strcmp(result, "stale") &&
		    strcmp(result, "refuse"))
			fail_msg("vector %s: result %s", v->name, result);
		/* only the last step of a refusal vector is refused */
		assert_int_equal(!strcmp(result, "refuse"),
				 (int)(refuse && i == steps));
		if (type == 0) {		/* EOF */
			uint8_t cut[SVMIG_REC_MAX_LEN];
			size_t n = unhex(v, sget(v, i, "cut") ?
					 sget(v, i, "cut") : "", cut, SIZE_MAX);

			ret = svmig_wire_eof(c->rx[ci], n);
			assert_int_equal(ret, strcmp(result, "refuse") ? 0 :
					 -want_err);
			continue;
		}
		if ((x = sget(v, i, "jump"))) {
			/* the records in between are left out: skip them */
			assert_int_equal(dec(v, x), 1);
			assert_int_equal(svmig_wire_set_next_seq(c->rx[ci],
				dec(v, sreq(v, i, "seq"))), 0);
		}
		len = reseal(c, i, ch, type, &pt_len);
		ret = t_open(c->rx[ci], c->rec, len, c->out, &info);
		if (!strcmp(result, "refuse")) {
			/* a refused PAGE is no sender's record */
			if (type == SVMIG_REC_PAGE)
				c->pages[c->npages - 1].own = false;
			if (ret != -want_err)
				fail_msg("vector %s: step %d: %d, -%s wanted",
					 v->name, i, ret, vreq(v, "errno"));
			continue;
		}
		if (ret)
			fail_msg("vector %s: step %d refused: %d", v->name, i,
				 ret);
		assert_int_equal(info.type, type);
		assert_int_equal(info.seq, dec(v, sreq(v, i, "seq")));
		assert_int_equal(info.stale, !strcmp(result, "stale"));
		if (!sget(v, i, "seal_secret") && ci < 2 &&
		    c->ntags[ci] < MAX_STEPS)
			memcpy(c->tags[ci][c->ntags[ci]++], c->rec + len - 16,
			       16);
		if (type == SVMIG_REC_PAGE) {
			assert_int_equal(info.slot, dec(v, sreq(v, i, "slot")));
			assert_int_equal(info.page, dec(v, sreq(v, i, "page")));
			assert_int_equal(info.generation,
					 dec(v, sreq(v, i, "generation")));
			if (!info.stale)
				assert_memory_equal(c->out, c->pt + 16,
						    SVMIG_PAGE_SIZE);
		} else if (type == SVMIG_REC_DATA) {
			assert_int_equal(info.data_len, pt_len);
			assert_memory_equal(c->out, c->pt, pt_len);
		} else if (type == SVMIG_REC_MANIFEST ||
			   type == SVMIG_REC_END) {
			assert_int_equal(info.verdict,
					 verdict_of(sreq(v, i, "verdict")));
		}
		if (type == SVMIG_REC_MANIFEST && !sget(v, i, "seal_secret")) {
			assert_true(nman < 2);
			man[nman].ch = ch;
			man[nman].pages = info.manifest_pages;
			memcpy(man[nman++].sum, info.manifest_table_sum, 16);
		}
	}
	/* each MANIFEST is its sender's part, from all the PAGE records */
	for (k = 0; k < nman; k++) {
		uint64_t pages;
		uint8_t sum[16];

		part_of(c, man[k].ch, &pages, sum);
		assert_int_equal(man[k].pages, pages);
		assert_memory_equal(man[k].sum, sum, 16);
	}

	if (!refuse) {
		uint8_t sum[16] = { 0 }, tsum[16], msum[16] = { 0 };
		uint64_t pages = 0, tpages, mpages = 0;
		uint32_t verdict = verdict_of(vreq(v, "verdict"));

		for (k = 0; !c->stream && k < c->nch; k++) {
			struct svmig_wire *r = c->rx[k];

			snprintf(key, sizeof(key), "ch%u.rx_pages", c->ch[k]);
			assert_int_equal(dec(v, vreq(v, key)), r->part_pages);
			snprintf(key, sizeof(key), "ch%u.rx_page_records",
				 c->ch[k]);
			assert_int_equal(dec(v, vreq(v, key)), r->page_records);
			snprintf(key, sizeof(key), "ch%u.rx_table_sum", c->ch[k]);
			hexeq(v, key, vreq(v, key), r->part_sum, 16);
			pages += r->part_pages;
			svmig_sum_add(sum, r->part_sum);
			mpages += r->manifest_pages;
			svmig_sum_add(msum, r->manifest_table_sum);
		}
		if (!c->stream) {
			assert_int_equal(dec(v, vreq(v, "session_pages")), pages);
			hexeq(v, "session_table_sum",
			      vreq(v, "session_table_sum"), sum, 16);
			/* the parts add up to the table */
			svmig_table_sum(c->rx[0]->table, &tpages, tsum);
			assert_int_equal(tpages, pages);
			assert_memory_equal(tsum, sum, 16);
			if (verdict == SVMIG_VERDICT_VERIFIED) {
				/* and to the MANIFESTs' */
				assert_int_equal(mpages, pages);
				assert_memory_equal(msum, sum, 16);
			}
		}
		assert_int_equal(svmig_wire_session_verdict(c->rx, c->nch),
				 verdict);
	}
	for (k = 0; k < c->nch; k++) {
		svmig_wire_free(c->rx[k]);
		free(c->rx[k]);
	}
	free(c);
}

/* Every vector, from its inputs alone. */
static void test_vectors_check(void **state)
{
	static const char *const required[] = {
		"hello-page", "hello-page-tpm", "hello-stream",
		"hello-stream-tpm", "page-gen1", "page-resend", "page-epoch1",
		"page-epoch3", "page-seq-2to32", "manifest-alone",
		"session-in-order", "session-stale", "session-missing-channel",
		"stream-full", "refuse-manifest-reserved", "refuse-end-reserved",
		"refuse-hello-flags-first",
	};
	size_t len, n, i, j, refusals = 0;
	char *text = read_vectors(&len);
	struct vec *vs;
	bool errs[5] = { false };

	(void)state;
	n = parse(text, &vs);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		for (j = 0; j < n && strcmp(vs[j].name, required[i]); j++)
			;
		if (j == n)
			fail_msg("no vector %s", required[i]);
	}
	for (i = 0; i < n; i++) {
		const char *e = vget(&vs[i], "errno");

		check_vector(&vs[i]);
		if (e) {
			refusals++;
			errs[!strcmp(e, "EPROTO") ? 0 : !strcmp(e, "EILSEQ") ? 1 :
			     !strcmp(e, "EBADMSG") ? 2 :
			     !strcmp(e, "EKEYREJECTED") ? 3 : 4] = true;
		}
	}
	/* refusals of every kind */
	for (i = 0; i < 5; i++)
		assert_true(errs[i]);
	assert_true(refusals >= 10);
	free(vs);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_match_file),
		cmocka_unit_test(test_vectors_check),
	};

	return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
