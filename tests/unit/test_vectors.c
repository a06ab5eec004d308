// SPDX-License-Identifier: GPL-2.0
/*
 * Documentation/wire-vectors.txt cannot drift: regenerate it with the very
 * code svmig-vectors runs and compare byte for byte; then read it back as
 * a receiver would (keys from its inputs, records opened in order, pages
 * and stream bytes equal to the formulas its comments state, transcript
 * equal to SHA-256 of its tags, verdicts VERIFIED).
 */
#include <stdio.h>

#include <openssl/evp.h>

#include "test_util.h"

#ifndef SVMIG_SRCDIR
#define SVMIG_SRCDIR "."
#endif
#define VECTORS "Documentation/wire-vectors.txt"

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

/* key=value lookup in the vectors text, hex decoded into a new buffer. */
static uint8_t *get(const char *text, const char *key, size_t *len)
{
	size_t klen = strlen(key), n = 0;
	const char *p = text;
	uint8_t *out;

	for (;;) {
		if (!strncmp(p, key, klen) && p[klen] == '=')
			break;
		p = strchr(p, '\n');
		if (!p)
			fail_msg("no %s in " VECTORS, key);
		p++;
	}
	p += klen + 1;
	out = malloc(strcspn(p, "\n") / 2 + 1);
	assert_non_null(out);
	while (p[0] != '\n' && p[0] && p[1] != '\n') {
		unsigned int b;

		assert_int_equal(sscanf(p, "%2x", &b), 1);
		out[n++] = (uint8_t)b;
		p += 2;
	}
	*len = n;
	return out;
}

static void check_key(const char *text, const char *name, const uint8_t *want)
{
	size_t len;
	uint8_t *v = get(text, name, &len);

	assert_int_equal(len, 32);
	assert_memory_equal(v, want, 32);
	free(v);
}

/* Open the file's records with a receiver built from its inputs. */
static void test_vectors_open(void **state)
{
	static const struct {
		const char *name;
		unsigned int mul, add;
		uint32_t slot, gen;
		uint64_t page, seq;
	} pages[] = {
		{ "page1", 7, 1, 1, 1, 5, 1 },
		{ "page2", 11, 3, 1, 2, 5, 2 },
		{ "page3", 3, 0x55, 0, 1, 2, 1u << 20 },
	};
	uint8_t k0[32], prk[32], key[32], want[SVMIG_PAGE_SIZE], out[SVMIG_PAGE_SIZE];
	uint8_t *secret, *sid, *salt, *rec;
	struct svmig_wire *r = calloc(1, sizeof(*r));
	struct svmig_wire_rec info;
	size_t file_len, len, i, j;
	char *text = read_vectors(&file_len);

	(void)state;
	assert_non_null(r);
	secret = get(text, "secret", &len);
	assert_int_equal(len, SVMIG_SECRET_LEN);
	sid = get(text, "session_id", &len);
	assert_int_equal(len, SVMIG_SESSION_ID_LEN);
	salt = get(text, "salt", &len);
	assert_int_equal(len, SVMIG_SALT_LEN);
	assert_non_null(strstr(text, "\nchannel=3\n"));

	assert_int_equal(svmig_kdf_k0(secret, sid, k0), 0);
	check_key(text, "k0", k0);
	assert_int_equal(svmig_kdf_prk(k0, salt, prk), 0);
	check_key(text, "prk", prk);
	assert_int_equal(svmig_kdf_key(prk, 3, 0, key), 0);
	check_key(text, "key0", key);
	assert_int_equal(svmig_kdf_key(prk, 3, 1, key), 0);
	check_key(text, "key1", key);

	assert_int_equal(svmig_wire_init(r, SVMIG_ROLE_RECEIVER, sid, 3,
					 secret), 0);
	assert_int_equal(svmig_wire_add_region(r, 0, 4), 0);
	assert_int_equal(svmig_wire_add_region(r, 1, 8), 0);
	rec = get(text, "hello", &len);
	assert_int_equal(len, SVMIG_HELLO_REC_LEN);
	t_accept(r, rec, len, NULL, &info);
	free(rec);
	assert_memory_equal(r->prk, prk, 32);

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (pages[i].seq != r->next_seq)
			assert_int_equal(svmig_wire_set_next_seq(r,
								 pages[i].seq), 0);
		rec = get(text, pages[i].name, &len);
		assert_int_equal(len, SVMIG_PAGE_REC_LEN);
		t_accept(r, rec, len, out, &info);
		free(rec);
		assert_int_equal(info.seq, pages[i].seq);
		assert_int_equal(info.slot, pages[i].slot);
		assert_int_equal(info.page, pages[i].page);
		assert_int_equal(info.generation, pages[i].gen);
		assert_false(info.stale);
		for (j = 0; j < SVMIG_PAGE_SIZE; j++)
			want[j] = (uint8_t)((j * pages[i].mul + pages[i].add) &
					    0xff);
		assert_memory_equal(out, want, SVMIG_PAGE_SIZE);
	}
	rec = get(text, "manifest", &len);
	assert_int_equal(len, SVMIG_MANIFEST_REC_LEN);
	t_accept(r, rec, len, NULL, &info);
	free(rec);
	assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(info.manifest_pages, 2);
	assert_int_equal(info.manifest_page_records, 3);
	rec = get(text, "manifest_plaintext", &len);
	assert_int_equal(len, 48);
	assert_memory_equal(rec + 16, info.manifest_digest, 32);
	free(rec);

	svmig_wire_free(r);
	free(r);
	free(secret);
	free(sid);
	free(salt);
	free(text);
}

