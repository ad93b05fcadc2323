/* The safetensors reader on good files and on hostile ones: every broken
 * file must give its one-line error, never a crash or a read out of bounds
 * (run under `make SANITIZE=1 unit` to have ASan watch the fuzz loops). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

#define TEST_DIR_TAG "st"
#include "test_dir.h"

/* A file in memory: 8-byte length, the header text, then dlen data bytes. */
static unsigned char *build(const char *header, const void *data, size_t dlen, size_t *len)
{
	size_t h = strlen(header);
	*len = 8 + h + dlen;
	unsigned char *b = malloc(*len ? *len : 1);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(b + 8, header, h);
	if (dlen)
		memcpy(b + 8 + h, data, dlen);
	return b;
}

/* Parses header + dlen zero bytes of data; returns the error (or "" on success). */
static const char *parse_err(const char *header, size_t dlen)
{
	static Diag d;
	static unsigned char zeros[4096];
	size_t len;
	StFile f;
	d.msg[0] = 0;
	unsigned char *b = build(header, zeros, dlen, &len);
	int rc = st_parse(&f, b, len, &d);
	st_free(&f);
	return rc ? d.msg : "";
}

static const char *raw_err(const void *bytes, size_t len)
{
	static Diag d;
	StFile f;
	unsigned char *b = malloc(len ? len : 1);
	memcpy(b, bytes, len);
	d.msg[0] = 0;
	int rc = st_parse(&f, b, len, &d);
	st_free(&f);
	return rc ? d.msg : "";
}

static void test_good_file_reads_every_float_dtype(void **state)
{
	(void)state;
	/* F32 1.5 -2; F16 1 -0.5 65504 and the smallest subnormal; BF16 3.0; F64 0.1 */
	const unsigned char data[] = {
		0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,             /* F32 [2] @0 */
		0x00, 0x3c, 0x00, 0xb8, 0xff, 0x7b, 0x01, 0x00,             /* F16 [2,2] @8 */
		0x40, 0x40,                                                 /* BF16 scalar @16 */
		0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,             /* F64 [1] @18 */
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* I64 [1] @26 */
	};
	const char *h = "{\"__metadata__\": {\"format\": \"pt\"},"
			"\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
			"\"b.weight\": {\"dtype\": \"F16\", \"shape\": [2, 2], \"data_offsets\": [8, 16]},"
			"\"c\": {\"shape\": [], \"dtype\": \"BF16\", \"data_offsets\": [16, 18]},"
			"\"d\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [18, 26]},"
			"\"e.num_batches_tracked\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [26, 34]},"
			"\"empty\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [34, 34]}}   ";
	size_t len;
	StFile f;
	Diag d;
	unsigned char *b = build(h, data, sizeof data, &len);
	assert_int_equal(st_parse(&f, b, len, &d), 0);
	assert_int_equal(f.n, 6);
	float v[4];
	StTensor *t = st_find(&f, "a");
	assert_non_null(t);
	assert_int_equal(st_read_f32(&f, t, v, &d), 0);
	assert_true(v[0] == 1.5f && v[1] == -2.0f);
	t = st_find(&f, "b.weight");
	assert_int_equal(t->rank, 2);
	assert_int_equal(st_read_f32(&f, t, v, &d), 0);
	assert_true(v[0] == 1.0f && v[1] == -0.5f && v[2] == 65504.0f && v[3] == 0x1p-24f);
	t = st_find(&f, "c");
	assert_int_equal(t->rank, 0);
	assert_int_equal(st_read_f32(&f, t, v, &d), 0);
	assert_true(v[0] == 3.0f);
	assert_int_equal(st_read_f32(&f, st_find(&f, "d"), v, &d), 0);
	assert_true(v[0] == 0.1f);
	t = st_find(&f, "e.num_batches_tracked");
	assert_int_equal(st_read_f32(&f, t, v, &d), -1);
	assert_string_equal(d.msg, "tensor 'e.num_batches_tracked' has dtype I64; weights must be F32, F16, BF16 or F64");
	assert_null(st_find(&f, "__metadata__"));
	assert_null(st_find(&f, "zz"));
	st_free(&f);
}

