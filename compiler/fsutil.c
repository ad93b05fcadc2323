#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mkdir_p(const char *path, Diag *d)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof buf)
		return diag_set(d, "path too long: %s", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char c = buf[i];
		buf[i] = 0;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return diag_set(d, "cannot create %s: %s", buf, strerror(errno));
		buf[i] = c;
	}
	return 0;
}

void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *dp = opendir(path);
		if (dp) {
			struct dirent *de;
			while ((de = readdir(dp))) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				size_t n = strlen(path) + strlen(de->d_name) + 2;
				char *sub = xmalloc(n);
				snprintf(sub, n, "%s/%s", path, de->d_name);
				remove_tree(sub);
				free(sub);
			}
			closedir(dp);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

char *make_temp_sibling(const char *dir, Diag *d)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	/* -o a/b/c creates a/b as cc -o would not, but as users expect */
	char parent[4096];
	snprintf(parent, sizeof parent, "%.*s", (int)n, dir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mkdir_p(parent, d))
			return NULL;
	}
	size_t len = n + 32;
	char *tmp = xmalloc(len);
	snprintf(tmp, len, "%.*s.tmp-XXXXXX", (int)n, dir);
	if (!mkdtemp(tmp)) {
		diag_set(d, "cannot create a temporary folder next to %.*s: %s", (int)n, dir, strerror(errno));
		free(tmp);
		return NULL;
	}
	return tmp;
}

static int is_empty_dir(const char *path)
{
	DIR *dp = opendir(path);
	if (!dp)
		return 0;
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(dp);
	return empty;
}

int check_output_dir(const char *dir, int force, Diag *d)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return diag_set(d, "%s: exists and is not a folder", dir);
	char marker[4096];
	snprintf(marker, sizeof marker, "%s/" OUTPUT_MARKER, dir);
	int ours = access(marker, F_OK) == 0;
	if (!ours && !force && !is_empty_dir(dir))
		return diag_set(d, "%s: exists, is not empty and was not written by resnetc (use --force to replace it)", dir);
	return 0;
}

int commit_dir(const char *tmp, const char *dir, int force, Diag *d)
{
	struct stat st;
	if (lstat(dir, &st) != 0) {
		if (rename(tmp, dir) != 0)
			return diag_set(d, "cannot create %s: %s", dir, strerror(errno));
		return 0;
	}
	if (check_output_dir(dir, force, d))
		return -1;
	size_t n = strlen(dir) + 32;
	char *old = xmalloc(n);
	snprintf(old, n, "%s.old-XXXXXX", dir);
	if (!mkdtemp(old)) {
		free(old);
		return diag_set(d, "cannot replace %s: %s", dir, strerror(errno));
	}
	rmdir(old);
	if (rename(dir, old) != 0) {
		free(old);
		return diag_set(d, "cannot replace %s: %s", dir, strerror(errno));
	}
	if (rename(tmp, dir) != 0) {
		int e = errno;
		rename(old, dir);
		free(old);
		return diag_set(d, "cannot create %s: %s", dir, strerror(e));
	}
	remove_tree(old);
	free(old);
	return 0;
}
