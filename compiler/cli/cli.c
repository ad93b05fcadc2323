#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: resnetc compile MODEL -o DIR [options]\n"
	"       resnetc info MODEL [--json] [--passes] [options]\n"
	"       resnetc graph MODEL [-o FILE] [--svg] [options]\n"
	"       resnetc quantize MODEL --calibrate CAL.npy -o FILE [options]\n"
	"       resnetc --help | --version\n";

static const char help[] =
	"resnetc compiles a ResNet-family network to standalone C. MODEL is an ONNX\n"
	"file (.onnx) or a YAML description of a ResNet (.yaml, .yml) with its\n"
	"weights in a .safetensors file.\n"
	"\n"
	"Commands:\n"
	"  compile MODEL -o DIR   write DIR: NAME.h, NAME.c, the weights (NAME_w*.c),\n"
	"                         main.c (a .npy driver), the runtime sources and a\n"
	"                         Makefile; `make -C DIR` builds DIR/NAME and\n"
	"                         DIR/libNAME.a with a C compiler, libc and libm\n"
	"  info MODEL             the optimized graph as a table: per node the fused\n"
	"                         op, output shape, parameters, MACs, weight bytes and\n"
	"                         kernel; then totals, the memory plan and kernel counts\n"
	"  graph MODEL            the optimized graph in Graphviz DOT, or as SVG\n"
	"  quantize MODEL         quantize to int8 as --quantize int8 does (BatchNorm\n"
	"                         folded, then ranges calibrated on --calibrate) and\n"
	"                         write the graph as a QDQ ONNX model: onnxruntime\n"
	"                         and resnetc compile both run it\n"
	"\n"
	"Options of compile:\n"
	"  -o DIR                 output folder, written atomically: a failed compile\n"
	"                         leaves nothing behind; missing parents are created\n"
	"  --name NAME            C prefix and file names (default: the model file's name)\n"
	"  --force                replace DIR even if it was not written by resnetc\n"
	"  --weights bin|c        weights as NAME_w<k>.bin files that the assembler\n"
	"                         includes (.incbin; default: GCC and Clang on ELF\n"
	"                         targets), or as C string literals (any C compiler)\n"
	"Options of info:\n"
	"  --json                 the same facts as JSON, for scripts\n"
	"  --passes               node counts per op before and after each pass\n"
	"Options of graph:\n"
	"  -o FILE                write to FILE (default: standard output)\n"
	"  --svg                  render SVG with Graphviz's dot program (implied by\n"
	"                         -o FILE.svg); without it the output is DOT text\n"
	"Options of quantize:\n"
	"  -o FILE                the int8 model: ONNX, QuantizeLinear/DequantizeLinear\n"
	"                         around float operators, int8 weights; written\n"
	"                         atomically, missing parents created\n"
	"  --calibrate CAL.npy    required: the samples to calibrate on (below)\n"
	"Options of compile, info and graph:\n"
	"  --target T             native (default), x86-64 (AVX2+FMA), x86-64-avx512,\n"
	"                         x86-64-vnni (AVX-512 with VNNI: int8 in vpdpbusd),\n"
	"                         aarch64, armv7, riscv64, generic (portable C only):\n"
	"                         sets the generated Makefile's CC and CFLAGS\n"
	"  --threads N            split each layer over up to N threads (the model's\n"
	"                         own pthread pool; NAME_set_threads picks fewer at\n"
	"                         run time); 1 (default) needs no pthreads\n"
	"  --gemm openblas|builtin  convolutions through cblas_sgemm (links -lopenblas),\n"
	"                         or resnetc's own kernels (default)\n"
	"  --conv direct|auto     only the reference convolution kernel, or the fastest\n"
	"                         per layer (default)\n"
	"  --optimize speed|size  size: no convolution algorithm that enlarges the\n"
	"                         weights (Winograd: up to 4x); default: size for\n"
	"                         armv7, speed for the other targets\n"
	"  -O0 | -O2              graph passes off | on (default -O2)\n"
	"  --disable=P1,P2        turn single passes off; passes: fold-bn, quantize,\n"
	"                         fuse-add, fuse-act, qdq, io-int8, views, inplace\n"
	"  --quantize int8        post-training quantization: int8 weights (per\n"
	"                         channel) and uint8 activations, ranges calibrated\n"
	"                         on --calibrate; float in and out as before\n"
	"  --io float|int8        int8: an int8 model's run takes its quantized input\n"
	"                         (and returns a quantized output) as they are, scale\n"
	"                         and zero point in NAME.h; float (default): float\n"
	"Options of all commands:\n"
	"  --input-shape NAME=DIMS  pin an input's dynamic dimensions, e.g.\n"
	"                         --input-shape input=1x3x224x224 (repeatable; NAME may be\n"
	"                         left out when the model has one input)\n"
	"  --bind NAME=V,V,...    make input NAME a constant with these values (a\n"
	"                         shape, axes or pads operand the model takes as an\n"
	"                         input); it leaves the generated API's inputs\n"
	"  --calibrate CAL.npy    (--quantize int8, quantize) float32 samples for the\n"
	"                         input, stacked on the first axis (K x the input's\n"
	"                         other dims); one per input\n"
	"  --calibration M        (the same) minmax (default), percentile (the range\n"
	"                         holding all but 1e-4 of the values at each end) or\n"
	"                         entropy (the clipping that loses the least\n"
	"                         information at 255 levels, by KL divergence)\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -v, --verbose          print every phase with its time, what each pass\n"
	"                         changed and the kernel each convolution gets\n"
	"  -h, --help             this help\n"
	"  --version              print the version\n"
	"\n"
	"compile prints its phases (load, lower, passes, kernels, plan, emit) and\n"
	"their times on stderr when stderr is a terminal, and so does quantize (load,\n"
	"lower, passes, write); -v always, -q never.\n"
	"\n"
	"Exit status: 0 success, 1 bad model or input, 2 bad usage.\n"
	"Errors are one line: resnetc: error: FILE: what is wrong\n"
	"\n"
	"Examples:\n"
	"  resnetc compile model.onnx -o out/model && make -C out/model\n"
	"  resnetc info resnet50.yaml --json\n"
	"  resnetc graph model.onnx -o model.svg\n"
	"  resnetc quantize model.onnx --calibrate cal.npy -o model_int8.onnx\n";

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "resnetc: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return 2;
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

