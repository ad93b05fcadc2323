/*
 * Shared by the fuzz harnesses: a private scratch folder per fuzzing
 * process, where each input is written as a file (the front ends read
 * models by path, and resolve weights and external data next to them).
 * It is removed at exit, or by a later run if the process crashed.
 */
#ifndef RESNETC_FUZZ_COMMON_H
#define RESNETC_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char fz_dir[256];

static void fz_cleanup(void)
{
	char cmd[300];
	if (!fz_dir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* Removes the scratch folders of fuzzing processes that died without
 * cleaning up (a crash, a time-out): their names hold the process id. */
static void fz_remove_stale(const char *tmp)
{
	DIR *dp = opendir(tmp);
	if (!dp)
		return;
	struct dirent *de;
	while ((de = readdir(dp))) {
		long pid;
		char cmd[600];
		if (sscanf(de->d_name, "resnetc-fuzz-%ld-", &pid) != 1 || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", tmp, de->d_name);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz: could not remove %s/%s\n", tmp, de->d_name);
	}
	closedir(dp);
}

/* Creates the scratch folder once; returns it. */
static const char *fz_scratch(void)
{
	if (fz_dir[0])
		return fz_dir;
	const char *tmp = getenv("TMPDIR");
	tmp = tmp && *tmp ? tmp : "/tmp";
	fz_remove_stale(tmp);
	snprintf(fz_dir, sizeof fz_dir, "%s/resnetc-fuzz-%ld-XXXXXX", tmp, (long)getpid());
	if (!mkdtemp(fz_dir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fz_cleanup);
	return fz_dir;
}

/* Writes len bytes to the scratch folder's `name`; returns its path. */
static const char *fz_write(const char *name, const void *data, size_t len)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", fz_scratch(), name);
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror("fuzz: writing the input");
		abort();
	}
	return path;
}

/* A front end must fail with one line: no newline in the message, and
 * something in it. */
static void fz_check_message(const char *msg)
{
	if (!msg[0] || strchr(msg, '\n')) {
		fprintf(stderr, "fuzz: bad error message: '%s'\n", msg);
		abort();
	}
}

#endif
