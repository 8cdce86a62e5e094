/*
** test_fit_points_abi.c -- checks lamina_model_fit_points against what include/lamina.h
** promises: an oriented cloud on a sphere gives a signed distance (negative inside, zero on
** the cloud, gradients along the normals); the unsigned variant fits distances; the history
** rows (objective = the weighted sum of the columns, NaN for absent terms); the same bits
** from the same seed; cancellation keeping the completed rows; and errors that change nothing.
**
** Plain C99. Each CHECK is one assertion; the last line printed is "N passed, M failed"
** and the exit status is non-zero when M > 0.
*/
#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MLP "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [32, 32], \"output\": 1, " \
                  "\"activation\": {\"name\": \"softplus\", \"beta\": 100}, \"seed\": 4}"

#define FIELD_TRIPLANE "{\"kind\": \"triplane\", \"resolution\": 24, \"channels\": 8, " \
                       "\"decoder\": {\"hidden\": [32]}, \"seed\": 0}"

/* Small batches and space samples keep each fit well under a second. */
#define SMALL "\"surface_batch\": 512, \"space_batch\": 512, \"space_points\": 8000"

enum { CLOUD = 1500, WIDTH = 5 };
static const float RADIUS = 0.5f;

static uint64_t g_lcg = 0xD1B54A32D192ED03ULL;
static double unit(void)
{
    g_lcg = g_lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_lcg >> 40) / 16777216.0;
}

/* CLOUD points on the sphere of radius RADIUS about the origin and their outward normals. */
static void sphere_cloud(float *points, float *normals)
{
    for (int i = 0; i < CLOUD; i++) {
        double v[3], s = 0;
        do {
            s = 0;
            for (int a = 0; a < 3; a++) {
                v[a] = 2 * unit() - 1;
                s += v[a] * v[a];
            }
        } while (s > 1 || s < 1e-4);
        s = sqrt(s);
        for (int a = 0; a < 3; a++) {
            normals[3 * i + a] = (float)(v[a] / s);
            points[3 * i + a] = RADIUS * normals[3 * i + a];
        }
    }
}

static float *floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void test_oriented_sphere(const float *points, const float *normals)
{
    section("oriented sphere: a signed distance");
    lamina_model *m = MK(FIELD_MLP);
    enum { STEPS = 400 };
    float *history = floats(STEPS * WIDTH);
    size_t done = 0;
    CHECK_OK(lamina_model_fit_points(m, points, normals, CLOUD, "{\"steps\": 400, " SMALL "}",
                                     NULL, NULL, history, STEPS * WIDTH, &done));
    CHECK(done == STEPS, "steps_done %zu", done);
    /* Every row: objective = value + normal + 0.1 eikonal + far (the default weights). */
    int bad = 0;
    for (int s = 0; s < STEPS; s++) {
        const float *r = history + s * WIDTH;
        double sum = (double)r[1] + r[2] + 0.1 * r[3] + r[4];
        bad += !(fabs(sum - r[0]) <= 1e-4 * (1 + fabs(r[0])));
    }
    CHECK(bad == 0, "%d rows whose objective is not the weighted sum of their terms", bad);
    CHECK(history[(STEPS - 1) * WIDTH] < 0.2f * history[0], "objective %g -> %g", history[0],
          history[(STEPS - 1) * WIDTH]);

    /* The field: about 0 on the cloud, -R at the centre, > 0 outside, normals along grad f. */
    float centre[3] = {0, 0, 0}, outside[3] = {0.9f, 0, 0}, f[1];
    CHECK_OK(lamina_model_predict(m, centre, 1, f));
    CHECK(f[0] < -0.25f, "f(centre) = %g, expected about %g", f[0], -RADIUS);
    CHECK_OK(lamina_model_predict(m, outside, 1, f));
    CHECK(f[0] > 0.2f, "f(0.9, 0, 0) = %g, expected about 0.4", f[0]);
    enum { Q = 200 };
    float *values = floats(Q), *grads = floats(3 * Q);
    CHECK_OK(lamina_model_predict(m, points, Q, values));
    CHECK_OK(lamina_model_input_gradient(m, points, Q, grads));
    double abs_sum = 0, cos_sum = 0;
    for (int i = 0; i < Q; i++) {
        double dot = 0, len = 0;
        for (int a = 0; a < 3; a++) {
            dot += grads[3 * i + a] * normals[3 * i + a];
            len += grads[3 * i + a] * grads[3 * i + a];
        }
        abs_sum += fabs(values[i]);
        cos_sum += dot / (sqrt(len) + 1e-12);
    }
    CHECK(abs_sum / Q < 0.03, "mean |f| on the cloud %g", abs_sum / Q);
    CHECK(cos_sum / Q > 0.97, "mean cosine of grad f and the normal %g", cos_sum / Q);

    /* The same seed gives the same bits. */
    lamina_model *again = MK(FIELD_MLP);
    float *history2 = floats(STEPS * WIDTH);
    CHECK_OK(lamina_model_fit_points(again, points, normals, CLOUD, "{\"steps\": 400, " SMALL "}",
                                     NULL, NULL, history2, STEPS * WIDTH, NULL));
    CHECK(same_tensors(m, again), "two fits with the same options differ");
    CHECK(memcmp(history, history2, STEPS * WIDTH * sizeof *history) == 0, "histories differ");
    free(values), free(grads), free(history), free(history2);
    lamina_model_free(again);
    lamina_model_free(m);
}

