/*
** Fuzz target: trainer-config JSON (lamina_trainer_create) on a small model. The first byte
** picks the model (an MLP, a B-spline KAN or a tri-plane field, so family-specific keys
** such as learning_rates groups are reachable); the rest is the config. An accepted config
** must report its full config and survive a step and an evaluation on a small batch.
*/
#include "fuzz_common.h"

static const char *const k_models[] = {
    "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1, \"seed\": 1}",
    "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 3, \"seed\": 1}",
    "{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"triplane\", "
    "\"resolution\": 4, \"channels\": 2}, {\"type\": \"dense\", \"output\": 1}]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *spec = k_models[data[0] % 3];
    lamina_model *m = NULL;
    if (lamina_model_create(spec, &m) != LAMINA_OK) abort();
    char *config = fuzz_cstring(data + 1, size - 1);
    lamina_trainer *t = NULL;
    lamina_status st = lamina_trainer_create(m, config, &t);
    fuzz_check_status(st, "lamina_trainer_create");
    free(config);
    if (st == LAMINA_OK) {
        size_t len = 0;
        fuzz_check_status(lamina_trainer_config(t, NULL, 0, &len), "lamina_trainer_config");
        char *text = (char *)malloc(len + 1);
        if (text == NULL) abort();
        if (lamina_trainer_config(t, text, len + 1, &len) != LAMINA_OK) abort();
        lamina_trainer *again = NULL;
        if (lamina_trainer_create(m, text, &again) != LAMINA_OK) {
            fprintf(stderr, "trainer's own config refused: %s\n%s\n", lamina_last_error(), text);
            abort();
        }
        lamina_trainer_free(again);
        free(text);

        enum { N = 8 };
        size_t in = lamina_model_input_dim(m), out = lamina_model_output_dim(m);
        float x[N * 3], y[N], loss = 0;
        for (size_t i = 0; i < N * in; i++) x[i] = (float)((int)(i % 5) - 2) * 0.3f;
        for (size_t i = 0; i < N * out; i++) y[i] = (float)(i % 3) * 0.5f;
        fuzz_check_status(lamina_trainer_step(t, x, y, N, &loss), "lamina_trainer_step");
        fuzz_check_status(lamina_trainer_evaluate(t, x, y, N, &loss), "lamina_trainer_evaluate");
        lamina_trainer_free(t);
    } else if (t != NULL) {
        abort();
    }
    lamina_model_free(m);
    return 0;
}
