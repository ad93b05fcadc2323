/* safetensors reader: header length, a small strict JSON parser, checks. */
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

#define MAX_FILE_BYTES ((size_t)1 << 36)
#define MAX_HEADER_BYTES ((uint64_t)100 << 20) /* the format's own limit */
#define MAX_DEPTH 32

/* ---------------------------------------------------------------- JSON */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JType;

typedef struct JVal JVal;
struct JVal {
	JType type;
	size_t pos;        /* byte offset in the header, for messages */
	int is_uint;       /* J_NUM: a non-negative integer that fits uint64 */
	uint64_t u;
	char *s;           /* J_STR */
	JVal *items;       /* J_ARR, J_OBJ (values) */
	char **keys;       /* J_OBJ */
	int n;
};

typedef struct {
	const unsigned char *p;
	size_t len, i;
	Diag *d;
} JParser;

static void jfree(JVal *v)
{
	for (int i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
}

static int jerr(JParser *jp, size_t at, const char *what)
{
	return diag_set(jp->d, "header: byte %zu: %s", at, what);
}

static void skip_ws(JParser *jp)
{
	while (jp->i < jp->len && (jp->p[jp->i] == ' ' || jp->p[jp->i] == '\t' ||
				   jp->p[jp->i] == '\n' || jp->p[jp->i] == '\r'))
		jp->i++;
}

static int hex4(JParser *jp, unsigned *out)
{
	if (jp->len - jp->i < 4)
		return jerr(jp, jp->i, "truncated \\u escape");
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned char c = jp->p[jp->i++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return jerr(jp, jp->i - 1, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at p (n bytes available), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t k;
	unsigned cp, min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		k = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		k = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		k = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if ((p[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

static int parse_string(JParser *jp, char **out)
{
	size_t start = jp->i++; /* the opening quote */
	/* Decoded text is never longer than the source. */
	size_t cap = 0;
	for (size_t j = jp->i; j < jp->len && jp->p[j] != '"'; j++)
		cap += jp->p[j] == '\\' && j + 1 < jp->len ? 2 : 1, j += jp->p[j] == '\\';
	char *s = xmalloc(cap + 1);
	size_t n = 0;
	for (;;) {
		if (jp->i >= jp->len) {
			free(s);
			return jerr(jp, start, "unterminated string");
		}
		unsigned char c = jp->p[jp->i];
		if (c == '"') {
			jp->i++;
			break;
		}
		if (c < 0x20) {
			free(s);
			return jerr(jp, jp->i, "control character in string");
		}
		if (c != '\\') {
			size_t k = utf8_len(jp->p + jp->i, jp->len - jp->i);
			if (!k) {
				free(s);
				return jerr(jp, jp->i, "invalid UTF-8 in string");
			}
			memcpy(s + n, jp->p + jp->i, k);
			n += k;
			jp->i += k;
			continue;
		}
		size_t esc = jp->i++;
		if (jp->i >= jp->len) {
			free(s);
			return jerr(jp, start, "unterminated string");
		}
		c = jp->p[jp->i++];
		unsigned cp;
		switch (c) {
		case '"': s[n++] = '"'; break;
		case '\\': s[n++] = '\\'; break;
		case '/': s[n++] = '/'; break;
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'n': s[n++] = '\n'; break;
		case 'r': s[n++] = '\r'; break;
		case 't': s[n++] = '\t'; break;
		case 'u':
			if (hex4(jp, &cp)) {
				free(s);
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (jp->len - jp->i < 2 || jp->p[jp->i] != '\\' || jp->p[jp->i + 1] != 'u') {
					free(s);
					return jerr(jp, esc, "unpaired surrogate in \\u escape");
				}
				jp->i += 2;
				if (hex4(jp, &lo)) {
					free(s);
					return -1;
				}
				if (lo < 0xdc00 || lo > 0xdfff) {
					free(s);
					return jerr(jp, esc, "unpaired surrogate in \\u escape");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				free(s);
				return jerr(jp, esc, "unpaired surrogate in \\u escape");
			}
			if (cp == 0) {
				free(s);
				return jerr(jp, esc, "NUL character in string");
			}
			n += put_utf8(s + n, cp);
			break;
		default:
			free(s);
			return jerr(jp, esc, "unknown escape in string");
		}
	}
	s[n] = 0;
	*out = s;
	return 0;
}

static int parse_number(JParser *jp, JVal *v)
{
	size_t i = jp->i;
	const unsigned char *p = jp->p;
	int neg = 0, frac = 0, overflow = 0;
	uint64_t u = 0;
	if (i < jp->len && p[i] == '-')
		neg = 1, i++;
	if (i >= jp->len || p[i] < '0' || p[i] > '9')
		return jerr(jp, jp->i, "bad number");
	if (p[i] == '0' && i + 1 < jp->len && p[i + 1] >= '0' && p[i + 1] <= '9')
		return jerr(jp, jp->i, "bad number (leading zero)");
	for (; i < jp->len && p[i] >= '0' && p[i] <= '9'; i++) {
		unsigned dgt = p[i] - '0';
		if (u > (UINT64_MAX - dgt) / 10)
			overflow = 1;
		u = u * 10 + dgt;
	}
	if (i < jp->len && p[i] == '.') {
		frac = 1;
		if (++i >= jp->len || p[i] < '0' || p[i] > '9')
			return jerr(jp, jp->i, "bad number");
		while (i < jp->len && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	if (i < jp->len && (p[i] == 'e' || p[i] == 'E')) {
		frac = 1;
		i++;
		if (i < jp->len && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= jp->len || p[i] < '0' || p[i] > '9')
			return jerr(jp, jp->i, "bad number");
		while (i < jp->len && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	v->type = J_NUM;
	v->is_uint = !neg && !frac && !overflow;
	v->u = v->is_uint ? u : 0;
	jp->i = i;
	return 0;
}

static int parse_value(JParser *jp, JVal *v, int depth);

static int parse_container(JParser *jp, JVal *v, int depth)
{
	int obj = jp->p[jp->i] == '{';
	char close = obj ? '}' : ']';
	v->type = obj ? J_OBJ : J_ARR;
	if (depth >= MAX_DEPTH)
		return jerr(jp, jp->i, "nested too deeply");
	jp->i++;
	skip_ws(jp);
	if (jp->i < jp->len && jp->p[jp->i] == close) {
		jp->i++;
		return 0;
	}
	int cap = 0;
	for (;;) {
		skip_ws(jp);
		if (v->n == cap) {
			cap = cap ? 2 * cap : 4;
			v->items = xrealloc(v->items, cap * sizeof *v->items);
			if (obj)
				v->keys = xrealloc(v->keys, cap * sizeof *v->keys);
		}
		JVal *it = &v->items[v->n];
		memset(it, 0, sizeof *it);
		if (obj) {
			if (jp->i >= jp->len || jp->p[jp->i] != '"')
				return jerr(jp, jp->i, jp->i >= jp->len ? "unexpected end of header" : "expected a string key");
			char *key;
			if (parse_string(jp, &key))
				return -1;
			v->keys[v->n] = key;
			v->n++; /* counted from here on, so jfree frees the key */
			skip_ws(jp);
			if (jp->i >= jp->len || jp->p[jp->i] != ':')
				return jerr(jp, jp->i, "expected ':' after key");
			jp->i++;
			if (parse_value(jp, it, depth + 1))
				return -1;
		} else {
			v->n++;
			if (parse_value(jp, it, depth + 1))
				return -1;
		}
		skip_ws(jp);
		if (jp->i >= jp->len)
			return jerr(jp, jp->i, "unexpected end of header");
		if (jp->p[jp->i] == ',') {
			jp->i++;
			continue;
		}
		if (jp->p[jp->i] == close) {
			jp->i++;
			return 0;
		}
		return jerr(jp, jp->i, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_value(JParser *jp, JVal *v, int depth)
{
	skip_ws(jp);
	v->pos = jp->i;
	if (jp->i >= jp->len)
		return jerr(jp, jp->i, "unexpected end of header");
	unsigned char c = jp->p[jp->i];
	if (c == '{' || c == '[')
		return parse_container(jp, v, depth);
	if (c == '"') {
		v->type = J_STR;
		return parse_string(jp, &v->s);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(jp, v);
	static const struct { const char *word; JType type; } lit[] = {
		{"true", J_BOOL}, {"false", J_BOOL}, {"null", J_NULL}};
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(lit[k].word);
		if (jp->len - jp->i >= n && !memcmp(jp->p + jp->i, lit[k].word, n)) {
			v->type = lit[k].type;
			jp->i += n;
			return 0;
		}
	}
	return jerr(jp, jp->i, "expected a JSON value");
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Returns the key that occurs twice in object v, or NULL. */
static const char *duplicate_key(const JVal *v)
{
	if (v->n < 2)
		return NULL;
	char ***idx = xmalloc(v->n * sizeof *idx);
	for (int i = 0; i < v->n; i++)
		idx[i] = &v->keys[i];
	qsort(idx, v->n, sizeof *idx, cmp_key);
	const char *dup = NULL;
	for (int i = 1; i < v->n && !dup; i++)
		if (!strcmp(*idx[i - 1], *idx[i]))
			dup = *idx[i];
	free(idx);
	return dup;
}

/* ---------------------------------------------------------------- header */

static const struct {
	const char *name;
	int size;
} dtypes[] = {
	{"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
	{"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2},
	{"I32", 4}, {"U32", 4}, {"F32", 4},
	{"I64", 8}, {"U64", 8}, {"F64", 8},
};

const char *st_shape_str(int rank, const int64_t *dims, char *buf, size_t len)
{
	if (rank == 0) {
		snprintf(buf, len, "scalar");
		return buf;
	}
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < rank && k < len; i++)
		k += snprintf(buf + k, len - k, "%s%lld", i ? "x" : "", (long long)dims[i]);
	return buf;
}

static int tensor_entry(StTensor *t, const char *name, const JVal *v, uint64_t data_len, Diag *d)
{
	if (v->type != J_OBJ)
		return diag_set(d, "header: tensor '%s': expected an object with dtype, shape and data_offsets", name);
	const JVal *dt = NULL, *shape = NULL, *offs = NULL;
	for (int i = 0; i < v->n; i++) {
		const char *k = v->keys[i];
		if (!strcmp(k, "dtype"))
			dt = &v->items[i];
		else if (!strcmp(k, "shape"))
			shape = &v->items[i];
		else if (!strcmp(k, "data_offsets"))
			offs = &v->items[i];
		else
			return diag_set(d, "header: tensor '%s': unknown field '%s'", name, k);
	}
	if (!dt || !shape || !offs)
		return diag_set(d, "header: tensor '%s': missing '%s'", name,
				!dt ? "dtype" : !shape ? "shape" : "data_offsets");
	t->name = xstrdup(name);
	if (dt->type != J_STR)
		return diag_set(d, "header: tensor '%s': dtype must be a string", name);
	for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
		if (!strcmp(dt->s, dtypes[k].name)) {
			snprintf(t->dtype, sizeof t->dtype, "%s", dtypes[k].name);
			t->elem = dtypes[k].size;
		}
	if (!t->elem)
		return diag_set(d, "header: tensor '%s': unknown dtype '%.20s'", name, dt->s);
	if (shape->type != J_ARR)
		return diag_set(d, "header: tensor '%s': shape must be a list of integers", name);
	if (shape->n > ST_MAX_RANK)
		return diag_set(d, "header: tensor '%s': rank %d is more than %d", name, shape->n, ST_MAX_RANK);
	t->rank = shape->n;
	/* numel * elem is compared with a byte range below data_len, so any
	 * product past it is an error whatever its exact value. */
	uint64_t bytes = (uint64_t)t->elem;
	int too_big = 0;
	for (int i = 0; i < shape->n; i++) {
		const JVal *e = &shape->items[i];
		if (e->type != J_NUM || !e->is_uint || e->u > (uint64_t)INT64_MAX)
			return diag_set(d, "header: tensor '%s': shape must be a list of non-negative integers", name);
		t->dims[i] = (int64_t)e->u;
		if (e->u && bytes > UINT64_MAX / e->u)
			too_big = 1;
		else
			bytes *= e->u;
	}
	if (offs->type != J_ARR || offs->n != 2 || offs->items[0].type != J_NUM || !offs->items[0].is_uint ||
	    offs->items[1].type != J_NUM || !offs->items[1].is_uint)
		return diag_set(d, "header: tensor '%s': data_offsets must be [BEGIN, END], two non-negative integers", name);
	t->begin = offs->items[0].u;
	t->end = offs->items[1].u;
	if (t->begin > t->end || t->end > data_len)
		return diag_set(d, "tensor '%s': data_offsets [%llu, %llu] are outside the data buffer (%llu bytes)", name,
				(unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)data_len);
	if (too_big || bytes != t->end - t->begin) {
		char s[160];
		st_shape_str(t->rank, t->dims, s, sizeof s);
		if (too_big)
			return diag_set(d, "tensor '%s': shape %s of %s is larger than the file", name, s, t->dtype);
		return diag_set(d, "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, shape %s of %s needs %llu",
				name, (unsigned long long)t->begin, (unsigned long long)t->end,
				(unsigned long long)(t->end - t->begin), s, t->dtype, (unsigned long long)bytes);
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static int check_overlap(const StFile *f, Diag *d)
{
	if (f->n < 2)
		return 0;
	const StTensor **s = xmalloc(f->n * sizeof *s);
	for (int i = 0; i < f->n; i++)
		s[i] = &f->t[i];
	qsort(s, f->n, sizeof *s, cmp_range);
	int rc = 0;
	for (int i = 1; i < f->n && !rc; i++)
		if (s[i]->begin < s[i - 1]->end)
			rc = diag_set(d, "tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap in the data buffer",
				      s[i - 1]->name, (unsigned long long)s[i - 1]->begin, (unsigned long long)s[i - 1]->end,
				      s[i]->name, (unsigned long long)s[i]->begin, (unsigned long long)s[i]->end);
	free(s);
	return rc;
}

static int parse_header(StFile *f, const unsigned char *h, size_t hlen, Diag *d)
{
	JParser jp = {h, hlen, 0, d};
	JVal root;
	memset(&root, 0, sizeof root);
	skip_ws(&jp);
	if (jp.i >= hlen || h[jp.i] != '{')
		return diag_set(d, "header: does not start with '{' (not a safetensors file?)");
	int rc = parse_value(&jp, &root, 0);
	if (!rc) {
		skip_ws(&jp);
		if (jp.i < hlen)
			rc = jerr(&jp, jp.i, h[jp.i] ? "unexpected text after the JSON object" : "NUL byte after the JSON object");
	}
	const char *dup = rc ? NULL : duplicate_key(&root);
	if (dup)
		rc = diag_set(d, "header: tensor '%s' is listed twice", dup);
	uint64_t data_len = f->len - f->data;
	if (!rc)
		f->t = xcalloc(root.n, sizeof *f->t);
	for (int i = 0; i < root.n && !rc; i++) {
		const char *key = root.keys[i];
		const JVal *v = &root.items[i];
		if (!strcmp(key, "__metadata__")) {
			if (v->type != J_OBJ)
				rc = diag_set(d, "header: __metadata__ must be an object of strings");
			for (int k = 0; k < v->n && !rc; k++)
				if (v->items[k].type != J_STR)
					rc = diag_set(d, "header: __metadata__ '%s' must be a string", v->keys[k]);
			if (!rc && duplicate_key(v))
				rc = diag_set(d, "header: __metadata__ key '%s' is listed twice", duplicate_key(v));
			continue;
		}
		StTensor *t = &f->t[f->n++];
		if (v->type == J_OBJ && duplicate_key(v))
			rc = diag_set(d, "header: tensor '%s': field '%s' is listed twice", key, duplicate_key(v));
		else
			rc = tensor_entry(t, key, v, data_len, d);
	}
	jfree(&root);
	return rc ? rc : check_overlap(f, d);
}

/* ---------------------------------------------------------------- API */

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(StTensor *const *)a)->name, (*(StTensor *const *)b)->name);
}

int st_parse(StFile *f, unsigned char *buf, size_t len, Diag *d)
{
	memset(f, 0, sizeof *f);
	f->buf = buf;
	f->len = len;
	if (len == 0)
		return diag_set(d, "empty file");
	if (len < 8)
		return diag_set(d, "file is %zu bytes, too short for the 8-byte header length", len);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | buf[i];
	if (n < 2)
		return diag_set(d, "header length %llu is too small for a JSON object", (unsigned long long)n);
	if (n > len - 8)
		return diag_set(d, "header length %llu runs past the end of the file (%zu bytes follow it; truncated?)",
				(unsigned long long)n, len - 8);
	if (n > MAX_HEADER_BYTES)
		return diag_set(d, "header length %llu is more than the format's limit of %llu bytes",
				(unsigned long long)n, (unsigned long long)MAX_HEADER_BYTES);
	f->data = 8 + (size_t)n;
	if (parse_header(f, buf + 8, (size_t)n, d))
		return -1;
	f->by_name = xmalloc((f->n ? f->n : 1) * sizeof *f->by_name);
	for (int i = 0; i < f->n; i++)
		f->by_name[i] = &f->t[i];
	qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name);
	return 0;
}

int st_load(StFile *f, const char *path, Diag *d)
{
	size_t len;
	memset(f, 0, sizeof *f);
	unsigned char *buf = read_file(path, MAX_FILE_BYTES, &len, d);
	if (!buf)
		return -1;
	return st_parse(f, buf, len, d);
}

void st_free(StFile *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->t[i].name);
	free(f->t);
	free(f->by_name);
	free(f->buf);
	memset(f, 0, sizeof *f);
}

StTensor *st_find(const StFile *f, const char *name)
{
	StTensor key = {.name = (char *)name}, *kp = &key;
	StTensor **hit = f->n ? bsearch(&kp, f->by_name, f->n, sizeof *f->by_name, cmp_name) : NULL;
	return hit ? *hit : NULL;
}

static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, e = h >> 10 & 0x1f, m = h & 0x3ff, bits;
	if (e == 0x1f) {
		bits = sign | 0x7f800000u | m << 13;
	} else if (e) {
		bits = sign | (e + 112) << 23 | m << 13;
	} else if (m) { /* subnormal: normalise */
		int sh = 0;
		while (!(m & 0x400)) {
			m <<= 1;
			sh++;
		}
		bits = sign | (uint32_t)(113 - sh) << 23 | (m & 0x3ff) << 13;
	} else {
		bits = sign;
	}
	float v;
	memcpy(&v, &bits, 4);
	return v;
}

int st_read_f32(const StFile *f, const StTensor *t, float *out, Diag *d)
{
	const unsigned char *p = f->buf + f->data + t->begin;
	uint64_t n = (t->end - t->begin) / t->elem;
	/* Explicit little-endian assembly: correct on any host. */
	if (!strcmp(t->dtype, "F32")) {
		for (uint64_t i = 0; i < n; i++, p += 4) {
			uint32_t b = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
			memcpy(&out[i], &b, 4);
		}
	} else if (!strcmp(t->dtype, "F16")) {
		for (uint64_t i = 0; i < n; i++, p += 2)
			out[i] = half_to_float((uint16_t)(p[0] | p[1] << 8));
	} else if (!strcmp(t->dtype, "BF16")) {
		for (uint64_t i = 0; i < n; i++, p += 2) {
			uint32_t b = ((uint32_t)p[0] | (uint32_t)p[1] << 8) << 16;
			memcpy(&out[i], &b, 4);
		}
	} else if (!strcmp(t->dtype, "F64")) {
		for (uint64_t i = 0; i < n; i++, p += 8) {
			uint64_t b = 0;
			for (int k = 7; k >= 0; k--)
				b = b << 8 | p[k];
			double v;
			memcpy(&v, &b, 8);
			out[i] = (float)v;
		}
	} else {
		return diag_set(d, "tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64", t->name, t->dtype);
	}
	return 0;
}
