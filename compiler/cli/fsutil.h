/*
 * File-system helpers for writing output folders atomically: a failed or
 * interrupted (SIGINT, SIGTERM, SIGHUP) compile leaves nothing behind, not
 * even the parent folders it created, and an existing output is either
 * kept as it was or replaced whole.
 */
#ifndef RESNETC_FSUTIL_H
#define RESNETC_FSUTIL_H

#include "ir.h"

int mkdir_p(const char *path, Diag *d);
/* Creates the missing folders above `path` (for -o out/a/b when out/ is
 * missing) and remembers them: remove_made_parents() removes them again,
 * and so does a fatal signal, until keep_made_parents(). For the one
 * output a process writes. */
int make_parents(const char *path, Diag *d);
/* Removes the folders make_parents created, deepest first, those that are
 * empty (after a failure). */
void remove_made_parents(void);
/* Forgets them: they hold the output now. */
void keep_made_parents(void);
/* Removes a folder tree we created (no symlinks followed). */
void remove_tree(const char *path);
/* Creates a fresh temporary folder next to `dir` (same file system, so the
 * final rename is atomic), and dir's missing parents with make_parents.
 * Returns a malloc'd path or NULL. Until it is committed or removed with
 * remove_tree, SIGINT, SIGTERM and SIGHUP remove it before the process
 * dies. */
char *make_temp_sibling(const char *dir, Diag *d);
/* A temporary file (or folder) of ours that SIGINT, SIGTERM and SIGHUP
 * remove until remove_tree(path) or track_temp(NULL). */
void track_temp(const char *path);
/* Fails if dir exists and may not be replaced (see commit_dir). */
int check_output_dir(const char *dir, int force, Diag *d);
/* Moves tmp to dir. An existing dir is replaced only if it is empty, was
 * written by resnetc (holds MARKER), or force is set: it is renamed to
 * DIR.old-* and tmp to dir in one step as far as signals are concerned,
 * then DIR.old-* is removed (by the signal handler too, if one comes). */
int commit_dir(const char *tmp, const char *dir, int force, Diag *d);

/* Fails if path cannot be an output file: it is a folder, or the nearest
 * folder above it that exists is not a folder or not writable. Checked
 * before the work, so that a bad -o fails at once. */
int check_output_file(const char *path, Diag *d);
/* Writes len bytes to path through a temporary file next to it (mode
 * 0644), renamed over path when complete; creates missing parent folders.
 * On failure, or on SIGINT, SIGTERM or SIGHUP, nothing is left: no file,
 * no temporary, no folder it made. Messages begin with path. */
int write_file_atomic(const char *path, const void *data, size_t len, Diag *d);

#define OUTPUT_MARKER ".resnetc-output"

#endif
