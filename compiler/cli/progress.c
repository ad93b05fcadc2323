#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void progress_init(Progress *p, int level, int is_tty)
{
	memset(p, 0, sizeof *p);
	const char *term = getenv("TERM");
	p->show = level > 0 || (level == 0 && is_tty);
	p->verbose = level > 0;
	p->live = p->show && is_tty && !(term && !strcmp(term, "dumb"));
	p->start = p->phase_start = now();
}

double progress_elapsed(const Progress *p)
{
	return now() - p->start;
}

void progress_clear(Progress *p)
{
	if (p->showing) {
		fputs("\r\033[K", stderr);
		p->showing = 0;
	}
}

void progress_begin(Progress *p, const char *phase)
{
	p->phase = phase;
	p->phase_start = now();
	if (p->live) {
		progress_clear(p);
		fprintf(stderr, "resnetc: %-8s ...", phase);
		fflush(stderr);
		p->showing = 1;
		p->last_draw = p->phase_start;
	}
}

void progress_end(Progress *p, const char *fmt, ...)
{
	if (!p->show)
		return;
	progress_clear(p);
	fprintf(stderr, "resnetc: %-8s %7.3f s  ", p->phase ? p->phase : "", now() - p->phase_start);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void progress_detail(Progress *p, const char *fmt, ...)
{
	if (!p->verbose)
		return;
	progress_clear(p);
	fputs("resnetc:   ", stderr);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void progress_count(void *ctx, int64_t done, int64_t total)
{
	Progress *p = ctx;
	if (!p->live || !p->show)
		return;
	double t = now();
	if (t - p->last_draw < 0.1 && done < total)
		return;
	p->last_draw = t;
	fprintf(stderr, "\r\033[Kresnetc: %-8s %s: run %lld of %lld", p->phase ? p->phase : "",
		p->counting ? p->counting : "calibrating", (long long)done, (long long)total);
	fflush(stderr);
	p->showing = 1;
}

void progress_bytes(void *ctx, int64_t done, int64_t total)
{
	Progress *p = ctx;
	if (!p->live)
		return;
	double t = now();
	if (t - p->last_draw < 0.1 && done < total)
		return;
	p->last_draw = t;
	fprintf(stderr, "\r\033[Kresnetc: %-8s weights %.1f of %.1f MiB (%d%%)", p->phase ? p->phase : "",
		done / 1048576.0, total / 1048576.0, total ? (int)(100 * done / total) : 100);
	fflush(stderr);
	p->showing = 1;
}
