/*
 * A scratch folder for a unit test program: `dir`, made by setup() and
 * removed with what it holds by teardown() (pass them to
 * cmocka_run_group_tests). Define TEST_DIR_TAG, a word naming the test,
 * before including this.
 */
#ifndef RESNETC_TEST_DIR_H
#define RESNETC_TEST_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/resnetc-test-" TEST_DIR_TAG "-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
