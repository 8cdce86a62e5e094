/*
** Fuzz target: sequences of ABI calls. The input is decoded into calls on two model slots,
** one trainer and a scratch file: create (from one of a few specs), free, clone, predict,
** input gradient, tensor read/write/shape, spec, trainer create/step/evaluate/fit/free,
** save and load, input derivatives, vector-Jacobian products (model and trainer step), and
** loss terms made, given points and stepped. Sizes are taken from the input (0 included) and any pointer the header
** lets be NULL (or whose NULL is a documented error) is sometimes NULL. Buffers are always
** as large as the header asks: lying about a buffer's size is the caller's bug, not ours.
*/
#include "fuzz_common.h"

static const char *const k_specs[] = {
    "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1, \"seed\": 1}",
    "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [5, 5], \"output\": 2, \"activation\": \"prelu\"}",
    "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"grid\": 3, \"seed\": 2}",
    "{\"kind\": \"kan\", \"widths\": [1, 2], \"basis\": \"chebyshev\", \"degree\": 3}",
    "{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"triplane\", "
    "\"resolution\": 4, \"channels\": 2}, {\"type\": \"dense\", \"output\": 1}]}",
};
#define N_SPECS (sizeof k_specs / sizeof k_specs[0])

static const char *const k_configs[] = {
    "{}",
    "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"momentum\": 0.9, \"epochs\": 2, "
    "\"batch_size\": 3}",
    "{\"optimizer\": \"adam\", \"learning_rate\": 1e30, \"clip_norm\": 1}",
    "{\"optimizer\": \"lbfgs\", \"max_iter\": 3, \"epochs\": 1}",
    "{\"loss\": \"l1\", \"epochs\": 2, \"validation_split\": 0.5}",
};
#define N_CONFIGS (sizeof k_configs / sizeof k_configs[0])

#define MAX_N 6

/* A progress callback that cancels when the input says so. */
static int maybe_cancel(const struct lamina_progress *progress, void *user)
{
    (void)progress;
    return *(unsigned *)user & 1;
}

