/*
 * safetensors bytes -> tensors: st_parse on a copy of the input (it takes
 * ownership), then every tensor looked up by name and, for floating-point
 * ones, converted to float32, as the YAML front end does with weights.
 */
#include "fuzz_common.h"

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = xmalloc(size ? size : 1);
	if (size)
		memcpy(buf, data, size);
	StFile f;
	Diag d = {{0}};
	if (st_parse(&f, buf, size, &d) != 0) {
		fz_check_message(d.msg);
		st_free(&f);
		return 0;
	}
	for (int i = 0; i < f.n; i++) {
		StTensor *t = &f.t[i];
		if (st_find(&f, t->name) == NULL)
			abort();
		uint64_t n = (t->end - t->begin) / (uint64_t)t->elem;
		float *out = xmalloc((size_t)(n ? n : 1) * sizeof *out);
		if (st_read_f32(&f, t, out, &d) != 0)
			fz_check_message(d.msg);
		free(out);
	}
	st_free(&f);
	return 0;
}
