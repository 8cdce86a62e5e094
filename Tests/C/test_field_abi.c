/*
** test_field_abi.c -- checks the field calls of liblamina (lamina_model_slice,
** lamina_model_extract_mesh, lamina_model_triplane_upsample), the tri-plane model kind and
** the trainer keys for fields (learning_rates, truncation, plane_tv, plane_l2,
** loss "unsigned_distance") against what include/lamina.h promises.
*/
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const char *FIELD =
    "{\"kind\": \"triplane\", \"resolution\": 16, \"channels\": 4, \"seed\": 3,"
    " \"decoder\": {\"hidden\": [16], \"activation\": \"relu\"}}";

/* A 3-input linear model f = w . p + b, to check layouts against closed forms. */
static lamina_model *linear_field(float wx, float wy, float wz, float b)
{
    lamina_model *m = NULL;
    const float w[3] = {wx, wy, wz};
    if (lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"output\": 1}", &m) != LAMINA_OK)
        return NULL;
    lamina_model_tensor_write(m, "0.weight", w, 3);
    lamina_model_tensor_write(m, "0.bias", &b, 1);
    return m;
}

static void test_triplane_kind(void)
{
    lamina_model *m = NULL, *up = NULL;
    char spec[4096];
    size_t len = 0, rank = 0, shape[4] = {0};
    float p[6] = {0.1f, -0.2f, 0.3f, 0.9f, 0.5f, -0.7f}, y[2], y2[2];
    section("triplane kind");
    CHECK_OK(lamina_model_create(FIELD, &m));
    CHECK(lamina_model_input_dim(m) == 3, "input_dim %zu", lamina_model_input_dim(m));
    CHECK(lamina_model_output_dim(m) == 1, "output_dim %zu", lamina_model_output_dim(m));
    CHECK_OK(lamina_model_tensor_shape(m, "0.planes", shape, 4, &rank));
    CHECK(rank == 4 && shape[0] == 3 && shape[1] == 4 && shape[2] == 16 && shape[3] == 16,
          "planes shape rank %zu [%zu %zu %zu %zu]", rank, shape[0], shape[1], shape[2], shape[3]);
    CHECK_OK(lamina_model_spec(m, spec, sizeof spec, &len));
    CHECK(strstr(spec, "\"align_corners\":true") || strstr(spec, "\"align_corners\": true"),
          "full spec lists align_corners: %s", spec);
    CHECK_OK(lamina_model_predict(m, p, 2, y));

    /* Upsampling R -> 2R - 1 keeps the field (align_corners is the default). */
    CHECK_OK(lamina_model_triplane_upsample(m, 31, &up));
    CHECK_OK(lamina_model_tensor_shape(up, "0.planes", shape, 4, &rank));
    CHECK(shape[2] == 31 && shape[3] == 31, "upsampled to %zu", shape[2]);
    CHECK_OK(lamina_model_predict(up, p, 2, y2));
    CHECK(fabsf(y[0] - y2[0]) < 1e-5f && fabsf(y[1] - y2[1]) < 1e-5f, "field changed: %g %g vs %g %g",
          y[0], y[1], y2[0], y2[1]);
    lamina_model_free(up);
    up = NULL;
    CHECK_ST(lamina_model_triplane_upsample(m, 1, &up), LAMINA_E_INVALID_ARGUMENT);
    CHECK(up == NULL, "out cleared on failure");
    CHECK_ST(lamina_model_triplane_upsample(m, (size_t)-1, &up), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_triplane_upsample(NULL, 31, &up), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_triplane_upsample(m, 31, NULL), LAMINA_E_INVALID_ARGUMENT);
    {
        lamina_model *mlp = linear_field(1, 0, 0, 0);
        CHECK_ST(lamina_model_triplane_upsample(mlp, 31, &up), LAMINA_E_INVALID_ARGUMENT);
        lamina_model_free(mlp);
    }

    /* Bad specs. */
    CHECK_ST(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 1}", &up),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"triplane\", \"aggregation\": \"max\"}", &up),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"triplane\", \"planes\": 3}", &up),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 4096, \"channels\": 4096}",
                                 &up),
             LAMINA_E_OUT_OF_MEMORY);
    lamina_model_free(m);

    /* Several fields: the first column is the field index, validated before any work. */
    CHECK_OK(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 2,"
                                 " \"fields\": 3}",
                                 &m));
    CHECK(lamina_model_input_dim(m) == 4, "input_dim %zu with fields", lamina_model_input_dim(m));
    {
        float good[4] = {2, 0.1f, 0.2f, 0.3f}, bad[4] = {3, 0.1f, 0.2f, 0.3f},
              half[4] = {0.5f, 0, 0, 0};
        CHECK_OK(lamina_model_predict(m, good, 1, y));
        CHECK_ST(lamina_model_predict(m, bad, 1, y), LAMINA_E_INVALID_ARGUMENT);
        CHECK_ST(lamina_model_predict(m, half, 1, y), LAMINA_E_INVALID_ARGUMENT);
    }
    lamina_model_free(m);
}

