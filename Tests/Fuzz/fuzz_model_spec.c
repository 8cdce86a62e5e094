/*
** Fuzz target: model-spec JSON (lamina_model_create). A spec that is accepted must give a
** model whose own spec (lamina_model_spec) is accepted again with the same dimensions, and
** a small model must predict and differentiate on a few samples without trouble.
*/
#include "fuzz_common.h"

/* Larger models are legal (up to LAMINA_MAX_PARAMETERS) but would make each run slow. */
#define FUZZ_EVAL_PARAMETERS 200000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = fuzz_cstring(data, size);
    lamina_model *m = NULL;
    lamina_status st = lamina_model_create(spec, &m);
    fuzz_check_status(st, "lamina_model_create");
    free(spec);
    if (st != LAMINA_OK) {
        if (m != NULL) abort(); /* a failed create leaves *out NULL */
        return 0;
    }
    size_t in = lamina_model_input_dim(m), out = lamina_model_output_dim(m);
    if (in == 0 || out == 0) abort();

    /* Round trip through the model's own spec. */
    size_t len = 0;
    fuzz_check_status(lamina_model_spec(m, NULL, 0, &len), "lamina_model_spec(size)");
    char *text = (char *)malloc(len + 1);
    if (text == NULL) abort();
    if (lamina_model_spec(m, text, len + 1, &len) != LAMINA_OK) abort();
    lamina_model *again = NULL;
    st = lamina_model_create(text, &again);
    if (st != LAMINA_OK) {
        fprintf(stderr, "model's own spec refused: %s\n%s\n", lamina_last_error(), text);
        abort();
    }
    if (lamina_model_input_dim(again) != in || lamina_model_output_dim(again) != out ||
        lamina_model_parameter_count(again) != lamina_model_parameter_count(m))
        abort();
    lamina_model_free(again);
    free(text);

    if (lamina_model_parameter_count(m) <= FUZZ_EVAL_PARAMETERS && in <= 4096 && out <= 4096) {
        enum { N = 3 };
        float *x = (float *)calloc(N * in, sizeof(float));
        float *y = (float *)malloc(N * out * sizeof(float));
        float *g = (float *)malloc(N * out * in * sizeof(float));
        if (x == NULL || y == NULL || g == NULL) abort();
        for (size_t i = 0; i < N * in; i++) x[i] = (float)((int)(i % 7) - 3) * 0.25f;
        fuzz_check_status(lamina_model_predict(m, x, N, y), "lamina_model_predict");
        fuzz_check_status(lamina_model_input_gradient(m, x, N, g), "lamina_model_input_gradient");
        free(x);
        free(y);
        free(g);
    }
    lamina_model_free(m);
    return 0;
}
