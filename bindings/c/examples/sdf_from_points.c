/*
** sdf_from_points.c -- a signed distance field from points and normals alone.
**
** Samples 400 points and their normals on a sphere of radius 0.5 and trains an MLP on three
** loss terms, IGR's recipe, with no distances given: the field is 0 at the surface points,
** its gradient is aligned with the normals there, and its gradient has unit length at
** points all over the box (eikonal). Prints the objective as it goes, then the field at a
** few points against the true distance |p| - 0.5, and exits non-zero if they are off.
**
**   cc -std=c99 sdf_from_points.c $(pkg-config --cflags --libs lamina) -lm -o sdf_from_points
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

#define SURFACE 400
#define SPACE 1000
#define STEPS 300

static unsigned g_seed = 7;
static float uniform(void) /* in [-1, 1) from a tiny LCG */
{
    g_seed = g_seed * 1103515245u + 12345u;
    return (float)(g_seed >> 8) / 8388608.0f - 1.0f;
}

static int report(const lamina_progress *p, void *user)
{
    (void)user;
    if (p->step % 100 == 0) printf("step %3zu of %zu: objective %.5f\n", p->step, p->steps, p->loss);
    return 0;
}

int main(void)
{
    static float surface[SURFACE * 3], normals[SURFACE * 3], zeros[SURFACE], space[SPACE * 3];
    static const float probes[4 * 3] = {0.8f, 0, 0, 0, -0.3f, 0, 0.2f, 0.2f, 0.2f, 0, 0, 0.65f};
    float values[4], worst = 0;
    lamina_model *model = NULL;
    lamina_trainer *trainer = NULL;
    lamina_loss_terms *terms = NULL;
    int i, d;

    for (i = 0; i < SURFACE; i++) {
        float v[3], r = 0;
        for (d = 0; d < 3; d++) {
            v[d] = uniform();
            r += v[d] * v[d];
        }
        r = sqrtf(r);
        for (d = 0; d < 3; d++) {
            normals[3 * i + d] = v[d] / r;
            surface[3 * i + d] = 0.5f * v[d] / r;
        }
        zeros[i] = 0;
    }
    for (i = 0; i < SPACE * 3; i++) space[i] = uniform();

    CHECK(lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [32, 32], \"output\": 1,"
                              " \"activation\": {\"name\": \"softplus\", \"beta\": 10}, \"seed\": 1}",
                              &model));
    CHECK(lamina_trainer_create(model, "{\"learning_rate\": 0.005}", &trainer));
    CHECK(lamina_loss_terms_create(model,
                                   "[{\"loss\": \"value\", \"weight\": 10},"
                                   " {\"loss\": \"normal\"},"
                                   " {\"loss\": \"eikonal\", \"batch_size\": 256}]",
                                   &terms));
    CHECK(lamina_loss_terms_set_points(terms, 0, surface, SURFACE, zeros, SURFACE));
    CHECK(lamina_loss_terms_set_points(terms, 1, surface, SURFACE, normals, SURFACE * 3));
    CHECK(lamina_loss_terms_set_points(terms, 2, space, SPACE, NULL, 0));
    CHECK(lamina_trainer_fit_terms(trainer, terms, STEPS, NULL, report, NULL, NULL, 0, NULL));

    CHECK(lamina_model_predict(model, probes, 4, values));
    for (i = 0; i < 4; i++) {
        const float *p = probes + 3 * i;
        float exact = sqrtf(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]) - 0.5f;
        printf("f(%5.2f, %5.2f, %5.2f) = %7.4f   true distance %7.4f\n", p[0], p[1], p[2],
               values[i], exact);
        if (fabsf(values[i] - exact) > worst) worst = fabsf(values[i] - exact);
    }
    lamina_loss_terms_free(terms);
    lamina_trainer_free(trainer);
    lamina_model_free(model);
    return worst < 0.08f ? 0 : 1;
}
