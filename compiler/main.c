/* The resnetc command line. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"
#include "frontend.h"
#include "fsutil.h"
#include "info.h"
#include "ops.h"
#include "passes.h"
#include "plan.h"
#include "target.h"

#define VERSION "0.1.0"

static const char usage[] =
	"usage: resnetc compile MODEL.{onnx,yaml} -o DIR [options]\n"
	"       resnetc info MODEL.{onnx,yaml} [options]\n"
	"       resnetc --help | --version\n";

static const char help[] =
	"resnetc compiles a ResNet-family network to standalone C.\n"
	"\n"
	"Commands:\n"
	"  compile MODEL -o DIR   write DIR: NAME.h, NAME.c, weights (NAME_w*.c), main.c\n"
	"                         (a .npy driver), the runtime sources and a Makefile;\n"
	"                         `make -C DIR` builds DIR/NAME and DIR/libNAME.a with\n"
	"                         only a C compiler, libc and libm\n"
	"  info MODEL             per-node table (op, output shape, params, MACs, kernel),\n"
	"                         totals and the memory plan\n"
	"\n"
	"Options:\n"
	"  -o DIR                 output folder (compile); written atomically: a failed\n"
	"                         compile leaves nothing behind\n"
	"  --name NAME            C prefix and file names (default: the model file's name)\n"
	"  --input-shape NAME=DIMS  pin an input's dynamic dimensions, e.g.\n"
	"                         --input-shape input=1x3x224x224 (repeatable; NAME may be\n"
	"                         left out when the model has one input)\n"
	"  --bind NAME=V,V,...    make input NAME a constant with these values (a\n"
	"                         shape, axes or pads operand the model takes as an\n"
	"                         input); it leaves the generated API's inputs\n"
	"  --force                replace DIR even if it was not written by resnetc\n"
	"  --target T             native (default), x86-64 (AVX2+FMA), x86-64-avx512,\n"
	"                         aarch64, armv7, riscv64, generic (portable C only):\n"
	"                         sets the generated Makefile's CC and CFLAGS\n"
	"  --threads N            split each layer over N threads (a pthread pool,\n"
	"                         created once); 1 (default) needs no pthreads\n"
	"  --gemm openblas        convolutions through cblas_sgemm (links -lopenblas)\n"
	"  --conv direct          only the reference convolution kernel\n"
	"  -O0 | -O2              graph passes off | on (default -O2)\n"
	"  --disable=P1,P2        turn single passes off; passes: fold-bn, fuse-add,\n"
	"                         fuse-act, views, inplace\n"
	"  --passes               (info) node counts per op before and after each pass\n"
	"  -h, --help             this help\n"
	"  --version              print the version\n"
	"\n"
	"Exit status: 0 success, 1 bad model or input, 2 bad usage.\n"
	"Errors are one line: resnetc: error: FILE: what is wrong\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "resnetc: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

/* Finds the folders holding runtime/ and include/resnetc/: next to the
 * executable's parent (a build tree: build/resnetc), or share/resnetc of
 * an installation. RESNETC_HOME overrides both. */
