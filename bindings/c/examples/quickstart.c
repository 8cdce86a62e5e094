/*
** quickstart.c -- the smallest complete Lamina program.
**
** Learns y = 3*x1 - 2*x2 + 1 from 256 samples with a one-layer model, then predicts one point.
** Every call's status is checked; on failure the library's message is printed.
**
**   cc -std=c99 quickstart.c $(pkg-config --cflags --libs lamina) -o quickstart
*/
#include <lamina.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                          \
    do {                                                                                     \
        lamina_status s_ = (call);                                                           \
        if (s_ != LAMINA_OK) {                                                               \
            fprintf(stderr, "%s failed: %s: %s\n", #call, lamina_status_string(s_),          \
                    lamina_last_error());                                                    \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

#define N 256

int main(void)
{
    static float x[N * 2], y[N];
    const float query[2] = {0.5f, -0.5f}; /* 3*0.5 - 2*(-0.5) + 1 = 3.5 */
    float prediction, loss;
    lamina_model *model = NULL;
    lamina_trainer *trainer = NULL;
    unsigned seed = 1;
    int i;

    for (i = 0; i < N; i++) { /* x uniform in [-1, 1]^2 from a tiny LCG */
        seed = seed * 1103515245u + 12345u;
        x[2 * i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
        seed = seed * 1103515245u + 12345u;
        x[2 * i + 1] = (float)(seed >> 8) / 8388608.0f - 1.0f;
        y[i] = 3.0f * x[2 * i] - 2.0f * x[2 * i + 1] + 1.0f;
    }

    CHECK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}", &model));
    CHECK(lamina_trainer_create(model, "{\"optimizer\": \"adam\", \"learning_rate\": 0.05,"
                                       " \"batch_size\": 32, \"epochs\": 100}", &trainer));
    CHECK(lamina_trainer_fit(trainer, x, y, N, NULL, NULL, &loss));
    CHECK(lamina_model_predict(model, query, 1, &prediction));

    printf("lamina %s: final loss %.2e; f(0.5, -0.5) = %.4f (exact 3.5)\n", lamina_version(), loss,
           prediction);

    lamina_trainer_free(trainer);
    lamina_model_free(model);
    return fabsf(prediction - 3.5f) < 0.05f ? 0 : 1;
}
