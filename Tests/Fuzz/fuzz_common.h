/*
** fuzz_common.h -- helpers shared by the libFuzzer harnesses in Tests/Fuzz.
**
** Each harness is one C file defining LLVMFuzzerTestOneInput; it is built with
** clang -fsanitize=fuzzer,address against liblamina built with ASan and libFuzzer coverage
** (see Tests/Fuzz/README.md and `make fuzz`). A harness only checks what must hold for ANY
** input: no crash, no leak, no hang, and a status that is a documented lamina_status with
** a non-empty lamina_last_error() on failure. Anything else is a bug to fix in the library.
*/
#ifndef LAMINA_FUZZ_COMMON_H
#define LAMINA_FUZZ_COMMON_H

#include "lamina.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A documented status must come back, and a failure must say why. */
static inline void fuzz_check_status(lamina_status st, const char *call)
{
    if (st == LAMINA_OK) return;
    if (st < LAMINA_OK || st > LAMINA_E_CANCELLED) {
        fprintf(stderr, "%s returned undocumented status %d\n", call, (int)st);
        abort();
    }
    const char *message = lamina_last_error();
    if (message == NULL || message[0] == '\0') {
        fprintf(stderr, "%s failed with %s but lamina_last_error() is empty\n", call,
                lamina_status_string(st));
        abort();
    }
}

/* A model the loader accepted must be usable: its dimensions are not 0, and a small one
** predicts on two samples (what the loader targets check of every model they load). */
static inline void fuzz_use_loaded_model(const lamina_model *m)
{
    size_t in = lamina_model_input_dim(m), out = lamina_model_output_dim(m);
    if (in == 0 || out == 0) abort();
    if (lamina_model_parameter_count(m) <= 200000 && in <= 4096 && out <= 4096) {
        float *x = (float *)calloc(2 * in, sizeof(float));
        float *y = (float *)malloc(2 * out * sizeof(float));
        if (x == NULL || y == NULL) abort();
        fuzz_check_status(lamina_model_predict(m, x, 2, y), "lamina_model_predict");
        free(x);
        free(y);
    }
}

/* The input as a NUL-terminated string (the ABI takes C strings); the caller frees it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *text = (char *)malloc(size + 1);
    if (text == NULL) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/*
** Write the input to a per-process scratch file with the given suffix (the loaders take
** paths and pick the format by extension) and return its path. The file is rewritten on
** every call and removed at exit.
*/
static char g_fuzz_path[4][256];
static int g_fuzz_path_count;

static inline void fuzz_remove_files(void)
{
    for (int i = 0; i < g_fuzz_path_count; i++) unlink(g_fuzz_path[i]);
}

static inline const char *fuzz_write_file(const uint8_t *data, size_t size, const char *suffix)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0') dir = "/tmp";
    int slot = -1;
    for (int i = 0; i < g_fuzz_path_count; i++) {
        const char *p = g_fuzz_path[i];
        size_t lp = strlen(p), ls = strlen(suffix);
        if (lp >= ls && strcmp(p + lp - ls, suffix) == 0) slot = i;
    }
    if (slot < 0) {
        if (g_fuzz_path_count == 4) abort();
        slot = g_fuzz_path_count++;
        snprintf(g_fuzz_path[slot], sizeof g_fuzz_path[slot], "%s/lamina-fuzz-%ld-%d%s", dir,
                 (long)getpid(), slot, suffix);
        if (slot == 0) atexit(fuzz_remove_files);
    }
    FILE *f = fopen(g_fuzz_path[slot], "wb");
    if (f == NULL) abort();
    if (size > 0 && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return g_fuzz_path[slot];
}

/* A cursor over the input for harnesses that decode it into choices. */
typedef struct {
    const uint8_t *data;
    size_t size, pos;
} fuzz_bytes;

static inline unsigned fuzz_u8(fuzz_bytes *b) { return b->pos < b->size ? b->data[b->pos++] : 0; }

static inline size_t fuzz_u16(fuzz_bytes *b)
{
    size_t lo = fuzz_u8(b);
    return lo | ((size_t)fuzz_u8(b) << 8);
}

/* A float from 4 input bytes: any bit pattern, NaN and Inf included. */
static inline float fuzz_float(fuzz_bytes *b)
{
    uint32_t bits = 0;
    for (int i = 0; i < 4; i++) bits |= (uint32_t)fuzz_u8(b) << (8 * i);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif
