/* File-system helpers for writing output folders atomically. */
#ifndef RESNETC_FSUTIL_H
#define RESNETC_FSUTIL_H

#include "ir.h"

int mkdir_p(const char *path, Diag *d);
/* Removes a folder tree we created (no symlinks followed). */
void remove_tree(const char *path);
/* Creates a fresh temporary folder next to `dir` (same file system, so the
 * final rename is atomic). Returns a malloc'd path or NULL. Until it is
 * committed or removed with remove_tree, SIGINT, SIGTERM and SIGHUP remove
 * it before the process dies. */
char *make_temp_sibling(const char *dir, Diag *d);
/* Fails if dir exists and may not be replaced (see commit_dir). */
int check_output_dir(const char *dir, int force, Diag *d);
/* Moves tmp to dir. An existing dir is replaced only if it is empty, was
 * written by resnetc (holds MARKER), or force is set. */
int commit_dir(const char *tmp, const char *dir, int force, Diag *d);

#define OUTPUT_MARKER ".resnetc-output"

#endif