static void test_columns(const float *points, const float *normals)
{
    section("history columns");
    lamina_model *m = MK(FIELD_MLP);
    float history[3 * WIDTH];
    /* No far-field term: column 4 is NaN. */
    CHECK_OK(lamina_model_fit_points(m, points, normals, CLOUD,
                                     "{\"steps\": 3, \"far_weight\": 0, \"normal_metric\": \"cosine\", "
                                     "\"eikonal_weight\": 2, " SMALL "}",
                                     NULL, NULL, history, 3 * WIDTH, NULL));
    for (int s = 0; s < 3; s++) {
        const float *r = history + s * WIDTH;
        CHECK(isnan(r[4]) && !isnan(r[1]) && !isnan(r[2]) && !isnan(r[3]), "row %d: %g %g %g %g", s,
              r[1], r[2], r[3], r[4]);
        CHECK(fabsf(r[1] + r[2] + 2 * r[3] - r[0]) <= 1e-4f * (1 + fabsf(r[0])), "row %d total", s);
        CHECK(r[2] >= 0 && r[2] <= 2, "cosine loss %g outside [0, 2]", r[2]);
    }
    /* No normals: the value and eikonal columns only. */
    CHECK_OK(lamina_model_fit_points(m, points, NULL, CLOUD, "{\"steps\": 3, " SMALL "}", NULL, NULL,
                                     history, 3 * WIDTH, NULL));
    for (int s = 0; s < 3; s++) {
        const float *r = history + s * WIDTH;
        CHECK(!isnan(r[1]) && isnan(r[2]) && !isnan(r[3]) && isnan(r[4]), "row %d: %g %g %g %g", s,
              r[1], r[2], r[3], r[4]);
    }
    lamina_model_free(m);
}

static void test_unsigned(const float *points)
{
    section("unsigned distance (a tri-plane field)");
    lamina_model *m = MK(FIELD_TRIPLANE);
    CHECK_OK(lamina_model_fit_points(m, points, NULL, CLOUD, "{\"steps\": 300, " SMALL "}", NULL,
                                     NULL, NULL, 0, NULL));
    /* Against the exact distance to the cloud at random queries within 0.2 of it, where
    ** the near points train it. */
    enum { Q = 600 };
    float q[3 * Q], want[Q], got[Q];
    for (int i = 0; i < 3 * Q; i++) q[i] = (float)(2 * unit() - 1);
    CHECK_OK(lamina_point_cloud_distance(points, CLOUD, q, Q, want, NULL));
    CHECK_OK(lamina_model_predict(m, q, Q, got));
    double err = 0;
    int near = 0;
    for (int i = 0; i < Q; i++)
        if (want[i] < 0.2f) err += fabs(got[i] - want[i]), near++;
    CHECK(near > 50 && err / near < 0.03, "mean |f - distance| %g over %d queries", err / near, near);
    lamina_model_free(m);
}

static int stop_at_five(const lamina_progress *p, void *user)
{
    (*(int *)user)++;
    return p->step >= 5;
}

