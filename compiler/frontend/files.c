/* Reading model files, for every front end (and the emitter's copy of the
 * runtime): whole files with a size limit, and paths a model names kept
 * inside its folder (frontend.h). */
#include "frontend.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

unsigned char *read_file(const char *path, size_t max, size_t *len, Diag *d)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		diag_set(d, "cannot open: %s", strerror(errno));
		return NULL;
	}
	/* Sizes are checked before reading: a device or an oversized file
	 * must not make us allocate `max` bytes first. */
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		diag_set(d, "not a regular file");
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		fclose(f);
		diag_set(d, "file is larger than %zu bytes", max);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				fclose(f);
				free(buf);
				diag_set(d, "file is larger than %zu bytes", max);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		diag_set(d, "read error");
		return NULL;
	}
	*len = n;
	return buf;
}

char *path_dir(const char *path)
{
	char *dir = xmalloc(strlen(path) + 2);
	strcpy(dir, path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		strcpy(dir, "/");
	else
		*slash = 0;
	return dir;
}

char *confined_path(const char *dir, const char *rel, Diag *d)
{
	if (!*rel || rel[0] == '/') {
		diag_set(d, "path '%s' must be relative to the model's folder", rel);
		return NULL;
	}
	for (const char *p = rel; *p;) {
		const char *e = strchr(p, '/');
		size_t k = e ? (size_t)(e - p) : strlen(p);
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			diag_set(d, "path '%s' leaves the model's folder", rel);
			return NULL;
		}
		p += k + (e != NULL);
	}
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *full = xmalloc(n);
	snprintf(full, n, "%s/%s", dir, rel);
	char rdir[PATH_MAX], rfull[PATH_MAX];
	if (!realpath(dir, rdir) || !realpath(full, rfull)) {
		diag_set(d, "'%s': %s", rel, strerror(errno));
		free(full);
		return NULL;
	}
	size_t k = strlen(rdir);
	if (strncmp(rfull, rdir, k) != 0 || (rfull[k] != '/' && strcmp(rdir, "/") != 0)) {
		diag_set(d, "path '%s' resolves outside the model's folder", rel);
		free(full);
		return NULL;
	}
	return full;
}
