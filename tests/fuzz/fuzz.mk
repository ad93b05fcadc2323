# Fuzzing (included by the top-level Makefile). Four libFuzzer harnesses,
# built with clang, ASan and UBSan into build/fuzz/ (tests/README.md):
#   fuzz_onnx          ONNX bytes -> IR, shape inference, passes, kernels,
#                      memory plan, reports, C
#   fuzz_yaml          YAML text -> IR (with safetensors weights), the same
#                      up to the memory plan
#   fuzz_safetensors   safetensors bytes -> tensors, converted to float32
#   fuzz_npy           .npy bytes -> the generated driver's input reader;
#                      resnetc's calibration reader, and --quantize int8
#                      of a tiny ResNet calibrated on them
#
#   make fuzz          each harness for FUZZ_SECONDS (default 60), in
#                      FUZZ_JOBS processes (default 1); new inputs go to
#                      build/fuzz/corpus/NAME, crashes to build/fuzz/crash-*
#   make fuzz-smoke    each harness over its corpus and regression inputs
#                      plus FUZZ_SMOKE_RUNS mutations; fails on any crash,
#                      leak or sanitizer report
#
# Seeds are tests/fuzz/corpus/NAME (regenerate with make_corpus.py), inputs
# that once crashed are tests/fuzz/regress/NAME and are never deleted.
FUZZ_CC          ?= clang
FUZZ_SECONDS     ?= 60
FUZZ_SMOKE_RUNS  ?= 2000
FUZZ_JOBS        ?= 1
FZ               := build/fuzz
FUZZ_NAMES       := onnx yaml safetensors npy
FUZZ_BINS        := $(FUZZ_NAMES:%=$(FZ)/fuzz_%)
FUZZ_CFLAGS      := -std=c11 -O1 -g -fno-omit-frame-pointer \
                    -fsanitize=address,undefined -fno-sanitize-recover=all \
                    -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_CPPFLAGS    := -Iinclude $(CC_DIRS:%=-I%) -I$(FZ)/gen -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
FUZZ_LIB_SRCS    := $(filter-out compiler/cli/main.c,$(CC_SRCS)) $(RT_SRCS)
FUZZ_LIB_OBJS    := $(FUZZ_LIB_SRCS:%.c=$(FZ)/obj/%.o) $(FZ)/obj/gen/onnx.pb-c.o
# libFuzzer options of both targets: the code's own error lines hidden
# (stderr closed; sanitizer reports still shown), a memory limit well
# above what any corpus input needs, 20 s per input at most.
FUZZ_OPTS        := -close_fd_mask=2 -rss_limit_mb=2560 -malloc_limit_mb=2048 -timeout=20 \
                    -print_final_stats=0
FUZZ_WEIGHTS     := $(abspath tests/fuzz/corpus/safetensors/tiny.safetensors)

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

$(FZ)/gen/onnx.pb-c.c: $(PROTO)
	@mkdir -p $(dir $@)
	protoc-c --c_out=$(dir $@) -I$(dir $(PROTO)) $(PROTO)
$(FZ)/gen/onnx.pb-c.h: $(FZ)/gen/onnx.pb-c.c

# resnetc info's table of runtime code sizes: the main build's
$(FZ)/gen/rt_code_sizes.h: $(B)/gen/rt_code_sizes.h
	@mkdir -p $(dir $@)
	cp $< $@
$(FZ)/obj/compiler/cli/info.o: $(FZ)/gen/rt_code_sizes.h

$(FZ)/obj/gen/onnx.pb-c.o: $(FZ)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -I$(FZ)/gen -c $< -o $@

$(FZ)/obj/%.o: %.c $(FZ)/gen/onnx.pb-c.h $(CC_HDRS) $(RT_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_CPPFLAGS) -c $< -o $@

$(FZ)/fuzz_npy: tests/fuzz/fuzz_npy.c tests/fuzz/fuzz_common.h $(DRV_SRCS) $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_CPPFLAGS) $< $(filter %.o,$^) $(LIBS) -o $@

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_CPPFLAGS) -DFUZZ_WEIGHTS='"$(FUZZ_WEIGHTS)"' -DFUZZ_ROOT='"$(CURDIR)"' \
		$< $(filter %.o,$^) $(LIBS) -o $@

# New inputs go to the first folder given (build/fuzz/...), never into
# tests/fuzz/: keep one by copying it to tests/fuzz/regress/NAME.
fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_NAMES); do \
		mkdir -p $(FZ)/corpus/$$f tests/fuzz/regress/$$f; \
		echo "fuzz_$$f: $(FUZZ_SECONDS) s"; \
		$(FZ)/fuzz_$$f $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) $(if $(filter-out 1,$(FUZZ_JOBS)),-fork=$(FUZZ_JOBS)) \
			-artifact_prefix=$(FZ)/crash-$$f- \
			$(FZ)/corpus/$$f tests/fuzz/corpus/$$f tests/fuzz/regress/$$f || exit 1; \
	done

fuzz-smoke: $(FUZZ_BINS)
	@for f in $(FUZZ_NAMES); do \
		rm -rf $(FZ)/smoke/$$f; mkdir -p $(FZ)/smoke/$$f tests/fuzz/regress/$$f; \
		start=$$(date +%s); \
		if ! $(FZ)/fuzz_$$f $(FUZZ_OPTS) -runs=$(FUZZ_SMOKE_RUNS) -max_total_time=30 \
			-artifact_prefix=$(FZ)/crash-$$f- \
			$(FZ)/smoke/$$f tests/fuzz/corpus/$$f tests/fuzz/regress/$$f >$(FZ)/smoke/$$f.log 2>&1; then \
			tail -n 60 $(FZ)/smoke/$$f.log; echo "fuzz-smoke: fuzz_$$f FAILED (log: $(FZ)/smoke/$$f.log)"; exit 1; \
		fi; \
		echo "fuzz-smoke: fuzz_$$f ok ($$(find tests/fuzz/corpus/$$f tests/fuzz/regress/$$f -type f | wc -l) inputs + $(FUZZ_SMOKE_RUNS) runs, $$(( $$(date +%s) - start )) s)"; \
	done