static void test_file_too_short_or_header_past_the_end(void **state)
{
	(void)state;
	assert_string_equal(raw_err("", 0), "empty file");
	assert_string_equal(raw_err("\x10\0\0", 3), "file is 3 bytes, too short for the 8-byte header length");
	assert_string_equal(raw_err("\x40\0\0\0\0\0\0\0{}", 10),
			    "header length 64 runs past the end of the file (2 bytes follow it; truncated?)");
	assert_string_equal(raw_err("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10),
			    "header length 18446744073709551615 runs past the end of the file (2 bytes follow it; truncated?)");
	assert_string_equal(raw_err("\x01\0\0\0\0\0\0\0{", 9), "header length 1 is too small for a JSON object");
	assert_string_equal(raw_err("\x02\0\0\0\0\0\0\0[]", 10), "header: does not start with '{' (not a safetensors file?)");
}

static void test_bad_json_is_refused_with_its_position(void **state)
{
	(void)state;
	assert_string_equal(parse_err("{\"a\": 1,}", 0), "header: byte 8: expected a string key");
	assert_string_equal(parse_err("{\"a\" 1}", 0), "header: byte 5: expected ':' after key");
	assert_string_equal(parse_err("{\"a\": [1 2]}", 0), "header: byte 9: expected ',' or ']'");
	assert_string_equal(parse_err("{\"a\": {}", 0), "header: byte 8: unexpected end of header");
	assert_string_equal(parse_err("{\"a", 0), "header: byte 1: unterminated string");
	assert_string_equal(parse_err("{\"a\\q\": 1}", 0), "header: byte 3: unknown escape in string");
	assert_string_equal(parse_err("{\"a\\u00zz\": 1}", 0), "header: byte 7: bad hex digit in \\u escape");
	assert_string_equal(parse_err("{\"a\\ud800\": 1}", 0), "header: byte 3: unpaired surrogate in \\u escape");
	assert_string_equal(parse_err("{\"a\\u0000\": 1}", 0), "header: byte 3: NUL character in string");
	assert_string_equal(parse_err("{\"a\tb\": 1}", 0), "header: byte 3: control character in string");
	assert_string_equal(parse_err("{\"a\xc0\xaf\": 1}", 0), "header: byte 3: invalid UTF-8 in string");
	assert_string_equal(parse_err("{\"a\xed\xa0\x80\": 1}", 0), "header: byte 3: invalid UTF-8 in string");
	assert_string_equal(parse_err("{\"a\": 01}", 0), "header: byte 6: bad number (leading zero)");
	assert_string_equal(parse_err("{\"a\": 1.}", 0), "header: byte 6: bad number");
	assert_string_equal(parse_err("{\"a\": tru}", 0), "header: byte 6: expected a JSON value");
	assert_string_equal(parse_err("{} x", 0), "header: byte 3: unexpected text after the JSON object");
	assert_string_equal(raw_err("\x03\0\0\0\0\0\0\0{}\0", 11), "header: byte 2: NUL byte after the JSON object");
	/* No stack overflow on deep nesting. */
	char deep[3000] = "{\"a\": ";
	for (int i = 0; i < 1000; i++)
		strcat(deep, "[");
	assert_string_equal(parse_err(deep, 0), "header: byte 37: nested too deeply");
	/* Escapes and non-ASCII names decode to UTF-8. */
	assert_string_equal(parse_err("{\"\\u00e9\\ud83d\\ude00\\\"x\\/\": {\"dtype\": \"F32\", \"shape\": [], "
				      "\"data_offsets\": [0, 4]}, \"\xc3\xa9\": {\"dtype\": \"U8\", \"shape\": [1], "
				      "\"data_offsets\": [4, 5]}}", 5), "");
}

static void test_duplicate_keys_are_refused(void **state)
{
	(void)state;
	const char *t = "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}";
	char h[512];
	snprintf(h, sizeof h, "{\"w\": %s, \"v\": %s, \"w\": %s}", t, t, t);
	assert_string_equal(parse_err(h, 12), "header: tensor 'w' is listed twice");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"F32\", \"dtype\": \"F32\", \"shape\": [1], "
				      "\"data_offsets\": [0, 4]}}", 4), "header: tensor 'w': field 'dtype' is listed twice");
	assert_string_equal(parse_err("{\"__metadata__\": {\"a\": \"1\", \"a\": \"2\"}}", 0),
			    "header: __metadata__ key 'a' is listed twice");
}

static void test_bad_entries_are_named(void **state)
{
	(void)state;
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1),
			    "header: tensor 'w': unknown dtype 'Q4'");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 1]}}", 1),
			    "header: tensor 'w': dtype must be a string");
	assert_string_equal(parse_err("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 1]}}", 1),
			    "header: tensor 'w': missing 'dtype'");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1], \"x\": 1}}", 1),
			    "header: tensor 'w': unknown field 'x'");
	assert_string_equal(parse_err("{\"w\": [1]}", 1),
			    "header: tensor 'w': expected an object with dtype, shape and data_offsets");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"U8\", \"shape\": [-1], \"data_offsets\": [0, 1]}}", 1),
			    "header: tensor 'w': shape must be a list of non-negative integers");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"U8\", \"shape\": [1.0], \"data_offsets\": [0, 1]}}", 1),
			    "header: tensor 'w': shape must be a list of non-negative integers");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1),
			    "header: tensor 'w': rank 9 is more than 8");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0]}}", 1),
			    "header: tensor 'w': data_offsets must be [BEGIN, END], two non-negative integers");
	assert_string_equal(parse_err("{\"__metadata__\": {\"a\": 1}}", 0), "header: __metadata__ 'a' must be a string");
	assert_string_equal(parse_err("{\"__metadata__\": [1]}", 0), "header: __metadata__ must be an object of strings");
}

