#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The temporary folder being written, removed if SIGINT, SIGTERM or
 * SIGHUP arrive before it is committed or removed. */
static char pending_tmp[4096];

/* One pass over an open folder, removing what it holds with system calls
 * only (no malloc, no stdio): it runs in a signal handler. Returns the
 * number of entries removed. Output folders are a few levels deep. */
static int remove_pass(int dfd, int depth)
{
	int removed = 0;
#ifdef SYS_getdents64
	char buf[4096];
	long n;
	lseek(dfd, 0, SEEK_SET);
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
			unsigned short reclen;
			memcpy(&reclen, buf + off + 16, sizeof reclen);
			unsigned char type = (unsigned char)buf[off + 18];
			const char *name = buf + off + 19;
			off += reclen;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (type == DT_DIR && depth < 16) {
				int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
				if (sub >= 0) {
					while (remove_pass(sub, depth + 1) > 0)
						;
					close(sub);
				}
				removed += unlinkat(dfd, name, AT_REMOVEDIR) == 0;
			} else {
				removed += unlinkat(dfd, name, 0) == 0;
			}
		}
	}
#endif
	return removed;
}

static void on_signal(int sig)
{
	if (pending_tmp[0]) {
		int dfd = open(pending_tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (dfd >= 0) {
			/* again until nothing is left: entries removed while
			 * reading may be skipped */
			while (remove_pass(dfd, 0) > 0)
				;
			close(dfd);
		}
		rmdir(pending_tmp);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track_tmp(const char *tmp)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	sigset_t block, old;
	sigemptyset(&block);
	for (int i = 0; i < 3; i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (tmp && strlen(tmp) < sizeof pending_tmp) {
		strcpy(pending_tmp, tmp);
		for (int i = 0; i < 3; i++) {
			struct sigaction sa, prev;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = on_signal;
			sigemptyset(&sa.sa_mask);
			/* keep an ignored signal ignored (nohup, background jobs) */
			if (sigaction(sigs[i], NULL, &prev) == 0 && prev.sa_handler != SIG_IGN)
				sigaction(sigs[i], &sa, NULL);
		}
	} else if (!tmp) {
		pending_tmp[0] = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

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

static void remove_tree_at(const char *path);

void remove_tree(const char *path)
{
	remove_tree_at(path);
	if (pending_tmp[0] && !strcmp(path, pending_tmp))
		track_tmp(NULL);
}

static void remove_tree_at(const char *path)
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
				remove_tree_at(sub);
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
	track_tmp(tmp);
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
		track_tmp(NULL);
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
	track_tmp(NULL);
	remove_tree(old);
	free(old);
	return 0;
}
