# resnetc — top-level build.
#   make            build/resnetc (the compiler)
#   make demo       install what is missing, compile the bundled model, classify Fashion-MNIST
#   make test       install what is missing, run the whole suite
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wno-unused-parameter
PROTO   := /usr/include/onnx/onnx.proto
B       := build

SANITIZE ?=
ifeq ($(SANITIZE),1)
  B      := build/san
  CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN  := -fsanitize=address,undefined
endif

# runtime/: a folder per kernel family or service; runtime/driver/ (the
# .npy driver, the one part with I/O) is not in the kernels' objects.
RT_HDRS   := $(wildcard include/resnetc/*.h runtime/*/*.h)
RT_SRCS   := $(sort $(filter-out runtime/driver/%,$(wildcard runtime/*/*.c)))
RT_OBJS   := $(RT_SRCS:%.c=$(B)/%.o)
DRV_SRCS  := $(sort $(wildcard runtime/driver/*.c))
DRV_OBJS  := $(DRV_SRCS:%.c=$(B)/%.o)
# compiler/: a folder per phase (frontend, ir, passes, backend, cli) around
# pipeline.c; each folder's headers are found by name (-I per folder).
CC_SRCS   := $(sort $(wildcard compiler/*.c compiler/*/*.c))
CC_HDRS   := $(wildcard compiler/*.h compiler/*/*.h)
CC_DIRS   := compiler $(patsubst %/,%,$(sort $(dir $(wildcard compiler/*/*.c))))
CC_LIB    := $(filter-out $(B)/compiler/cli/main.o,$(CC_SRCS:%.c=$(B)/%.o))
GEN       := $(B)/gen/onnx.pb-c.c
GEN_OBJ   := $(B)/gen/onnx.pb-c.o
CPPFLAGS  := -Iinclude $(CC_DIRS:%=-I%) -I$(B)/gen -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
LIBS      := -lprotobuf-c -lyaml -lm
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
# The runtime's kernel tests once more with the runtime built for this
# machine's ISA (-march=native: the AVX-512/AVX2/NEON kernels generated code
# uses), where the compiler supports it.
NATIVE_UNIT := test_runtime_conv_packed test_runtime_pool test_runtime_gemm test_runtime_qconv test_runtime_quant
NATIVE_FLAG := $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)
ifneq ($(NATIVE_FLAG),)
  UNIT_BINS += $(NATIVE_UNIT:%=$(B)/tests/native/%)
endif
# On an x86 machine with AVX512-VNNI the native int8 kernels are the VNNI
# ones: the int8 convolution's and products' tests run once more with the
# runtime built for x86-64-v3 (AVX2 + FMA), the kernels an AVX2 target gets.
AVX2_FLAG := $(if $(NATIVE_FLAG),$(shell grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && $(CC) -march=x86-64-v3 -E -x c /dev/null >/dev/null 2>&1 && echo -march=x86-64-v3))
ifneq ($(AVX2_FLAG),)
  UNIT_BINS += $(B)/tests/avx2/test_runtime_qconv $(B)/tests/avx2/test_runtime_quant
endif

.PHONY: all deps deps-test deps-demo demo demo-yaml demo-int8 test check unit conformance e2e cross sanitize bench deps-bench hostile clean
# ONNX backend test sets for `make conformance` (tests/conformance/README.md):
# Debian's libonnx-testdata (ONNX 1.12; its `real` set, whole models, is
# left out) and, when it sits beside the repository, ../shared's node tests.
ONNX_DATA   ?= /usr/share/libonnx-testdata/data
ONNX_SHARED ?= ../shared/onnx-node-tests
ONNX_TESTS  ?= $(addprefix $(ONNX_DATA)/,node pytorch-converted pytorch-operator simple) $(wildcard $(ONNX_SHARED))
all: $(B)/resnetc $(B)/libresnetc_rt.a

$(GEN): $(PROTO)
	@mkdir -p $(dir $@)
	protoc-c --c_out=$(dir $@) -I$(dir $(PROTO)) $(PROTO)
$(B)/gen/onnx.pb-c.h: $(GEN)
$(GEN_OBJ): $(GEN)
	$(CC) $(CFLAGS) -I$(B)/gen -c $< -o $@

# Each object depends on the headers it includes (-MMD: NAME.d beside it;
# an object without one, from before, is rebuilt once).
$(B)/%.d: ;
.PRECIOUS: $(B)/%.d
$(B)/%.o: %.c $(B)/%.d | $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -MMD -MP $(CPPFLAGS) -c $< -o $@

$(B)/libresnetc_rt.a: $(RT_OBJS) $(DRV_OBJS)
	rm -f $@; ar rcs $@ $^

$(B)/resnetc: $(B)/compiler/cli/main.o $(CC_LIB) $(GEN_OBJ) $(RT_OBJS)
	$(CC) $(LDSAN) $^ $(LIBS) -o $@

# (headers, and the driver test's #included driver.c, are prerequisites
# only: not compiled on their own)
$(B)/tests/%: tests/unit/%.c $(CC_LIB) $(GEN_OBJ) $(RT_OBJS) $(CC_HDRS) $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(filter-out %.h $(DRV_SRCS),$^) $(LDSAN) -lcmocka $(LIBS) -o $@
$(B)/tests/test_runtime_driver: $(DRV_SRCS)

# test_runtime_conv_sizes links the portable runtime and this copy of it,
# built for this machine's ISA under RN_NAMESPACE=native_, and checks they
# agree on packed and scratch sizes (the compiler sizes, the target runs).
RT_NS_OBJS := $(RT_SRCS:%.c=$(B)/native_ns/%.o)
$(B)/native_ns/%.o: %.c $(B)/native_ns/%.d
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -MMD -MP $(NATIVE_FLAG) -DRN_NAMESPACE=native_ $(CPPFLAGS) -c $< -o $@
$(B)/tests/test_runtime_conv_sizes: $(RT_NS_OBJS)

# The runtime built once for this machine's ISA, for the native kernel tests.
RT_NATIVE_OBJS := $(RT_SRCS:%.c=$(B)/native/%.o)
$(B)/native/%.o: %.c $(B)/native/%.d
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -MMD -MP $(NATIVE_FLAG) $(CPPFLAGS) -c $< -o $@
.SECONDARY: $(RT_NATIVE_OBJS)
$(B)/tests/native/%: tests/unit/%.c $(RT_NATIVE_OBJS) $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(NATIVE_FLAG) $(CPPFLAGS) $< $(RT_NATIVE_OBJS) $(LDSAN) -lcmocka -lm -lpthread -o $@

RT_AVX2_OBJS := $(RT_SRCS:%.c=$(B)/avx2/%.o)
$(B)/avx2/%.o: %.c $(B)/avx2/%.d
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -MMD -MP $(AVX2_FLAG) $(CPPFLAGS) -c $< -o $@
.SECONDARY: $(RT_AVX2_OBJS)
$(B)/tests/avx2/%: tests/unit/%.c $(RT_AVX2_OBJS) $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(AVX2_FLAG) $(CPPFLAGS) $< $(RT_AVX2_OBJS) $(LDSAN) -lcmocka -lm -lpthread -o $@

# resnetc info predicts a binary's size from the code of the runtime files a
# model calls: text + data of each runtime object as this build compiled it.
$(B)/gen/rt_code_sizes.h: $(RT_OBJS) $(DRV_OBJS)
	@mkdir -p $(dir $@)
	@{ echo '/* Generated by the Makefile: text + data bytes of each runtime object as this build compiled it. */'; \
	  echo 'static const struct { const char *file; long bytes; } rt_code_sizes[] = {'; \
	  for o in $^; do set -- $$(size "$$o" | tail -n 1); f=$${o#$(B)/runtime/}; \
	    echo "	{\"$${f%.o}.c\", $$(($$1 + $$2))},"; done; \
	  echo '};'; } >$@.tmp && mv $@.tmp $@
$(B)/compiler/cli/info.o: $(B)/gen/rt_code_sizes.h

# The runner is a harness, not product code: built without sanitizers even
# in a SANITIZE build (what it runs, resnetc and the generated code, has them).
$(B)/tests/conformance_runner: tests/conformance/runner.c $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -g $(CPPFLAGS) $^ -lprotobuf-c -lm -o $@

deps:
	@bash .ci/deps.sh build
deps-demo:
	@bash .ci/deps.sh demo
deps-test:
	@bash .ci/deps.sh test

# The bundled Fashion-MNIST model: compile, build, classify the test set.
demo: deps-demo
	@$(MAKE) --no-print-directory all
	bash examples/demo/run_demo.sh $(B)/resnetc build/demo

# The same, from the YAML description + safetensors weights.
demo-yaml: deps-demo
	@$(MAKE) --no-print-directory all
	DEMO_MODEL=examples/demo/demo.yaml bash examples/demo/run_demo.sh $(B)/resnetc build/demo-yaml

# The demo quantized to int8 by resnetc (calibrated on 200 training
# images): its accuracy within 0.5 points of the float model's.
demo-int8: deps-demo
	@$(MAKE) --no-print-directory all
	DEMO_QUANTIZE=200 bash examples/demo/run_demo.sh $(B)/resnetc build/demo-int8

# Everything: unit tests, ONNX conformance, end-to-end against onnxruntime.
# (the programs the suite runs are built first, as many at once as there
# are cores; the suite itself runs one part at a time)
JOBS := $(shell nproc 2>/dev/null || echo 2)
test: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BINS) $(B)/tests/conformance_runner
	@$(MAKE) --no-print-directory check

# With SANITIZE=1 (ASan + UBSan builds in build/san): unit and conformance.
ifeq ($(SANITIZE),1)
check: unit conformance
else
check: all unit conformance e2e cross multi cli-test fuzz-smoke hostile
endif

# Several compiled models in one program, every order, threads at once,
# under ASan+UBSan and TSan; nm checks each libNAME.a (tests/multi).
.PHONY: multi
multi: all
	RESNETC=$(B)/resnetc bash tests/multi/run_multi.sh

# Broken models, weights and .npy inputs under valgrind (tests/hostile).
hostile: all
	bash tests/hostile/run_hostile.sh --resnetc $(B)/resnetc

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# aarch64, armv7, riscv64 builds run under qemu-user; a freestanding build.
cross: all
	RESNETC=$(B)/resnetc bash tests/cross/run_cross.sh
	RESNETC=$(B)/resnetc bash tests/cross/check_freestanding.sh

conformance: all $(B)/tests/conformance_runner
	@for d in $(ONNX_TESTS); do [ -d "$$d" ] || { echo "conformance: $$d: no such folder (Debian's sets: apt-get install libonnx-testdata, or make deps-test)" >&2; exit 2; }; done
ifeq ($(origin ONNX_TESTS),file)
	@[ -d $(ONNX_SHARED) ] || echo "conformance: no $(ONNX_SHARED) beside the repository: Debian's libonnx-testdata sets only"
endif
	CC="$(CC) $(LDSAN)" $(B)/tests/conformance_runner --resnetc $(B)/resnetc --rt $(B)/libresnetc_rt.a $(ONNX_TESTS)

# Speed against onnxruntime and OpenBLAS: ResNet-18 and ResNet-50 at 1 and 2
# threads; prints a table and writes bench/RESULTS.md (bench/README.md).
bench: deps-bench
	@$(MAKE) --no-print-directory all
	RESNETC=$(B)/resnetc bash bench/run_bench.sh
deps-bench:
	@bash .ci/deps.sh bench

# ASan + UBSan over the unit and conformance suites (CI runs it).
sanitize:
	@$(MAKE) --no-print-directory SANITIZE=1 unit conformance

e2e: all
	RESNETC=$(B)/resnetc bash tests/e2e/run_e2e.sh
	RESNETC=$(B)/resnetc E2E_OPSET=9 E2E_BATCH=2 E2E_SIZE=97 bash tests/e2e/run_e2e.sh resnext50_32x4d:fold
	RESNETC=$(B)/resnetc bash tests/e2e/run_e2e.sh resnet18:qdq resnet18:qop resnet18:rq resnet50:qdq resnet50:rq
	RESNETC=$(B)/resnetc E2E_SIZE=97 bash tests/e2e/run_e2e.sh resnext50_32x4d:rq
	RESNETC=$(B)/resnetc bash tests/yaml/run_yaml_e2e.sh
	/usr/bin/python3 tests/yaml/check_schema.py --resnetc $(B)/resnetc

-include $(patsubst %.o,%.d,$(CC_SRCS:%.c=$(B)/%.o) $(RT_OBJS) $(DRV_OBJS) $(RT_NS_OBJS) $(RT_NATIVE_OBJS) $(RT_AVX2_OBJS))

include tests/fuzz/fuzz.mk

clean:
	rm -rf build

# ---- install, uninstall, cli-test (the resnetc command line) ----
#   make install [PREFIX=/usr/local] [DESTDIR=]   bin/resnetc, share/resnetc/{runtime,include}
#                                                 (what compile copies into outputs), man page
#   make uninstall [PREFIX=...] [DESTDIR=]        removes exactly that
#   make cli-test                                 every command README.md shows, run as written
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL ?= install
I_BIN   := $(DESTDIR)$(PREFIX)/bin
I_SHARE := $(DESTDIR)$(PREFIX)/share/resnetc
I_MAN1  := $(DESTDIR)$(PREFIX)/share/man/man1

.PHONY: install uninstall cli-test
install: $(B)/resnetc
	$(INSTALL) -d $(I_BIN) $(I_SHARE)/include/resnetc $(I_MAN1)
	$(INSTALL) -m 755 $(B)/resnetc $(I_BIN)/resnetc
	for d in $(sort $(dir $(wildcard runtime/*/*.c runtime/*/*.h))); do \
		$(INSTALL) -d $(I_SHARE)/$$d && $(INSTALL) -m 644 $$d*.[ch] $(I_SHARE)/$$d || exit 1; \
	done
	$(INSTALL) -m 644 $(wildcard include/resnetc/*.h) $(I_SHARE)/include/resnetc
	$(INSTALL) -m 644 compiler/cli/resnetc.1 $(I_MAN1)/resnetc.1

uninstall:
	rm -f $(I_BIN)/resnetc $(I_MAN1)/resnetc.1
	rm -rf $(I_SHARE)

cli-test: all
	bash tests/cli/run_cli_tests.sh $(B)/resnetc