static void test_offsets_must_fit_and_match_the_shape(void **state)
{
	(void)state;
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4),
			    "tensor 'w': data_offsets [0, 8] are outside the data buffer (4 bytes)");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}}", 8),
			    "tensor 'w': data_offsets [8, 4] are outside the data buffer (8 bytes)");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24),
			    "tensor 'w': data_offsets [0, 20] hold 20 bytes, shape 2x3 of F32 needs 24");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"F64\", \"shape\": [4294967296, 4294967296], "
				      "\"data_offsets\": [0, 8]}}", 8),
			    "tensor 'w': shape 4294967296x4294967296 of F64 is larger than the file");
	assert_string_equal(parse_err("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 18446744073709551616]}}", 4),
			    "header: tensor 'w': data_offsets must be [BEGIN, END], two non-negative integers");
	assert_string_equal(parse_err("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
				      " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12),
			    "tensors 'a' [0, 8] and 'b' [4, 12] overlap in the data buffer");
	assert_string_equal(parse_err("{\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]},"
				      " \"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 4),
			    "tensors 'a' [0, 4] and 'b' [0, 4] overlap in the data buffer");
}

static void test_st_load_reads_files_and_names_missing_ones(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "%s/w.safetensors", dir);
	size_t len;
	float x = 2.5f;
	unsigned char *b = build("{\"x\": {\"dtype\": \"F32\", \"shape\": [1, 1], \"data_offsets\": [0, 4]}}", &x, 4, &len);
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, len, f);
	fclose(f);
	free(b);
	StFile st;
	Diag d;
	assert_int_equal(st_load(&st, path, &d), 0);
	float v;
	assert_int_equal(st_read_f32(&st, st_find(&st, "x"), &v, &d), 0);
	assert_true(v == 2.5f);
	st_free(&st);
	snprintf(path, sizeof path, "%s/none.safetensors", dir);
	assert_int_equal(st_load(&st, path, &d), -1);
	assert_string_equal(d.msg, "cannot open: No such file or directory");
	st_free(&st);
}

/* Every truncation and thousands of random byte flips of a valid file: each
 * either parses or fails with a message; none crashes. */
static void test_truncated_and_mutated_files_never_crash(void **state)
{
	(void)state;
	float data[6] = {1, 2, 3, 4, 5, 6};
	size_t len;
	unsigned char *good = build("{\"__metadata__\":{\"format\":\"pt\"},"
				    "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
				    "\"fc.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
				    "\"n\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}",
				    data, sizeof data, &len);
	Diag d;
	StFile f;
	for (size_t n = 0; n < len; n++) {
		unsigned char *b = malloc(n ? n : 1);
		memcpy(b, good, n);
		d.msg[0] = 0;
		assert_int_equal(st_parse(&f, b, n, &d), -1);
		assert_true(d.msg[0] != 0 && !strchr(d.msg, '\n'));
		st_free(&f);
	}
	uint64_t rng = 12345;
	int parsed = 0;
	for (int it = 0; it < 20000; it++) {
		unsigned char *b = malloc(len);
		memcpy(b, good, len);
		int flips = 1 + it % 3;
		for (int k = 0; k < flips; k++) {
			rng = rng * 6364136223846793005u + 1442695040888963407u;
			size_t pos = (size_t)(rng >> 33) % len;
			b[pos] = (unsigned char)(rng >> 20);
		}
		d.msg[0] = 0;
		if (st_parse(&f, b, len, &d) == 0) {
			parsed++;
			float out[4];
			for (int i = 0; i < f.n; i++) {
				uint64_t numel = 1;
				for (int k = 0; k < f.t[i].rank; k++)
					numel *= (uint64_t)f.t[i].dims[k];
				if (numel <= 4)
					st_read_f32(&f, &f.t[i], out, &d);
			}
		} else {
			assert_true(d.msg[0] != 0 && !strchr(d.msg, '\n'));
		}
		st_free(&f);
	}
	assert_true(parsed > 0); /* flips in the data part leave the file valid */
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file_reads_every_float_dtype),
		cmocka_unit_test(test_file_too_short_or_header_past_the_end),
		cmocka_unit_test(test_bad_json_is_refused_with_its_position),
		cmocka_unit_test(test_duplicate_keys_are_refused),
		cmocka_unit_test(test_bad_entries_are_named),
		cmocka_unit_test(test_offsets_must_fit_and_match_the_shape),
		cmocka_unit_test(test_st_load_reads_files_and_names_missing_ones),
		cmocka_unit_test(test_truncated_and_mutated_files_never_crash),
	};
	return cmocka_run_group_tests_name("safetensors", tests, setup, teardown);
}
