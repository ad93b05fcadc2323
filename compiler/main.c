/* The resnetc command line: compile, info, graph. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emit.h"
#include "frontend.h"
#include "fsutil.h"
#include "graph_dot.h"
#include "info.h"
#include "lower.h"
#include "ops.h"
#include "passes.h"
#include "plan.h"
#include "progress.h"
#include "target.h"

#define VERSION "0.1.0"

static const char usage[] =
	"usage: resnetc compile MODEL -o DIR [options]\n"
	"       resnetc info MODEL [--json] [--passes] [options]\n"
	"       resnetc graph MODEL [-o FILE] [--svg] [options]\n"
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
	"\n"
	"Options of compile:\n"
	"  -o DIR                 output folder, written atomically: a failed compile\n"
	"                         leaves nothing behind; missing parents are created\n"
	"  --name NAME            C prefix and file names (default: the model file's name)\n"
	"  --force                replace DIR even if it was not written by resnetc\n"
	"Options of info:\n"
	"  --json                 the same facts as JSON, for scripts\n"
	"  --passes               node counts per op before and after each pass\n"
	"Options of graph:\n"
	"  -o FILE                write to FILE (default: standard output)\n"
	"  --svg                  render SVG with Graphviz's dot program (implied by\n"
	"                         -o FILE.svg); without it the output is DOT text\n"
	"Options of all commands:\n"
	"  --input-shape NAME=DIMS  pin an input's dynamic dimensions, e.g.\n"
	"                         --input-shape input=1x3x224x224 (repeatable; NAME may be\n"
	"                         left out when the model has one input)\n"
	"  --bind NAME=V,V,...    make input NAME a constant with these values (a\n"
	"                         shape, axes or pads operand the model takes as an\n"
	"                         input); it leaves the generated API's inputs\n"
	"  --target T             native (default), x86-64 (AVX2+FMA), x86-64-avx512,\n"
	"                         aarch64, armv7, riscv64, generic (portable C only):\n"
	"                         sets the generated Makefile's CC and CFLAGS\n"
	"  --threads N            split each layer over N threads (a pthread pool,\n"
	"                         created once); 1 (default) needs no pthreads\n"
	"  --gemm openblas|builtin  convolutions through cblas_sgemm (links -lopenblas),\n"
	"                         or resnetc's own kernels (default)\n"
	"  --conv direct|auto     only the reference convolution kernel, or the fastest\n"
	"                         per layer (default)\n"
	"  -O0 | -O2              graph passes off | on (default -O2)\n"
	"  --disable=P1,P2        turn single passes off; passes: fold-bn, fuse-add,\n"
	"                         fuse-act, views, inplace\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -v, --verbose          print every phase with its time, what each pass\n"
	"                         changed and the kernel each convolution gets\n"
	"  -h, --help             this help\n"
	"  --version              print the version\n"
	"\n"
	"compile prints its phases (load, lower, passes, kernels, plan, emit) and\n"
	"their times on stderr when stderr is a terminal; -v always, -q never.\n"
	"\n"
	"Exit status: 0 success, 1 bad model or input, 2 bad usage.\n"
	"Errors are one line: resnetc: error: FILE: what is wrong\n"
	"\n"
	"Examples:\n"
	"  resnetc compile model.onnx -o out/model && make -C out/model\n"
	"  resnetc info resnet50.yaml --json\n"
	"  resnetc graph model.onnx -o model.svg\n";

enum { CMD_COMPILE = 1, CMD_INFO = 2, CMD_GRAPH = 4, CMD_ALL = 7 };

typedef struct {
	int cmd;
	const char *model, *out, *name;
	int force, show_passes, json, svg, level;
	CodegenOptions cg;
	int enabled[16];
	ShapePin pins[16];
	Binding binds[16];
	ImportOptions opt;
} Args;

static Progress progress;

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

/* Every error is one line; a progress line on screen goes first. */
static int fail(const char *fmt, ...)
{
	va_list ap;
	progress_clear(&progress);
	fprintf(stderr, "resnetc: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Finds the folder holding runtime/ and include/resnetc/: the source tree
 * the executable was built in (build/resnetc, build/san/resnetc), or
 * share/resnetc of an installation (PREFIX/bin/resnetc). RESNETC_HOME
 * overrides both. */
static int find_home(char *home, size_t len)
{
	const char *env = getenv("RESNETC_HOME");
	char probe[PATH_MAX + 96], exe[PATH_MAX];
	if (env && *env) {
		snprintf(home, len, "%s", env);
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	static const char *const rel[] = {"../share/resnetc", "..", "../.."};
	for (int i = 0; i < 3; i++) {
		snprintf(probe, sizeof probe, "%s/%s/include/resnetc/runtime.h", exe, rel[i]);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(probe, sizeof probe, "%s/%s/runtime/driver.c", exe, rel[i]);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(home, len, "%s/%s", exe, rel[i]);
		return 0;
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

static int is_yaml(const char *path)
{
	return has_suffix(path, ".yaml") || has_suffix(path, ".yml");
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
	static const char *const names[] = {"", "compile", "info", "", "graph"};
	if (a->cmd & cmds)
		return 1;
	char list[64] = "";
	for (int c = CMD_COMPILE; c <= CMD_GRAPH; c <<= 1)
		if (cmds & c)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? " and " : "", names[c]);
	usage_error("%s is an option of %s, not of %s", opt, list, names[a->cmd]);
	return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(Args *a, int argc, char **argv)
{
	if (argc < 2)
		return usage_error("no command given");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		print_help();
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("resnetc " VERSION "\n");
		return 0;
	}
	a->cmd = !strcmp(cmd, "compile") ? CMD_COMPILE : !strcmp(cmd, "info") ? CMD_INFO
		: !strcmp(cmd, "graph") ? CMD_GRAPH : 0;
	if (!a->cmd)
		return usage_error("unknown command '%s' (commands: compile, info, graph)", cmd);
	a->cg = (CodegenOptions){target_find("native"), 1, 0, 0};
	for (int i = 0; i < n_passes; i++)
		a->enabled[i] = 1;
	a->opt = (ImportOptions){a->pins, 0, a->binds, 0};
	Diag d = {{0}};
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			print_help();
			return 0;
		} else if (!strcmp(o, "-o") || !strcmp(o, "--name") || !strcmp(o, "--input-shape") ||
			   !strcmp(o, "--target") || !strcmp(o, "--threads") || !strcmp(o, "--gemm") ||
			   !strcmp(o, "--conv") || !strcmp(o, "--bind")) {
			if (i + 1 >= argc)
				return usage_error("%s needs a value", o);
			const char *v = argv[++i];
			if (!strcmp(o, "--target")) {
				if (!(a->cg.target = target_find(v)))
					return usage_error("--target '%s': one of native, x86-64, x86-64-avx512, aarch64, armv7, riscv64, generic", v);
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
			} else if (!strcmp(o, "--bind")) {
				if (a->opt.n_binds == 16)
					return usage_error("too many --bind options");
				if (binding_parse(v, &a->binds[a->opt.n_binds], &d) != 0)
					return usage_error("%s", d.msg);
				a->opt.n_binds++;
			} else if (!strcmp(o, "-o")) {
				if (!option_ok(a, o, CMD_COMPILE | CMD_GRAPH))
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
		} else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
			a->level = 1;
		} else if (!strcmp(o, "-O0") || !strcmp(o, "-O2")) {
			for (int k = 0; k < n_passes; k++)
				a->enabled[k] = o[2] == '2';
		} else if (!strncmp(o, "--disable=", 10)) {
			if (disable_passes(o + 10, a->enabled) != 0)
				return usage_error("--disable: unknown pass in '%s' (passes: fold-bn, fuse-add, fuse-act, views, inplace)", o + 10);
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
	if (a->cmd == CMD_COMPILE && !a->out)
		return usage_error("compile needs -o DIR");
	if (a->name && !valid_name(a->name))
		return usage_error("--name '%s' must be a C identifier (letters, digits, _; at most 64)", a->name);
	if (a->json && a->show_passes)
		return usage_error("--json already holds the passes' results; leave out --passes");
	if (a->cmd == CMD_GRAPH && a->out && has_suffix(a->out, ".svg"))
		a->svg = 1;
	return -1;
}

/* Creates the folders above path (for -o out/demo when out/ is missing). */
static int make_parent(const char *path, Diag *d)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	size_t n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = 0;
	return mkdir_p(buf, d);
}

/* ---- graph --svg: DOT through Graphviz ---- */

static int find_in_path(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t k = end ? (size_t)(end - path) : strlen(path);
		snprintf(out, len, "%.*s/%s", (int)k, k ? path : ".", prog);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += k + (end != NULL);
	}
	return -1;
}

/* Runs `dot -Tsvg` with text on its input and its output on fd out_fd. */
static int render_svg(const char *text, size_t len, int out_fd, Diag *d)
{
	char dot[PATH_MAX];
	if (find_in_path("dot", dot, sizeof dot) != 0)
		return diag_set(d, "--svg needs Graphviz's dot program, which is not in PATH (Debian: apt-get install graphviz); "
				   "without --svg resnetc writes DOT text");
	int fds[2];
	if (pipe(fds) != 0)
		return diag_set(d, "cannot run dot: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return diag_set(d, "cannot run dot: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[0], 0);
		dup2(out_fd, 1);
		close(fds[0]);
		close(fds[1]);
		execl(dot, "dot", "-Tsvg", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fds[1], text + off, len - off);
		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	close(fds[1]);
	signal(SIGPIPE, old);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return diag_set(d, "dot -Tsvg failed (%s %d)", WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (off < len)
		return diag_set(d, "dot -Tsvg stopped reading its input");
	return 0;
}

/* Writes the graph to a.out (through a temporary file, renamed when
 * complete) or to standard output. */
static int write_graph(const Args *a, const Graph *g, const PlanStats *st, Diag *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	const char *base = strrchr(a->model, '/');
	write_graph_dot(m, g, st, base ? base + 1 : a->model);
	fclose(m);
	int rc = 0;
	if (!a->out) {
		if (a->svg)
			rc = render_svg(text, len, 1, d);
		else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
			rc = diag_set(d, "cannot write to standard output: %s", strerror(errno));
		free(text);
		return rc;
	}
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", a->out);
	if (make_parent(a->out, d) != 0) {
		free(text);
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(text);
		return diag_set(d, "cannot write %s: %s", a->out, strerror(errno));
	}
	if (a->svg) {
		rc = render_svg(text, len, fd, d);
	} else {
		size_t off = 0;
		while (off < len) {
			ssize_t w = write(fd, text + off, len - off);
			if (w <= 0 && errno != EINTR)
				break;
			if (w > 0)
				off += (size_t)w;
		}
		if (off < len)
			rc = diag_set(d, "cannot write %s: %s", a->out, strerror(errno));
	}
	free(text);
	if (close(fd) != 0 && !rc)
		rc = diag_set(d, "cannot write %s: %s", a->out, strerror(errno));
	if (!rc) {
		chmod(tmp, 0644);
		if (rename(tmp, a->out) != 0)
			rc = diag_set(d, "cannot write %s: %s", a->out, strerror(errno));
	}
	if (rc)
		unlink(tmp);
	return rc;
}

/* ---- phases ---- */

static void describe_kernels(const Graph *g)
{
	const char *name[16];
	int count[16], n = 0, convs = 0;
	int64_t packed = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *nd = &g->nodes[i];
		for (int k = 0; !nd->dead && k < nd->n_steps; k++) {
			const Step *s = &nd->steps[k];
			if (s->kernel != K_CONV2D && s->kernel != K_CONV2D_PACKED)
				continue;
			convs++;
			if (s->kernel == K_CONV2D_PACKED)
				packed += (int64_t)tensor_bytes(&g->tensors[s->in[1]]);
			const char *l = kernel_label(s);
			int j = 0;
			while (j < n && strcmp(name[j], l))
				j++;
			if (j == n && n < 16) {
				name[n] = l;
				count[n++] = 0;
			}
			if (j < 16)
				count[j]++;
		}
	}
	char list[512] = "", b[32];
	for (int j = 0; j < n; j++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d %s", j ? ", " : "", count[j], name[j]);
	progress_end(&progress, "%d convolution%s%s%s; packed weights %s", convs, convs == 1 ? "" : "s", n ? ": " : "",
		     list, fmt_bytes(packed, b, sizeof b));
	if (!progress.verbose)
		return;
	int w = 8;
	for (int i = 0; i < g->n_nodes; i++) {
		int k = (int)strlen(g->nodes[i].name);
		w = !g->nodes[i].dead && k > w ? (k > 60 ? 60 : k) : w;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const Node *nd = &g->nodes[i];
		for (int k = 0; !nd->dead && k < nd->n_steps; k++) {
			const Step *s = &nd->steps[k];
			if (s->kernel != K_CONV2D && s->kernel != K_CONV2D_PACKED)
				continue;
			const rn_conv2d_params *p = &s->p.conv;
			char geom[96];
			snprintf(geom, sizeof geom, "%dx%d/%d %d->%d%s, %dx%d out", p->kh, p->kw, p->sh, p->c, p->m,
				 p->group > 1 ? " grouped" : "", p->oh, p->ow);
			progress_detail(&progress, "%-*s  %-26s %s", w, nd->name, geom, kernel_label(s));
		}
	}
}

static void describe_passes(const PassResult *r)
{
	for (int i = 0; i < n_passes; i++) {
		if (!r[i].enabled) {
			progress_detail(&progress, "%-9s disabled", r[i].name);
			continue;
		}
		char what[400] = "";
		size_t len = 0;
		for (int k = 0; k < r[i].n_removed && len + 1 < sizeof what; k++)
			len += (size_t)snprintf(what + len, sizeof what - len, "%s%d %s", k ? ", " : "removed ",
						r[i].removed_count[k], r[i].removed_op[k]);
		int shared = r[i].shared_after - r[i].shared_before;
		if (shared)
			snprintf(what + len, sizeof what - len, "%s%d tensor%s now share%s memory", len ? "; " : "", shared,
				 shared == 1 ? "" : "s", shared == 1 ? "s" : "");
		progress_detail(&progress, "%-9s %4d -> %4d nodes  %s", r[i].name, r[i].nodes_before, r[i].nodes_after,
				what[0] ? what : "no change");
	}
}

int main(int argc, char **argv)
{
	Args a = {0};
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	progress_init(&progress, a.cmd == CMD_COMPILE || a.level != 0 ? a.level : -1, isatty(2));
	Diag d = {{0}};
	char nbuf[80], s1[64], s2[64], s3[64];
	const char *name = a.name;
	if (!name) {
		default_name(a.model, nbuf, sizeof nbuf);
		name = nbuf;
	}
	if (a.cmd == CMD_COMPILE && check_output_dir(a.out, a.force, &d) != 0)
		return fail("%s", d.msg);

	progress_begin(&progress, "load");
	int yaml = is_yaml(a.model);
	Graph *g = yaml ? yaml_import(a.model, &a.opt, &d) : onnx_import(a.model, &a.opt, &d);
	if (!g) {
		/* "7:10: ..." (a place in the file) joins the name with ':' */
		int located = d.msg[0] >= '0' && d.msg[0] <= '9';
		return fail("%s:%s%s", a.model, located ? "" : " ", d.msg);
	}
	progress_end(&progress, "%s: %s, %d nodes", a.model, yaml ? "YAML ResNet" : "ONNX", graph_live_nodes(g));

	progress_begin(&progress, "lower");
	if (lower_graph(g, &d) != 0) {
		graph_free(g);
		int located = d.msg[0] >= '0' && d.msg[0] <= '9';
		return fail("%s:%s%s", a.model, located ? "" : " ", d.msg);
	}
	int64_t params_imported = graph_params(g);
	progress_end(&progress, "%d nodes shaped and lowered; %s parameters", graph_live_nodes(g),
		     fmt_thousands(params_imported, s1, sizeof s1));

	progress_begin(&progress, "passes");
	PassResult results[16];
	int before = graph_live_nodes(g);
	FILE *hist = a.cmd == CMD_INFO && a.show_passes ? stdout : NULL;
	if (run_passes_logged(g, a.enabled, results, hist, &d) != 0) {
		graph_free(g);
		return fail("%s: %s", a.model, d.msg);
	}
	if (hist)
		printf("\n");
	progress_end(&progress, "%d -> %d nodes", before, graph_live_nodes(g));
	describe_passes(results);

	progress_begin(&progress, "kernels");
	if (select_kernels(g, &a.cg, &d) != 0) {
		graph_free(g);
		return fail("%s: %s", a.model, d.msg);
	}
	describe_kernels(g);

	progress_begin(&progress, "plan");
	PlanStats st;
	if (plan_memory(g, &st, &d) != 0) {
		graph_free(g);
		return fail("%s: %s", a.model, d.msg);
	}
	progress_end(&progress, "arena %s: activations %s (lower bound %s) + kernel scratch %s",
		     fmt_bytes(st.arena_bytes, s1, sizeof s1), fmt_bytes(st.scratch_offset, s2, sizeof s2),
		     fmt_bytes(st.peak_live, s3, sizeof s3), fmt_bytes(st.scratch_bytes, (char[64]){0}, 64));

	InfoContext ic = {a.model, yaml ? "yaml" : "onnx", params_imported, results};
	if (a.cmd == CMD_INFO) {
		if (a.json)
			print_info_json(stdout, g, &st, &ic);
		else
			print_info(stdout, g, &st, &ic);
		graph_free(g);
		if (fflush(stdout) != 0)
			return fail("cannot write to standard output: %s", strerror(errno));
		return 0;
	}
	if (a.cmd == CMD_GRAPH) {
		progress_begin(&progress, "graph");
		rc = write_graph(&a, g, &st, &d);
		graph_free(g);
		if (rc)
			return fail("%s", d.msg);
		progress_end(&progress, "%s%s", a.out ? a.out : "standard output", a.svg ? " (SVG)" : " (DOT)");
		return 0;
	}

	char home[PATH_MAX + 80], rt[PATH_MAX + 96], inc[PATH_MAX + 112];
	if (find_home(home, sizeof home) != 0) {
		graph_free(g);
		return fail("cannot find the runtime sources next to the resnetc executable (set RESNETC_HOME to the "
			    "folder holding runtime/ and include/resnetc/)");
	}
	snprintf(rt, sizeof rt, "%s/runtime", home);
	snprintf(inc, sizeof inc, "%s/include/resnetc", home);
	progress_begin(&progress, "emit");
	const char *base = strrchr(a.model, '/');
	EmitOptions eo = {.name = name, .model_file = base ? base + 1 : a.model, .runtime_dir = rt, .include_dir = inc,
			  .cg = &a.cg, .progress = progress_bytes, .progress_ctx = &progress};
	char *tmp = NULL;
	rc = make_parent(a.out, &d);
	if (!rc) {
		tmp = make_temp_sibling(a.out, &d);
		rc = tmp ? 0 : -1;
	}
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
		rc = commit_dir(tmp, a.out, a.force, &d);
	}
	if (rc && tmp)
		remove_tree(tmp);
	free(tmp);
	int64_t wbytes = graph_weight_bytes(g);
	graph_free(g);
	if (rc) /* these messages name the output path themselves */
		return fail("%s", d.msg);
	progress_end(&progress, "%s: %s.c, %s.h, %s of weights, main.c, runtime/, Makefile", a.out, name, name,
		     fmt_bytes(wbytes, s1, sizeof s1));
	if (progress.show)
		fprintf(stderr, "resnetc: done     %7.3f s  build it with: make -C %s\n", progress_elapsed(&progress),
			a.out);
	return 0;
}
