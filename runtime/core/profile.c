/* The profiling hook generated code calls around each layer (see
 * runtime.h). NULL unless a profiler (the driver's --profile) sets it. */
#include "resnetc/runtime.h"

void (*rn_profile_hook)(int layer, int end);
