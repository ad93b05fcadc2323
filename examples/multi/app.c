/*
 * Two compiled models in one program: the demo classifier built twice, as
 * `fast` (this machine's SIMD kernels, 4 threads) and as `small` (portable
 * C, one thread), the way a program ships one model per CPU it may meet
 * and picks one at run time. Each output folder's runtime is private to
 * its model (every symbol of libfast.a begins with fast_), so the two link
 * side by side. Both classify the same image (the first Fashion-MNIST test
 * image, an ankle boot) and must agree. Build: README.md, "Several models
 * in one program".
 */
#include <stdio.h>

#include "fast.h"
#include "small.h"
#include "../embed/image.h"

_Static_assert(FAST_INPUT_SIZE == SMALL_INPUT_SIZE && FAST_OUTPUT_SIZE == SMALL_OUTPUT_SIZE,
	       "compile examples/demo/demo.onnx as both fast and small");

static float input[FAST_INPUT_SIZE], a[FAST_OUTPUT_SIZE], b[SMALL_OUTPUT_SIZE];

static int best(const float *logits)
{
	int k = 0;
	for (int i = 1; i < FAST_OUTPUT_SIZE; i++)
		if (logits[i] > logits[k])
			k = i;
	return k;
}

int main(void)
{
	/* the preprocessing the model was trained with (examples/demo/README.md) */
	for (int i = 0; i < FAST_INPUT_SIZE; i++)
		input[i] = ((float)image[i] / 255.0f - 0.2860f) / 0.3530f;
	fast_set_threads(2); /* of its 4 */
	if (fast_run(input, a) != 0 || small_run(input, b) != 0)
		return 1;
	printf("fast: class %d, small: class %d\n", best(a), best(b));
	return best(a) != best(b);
}
