/*
** Fuzz target: the in-memory model loader (lamina_model_load_buffer on the input bytes, no
** file). A buffer that loads must give a usable model: it predicts on a few samples, and
** lamina_model_save_buffer gives bytes that load again into a model with the same tensors.
** The input is copied into an allocation of exactly its size, so a read past its end is an
** AddressSanitizer report.
*/
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
    if (copy == NULL) abort();
    if (size) memcpy(copy, data, size);
    lamina_model *m = NULL;
    lamina_status st = lamina_model_load_buffer(copy, size, &m);
    fuzz_check_status(st, "lamina_model_load_buffer");
    free(copy);
    if (st != LAMINA_OK) {
        if (m != NULL) abort();
        return 0;
    }
    fuzz_use_loaded_model(m);
    /* Save to memory (two-call pattern) and load it back. */
    size_t len = 0, again = 0;
    fuzz_check_status(lamina_model_save_buffer(m, NULL, 0, &len), "lamina_model_save_buffer");
    uint8_t *saved = (uint8_t *)malloc(len ? len : 1);
    if (saved == NULL) abort();
    if (lamina_model_save_buffer(m, saved, len, &again) != LAMINA_OK || again != len) abort();
    lamina_model *back = NULL;
    if (lamina_model_load_buffer(saved, len, &back) != LAMINA_OK) {
        fprintf(stderr, "a saved buffer does not load: %s\n", lamina_last_error());
        abort();
    }
    if (lamina_model_tensor_count(back) != lamina_model_tensor_count(m)) abort();
    free(saved);
    lamina_model_free(back);
    lamina_model_free(m);
    return 0;
}
