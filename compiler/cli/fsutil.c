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

/*
 * What a fatal signal (SIGINT, SIGTERM, SIGHUP) must clean up so that an
 * interrupted compile leaves nothing, as a failed one does:
 *
 *   pending_tmp   the temporary folder being written (make_temp_sibling),
 *                 until commit_dir moved it to DIR or it was removed; or
 *                 a temporary file (track_temp: graph -o)
 *   pending_old   DIR.old-*: the output commit_dir replaced, until removed
 *   made_path     the folders make_parents created above DIR: made_path
 *                 cut at made_len[k] is one of them; removed if empty
 *
 * The handler only removes. DIR.old-* is never the one copy of the user's
 * previous output while the new one is not in place: commit_dir swaps the
 * two (DIR -> DIR.old-*, then the temporary folder -> DIR) with these
 * signals blocked and records DIR.old-* only once DIR is the new output, so
 * a signal comes either before the swap (DIR untouched; the temporary
 * folder is removed) or after it (DIR is complete and DIR.old-* is what it
 * replaced, removed as commit_dir would have). Restoring DIR.old-* in the
 * handler instead would need to know which half of the swap was done;
 * blocking makes the swap one step.
 */
static char pending_tmp[4096];
static char pending_old[4096];
static char made_path[4096];
static int made_len[64], n_made;

static const int fatal_sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void block_fatal(sigset_t *old)
{
	sigset_t block;
	sigemptyset(&block);
	for (int i = 0; i < 3; i++)
		sigaddset(&block, fatal_sigs[i]);
	sigprocmask(SIG_BLOCK, &block, old);
}

static void unblock_fatal(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

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

/* Removes a folder tree, or a file, with system calls only (see
 * remove_pass). */
static void remove_now(const char *path)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (dfd < 0 && unlink(path) == 0)
		return;
	if (dfd >= 0) {
		/* again until nothing is left: entries removed while reading
		 * may be skipped */
		while (remove_pass(dfd, 0) > 0)
			;
		close(dfd);
	}
	rmdir(path);
}

/* rmdir of the folders make_parents created, deepest first: only the
 * empty ones go. Safe in a signal handler (writes only made_path). */
static void remove_parents_now(void)
{
	for (int k = n_made - 1; k >= 0; k--) {
		made_path[made_len[k]] = 0;
		rmdir(made_path);
	}
	n_made = 0;
}

static void on_signal(int sig)
{
	if (pending_tmp[0])
		remove_now(pending_tmp);
	if (pending_old[0])
		remove_now(pending_old);
	remove_parents_now();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Installs on_signal once; an ignored signal stays ignored (nohup,
 * background jobs). */
static void install_handlers(void)
{
	static int installed;
	if (installed)
		return;
	installed = 1;
	for (int i = 0; i < 3; i++) {
		struct sigaction sa, prev;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* the handler runs with the others blocked: one cleanup */
		for (int k = 0; k < 3; k++)
			sigaddset(&sa.sa_mask, fatal_sigs[k]);
		if (sigaction(fatal_sigs[i], NULL, &prev) == 0 && prev.sa_handler != SIG_IGN)
			sigaction(fatal_sigs[i], &sa, NULL);
	}
}

/* Sets (path) or clears (NULL) what the handler removes, with the
 * signals blocked so that it never sees half a path. */
static void track(char *slot, const char *path)
{
	sigset_t old;
	block_fatal(&old);
	if (path && strlen(path) < sizeof pending_tmp) {
		strcpy(slot, path);
		install_handlers();
	} else if (!path) {
		slot[0] = 0;
	}
	unblock_fatal(&old);
}

void track_temp(const char *path)
{
	track(pending_tmp, path);
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

int make_parents(const char *path, Diag *d)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n >= sizeof buf)
		return diag_set(d, "path too long: %s", path);
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = 0;
	n = strlen(buf);
	/* the same walk as mkdir_p, recording each folder it made */
	sigset_t old;
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char c = buf[i];
		buf[i] = 0;
		block_fatal(&old);
		int made = mkdir(buf, 0777) == 0, e = errno;
		if (made && n_made < 64) {
			install_handlers();
			memcpy(made_path, buf, i + 1);
			made_len[n_made++] = (int)i;
		}
		unblock_fatal(&old);
		if (!made && e != EEXIST)
			return diag_set(d, "cannot create %s: %s", buf, strerror(e));
		buf[i] = c;
	}
	return 0;
}

void remove_made_parents(void)
{
	sigset_t old;
	block_fatal(&old);
	remove_parents_now();
	unblock_fatal(&old);
}

