/*
 * The resnetc command line: what `compile`, `info`, `graph` and `quantize`
 * accept, the usage and help texts, and one-line usage errors (exit
 * status 2).
 */
#ifndef RESNETC_CLI_H
#define RESNETC_CLI_H

#include "frontend.h"
#include "passes.h"
#include "target.h"
#include "version.h"

enum { CMD_COMPILE = 1, CMD_INFO = 2, CMD_GRAPH = 4, CMD_QUANTIZE = 8, CMD_ALL = 15 };

typedef struct {
	int cmd;                /* CMD_* */
	const char *model, *out; /* out: compile's DIR, graph's and quantize's FILE */
	const char *name;       /* compile: --name, else from the model's file name */
	int force, show_passes, json, svg;
	int level;              /* -q -1, -v 1, else 0 */
	CodegenOptions cg;
	int enabled[PASS_MAX];  /* per entry of passes[] */
	ShapePin pins[16];
	Binding binds[16];
	ImportOptions opt;      /* points at pins and binds */
	int quantize;           /* --quantize int8 (implied by quantize) */
	int io_int8;            /* --io int8 */
	const char *calib[16];  /* --calibrate FILE, per input */
	QuantizeOptions qopt;   /* points at calib */
	char name_buf[80];
} Args;

/* Fills a from argv. Returns -1 to go on, or the exit status to end with:
 * 0 after --help or --version (printed), 2 after a usage error (printed
 * with the usage). */
int parse_args(Args *a, int argc, char **argv);

#endif
