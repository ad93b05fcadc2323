/*
 * embed: the demo model (examples/demo/demo.onnx, a Fashion-MNIST
 * classifier) inside a program of its own. The model code, libdemo.a, is
 * built -ffreestanding: it calls nothing but libm, does no I/O and
 * allocates nothing. This program classifies the 28x28 image compiled
 * into it, writes the class with write(2) and returns it as the exit
 * status. Build: see README.md.
 */
#define _POSIX_C_SOURCE 200809L /* write */
#include <unistd.h>

#include "demo.h"
#include "image.h"

_Static_assert(DEMO_INPUT_SIZE == 28 * 28 && DEMO_OUTPUT_SIZE == 10,
	       "compile examples/demo/demo.onnx with --name demo");

static const char *const class_names[10] = {
	"T-shirt/top", "trouser", "pullover", "dress", "coat",
	"sandal", "shirt", "sneaker", "bag", "ankle boot",
};

static float input[DEMO_INPUT_SIZE];
static float logits[DEMO_OUTPUT_SIZE];

int main(void)
{
	/* the preprocessing the model was trained with (examples/demo/README.md) */
	for (int i = 0; i < DEMO_INPUT_SIZE; i++)
		input[i] = ((float)image[i] / 255.0f - 0.2860f) / 0.3530f;
	if (demo_run(input, logits) != 0)
		return 255;
	int best = 0;
	for (int i = 1; i < DEMO_OUTPUT_SIZE; i++)
		if (logits[i] > logits[best])
			best = i;

	char line[32] = "class ";
	int n = 6;
	line[n++] = (char)('0' + best);
	line[n++] = ' ';
	for (const char *s = class_names[best]; *s; s++)
		line[n++] = *s;
	line[n++] = '\n';
	if (write(1, line, (size_t)n) != n)
		return 255;
	return best;
}
