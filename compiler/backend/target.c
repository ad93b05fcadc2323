#include "target.h"

#include <string.h>

/* -march=native is resolved by the generated Makefile, which falls back to
 * plain -O2 when the compiler (a cross compiler, say) does not know it. */
const Target targets[] = {
	{"native", "-O2 $(NATIVE)", "", "what the build machine's compiler reports (default)", 0},
	{"x86-64", "-O2 -march=x86-64-v3", "", "x86-64 with AVX2 and FMA", 0},
	{"x86-64-avx512", "-O2 -march=x86-64-v4", "", "x86-64 with AVX-512", 0},
	{"x86-64-vnni", "-O2 -march=x86-64-v4 -mavx512vnni -mavx512vbmi -mavx512vbmi2", "",
	 "x86-64 with AVX-512, VNNI, VBMI and VBMI2 (Ice Lake, Zen 4 and later): the int8 kernels' vpdpbusd", 0},
	{"aarch64", "-O2", "aarch64-linux-gnu-gcc", "64-bit ARM with NEON", 0},
	{"armv7", "-O2 -march=armv7-a -mfpu=neon -mfloat-abi=hard", "arm-linux-gnueabihf-gcc", "32-bit ARM with NEON/VFP", 1},
	{"riscv64", "-O2", "riscv64-linux-gnu-gcc", "64-bit RISC-V (portable C kernels)", 0},
	{"generic", "-O2 -DRN_GENERIC", "", "portable C kernels only, any C11 compiler", 0},
};
const int n_targets = sizeof targets / sizeof targets[0];

const Target *target_find(const char *name)
{
	for (int i = 0; i < n_targets; i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}
