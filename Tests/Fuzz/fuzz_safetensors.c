/*
** Fuzz target: the safetensors model loader (lamina_model_load on a scratch file holding the
** input). A file that loads must give a usable model: it predicts on a few samples, and
** saving and loading it again gives a model with the same tensors.
*/
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(data, size, ".safetensors");
    lamina_model *m = NULL;
    lamina_status st = lamina_model_load(path, &m);
    fuzz_check_status(st, "lamina_model_load");
    if (st != LAMINA_OK) {
        if (m != NULL) abort();
        return 0;
    }
    fuzz_use_loaded_model(m);
    /* Save over the input file and load it back. */
    fuzz_check_status(lamina_model_save(m, path), "lamina_model_save");
    lamina_model *again = NULL;
    if (lamina_model_load(path, &again) != LAMINA_OK) {
        fprintf(stderr, "a saved model does not load: %s\n", lamina_last_error());
        abort();
    }
    if (lamina_model_tensor_count(again) != lamina_model_tensor_count(m)) abort();
    lamina_model_free(again);
    lamina_model_free(m);
    return 0;
}
