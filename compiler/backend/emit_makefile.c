/* The output folder's build: the runtime sources the model uses, copied
 * from the installation, and a Makefile that needs only a C compiler. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"
#include "lower.h"
#include "frontend.h"
#include "fsutil.h"
#include "runtime_files.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_source(const char *name)
{
	size_t len = strlen(name);
	return len > 2 && name[len - 2] == '.' && (name[len - 1] == 'c' || name[len - 1] == 'h');
}

/* Appends the "*.c" / "*.h" files of dir/sub (sub "" for dir itself) as
 * "sub/file"; with recurse, those of its folders one level down too (the
 * runtime's folder per kernel family). */
static int add_sources(const char *dir, const char *sub, int recurse, char ***v, int *k, Diag *d)
{
	char path[4096];
	snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
	DIR *dp = opendir(path);
	if (!dp)
		return diag_set(d, "cannot read runtime folder %s: %s", path, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(dp))) {
		char rel[512];
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", de->d_name);
		if (is_source(de->d_name)) {
			*v = xrealloc(*v, (*k + 1) * sizeof **v);
			(*v)[(*k)++] = xstrdup(rel);
			continue;
		}
		struct stat st;
		char full[4096 + 512];
		snprintf(full, sizeof full, "%s/%s", dir, rel);
		if (recurse && stat(full, &st) == 0 && S_ISDIR(st.st_mode))
			rc = add_sources(dir, rel, 0, v, k, d);
	}
	closedir(dp);
	return rc;
}

/* Sorted list of the sources in dir and its folders ("conv/conv.c"). */
static int list_sources(const char *dir, char ***out, int *n, Diag *d)
{
	char **v = NULL;
	int k = 0;
	if (add_sources(dir, "", 1, &v, &k, d)) {
		emit_free_names(v, k);
		return -1;
	}
	qsort(v, k, sizeof *v, name_cmp);
	*out = v;
	*n = k;
	return 0;
}

static int copy_file(const char *from, const char *to, Diag *d)
{
	size_t len;
	unsigned char *buf = read_file(from, (size_t)1 << 26, &len, d);
	if (!buf)
		return diag_set(d, "%s: %s", from, d->msg);
	FILE *f = fopen(to, "wb");
	if (!f) {
		free(buf);
		return diag_set(d, "cannot write %s: %s", to, strerror(errno));
	}
	fwrite(buf, 1, len, f);
	free(buf);
	return emit_close(f, to, d);
}

/* Copies src's sources to dst; *names gets their paths. With keep, only
 * the files keep(name, arg) accepts. */
static int copy_tree(const char *src, const char *dst, int (*keep)(const char *, const void *),
		     const void *arg, char ***names, int *n, Diag *d)
{
	if (list_sources(src, names, n, d))
		return -1;
	int kept = 0;
	for (int i = 0; i < *n; i++)
		if (keep && !keep((*names)[i], arg))
			free((*names)[i]);
		else
			(*names)[kept++] = (*names)[i];
	*n = kept;
	char a[4096], b[4096];
	for (int i = 0; i < *n; i++) {
		snprintf(a, sizeof a, "%s/%s", src, (*names)[i]);
		snprintf(b, sizeof b, "%s/%s", dst, (*names)[i]);
		char *slash = strrchr(b, '/');
		*slash = 0;
		if (mkdir_p(b, d))
			return -1;
		*slash = '/';
		if (copy_file(a, b, d))
			return -1;
	}
	return 0;
}

void emit_free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A copied runtime source that is compiled: 1 for the kernels' .c files
 * (libNAME.a), 2 for the driver's, 0 for a header. */
static int source_kind(const char *rt)
{
	size_t len = strlen(rt);
	if (rt[len - 1] != 'c')
		return 0;
	return strncmp(rt, "driver/", 7) ? 1 : 2;
}

/* A runtime source the model's folder carries: the driver, the .c files
 * runtime_files() lists, and the headers of their folders and of core/. */
static int keep_runtime(const char *name, const void *arg)
{
	const RuntimeFiles *r = arg;
	const char *slash = strchr(name, '/');
	size_t len = strlen(name);
	if (!slash || !strncmp(name, "driver/", 7))
		return 1;
	if (name[len - 1] == 'c')
		return runtime_files_has(r, name);
	if (!strncmp(name, "core/", 5))
		return 1;
	for (int i = 0; i < r->n_files; i++)
		if (!strncmp(r->files[i], name, (size_t)(slash - name + 1)))
			return 1;
	return 0;
}

