/*
 * Several compiled models in one program (tests/multi/run_multi.sh builds
 * it). models.h, written by the script, includes each model's header and
 * lists the models as MODELS: X(name, NAME, max_threads) ...; all are
 * compilations of one network, so they take the same input and must give
 * the same output, bit for bit, however they are called:
 *
 *   multi alone NAME OUT.bin   run NAME alone (its first run in a fresh
 *                              process, no other model touched) and save
 *                              its output
 *   multi all DIR              compare every call below with DIR/NAME.bin:
 *     - each order of the models, through NAME_run (the static arena);
 *     - every thread count through NAME_set_threads, and the range check;
 *     - three threads at once, each running every model with workspaces
 *       of its own, while the main thread changes thread counts.
 *
 * Exact equality is the right test: a model's kernels split work between
 * threads by output columns and panels, never by the reduction, so the
 * thread count cannot change a single rounding.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resnetc/runtime.h" /* RN_E_RANGE */

#include "models.h"

enum { REPS = 6, WORKERS = 3 };

static int failures;

static void fail(const char *what, const char *model)
{
	fprintf(stderr, "multi: FAIL %s: %s\n", model, what);
	__atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
}

/* The one input every model gets: a fixed pseudo-random image in [0, 1). */
static float *make_input(size_t n)
{
	float *x = malloc(n * sizeof *x);
	unsigned s = 12345;
	for (size_t i = 0; x && i < n; i++) {
		s = s * 1103515245u + 12345u;
		x[i] = (float)((s >> 8) & 0xffff) / 65536.0f;
	}
	return x;
}

static void *workspace(size_t bytes)
{
	return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
}

typedef struct {
	const char *name;
	int max_threads;
	size_t in_size, out_size, ws_bytes;
	int (*run)(const float *, float *);
	int (*run_ws)(void *, const float *, float *);
	int (*set_threads)(int);
	float *expect; /* the output of the model run alone */
} model;

#define X(n, N, t) {#n, t, N##_INPUT_SIZE, N##_OUTPUT_SIZE, N##_WORKSPACE_BYTES, n##_run, n##_run_ws, n##_set_threads, NULL},
static model models[] = {MODELS};
#undef X
enum { N_MODELS = sizeof models / sizeof models[0] };

static float *input;

static void check(const model *m, int rc, const float *y, const char *how)
{
	char what[160];
	if (rc != 0) {
		snprintf(what, sizeof what, "%s: returned %d", how, rc);
		fail(what, m->name);
	} else if (memcmp(y, m->expect, m->out_size * sizeof *y) != 0) {
		snprintf(what, sizeof what, "%s: output differs from the model run alone", how);
		fail(what, m->name);
	}
}

static int alone(const char *name, const char *path)
{
	for (int i = 0; i < N_MODELS; i++) {
		model *m = &models[i];
		if (strcmp(m->name, name))
			continue;
		float *y = calloc(m->out_size, sizeof *y);
		int rc = m->run(input, y);
		FILE *f = fopen(path, "wb");
		if (rc || !f || fwrite(y, sizeof *y, m->out_size, f) != m->out_size || fclose(f)) {
			fprintf(stderr, "multi: %s alone: run %d, cannot write %s\n", name, rc, path);
			return 1;
		}
		free(y);
		return 0;
	}
	fprintf(stderr, "multi: no model '%s'\n", name);
	return 2;
}

static void orders(void)
{
	int perm[N_MODELS], n = 0;
	for (int i = 0; i < N_MODELS; i++)
		perm[i] = i;
	/* Heap's algorithm, iteratively: every order once. */
	int c[N_MODELS] = {0};
	for (int i = 0;;) {
		char how[64];
		snprintf(how, sizeof how, "order %d", ++n);
		for (int k = 0; k < N_MODELS; k++) {
			const model *m = &models[perm[k]];
			float *y = calloc(m->out_size, sizeof *y);
			check(m, m->run(input, y), y, how);
			free(y);
		}
		while (i < N_MODELS && c[i] >= i) {
			c[i] = 0;
			i++;
		}
		if (i >= N_MODELS)
			break;
		int j = i % 2 ? c[i] : 0, t = perm[j];
		perm[j] = perm[i];
		perm[i] = t;
		c[i]++;
		i = 0;
	}
	printf("multi: %d orders of %d models\n", n, N_MODELS);
}

static void thread_counts(void)
{
	for (int i = 0; i < N_MODELS; i++) {
		const model *m = &models[i];
		for (int t = m->max_threads; t >= 1; t--) {
			char how[64];
			snprintf(how, sizeof how, "set_threads(%d)", t);
			if (m->set_threads(t) != 0) {
				fail(how, m->name);
				continue;
			}
			float *y = calloc(m->out_size, sizeof *y);
			check(m, m->run(input, y), y, how);
			free(y);
		}
		if (m->set_threads(0) != RN_E_RANGE || m->set_threads(m->max_threads + 1) != RN_E_RANGE)
			fail("set_threads out of range did not return RN_E_RANGE", m->name);
		m->set_threads(m->max_threads);
	}
	printf("multi: every thread count of every model\n");
}

static void *worker(void *arg)
{
	int id = (int)(size_t)arg;
	for (int r = 0; r < REPS; r++)
		for (int k = 0; k < N_MODELS; k++) {
			const model *m = &models[(k + id) % N_MODELS];
			void *ws = workspace(m->ws_bytes);
			float *y = calloc(m->out_size, sizeof *y);
			check(m, m->run_ws(ws, input, y), y, "run from 3 threads at once");
			free(y);
			free(ws);
		}
	return NULL;
}

static void concurrent(void)
{
	pthread_t th[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(size_t)i);
	/* meanwhile: thread counts change under the running models */
	for (int r = 0; r < 50; r++)
		for (int i = 0; i < N_MODELS; i++)
			models[i].set_threads(1 + r % models[i].max_threads);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	printf("multi: %d threads at once, %d runs of each model each\n", WORKERS, REPS);
}

int main(int argc, char **argv)
{
	input = make_input(models[0].in_size);
	if (argc == 4 && !strcmp(argv[1], "alone"))
		return alone(argv[2], argv[3]);
	if (argc != 3 || strcmp(argv[1], "all")) {
		fprintf(stderr, "usage: multi alone NAME OUT.bin | multi all DIR\n");
		return 2;
	}
	for (int i = 0; i < N_MODELS; i++) {
		model *m = &models[i];
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.bin", argv[2], m->name);
		FILE *f = fopen(path, "rb");
		m->expect = malloc(m->out_size * sizeof *m->expect);
		if (!f || fread(m->expect, sizeof *m->expect, m->out_size, f) != m->out_size) {
			fprintf(stderr, "multi: cannot read %s\n", path);
			return 2;
		}
		fclose(f);
	}
	orders();
	thread_counts();
	concurrent();
	printf("multi: %s\n", failures ? "FAILED" : "all runs equal to each model run alone");
	return failures != 0;
}