void keep_made_parents(void)
{
	sigset_t old;
	block_fatal(&old);
	n_made = 0;
	unblock_fatal(&old);
}

static void remove_tree_at(const char *path);

void remove_tree(const char *path)
{
	remove_tree_at(path);
	if (pending_tmp[0] && !strcmp(path, pending_tmp))
		track(pending_tmp, NULL);
	if (pending_old[0] && !strcmp(path, pending_old))
		track(pending_old, NULL);
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
	if (make_parents(dir, d))
		return NULL;
	size_t len = n + 32;
	char *tmp = xmalloc(len);
	snprintf(tmp, len, "%.*s.tmp-XXXXXX", (int)n, dir);
	if (!mkdtemp(tmp)) {
		diag_set(d, "cannot create a temporary folder next to %.*s: %s", (int)n, dir, strerror(errno));
		free(tmp);
		return NULL;
	}
	track(pending_tmp, tmp);
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
	sigset_t mask;
	if (lstat(dir, &st) != 0) {
		block_fatal(&mask);
		int rc = rename(tmp, dir), e = errno;
		if (!rc)
			pending_tmp[0] = 0;
		unblock_fatal(&mask);
		return rc ? diag_set(d, "cannot create %s: %s", dir, strerror(e)) : 0;
	}
	if (check_output_dir(dir, force, d))
		return -1;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	char *old = xmalloc(n + 32);
	snprintf(old, n + 32, "%.*s.old-XXXXXX", (int)n, dir);
	/* From the name's making to the swap's end no fatal signal comes in
	 * (see pending_old): its handler finds DIR either untouched or
	 * replaced, never missing. */
	block_fatal(&mask);
	const char *fail = NULL;
	int e = 0;
	if (!mkdtemp(old)) {
		fail = "cannot replace";
		e = errno;
	} else {
		rmdir(old);
		if (rename(dir, old) != 0) {
			fail = "cannot replace";
			e = errno;
		} else if (rename(tmp, dir) != 0) {
			fail = "cannot create";
			e = errno;
			rename(old, dir);
		} else {
			pending_tmp[0] = 0;
			if (strlen(old) < sizeof pending_old) {
				strcpy(pending_old, old);
				install_handlers();
			}
		}
	}
	unblock_fatal(&mask);
	if (fail) {
		free(old);
		return diag_set(d, "%s %s: %s", fail, dir, strerror(e));
	}
	remove_tree(old);
	free(old);
	return 0;
}

int check_output_file(const char *path, Diag *d)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return diag_set(d, "%s: is a folder", path);
	char dir[4096];
	size_t n = strlen(path);
	if (n >= sizeof dir)
		return diag_set(d, "%s: path too long", path);
	memcpy(dir, path, n + 1);
	/* the nearest folder above path that exists: make_parents makes the
	 * rest */
	for (;;) {
		char *slash = strrchr(dir, '/');
		while (slash && slash > dir && slash[-1] == '/')
			slash--;
		if (!slash)
			strcpy(dir, ".");
		else
			slash[slash == dir] = 0;
		if (stat(dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				return diag_set(d, "%s: cannot be created: %s is not a folder", path, dir);
			if (access(dir, W_OK | X_OK) != 0)
				return diag_set(d, "%s: cannot write into %s: %s", path, dir, strerror(errno));
			return 0;
		}
		if (errno != ENOENT)
			return diag_set(d, "%s: cannot be created: %s: %s", path, dir, strerror(errno));
		if (!slash || !strcmp(dir, "/"))
			return 0;
	}
}

int write_file_atomic(const char *path, const void *data, size_t len, Diag *d)
{
	char tmp[4096 + 16];
	if (strlen(path) >= 4096)
		return diag_set(d, "%s: path too long", path);
	snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
	if (make_parents(path, d) != 0) {
		char msg[sizeof d->msg];
		snprintf(msg, sizeof msg, "%s", d->msg);
		remove_made_parents();
		return diag_set(d, "%s: %s", path, msg);
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		remove_made_parents();
		return diag_set(d, "%s: cannot write: %s", path, strerror(e));
	}
	track_temp(tmp);
	const char *p = data;
	size_t off = 0;
	int e = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else {
			e = w < 0 ? errno : EIO;
			break;
		}
	}
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && chmod(tmp, 0644) != 0)
		e = errno;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		remove_tree(tmp);
		remove_made_parents();
		return diag_set(d, "%s: cannot write: %s", path, strerror(e));
	}
	track_temp(NULL);
	keep_made_parents();
	return 0;
}