int emit_runtime(Emitter *e, const char *dir, char ***rt, int *n_rt, Diag *d)
{
	char path[4096];
	char **inc = NULL;
	int n_inc = 0, rc = 0;
	snprintf(path, sizeof path, "%s/runtime", dir);
	if (mkdir_p(path, d))
		return -1;
	/* only what the model calls: less to build */
	if (copy_tree(e->o->runtime_dir, path, keep_runtime, &e->rt, rt, n_rt, d))
		return -1;
	snprintf(path, sizeof path, "%s/include/resnetc", dir);
	if (mkdir_p(path, d))
		return -1;
	rc = copy_tree(e->o->include_dir, path, NULL, NULL, &inc, &n_inc, d);
	emit_free_names(inc, n_inc);
	return rc;
}

int emit_makefile(Emitter *e, const char *dir, char **rt, int n_rt, Diag *d)
{
	FILE *f = emit_open(dir, "Makefile", d);
	if (!f)
		return -1;
	const char *nm = e->name;
	const CodegenOptions *cg = e->cg;
	fprintf(f, "# make: builds %s (a driver: %s IN.npy... OUT.npy...); make lib: lib%s.a (the\n"
		   "# model, to link into your program). Needs only a C11 compiler, libc and libm%s.\n"
		   "# Target: %s (%s).\n",
		nm, nm, nm, cg->threads > 1 ? " (and pthreads)" : cg->blas ? " (and OpenBLAS)" : "",
		cg->target->name, cg->target->what);
	if (cg->target->cc[0])
		fprintf(f, "# Cross-build: make CC=%s\n", cg->target->cc);
	else
		fprintf(f, "# Cross-build: make CROSS_COMPILE=aarch64-linux-gnu- (or CC=...); for speed,\n"
			   "# compile with resnetc --target aarch64 (NEON kernels, right flags)\n");
	fprintf(f, "# make -j N builds N files at once. CMake users: CMakeLists.txt beside this.\n");
	fprintf(f, "# Generated by resnetc " RESNETC_VERSION ".\n\n");
	/* CROSS_COMPILE=prefix- picks $(prefix)gcc and $(prefix)ar unless CC or
	 * AR are given; cross targets default to their Debian toolchain. */
	char prefix[64] = "";
	const char *dash = strrchr(cg->target->cc, '-');
	if (dash)
		snprintf(prefix, sizeof prefix, "%.*s", (int)(dash - cg->target->cc + 1), cg->target->cc);
	fprintf(f, "CROSS_COMPILE ?= %s\n", prefix);
	fprintf(f, "ifneq ($(CROSS_COMPILE),)\nifeq ($(origin CC),default)\nCC := $(CROSS_COMPILE)gcc\nendif\n"
		   "ifeq ($(origin AR),default)\nAR := $(CROSS_COMPILE)ar\nendif\nendif\n");
	fprintf(f, "NATIVE := $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)\n");
	fprintf(f, "CFLAGS ?= %s\n", cg->target->cflags);
	/* RN_NAMESPACE makes this folder's runtime copy private to the model
	 * (include/resnetc/namespace.h). */
	const RuntimeFiles *r = &e->rt;
	if (r->n_omit) {
		fprintf(f, "# The convolution algorithms no layer uses, left out of runtime/conv/conv_pack.c\n"
			   "# (their files are not in this folder)\nRN_OMIT :=");
		for (int i = 0; i < r->n_omit; i++)
			fprintf(f, " -D%s", r->omit[i]);
		fprintf(f, "\n");
	}
	fprintf(f, "ALL_CFLAGS := -std=c11 -fno-strict-aliasing -DRN_NAMESPACE=%s_%s%s $(CFLAGS) -I. -Iinclude\n",
		nm, cg->blas ? " -DRN_USE_OPENBLAS" : "", r->n_omit ? " $(RN_OMIT)" : "");
	fprintf(f, "LIBS := -lm%s%s\n\n", cg->threads > 1 ? " -lpthread" : "", cg->blas ? " -lopenblas" : "");
	fprintf(f, "MODEL_OBJS := %s.o", nm);
	for (int c = 0; c < e->n_chunks; c++)
		fprintf(f, " %s_w%d.o", nm, c);
	fprintf(f, "\nRUNTIME_OBJS :=");
	for (int i = 0; i < n_rt; i++) {
		size_t len = strlen(rt[i]);
		if (source_kind(rt[i]) != 1)
			continue;
		fprintf(f, " \\\n\truntime/%.*s.o", (int)(len - 2), rt[i]);
	}
	/* the driver: main.c's rn_driver_main, not part of libNAME.a */
	fprintf(f, "\nDRIVER_OBJS :=");
	for (int i = 0; i < n_rt; i++) {
		size_t len = strlen(rt[i]);
		if (source_kind(rt[i]) == 2)
			fprintf(f, " runtime/%.*s.o", (int)(len - 2), rt[i]);
	}
	/* the driver links the objects themselves, not libNAME.a: after make
	 * the folder holds the weights twice (NAME_w*.bin and the driver), not
	 * three times; make lib builds the archive for a program of the user's */
	fprintf(f, "\n\nall: %s\n\nlib: lib%s.a\n\n", nm, nm);
	/* GNU ld (2.40) computes the build id over a copy of the whole output
	 * in memory: as much memory as the weights (ResNet-152's link peaked
	 * above 500 MB, and took 5x longer) */
	fprintf(f, "# The driver is linked without a build id where the linker takes --build-id=none:\n"
		   "# GNU ld computes one over the whole binary held in memory, as much memory as\n"
		   "# the weights (LDFLAGS=-Wl,--build-id gives it back).\n"
		   "NO_BUILD_ID = $(shell $(CC) -Wl,--build-id=none -Wl,--version >/dev/null 2>&1 && "
		   "echo -Wl,--build-id=none)\n\n");
	fprintf(f, "%s: main.o $(DRIVER_OBJS) $(MODEL_OBJS) $(RUNTIME_OBJS)\n"
		   "\t$(CC) $(NO_BUILD_ID) $(LDFLAGS) -o $@ main.o $(DRIVER_OBJS) $(MODEL_OBJS) $(RUNTIME_OBJS) $(LIBS)\n\n",
		nm);
	fprintf(f, "lib%s.a: $(MODEL_OBJS) $(RUNTIME_OBJS)\n\trm -f $@\n\t$(AR) rcs $@ $^\n\n", nm);
	/* the weights' objects are in the driver or libNAME.a once built: one
	 * copy fewer on disk (make does not rebuild them while what holds them
	 * is newer than their sources) */
	fprintf(f, ".INTERMEDIATE:");
	for (int c = 0; c < e->n_chunks; c++)
		fprintf(f, " %s_w%d.o", nm, c);
	fprintf(f, "\n\n");
	if (cg->weights_c) {
		fprintf(f, "# Weights are one string literal each: no optimization needed.\n");
		fprintf(f, "%s_w%%.o: %s_w%%.c\n\t$(CC) -std=c11 -c $< -o $@\n\n", nm, nm);
	} else {
		fprintf(f, "# Weights: NAME_w<k>.bin, included by the assembler (.incbin) from this folder.\n");
		fprintf(f, "%s_w%%.o: %s_w%%.c %s_w%%.bin\n\t$(CC) -c $< -o $@\n\n", nm, nm, nm);
	}
	fprintf(f, "%%.o: %%.c $(wildcard *.h runtime/*/*.h include/resnetc/*.h)\n\t$(CC) $(ALL_CFLAGS) -c $< -o $@\n\n");
	fprintf(f, "clean:\n\trm -f %s lib%s.a *.o runtime/*/*.o\n\n.PHONY: all lib clean\n", nm, nm);
	return emit_close(f, "Makefile", d);
}