static void print_help(void)
{
	fputs(usage, stdout);
	fputs("\n", stdout);
	fputs(help, stdout);
}

/* Which commands take an option, for "--json is an option of info". */
static int option_ok(const Args *a, const char *opt, int cmds)
{
	static const char *const names[] = {"", "compile", "info", "", "graph", "", "", "", "quantize"};
	if (a->cmd & cmds)
		return 1;
	char list[64] = "";
	int left = 0;
	for (int c = CMD_COMPILE; c <= CMD_QUANTIZE; c <<= 1)
		left += !!(cmds & c);
	for (int c = CMD_COMPILE; c <= CMD_QUANTIZE; c <<= 1)
		if (cmds & c) {
			left--;
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
				 !list[0] ? "" : left ? ", " : " and ", names[c]);
		}
	usage_error("%s is an option of %s, not of %s", opt, list, names[a->cmd]);
	return 0;
}

/* Returns -1 to go on, or an exit status. */
int parse_args(Args *a, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("no command given");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		print_help();
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("resnetc " RESNETC_VERSION "\n");
		return 0;
	}
	a->cmd = !strcmp(cmd, "compile") ? CMD_COMPILE : !strcmp(cmd, "info") ? CMD_INFO
		: !strcmp(cmd, "graph") ? CMD_GRAPH : !strcmp(cmd, "quantize") ? CMD_QUANTIZE : 0;
	if (!a->cmd)
		return usage_error("unknown command '%s' (commands: compile, info, graph, quantize)", cmd);
	a->cg = (CodegenOptions){target_find("native"), 1, 0, 0, 0, -1};
	for (int i = 0; i < n_passes; i++)
		a->enabled[i] = 1;
	a->opt = (ImportOptions){.pins = a->pins, .binds = a->binds};
	Diag d = {{0}};
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			print_help();
			return 0;
		} else if (!strcmp(o, "-o") || !strcmp(o, "--name") || !strcmp(o, "--input-shape") ||
			   !strcmp(o, "--target") || !strcmp(o, "--threads") || !strcmp(o, "--gemm") ||
			   !strcmp(o, "--conv") || !strcmp(o, "--bind") || !strcmp(o, "--quantize") ||
			   !strcmp(o, "--calibrate") || !strcmp(o, "--calibration") || !strcmp(o, "--io") ||
			   !strcmp(o, "--optimize")) {
			if (i + 1 >= argc)
				return usage_error("%s needs a value", o);
			const char *v = argv[++i];
			/* code generation and the choice of passes: quantize runs
			 * fold-bn and quantize, and writes ONNX */
			if ((!strcmp(o, "--target") || !strcmp(o, "--threads") || !strcmp(o, "--gemm") ||
			     !strcmp(o, "--conv") || !strcmp(o, "--io") || !strcmp(o, "--optimize")) &&
			    !option_ok(a, o, CMD_COMPILE | CMD_INFO | CMD_GRAPH))
				return 2;
			if (!strcmp(o, "--target")) {
				if (!(a->cg.target = target_find(v)))
					return usage_error("--target '%s': one of native, x86-64, x86-64-avx512, x86-64-vnni, aarch64, armv7, riscv64, generic", v);
			} else if (!strcmp(o, "--threads")) {
				char *end;
				long t = strtol(v, &end, 10);
				if (*end || t < 1 || t > 64)
					return usage_error("--threads '%s': a count from 1 to 64", v);
				a->cg.threads = (int)t;
			} else if (!strcmp(o, "--gemm")) {
				if (strcmp(v, "openblas") && strcmp(v, "builtin"))
					return usage_error("--gemm '%s': openblas or builtin", v);
				a->cg.blas = !strcmp(v, "openblas");
			} else if (!strcmp(o, "--conv")) {
				if (strcmp(v, "direct") && strcmp(v, "auto"))
					return usage_error("--conv '%s': direct or auto", v);
				a->cg.direct = !strcmp(v, "direct");
			} else if (!strcmp(o, "--optimize")) {
				if (strcmp(v, "speed") && strcmp(v, "size"))
					return usage_error("--optimize '%s': speed or size", v);
				a->cg.size = !strcmp(v, "size");
			} else if (!strcmp(o, "--io")) {
				if (strcmp(v, "float") && strcmp(v, "int8"))
					return usage_error("--io '%s': float or int8", v);
				a->io_int8 = !strcmp(v, "int8");
			} else if (!strcmp(o, "--quantize")) {
				if (strcmp(v, "int8"))
					return usage_error("--quantize '%s': int8 is the one quantization", v);
				a->quantize = 1;
			} else if (!strcmp(o, "--calibrate")) {
				if (a->qopt.n_calib == 16)
					return usage_error("too many --calibrate options");
				a->calib[a->qopt.n_calib++] = v;
			} else if (!strcmp(o, "--calibration")) {
				if ((a->qopt.method = calib_method_find(v)) < 0)
					return usage_error("--calibration '%s': minmax, percentile or entropy", v);
			} else if (!strcmp(o, "--bind")) {
				if (a->opt.n_binds == 16)
					return usage_error("too many --bind options");
				if (binding_parse(v, &a->binds[a->opt.n_binds], &d) != 0)
					return usage_error("%s", d.msg);
				a->opt.n_binds++;
			} else if (!strcmp(o, "-o")) {
				if (!option_ok(a, o, CMD_COMPILE | CMD_GRAPH | CMD_QUANTIZE))
					return 2;
				a->out = v;
			} else if (!strcmp(o, "--name")) {
				if (!option_ok(a, o, CMD_COMPILE))
					return 2;
				a->name = v;
			} else {
				if (a->opt.n_pins == 16)
					return usage_error("too many --input-shape options");
				if (shape_pin_parse(v, &a->pins[a->opt.n_pins], &d) != 0)
					return usage_error("%s", d.msg);
				a->opt.n_pins++;
			}
		} else if (!strcmp(o, "--weights")) {
			if (!option_ok(a, o, CMD_COMPILE))
				return 2;
			if (i + 1 >= argc)
				return usage_error("%s needs a value", o);
			const char *v = argv[++i];
			if (strcmp(v, "bin") && strcmp(v, "c"))
				return usage_error("--weights '%s': bin or c", v);
			a->cg.weights_c = !strcmp(v, "c");
		} else if (!strcmp(o, "--force")) {
			if (!option_ok(a, o, CMD_COMPILE))
				return 2;
			a->force = 1;
		} else if (!strcmp(o, "--passes")) {
			if (!option_ok(a, o, CMD_INFO))
				return 2;
			a->show_passes = 1;
		} else if (!strcmp(o, "--json")) {
			if (!option_ok(a, o, CMD_INFO))
				return 2;
			a->json = 1;
		} else if (!strcmp(o, "--svg")) {
			if (!option_ok(a, o, CMD_GRAPH))
				return 2;
			a->svg = 1;
		} else if (!strcmp(o, "-q") || !strcmp(o, "--quiet")) {
			a->level = -1;
			a->opt.quiet = 1; /* the importer's notes too */
		} else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
			a->level = 1;
		} else if (!strcmp(o, "-O0") || !strcmp(o, "-O2")) {
			if (!option_ok(a, o, CMD_COMPILE | CMD_INFO | CMD_GRAPH))
				return 2;
			for (int k = 0; k < n_passes; k++)
				a->enabled[k] = o[2] == '2';
		} else if (!strncmp(o, "--disable=", 10)) {
			if (!option_ok(a, "--disable", CMD_COMPILE | CMD_INFO | CMD_GRAPH))
				return 2;
			if (disable_passes(o + 10, a->enabled) != 0)
				return usage_error("--disable: unknown pass in '%s' (passes: fold-bn, quantize, fuse-add, fuse-act, qdq, io-int8, views, inplace)", o + 10);
		} else if (o[0] == '-' && o[1]) {
			return usage_error("unknown option '%s'", o);
		} else if (!a->model) {
			a->model = o;
		} else {
			return usage_error("unexpected argument '%s'", o);
		}
	}
	if (!a->model)
		return usage_error("no model file given");
	if (a->cmd == CMD_QUANTIZE) {
		if (!a->qopt.n_calib)
			return usage_error("quantize needs samples to calibrate on: --calibrate CAL.npy");
		if (!a->out)
			return usage_error("quantize needs -o FILE (the int8 ONNX model to write)");
		a->quantize = 1;
	}
	if (a->quantize && !a->qopt.n_calib)
		return usage_error("--quantize int8 needs samples to calibrate on: --calibrate CAL.npy");
	if (!a->quantize && a->qopt.n_calib)
		return usage_error("--calibrate is for --quantize int8");
	a->qopt.calib = a->calib;
	if (a->cmd == CMD_COMPILE && !a->out)
		return usage_error("compile needs -o DIR");
	if (a->name && !valid_name(a->name))
		return usage_error("--name '%s' must be a C identifier (letters, digits, _; at most 64)", a->name);
	if (a->json && a->show_passes)
		return usage_error("--json already holds the passes' results; leave out --passes");
	if (a->cmd == CMD_GRAPH && a->out && has_suffix(a->out, ".svg"))
		a->svg = 1;
	if (!a->name) {
		default_name(a->model, a->name_buf, sizeof a->name_buf);
		a->name = a->name_buf;
	}
	return -1;
}