/* The stream section, with a stream-mode receiver from the same inputs. */
static void test_vectors_open_stream(void **state)
{
	static const struct {
		const char *name;
		size_t len;
		unsigned int mul, add;
	} data[] = {
		{ "stream_data1", 5, 5, 7 },
		{ "stream_data2", 300, 13, 0x21 },
	};
	static uint8_t out[SVMIG_STREAM_RECORD_MAX];
	uint8_t tags[3][SVMIG_TAG_LEN], want[SVMIG_HASH_LEN];
	struct svmig_wire *r = calloc(1, sizeof(*r));
	uint8_t *secret, *sid, *rec, *v;
	struct svmig_wire_rec info;
	size_t file_len, len, i, j;
	char *text = read_vectors(&file_len);

	(void)state;
	assert_non_null(r);
	secret = get(text, "secret", &len);
	sid = get(text, "session_id", &len);
	assert_int_equal(svmig_wire_init(r, SVMIG_ROLE_RECEIVER |
					 SVMIG_KEY_STREAM, sid, 3, secret), 0);
	rec = get(text, "stream_hello", &len);
	assert_int_equal(len, SVMIG_HELLO_REC_LEN);
	assert_int_equal(rec[23], SVMIG_HELLO_F_STREAM);
	t_accept(r, rec, len, NULL, &info);
	memcpy(tags[0], rec + len - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	free(rec);

	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		rec = get(text, data[i].name, &len);
		assert_int_equal(len, SVMIG_HDR_LEN + data[i].len +
				 SVMIG_TAG_LEN);
		t_accept(r, rec, len, out, &info);
		memcpy(tags[i + 1], rec + len - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
		free(rec);
		assert_int_equal(info.type, SVMIG_REC_DATA);
		assert_int_equal(info.seq, i + 1);
		assert_int_equal(info.data_len, data[i].len);
		for (j = 0; j < data[i].len; j++)
			assert_int_equal(out[j], (j * data[i].mul +
						  data[i].add) & 0xff);
	}

	v = get(text, "stream_transcript_input", &len);
	assert_int_equal(len, sizeof(tags));
	assert_memory_equal(v, tags, sizeof(tags));
	free(v);
	assert_int_equal(EVP_Digest(tags, sizeof(tags), want, NULL,
				    EVP_sha256(), NULL), 1);
	rec = get(text, "stream_end", &len);
	assert_int_equal(len, SVMIG_END_REC_LEN);
	t_accept(r, rec, len, NULL, &info);
	free(rec);
	assert_int_equal(info.type, SVMIG_REC_END);
	assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(info.end_records, 2);
	assert_int_equal(info.end_bytes, 305);
	assert_memory_equal(info.end_transcript, want, SVMIG_HASH_LEN);
	v = get(text, "stream_end_plaintext", &len);
	assert_int_equal(len, sizeof(struct svmig_wire_end));
	assert_memory_equal(v + 16, want, SVMIG_HASH_LEN);
	free(v);

	svmig_wire_free(r);
	free(r);
	free(secret);
	free(sid);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_match_file),
		cmocka_unit_test(test_vectors_open),
		cmocka_unit_test(test_vectors_open_stream),
	};

	return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