static void test_slice(void)
{
    lamina_model *m = linear_field(1, 10, 100, 0), *field = NULL;
    float out[9], box[6] = {0, 0, 0, 1, 2, 4}, bad_box[6] = {0, 0, 0, 1, -1, 1};
    section("slice");
    /* z = 0.5 over [-1, 1]^2: rows follow y, columns x. */
    CHECK_OK(lamina_model_slice(m, 2, 0.5f, 3, NULL, out));
    CHECK(fabsf(out[0] - (-1 - 10 + 50)) < 1e-4f, "corner %g", out[0]);
    CHECK(fabsf(out[1] - (0 - 10 + 50)) < 1e-4f, "column 1 is x = 0: %g", out[1]);
    CHECK(fabsf(out[3] - (-1 + 0 + 50)) < 1e-4f, "row 1 is y = 0: %g", out[3]);
    /* Explicit bounds: y = 1 slice over x in [0, 1], z in [0, 4]; rows follow z. */
    CHECK_OK(lamina_model_slice(m, 1, 1.0f, 2, box, out));
    CHECK(fabsf(out[3] - (1 + 10 + 400)) < 1e-3f, "far corner %g", out[3]);
    CHECK_ST(lamina_model_slice(m, 3, 0, 3, NULL, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_slice(m, 0, NAN, 3, NULL, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_slice(m, 0, 0, 0, NULL, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_slice(m, 0, 0, 100000, NULL, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_slice(m, 0, 0, 3, bad_box, out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_slice(m, 0, 0, 3, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_slice(NULL, 0, 0, 3, NULL, out), LAMINA_E_INVALID_ARGUMENT);
    {
        lamina_model *two = NULL;
        lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}", &two);
        CHECK_ST(lamina_model_slice(two, 0, 0, 3, NULL, out), LAMINA_E_SHAPE);
        lamina_model_free(two);
    }
    /* A tri-plane field's own box is its default: outside [-2, 2]^3 a slice at x = 1.5 still
    ** reads the planes (zeros padding would give the decoder's constant beyond the box). */
    CHECK_OK(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 2,"
                                 " \"bounds\": [-2, 2], \"init_std\": 1}",
                                 &field));
    {
        float s[4], p[3] = {1.5f, 2.0f, 2.0f}, y;
        CHECK_OK(lamina_model_slice(field, 0, 1.5f, 2, NULL, s));
        CHECK_OK(lamina_model_predict(field, p, 1, &y));
        /* Equal up to the last bits: results may depend on the batch size (see predict). */
        CHECK(fabsf(s[3] - y) <= 1e-6f * (1 + fabsf(y)), "slice corner (y = z = 2) %g vs predict %g",
              s[3], y);
    }
    lamina_model_free(field);
    lamina_model_free(m);
}

static void test_extract_mesh(void)
{
    lamina_model *plane = linear_field(0, 0, 1, -0.25f);
    lamina_mesh *mesh = NULL;
    size_t nv = 0, nf = 0, nn = 0, i;
    float *v, *n;
    section("extract mesh");
    CHECK_OK(lamina_model_extract_mesh(plane, 9, 0.0f, NULL, &mesh));
    CHECK_OK(lamina_mesh_vertices(mesh, NULL, 0, &nv));
    CHECK_OK(lamina_mesh_faces(mesh, NULL, 0, &nf));
    CHECK_OK(lamina_mesh_normals(mesh, NULL, 0, &nn));
    CHECK(nf == 3 * 2 * 8 * 8, "faces %zu", nf / 3);
    CHECK(nn == nv, "a normal per vertex: %zu vs %zu", nn, nv);
    v = malloc(nv * sizeof *v);
    n = malloc(nn * sizeof *n);
    CHECK_OK(lamina_mesh_vertices(mesh, v, nv, &nv));
    CHECK_OK(lamina_mesh_normals(mesh, n, nn, &nn));
    for (i = 0; i < nv / 3; i++) {
        if (fabsf(v[3 * i + 2] - 0.25f) > 1e-5f || fabsf(n[3 * i + 2] - 1) > 1e-5f) break;
    }
    CHECK(i == nv / 3, "vertex %zu off the plane z = 0.25 or normal not +z", i);
    free(v);
    free(n);
    lamina_mesh_free(mesh);
    mesh = NULL;
    {
        float level_box[6] = {-1, -1, 0.5f, 1, 1, 1};
        /* The plane z = 0.25 is outside a box starting at z = 0.5: an empty mesh. */
        CHECK_OK(lamina_model_extract_mesh(plane, 8, 0.0f, level_box, &mesh));
        CHECK(lamina_mesh_face_count(mesh) == 0, "faces %zu", lamina_mesh_face_count(mesh));
        lamina_mesh_free(mesh);
        mesh = NULL;
    }
    CHECK_ST(lamina_model_extract_mesh(plane, 1, 0, NULL, &mesh), LAMINA_E_INVALID_ARGUMENT);
    CHECK(mesh == NULL, "out cleared");
    CHECK_ST(lamina_model_extract_mesh(plane, 5000, 0, NULL, &mesh), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_extract_mesh(plane, 8, NAN, NULL, &mesh), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_extract_mesh(plane, 8, 0, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_extract_mesh(NULL, 8, 0, NULL, &mesh), LAMINA_E_INVALID_ARGUMENT);
    lamina_model_free(plane);
}

static void test_trainer_keys(void)
{
    lamina_model *m = NULL, *mlp = linear_field(1, 1, 1, 0);
    lamina_trainer *t = NULL;
    char config[2048];
    size_t len = 0;
    float x[12] = {0.1f, 0.2f, 0.3f, -0.5f, 0.4f, 0.0f, 0.9f, -0.9f, 0.2f, 0.0f, 0.0f, 0.0f};
    float y[4] = {0.2f, -0.1f, 0.3f, -0.2f}, loss = NAN;
    section("trainer keys for fields");
    CHECK_OK(lamina_model_create(FIELD, &m));
    CHECK_OK(lamina_trainer_create(m,
                                   "{\"learning_rates\": {\"planes\": 0.01}, \"loss\": \"l1\","
                                   " \"truncation\": 0.1, \"plane_tv\": 0.1, \"plane_l2\": 0.01}",
                                   &t));
    CHECK_OK(lamina_trainer_config(t, config, sizeof config, &len));
    CHECK(strstr(config, "\"planes\"") && strstr(config, "\"truncation\"") &&
              strstr(config, "\"plane_tv\""),
          "full config: %s", config);
    CHECK_OK(lamina_trainer_step(t, x, y, 4, &loss));
    CHECK(isfinite(loss) && loss > 0, "loss %g", loss);
    lamina_trainer_free(t);
    t = NULL;
    CHECK_OK(lamina_trainer_create(m, "{\"loss\": \"unsigned_distance\"}", &t));
    CHECK_OK(lamina_trainer_step(t, x, y, 4, &loss));
    lamina_trainer_free(t);
    t = NULL;
    CHECK_ST(lamina_trainer_create(m, "{\"learning_rates\": {\"nothing\": 0.01}}", &t),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_create(m, "{\"learning_rates\": {\"planes\": -1}}", &t),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_create(m, "{\"truncation\": -1}", &t), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_create(m, "{\"optimizer\": \"lbfgs\", \"learning_rates\": {\"planes\": 1}}",
                                   &t),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_trainer_create(mlp, "{\"plane_tv\": 0.1}", &t), LAMINA_E_UNSUPPORTED);
    CHECK(t == NULL, "no trainer on failure");
    lamina_model_free(mlp);
    lamina_model_free(m);
}

int main(void)
{
    check_init();
    test_triplane_kind();
    test_slice();
    test_extract_mesh();
    test_trainer_keys();
    return check_summary();
}
