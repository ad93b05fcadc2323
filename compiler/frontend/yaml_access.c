/* The YAML front end's access to libyaml's nodes, and its errors with a place in the file (yaml_internal.h) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

Loc y_loc(const yaml_node_t *n)
{
	return (Loc){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

int y_err(Diag *d, Loc at, const char *fmt, ...)
{
	char buf[440];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return diag_set(d, "%d:%d: %s", at.line, at.col, buf);
}


const char *y_scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int y_is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

int y_is_null(const yaml_node_t *n)
{
	const char *s = y_scalar(n);
	return s && y_is_plain(n) && (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
				    !strcmp(s, "NULL"));
}

const char *y_kind_name(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (y_is_null(n))
		return "empty";
	return y_is_plain(n) ? "a plain value" : "a quoted string";
}

/* A plain decimal integer ([-+]?[0-9]+, YAML's core schema) into *v.
 * Returns 0, or -1 if n is no integer, -2 if it does not fit int64. */
int y_as_int(const yaml_node_t *n, int64_t *v)
{
	const char *s = y_scalar(n);
	if (!s || !y_is_plain(n))
		return -1;
	const char *p = s + (*s == '-' || *s == '+');
	if (!*p)
		return -1;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	errno = 0;
	long long x = strtoll(s, NULL, 10);
	if (errno)
		return -2;
	*v = x;
	return 0;
}

/* "a positive integer" / "positive integers", with the upper bound when it
 * is one a user could reach. */
const char *y_range_words(int64_t lo, int64_t hi, int plural, char *buf, size_t len)
{
	const char *a = plural ? "" : "a ", *s = plural ? "s" : "";
	size_t k;
	if (lo == 1 || lo == 0)
		k = snprintf(buf, len, "%s%s integer%s", a, lo ? "positive" : "non-negative", s);
	else
		k = snprintf(buf, len, "%sinteger%s from %lld", plural ? "" : "an ", s, (long long)lo);
	if (hi < INT32_MAX && k < len)
		snprintf(buf + k, len - k, " up to %lld", (long long)hi);
	return buf;
}

/* What a value is, for "..., not X" in messages. */
const char *y_describe(const yaml_node_t *n, char *buf, size_t len)
{
	const char *s = y_scalar(n);
	if (!s || y_is_null(n))
		return y_kind_name(n);
	snprintf(buf, len, y_is_plain(n) ? "%.40s" : "the string \"%.40s\"", s);
	return buf;
}

int y_get_int(Diag *d, const yaml_node_t *n, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	char words[80], got[64];
	int64_t v = 0;
	if (y_as_int(n, &v) == 0 && v >= lo && v <= hi) {
		*out = v;
		return 0;
	}
	return y_node_err(d, n, "'%s' must be %s, not %s", key, y_range_words(lo, hi, 0, words, sizeof words),
			y_describe(n, got, sizeof got));
}

int y_seq_len(const yaml_node_t *n)
{
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* A list of `want` (or, if want == 0, 1..max) integers in [lo, hi]. */
int y_get_int_list(Diag *d, yaml_document_t *doc, const yaml_node_t *n, const char *key, int want, int max,
		   int64_t lo, int64_t hi, int64_t *out, int *count)
{
	char words[80], got[64];
	y_range_words(lo, hi, 1, words, sizeof words);
	if (n->type != YAML_SEQUENCE_NODE)
		return y_node_err(d, n, "'%s' must be a list of %s like [%s], not %s", key, words,
				!strcmp(key, "input") ? "1, 3, 224, 224" : "3, 4, 6, 3", y_describe(n, got, sizeof got));
	int k = y_seq_len(n);
	if (want && k != want)
		return y_node_err(d, n, "'%s' must have %d entries, it has %d", key, want, k);
	if (!want && (k < 1 || k > max))
		return y_node_err(d, n, "'%s' must have 1 to %d entries, it has %d", key, max, k);
	for (int i = 0; i < k; i++) {
		const yaml_node_t *it = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
		int64_t v = 0;
		if (y_as_int(it, &v) != 0 || v < lo || v > hi)
			return y_node_err(d, it, "'%s' must be a list of %s; entry %d is %s", key, words, i + 1,
					y_describe(it, got, sizeof got));
		out[i] = v;
	}
	*count = k;
	return 0;
}

int y_get_string(Diag *d, const yaml_node_t *n, const char *key, const char **out)
{
	const char *s = y_scalar(n);
	if (!s || y_is_null(n))
		return y_node_err(d, n, "'%s' must be a string, not %s", key, y_kind_name(n));
	if (strlen(s) != n->data.scalar.length)
		return y_node_err(d, n, "'%s' contains a NUL character", key);
	*out = s;
	return 0;
}

/* Optimal string alignment distance: edits, with a swap of neighbours as
 * one edit ("stirde" is 1 from "stride"). */
static int edit_distance(const char *a, const char *b)
{
	int n = (int)strlen(a), m = (int)strlen(b);
	if (n > 64 || m > 64)
		return 99;
	int dp[65][65];
	for (int i = 0; i <= n; i++)
		for (int j = 0; j <= m; j++) {
			if (!i || !j) {
				dp[i][j] = i + j;
				continue;
			}
			int v = dp[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (dp[i - 1][j] + 1 < v)
				v = dp[i - 1][j] + 1;
			if (dp[i][j - 1] + 1 < v)
				v = dp[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && dp[i - 2][j - 2] + 1 < v)
				v = dp[i - 2][j - 2] + 1;
			dp[i][j] = v;
		}
	return dp[n][m];
}

/* The closest of words[] to s if it is a plausible typo, else NULL. */
const char *y_near_miss(const char *s, const char *const *words, int n)
{
	const char *best = NULL;
	int bd = 99, len = (int)strlen(s);
	for (int i = 0; i < n; i++) {
		int dist = edit_distance(s, words[i]);
		if (dist < bd)
			bd = dist, best = words[i];
	}
	int limit = len / 3 > 1 ? len / 3 : 1;
	return bd <= limit ? best : NULL;
}

void y_list_words(const char *const *words, int n, char *buf, size_t len)
{
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < n && k < len; i++)
		k += snprintf(buf + k, len - k, "%s%s", i ? (i == n - 1 ? " or " : ", ") : "", words[i]);
}