static int find_home(char *home, size_t len)
{
	const char *env = getenv("RESNETC_HOME");
	char probe[PATH_MAX + 96];
	if (env && *env) {
		snprintf(home, len, "%s", env);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	static const char *const rel[] = {"..", "../..", "../share/resnetc"};
	for (int i = 0; i < 3; i++) {
		snprintf(probe, sizeof probe, "%s/%s/include/resnetc/runtime.h", exe, rel[i]);
		if (access(probe, R_OK) == 0) {
			snprintf(home, len, "%s/%s", exe, rel[i]);
			return 0;
		}
	}
	return -1;
}

static void default_name(const char *model, char *name, size_t len)
{
	const char *base = strrchr(model, '/');
	base = base ? base + 1 : model;
	size_t k = 0;
	for (const char *p = base; *p && *p != '.' && k + 1 < len; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
		name[k++] = ok ? c : '_';
	}
	name[k] = 0;
	if (!k || (name[0] >= '0' && name[0] <= '9')) {
		memmove(name + 6, name, k + 1 < len - 6 ? k + 1 : len - 7);
		memcpy(name, "model_", 6);
		name[len - 1] = 0;
		if (!k)
			name[5] = 0;
	}
}

static int valid_name(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9') || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static int disable_passes(const char *list, int *enabled)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		int k = 0;
		while (k < n_passes && strcmp(passes[k].name, tok))
			k++;
		if (k == n_passes)
			return -1;
		enabled[k] = 0;
	}
	return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static Graph *load_model(const char *path, const ImportOptions *opt, Diag *d)
{
	int yaml = has_suffix(path, ".yaml") || has_suffix(path, ".yml");
	Graph *g = yaml ? yaml_import(path, opt, d) : onnx_import(path, opt, d);
	if (!g)
		return NULL;
	if (lower_graph(g, d) != 0) {
		graph_free(g);
		return NULL;
	}
	return g;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "no command given");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		fputs("\n", stdout);
		fputs(help, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("resnetc " VERSION "\n");
		return 0;
	}
	if (strcmp(cmd, "compile") && strcmp(cmd, "info"))
		return usage_error("unknown command '%s'", cmd);
	int compile = !strcmp(cmd, "compile");

	const char *model = NULL, *out = NULL, *name = NULL;
	int force = 0, show_passes = 0;
	CodegenOptions cg = {target_find("native"), 1, 0, 0};
	int enabled[16];
	for (int i = 0; i < n_passes; i++)
		enabled[i] = 1;
	ShapePin pins[16];
	Binding binds[16];
	ImportOptions opt = {pins, 0, binds, 0};
	Diag d = {{0}};
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			fputs("\n", stdout);
			fputs(help, stdout);
			return 0;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--name") || !strcmp(a, "--input-shape") ||
			   !strcmp(a, "--target") || !strcmp(a, "--threads") || !strcmp(a, "--gemm") ||
			   !strcmp(a, "--conv") || !strcmp(a, "--bind")) {
			if (i + 1 >= argc)
				return usage_error("%s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(a, "--target")) {
				if (!(cg.target = target_find(v)))
					return usage_error("--target '%s': one of native, x86-64, x86-64-avx512, aarch64, armv7, riscv64, generic", v);
			} else if (!strcmp(a, "--threads")) {
				char *end;
				long t = strtol(v, &end, 10);
				if (*end || t < 1 || t > 64)
					return usage_error("--threads '%s': a count from 1 to 64", v);
				cg.threads = (int)t;
			} else if (!strcmp(a, "--gemm")) {
				if (strcmp(v, "openblas") && strcmp(v, "builtin"))
					return usage_error("--gemm '%s': openblas or builtin", v);
				cg.blas = !strcmp(v, "openblas");
			} else if (!strcmp(a, "--conv")) {
				if (strcmp(v, "direct") && strcmp(v, "auto"))
					return usage_error("--conv '%s': direct or auto", v);
				cg.direct = !strcmp(v, "direct");
			} else if (!strcmp(a, "--bind")) {
				if (opt.n_binds == 16)
					return usage_error("%s", "too many --bind options");
				if (binding_parse(v, &binds[opt.n_binds], &d) != 0)
					return usage_error("%s", d.msg);
				opt.n_binds++;
			} else if (!strcmp(a, "-o"))
				out = v;
			else if (!strcmp(a, "--name"))
				name = v;
			else {
				if (opt.n_pins == 16)
					return usage_error("%s", "too many --input-shape options");
				if (shape_pin_parse(v, &pins[opt.n_pins], &d) != 0)
					return usage_error("%s", d.msg);
				opt.n_pins++;
			}
		} else if (!strcmp(a, "--force")) {
			force = 1;
		} else if (!strcmp(a, "-O0") || !strcmp(a, "-O2")) {
			for (int k = 0; k < n_passes; k++)
				enabled[k] = a[2] == '2';
		} else if (!strncmp(a, "--disable=", 10)) {
			if (disable_passes(a + 10, enabled) != 0)
				return usage_error("--disable: unknown pass in '%s' (passes: fold-bn, fuse-add, fuse-act, views, inplace)", a + 10);
		} else if (!strcmp(a, "--passes")) {
			show_passes = 1;
		} else if (a[0] == '-' && a[1]) {
			return usage_error("unknown option '%s'", a);
		} else if (!model) {
			model = a;
		} else {
			return usage_error("unexpected argument '%s'", a);
		}
	}
	if (!model)
		return usage_error("%s", "no model file given");
	if (compile && !out)
		return usage_error("%s", "compile needs -o DIR");
	char nbuf[80];
	if (name && !valid_name(name))
		return usage_error("--name '%s' must be a C identifier (letters, digits, _; at most 64)", name);
	if (!name) {
		default_name(model, nbuf, sizeof nbuf);
		name = nbuf;
	}

	if (compile && check_output_dir(out, force, &d) != 0) {
		fprintf(stderr, "resnetc: error: %s\n", d.msg);
		return 1;
	}
	Graph *g = load_model(model, &opt, &d);
	if (!g) {
		/* "7:10: ..." (a place in the file) joins the name with ':' */
		int located = d.msg[0] >= '0' && d.msg[0] <= '9';
		fprintf(stderr, "resnetc: error: %s:%s%s\n", model, located ? "" : " ", d.msg);
		return 1;
	}
	if (run_passes(g, enabled, show_passes && !compile ? stdout : NULL, &d) != 0) {
		fprintf(stderr, "resnetc: error: %s: %s\n", model, d.msg);
		graph_free(g);
		return 1;
	}
	if (select_kernels(g, &cg, &d) != 0) {
		fprintf(stderr, "resnetc: error: %s: %s\n", model, d.msg);
		graph_free(g);
		return 1;
	}
	PlanStats st;
	plan_memory(g, &st, &d);
	if (show_passes && !compile) {
		printf("\n");
	}
	if (!compile) {
		print_info(stdout, g, &st);
		graph_free(g);
		return 0;
	}

	char home[PATH_MAX + 80], rt[PATH_MAX + 96], inc[PATH_MAX + 112];
	if (find_home(home, sizeof home) != 0) {
		fprintf(stderr, "resnetc: error: cannot find the runtime sources (set RESNETC_HOME)\n");
		graph_free(g);
		return 1;
	}
	snprintf(rt, sizeof rt, "%s/runtime", home);
	snprintf(inc, sizeof inc, "%s/include/resnetc", home);
	const char *base = strrchr(model, '/');
	EmitOptions eo = {.name = name, .model_file = base ? base + 1 : model, .runtime_dir = rt, .include_dir = inc, .cg = &cg};
	char *tmp = make_temp_sibling(out, &d);
	int rc = tmp ? 0 : -1;
	if (!rc)
		rc = emit_c(g, &st, tmp, &eo, &d);
	if (!rc) {
		char marker[PATH_MAX + 64];
		snprintf(marker, sizeof marker, "%s/" OUTPUT_MARKER, tmp);
		FILE *f = fopen(marker, "w");
		if (f) {
			fprintf(f, "written by resnetc " VERSION "\n");
			fclose(f);
		}
		rc = commit_dir(tmp, out, force, &d);
	}
	if (rc && tmp)
		remove_tree(tmp);
	free(tmp);
	graph_free(g);
	if (rc) {
		/* these messages name the output path themselves */
		fprintf(stderr, "resnetc: error: %s\n", d.msg);
		return 1;
	}
	return 0;
}