static float *fill(fuzz_bytes *b, float *buf, size_t count)
{
    for (size_t i = 0; i < count; i++) buf[i] = (fuzz_u8(b) & 3) == 3 ? fuzz_float(b)
                                                                     : (float)fuzz_u8(b) / 64.0f - 2.0f;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes b = {data, size, 0};
    lamina_model *slot[2] = {NULL, NULL};
    lamina_trainer *trainer = NULL;
    static const uint8_t empty = 0;
    const char *path = fuzz_write_file(&empty, 0, ".safetensors");
    /* Inputs up to MAX_N samples of up to 3 features, outputs up to 2, Jacobian 2 x 3. */
    float x[MAX_N * 3], y[MAX_N * 2], g[MAX_N * 6], h[MAX_N * 6], t[4096];
    char text[4096];
    size_t len = 0;

    for (int steps = 0; steps < 64 && b.pos < b.size; steps++) {
        unsigned op = fuzz_u8(&b) % 20, s = fuzz_u8(&b);
        lamina_model **m = &slot[s & 1];
        int null = (s & 0x70) == 0x70; /* one call in eight passes a NULL pointer */
        size_t n = fuzz_u8(&b) % (MAX_N + 1);
        size_t in = lamina_model_input_dim(*m);
        lamina_status st = LAMINA_OK;
        switch (op) {
        case 0:
            lamina_model_free(*m);
            *m = NULL;
            st = lamina_model_create(null ? NULL : k_specs[(s >> 1) % N_SPECS], null ? NULL : m);
            break;
        case 1:
            lamina_model_free(*m);
            *m = NULL;
            break;
        case 2: {
            lamina_model *copy = NULL;
            st = lamina_model_clone(*m, null ? NULL : &copy);
            if (st == LAMINA_OK) {
                lamina_model_free(slot[!(s & 1)]);
                slot[!(s & 1)] = copy;
            }
            break;
        }
        case 3:
            st = lamina_model_predict(*m, null ? NULL : fill(&b, x, n * in), n, y);
            break;
        case 4:
            st = lamina_model_input_gradient(*m, fill(&b, x, n * in), n, null ? NULL : g);
            break;
        case 5:
        case 6: {
            size_t count = lamina_model_tensor_count(*m);
            size_t index = count ? fuzz_u8(&b) % count : fuzz_u8(&b);
            char name[256];
            st = lamina_model_tensor_name(*m, index, name, sizeof name, &len);
            if (st != LAMINA_OK) break;
            size_t shape[8], rank = 0, total = 1;
            st = lamina_model_tensor_shape(*m, name, shape, 8, &rank);
            if (st != LAMINA_OK) abort();
            for (size_t r = 0; r < rank; r++) total *= shape[r];
            if (total > sizeof t / sizeof t[0]) break;
            size_t count2 = (fuzz_u8(&b) & 7) == 0 ? fuzz_u8(&b) % (total + 1) : total;
            if (op == 5)
                st = lamina_model_tensor_read(*m, null ? NULL : name, t, count2);
            else
                st = lamina_model_tensor_write(*m, name, null ? NULL : fill(&b, t, count2), count2);
            break;
        }
        case 7:
            st = lamina_model_spec(*m, null ? NULL : text, fuzz_u16(&b) % sizeof text, &len);
            break;
        case 8:
            lamina_trainer_free(trainer);
            trainer = NULL;
            st = lamina_trainer_create(*m, k_configs[(s >> 1) % N_CONFIGS], null ? NULL : &trainer);
            break;
        case 9:
            lamina_trainer_free(trainer);
            trainer = NULL;
            break;
        case 10:
        case 11: {
            /* The trainer's model may be either slot or already freed: use its dimensions
               through a spec probe is not possible, so size buffers for the largest model. */
            fill(&b, x, n * 3);
            fill(&b, y, n * 2);
            float loss = 0;
            if (op == 10)
                st = lamina_trainer_step(trainer, x, null ? NULL : y, n, &loss);
            else
                st = lamina_trainer_evaluate(trainer, x, y, n, null ? NULL : &loss);
            break;
        }
        case 12: {
            fill(&b, x, n * 3);
            fill(&b, y, n * 2);
            unsigned cancel = s >> 4;
            st = lamina_trainer_fit(trainer, x, y, n, null ? NULL : maybe_cancel, &cancel, NULL);
            break;
        }
        case 13:
            st = lamina_model_save(*m, null ? NULL : path);
            break;
        case 14: {
            lamina_model *loaded = NULL;
            st = lamina_model_load(null ? NULL : path, &loaded);
            if (st == LAMINA_OK) {
                lamina_model_free(*m);
                *m = loaded;
            }
            break;
        }
        case 16:
            st = lamina_model_input_derivatives(*m, null ? NULL : fill(&b, x, n * in), n, (s & 2) ? y : NULL,
                                                (s & 4) ? g : NULL, (s & 8) ? h : NULL);
            break;
        case 17:
            fill(&b, x, n * 3);
            st = lamina_model_vjp(*m, x, n, null ? NULL : fill(&b, y, n * 2), (s & 2) ? NULL : g);
            break;
        case 18: {
            float penalty = 0;
            fill(&b, x, n * 3);
            st = lamina_trainer_step_vjp(trainer, x, null ? NULL : fill(&b, y, n * 2), n, &penalty);
            break;
        }
        case 19: {
            /* Terms for this slot's model (any widths), stepped by the trainer (maybe another
               model's: a shape error). */
            static const char *const k_terms[] = {
                "[{\"loss\": \"value\"}, {\"loss\": \"eikonal\", \"batch_size\": 2}]",
                "[{\"loss\": \"laplacian\", \"c\": 1, \"a\": 0.5}]",
                "[{\"loss\": \"normal\", \"metric\": \"l2\", \"weight\": 0.1}]",
            };
            lamina_loss_terms *terms = NULL;
            st = lamina_loss_terms_create(*m, k_terms[(s >> 1) % 3], null ? NULL : &terms);
            if (st == LAMINA_OK) {
                size_t out = lamina_model_output_dim(*m), count = (s & 2) ? n * out : n * in;
                fill(&b, x, n * 3);
                fill(&b, g, count);
                lamina_loss_terms_set_points(terms, 0, x, n, g, count);
                float losses[4], loss = 0;
                st = lamina_trainer_step_terms(trainer, terms, losses, 4, &loss);
            }
            lamina_loss_terms_free(terms);
            break;
        }
        case 15: {
            size_t shape[8], rank = 0;
            st = lamina_model_tensor_shape(*m, (s & 2) ? "0.weight" : "0.coef", null ? NULL : shape,
                                           fuzz_u8(&b) % 9, &rank);
            break;
        }
        }
        fuzz_check_status(st, "call in sequence");
    }
    lamina_trainer_free(trainer);
    lamina_model_free(slot[0]);
    lamina_model_free(slot[1]);
    return 0;
}