static void test_cancel(const float *points, const float *normals)
{
    section("cancellation");
    lamina_model *m = MK(FIELD_MLP);
    float history[20 * WIDTH];
    for (int i = 0; i < 20 * WIDTH; i++) history[i] = -1;
    size_t done = 99;
    int calls = 0;
    CHECK_ST(lamina_model_fit_points(m, points, normals, CLOUD,
                                     "{\"steps\": 20, \"progress_every\": 1, " SMALL "}", stop_at_five,
                                     &calls, history, 20 * WIDTH, &done),
             LAMINA_E_CANCELLED);
    CHECK(done == 5 && calls == 5, "steps_done %zu after %d calls", done, calls);
    CHECK(history[4 * WIDTH] > 0 && history[5 * WIDTH] == -1, "rows past the cancelled step written");
    lamina_model_free(m);
}

static void test_errors(const float *points, float *normals)
{
    section("errors change nothing");
    lamina_model *m = MK(FIELD_MLP);
    lamina_model *pristine = MK(FIELD_MLP);
    float history[2 * WIDTH];
    size_t done = 7;
    CHECK_ST(lamina_model_fit_points(NULL, points, normals, CLOUD, NULL, NULL, NULL, NULL, 0, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_points(m, NULL, normals, CLOUD, NULL, NULL, NULL, NULL, 0, &done),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(done == 0, "steps_done %zu after a refused call", done);
    CHECK_ST(lamina_model_fit_points(m, points, normals, 0, NULL, NULL, NULL, NULL, 0, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_points(m, points, normals, SIZE_MAX, NULL, NULL, NULL, NULL, 0, NULL),
             LAMINA_E_OUT_OF_MEMORY);
    CHECK_ST(lamina_model_fit_points(m, points, normals, CLOUD, "{\"stepz\": 3}", NULL, NULL, NULL, 0,
                                     NULL),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(strstr(lamina_last_error(), "stepz") && strstr(lamina_last_error(), "eikonal_weight"),
          "message: %s", lamina_last_error());
    static const char *refused[] = {
        "{\"batch_size\": 64}", "{\"epochs\": 2}", "{\"loss\": \"mse\"}", "{\"optimizer\": \"lbfgs\"}",
        "{\"normal_metric\": \"dot\"}", "{\"eikonal_weight\": -1}", "{\"space_points\": 0}",
        "{\"steps\": 0}", "{\"sigma\": \"wide\"}", "{\"bounds\": [1, -1]}", "[1]", "{"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK_ST(lamina_model_fit_points(m, points, normals, CLOUD, refused[i], NULL, NULL, NULL, 0,
                                         NULL),
                 LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_fit_points(m, points, normals, CLOUD, "{\"steps\": 3}", NULL, NULL, history,
                                     3 * WIDTH - 1, NULL),
             LAMINA_E_INVALID_ARGUMENT);
    float saved = normals[7];
    normals[7] = NAN;
    CHECK_ST(lamina_model_fit_points(m, points, normals, CLOUD, NULL, NULL, NULL, NULL, 0, NULL),
             LAMINA_E_NUMERIC);
    CHECK(strstr(lamina_last_error(), "normal 2") != NULL, "message: %s", lamina_last_error());
    normals[7] = saved;
    lamina_model *plane = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [8], \"output\": 1}");
    CHECK_ST(lamina_model_fit_points(plane, points, normals, CLOUD, NULL, NULL, NULL, NULL, 0, NULL),
             LAMINA_E_SHAPE);
    /* A layer without derivative passes: an RBF KAN with normalize. */
    lamina_model *kan =
        MK("{\"kind\": \"kan\", \"widths\": [3, 2, 1], \"basis\": \"rbf\", \"normalize\": true}");
    CHECK_ST(lamina_model_fit_points(kan, points, normals, CLOUD, "{\"steps\": 2}", NULL, NULL, NULL,
                                     0, NULL),
             LAMINA_E_UNSUPPORTED);
    CHECK(same_tensors(m, pristine), "a refused call changed the model");
    lamina_model_free(kan);
    lamina_model_free(plane);
    lamina_model_free(pristine);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    float *points = floats(3 * CLOUD), *normals = floats(3 * CLOUD);
    sphere_cloud(points, normals);
    test_oriented_sphere(points, normals);
    test_columns(points, normals);
    test_unsigned(points);
    test_cancel(points, normals);
    test_errors(points, normals);
    free(points), free(normals);
    return check_summary();
}