/* The CMakeLists.txt: the same build for CMake users. As a subproject
 * (add_subdirectory(DIR)) it defines the static library target NAME, whose
 * include directory is DIR (NAME.h); as the top project it also builds the
 * driver NAME. The flags are the Makefile's: the target's CFLAGS (NAME_CFLAGS,
 * a cache variable), the namespace, the convolution algorithms left out. */
int emit_cmake(Emitter *e, const char *dir, char **rt, int n_rt, Diag *d)
{
	FILE *f = emit_open(dir, "CMakeLists.txt", d);
	if (!f)
		return -1;
	const char *nm = e->name;
	const CodegenOptions *cg = e->cg;
	char up[256];
	emit_upper(up, nm, sizeof up);
	const RuntimeFiles *r = &e->rt;
	fprintf(f, "# %s: the model as a static library target, %s (include \"%s.h\"), for\n"
		   "#   add_subdirectory(<this folder>) ... target_link_libraries(app PRIVATE %s)\n"
		   "# or, as a project of its own, with the driver %s too:\n"
		   "#   cmake -S <this folder> -B <build folder> && cmake --build <build folder>\n"
		   "# Target: %s (%s). Generated by resnetc " RESNETC_VERSION ".\n",
		nm, nm, nm, nm, nm, cg->target->name, cg->target->what);
	fprintf(f, "cmake_minimum_required(VERSION 3.13)\nproject(%s C)\n\n", nm);
	/* the target's flags; native: -march=native where the compiler has it */
	char flags[256];
	snprintf(flags, sizeof flags, "%s", cg->target->cflags);
	char *nat = strstr(flags, "$(NATIVE)");
	if (nat) {
		*nat = 0;
		fprintf(f, "include(CheckCCompilerFlag)\ncheck_c_compiler_flag(-march=native %s_HAS_MARCH_NATIVE)\n"
			   "if(%s_HAS_MARCH_NATIVE)\n  set(%s_NATIVE \" -march=native\")\nendif()\n",
			up, up, up);
	}
	size_t len = strlen(flags);
	while (len && flags[len - 1] == ' ')
		flags[--len] = 0;
	char native[300] = "";
	if (nat)
		snprintf(native, sizeof native, "${%s_NATIVE}", up);
	fprintf(f, "set(%s_CFLAGS \"%s%s\" CACHE STRING \"Compiler flags of %s's kernels and model\")\n"
		   "separate_arguments(%s_CFLAGS_LIST UNIX_COMMAND \"${%s_CFLAGS}\")\n\n",
		up, flags, native, nm, up, up);
	fprintf(f, "add_library(%s STATIC\n  %s.c\n", nm, nm);
	for (int c = 0; c < e->n_chunks; c++)
		fprintf(f, "  %s_w%d.c\n", nm, c);
	for (int i = 0; i < n_rt; i++)
		if (source_kind(rt[i]) == 1)
			fprintf(f, "  runtime/%s\n", rt[i]);
	fprintf(f, ")\n");
	fprintf(f, "target_include_directories(%s PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}\n"
		   "  PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)\n", nm);
	fprintf(f, "target_compile_definitions(%s PRIVATE RN_NAMESPACE=%s_%s", nm, nm, cg->blas ? " RN_USE_OPENBLAS" : "");
	for (int i = 0; i < r->n_omit; i++)
		fprintf(f, " %s", r->omit[i]);
	fprintf(f, ")\n");
	fprintf(f, "target_compile_options(%s PRIVATE ${%s_CFLAGS_LIST} -fno-strict-aliasing)\n", nm, up);
	fprintf(f, "set_target_properties(%s PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)\n", nm);
	if (!cg->weights_c) {
		fprintf(f, "# the weights' .incbin finds NAME_w<k>.bin in this folder\nset_source_files_properties(");
		for (int c = 0; c < e->n_chunks; c++)
			fprintf(f, "%s%s_w%d.c", c ? " " : "", nm, c);
		fprintf(f, "\n  PROPERTIES COMPILE_OPTIONS \"-Wa,-I${CMAKE_CURRENT_SOURCE_DIR}\")\n");
		for (int c = 0; c < e->n_chunks; c++)
			fprintf(f, "set_source_files_properties(%s_w%d.c PROPERTIES OBJECT_DEPENDS "
				   "${CMAKE_CURRENT_SOURCE_DIR}/%s_w%d.bin)\n", nm, c, nm, c);
	}
	fprintf(f, "target_link_libraries(%s PUBLIC m", nm);
	if (cg->blas)
		fprintf(f, " openblas");
	fprintf(f, ")\n");
	if (cg->threads > 1)
		fprintf(f, "find_package(Threads REQUIRED)\ntarget_link_libraries(%s PUBLIC Threads::Threads)\n", nm);
	fprintf(f, "\n# the driver (%s IN.npy... OUT.npy...), when this folder is the project\n"
		   "if(CMAKE_SOURCE_DIR STREQUAL CMAKE_CURRENT_SOURCE_DIR)\n  add_executable(%s_driver main.c", nm, nm);
	for (int i = 0; i < n_rt; i++)
		if (source_kind(rt[i]) == 2)
			fprintf(f, " runtime/%s", rt[i]);
	fprintf(f, ")\n  set_target_properties(%s_driver PROPERTIES OUTPUT_NAME %s C_STANDARD 11 C_STANDARD_REQUIRED ON\n"
		   "    C_EXTENSIONS OFF)\n"
		   "  target_compile_definitions(%s_driver PRIVATE RN_NAMESPACE=%s_)\n"
		   "  target_compile_options(%s_driver PRIVATE ${%s_CFLAGS_LIST} -fno-strict-aliasing)\n"
		   "  target_include_directories(%s_driver PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)\n"
		   "  target_link_libraries(%s_driver PRIVATE %s)\n"
		   "  # no build id where the linker takes --build-id=none (see Makefile)\n"
		   "  include(CheckCSourceCompiles)\n"
		   "  set(CMAKE_REQUIRED_FLAGS \"-Wl,--build-id=none\")\n"
		   "  check_c_source_compiles(\"int main(void) { return 0; }\" %s_NO_BUILD_ID)\n"
		   "  unset(CMAKE_REQUIRED_FLAGS)\n"
		   "  if(%s_NO_BUILD_ID)\n"
		   "    target_link_options(%s_driver PRIVATE -Wl,--build-id=none)\n"
		   "  endif()\nendif()\n",
		nm, nm, nm, nm, nm, up, nm, nm, nm, up, up, nm);
	return emit_close(f, "CMakeLists.txt", d);
}
