/*
 * What the CLI says on stderr while it works: one line per phase (load,
 * lower, passes, kernels, plan, emit) with its time, and with -v the
 * decisions taken in each (pass results, kernel choices). On a terminal the
 * running phase shows live, and writing the weights counts bytes.
 *
 *   level < 0   -q: nothing (errors are printed by the caller)
 *   level 0     phases only when stderr is a terminal
 *   level > 0   -v: phases and details, terminal or not
 */
#ifndef RESNETC_PROGRESS_H
#define RESNETC_PROGRESS_H

#include <stdint.h>

typedef struct {
	int show;      /* print phase lines */
	int verbose;   /* print details */
	int live;      /* stderr is a terminal that understands \r and ESC[K */
	int showing;   /* a live line is on screen */
	const char *phase;
	const char *counting; /* what progress_count counts runs of; NULL: "calibrating" */
	double start, phase_start, last_draw;
} Progress;

void progress_init(Progress *p, int level, int is_tty);
/* A phase starts: on a terminal, "resnetc: NAME ..." shows until it ends. */
void progress_begin(Progress *p, const char *phase);
/* The phase ends: "resnetc: NAME  0.012 s  <what it did>". */
void progress_end(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A detail line under the phase (only with -v). */
void progress_detail(Progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* emit's callback: weight bytes written so far (live line, ~10 per second). */
void progress_bytes(void *p, int64_t done, int64_t total);
/* --quantize's callback: calibration runs done so far (live line). */
void progress_count(void *p, int64_t done, int64_t total);
/* Seconds since progress_init. */
double progress_elapsed(const Progress *p);
/* Clears a live line, before an error message. */
void progress_clear(Progress *p);

#endif
