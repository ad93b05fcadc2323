/*
 * classify: the bundled demo end to end. Runs the resnetc-compiled Fashion-MNIST
 * classifier (demo.onnx compiled with --name demo) over the test set and prints
 * its top-1 accuracy and throughput.
 *
 *   classify t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
 *
 * The files are the uncompressed idx files of Debian's dataset-fashion-mnist
 * (gzip -dc /usr/share/datasets/fashion-mnist/t10k-*.gz). Build:
 *
 *   resnetc compile demo.onnx -o out --name demo && make -C out
 *   cc -O2 -I out classify.c out/libdemo.a -lm
 *
 * Prints "accuracy=PP.PP% (CORRECT/TOTAL) images_per_second=R" on success.
 * Exit status 0 ok, 1 bad data or a failed demo_run, 2 bad usage.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"

enum { ROWS = 28, COLS = 28, PIXELS = ROWS * COLS, CLASSES = 10 };

/* Fashion-MNIST training-set statistics of pixel / 255, as in train.py. */
#define PIXEL_MEAN 0.2860f
#define PIXEL_STD 0.3530f

#define IDX_MAGIC_LABELS 0x00000801u /* unsigned byte data, 1 dimension */
#define IDX_MAGIC_IMAGES 0x00000803u /* unsigned byte data, 3 dimensions */

_Static_assert(DEMO_INPUT_SIZE == PIXELS, "demo.onnx should take one 1x1x28x28 image");
_Static_assert(DEMO_OUTPUT_SIZE == CLASSES, "demo.onnx should give 10 logits");

static float input[PIXELS];
static float logits[CLASSES];

static void die(const char *path, const char *what)
{
    fprintf(stderr, "classify: error: %s: %s\n", path, what);
    exit(1);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Reads a whole idx file, checks its magic number, that the dimensions after
 * the first are `dims` and that the file holds exactly the bytes the header
 * announces. Returns the data and stores the item count (first dimension).
 */
static unsigned char *read_idx(const char *path, uint32_t magic, int ndims,
                               const uint32_t *dims, uint32_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0)
        die(path, strerror(errno));
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        die(path, strerror(errno));
    size_t header = 4 + 4 * (size_t)ndims;
    if ((size_t)size < header)
        die(path, "too short for an idx header (is it still gzipped?)");
    unsigned char *buf = malloc((size_t)size);
    if (!buf)
        die(path, "out of memory");
    if (fread(buf, 1, (size_t)size, f) != (size_t)size)
        die(path, "read error");
    fclose(f);

    uint32_t got = be32(buf);
    if (got != magic) {
        char msg[128];
        snprintf(msg, sizeof msg, "idx magic number 0x%08x, expected 0x%08x%s", (unsigned)got,
                 (unsigned)magic, got >> 16 == 0x1f8b ? " (the file is gzipped: gzip -dc it)" : "");
        die(path, msg);
    }
    *count = be32(buf + 4);
    uint64_t items = *count;
    for (int i = 1; i < ndims; i++) {
        uint32_t d = be32(buf + 4 + 4 * i);
        if (d != dims[i - 1]) {
            char msg[128];
            snprintf(msg, sizeof msg, "dimension %d is %u, expected %u", i, (unsigned)d,
                     (unsigned)dims[i - 1]);
            die(path, msg);
        }
        items *= d;
    }
    if ((uint64_t)size - header != items) {
        char msg[160];
        snprintf(msg, sizeof msg, "header announces %llu data bytes, file has %llu",
                 (unsigned long long)items, (unsigned long long)((uint64_t)size - header));
        die(path, msg);
    }
    return buf + header; /* not freed: lives until exit */
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IMAGES-idx3-ubyte LABELS-idx1-ubyte\n", argv[0]);
        return 2;
    }
    static const uint32_t image_dims[] = {ROWS, COLS};
    uint32_t n_images, n_labels;
    const unsigned char *images = read_idx(argv[1], IDX_MAGIC_IMAGES, 3, image_dims, &n_images);
    const unsigned char *labels = read_idx(argv[2], IDX_MAGIC_LABELS, 1, NULL, &n_labels);
    if (n_images != n_labels) {
        fprintf(stderr, "classify: error: %s has %u images but %s has %u labels\n", argv[1],
                (unsigned)n_images, argv[2], (unsigned)n_labels);
        return 1;
    }
    if (n_images == 0)
        die(argv[1], "no images");

    uint32_t correct = 0;
    double run_seconds = 0.0;
    for (uint32_t n = 0; n < n_images; n++) {
        if (labels[n] >= CLASSES)
            die(argv[2], "label out of range 0..9");
        /* Same float32 operations, in the same order, as normalize() in train.py. */
        const unsigned char *img = images + (size_t)n * PIXELS;
        for (int i = 0; i < PIXELS; i++)
            input[i] = ((float)img[i] / 255.0f - PIXEL_MEAN) / PIXEL_STD;

        double t0 = now_seconds();
        int status = demo_run(input, logits);
        run_seconds += now_seconds() - t0;
        if (status != 0) {
            fprintf(stderr, "classify: error: demo_run failed with status %d on image %u\n", status,
                    (unsigned)n);
            return 1;
        }

        int best = 0; /* first maximum, like numpy/torch argmax */
        for (int c = 1; c < CLASSES; c++)
            if (logits[c] > logits[best])
                best = c;
        correct += best == labels[n];
    }

    printf("accuracy=%.2f%% (%u/%u) images_per_second=%.1f\n", 100.0 * correct / n_images,
           (unsigned)correct, (unsigned)n_images, n_images / run_seconds);
    return 0;
}
