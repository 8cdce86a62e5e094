/*
** fit_mesh.c -- fit a tri-plane neural field to a triangle mesh and write the mesh back.
**
**   fit_mesh [input.obj|input.ply [output.obj|output.ply]]
**
** Reads a closed triangle mesh (without arguments: a capsule made by marching cubes on the
** analytic shape), draws training points uniformly in [-1, 1]^3 and near the surface with
** their exact signed distances, fits a 64 x 64 x 16 tri-plane field with a 64-wide ReLU
** decoder by Adam (planes at a 10x higher learning rate), reports progress, then extracts
** the field's zero level set by marching cubes and writes it (default fit_mesh_output.ply).
** The mesh must lie in [-1, 1]^3. LAMINA_EXAMPLE_QUICK=1 trains a few steps only.
**
**   cc -std=c99 fit_mesh.c $(pkg-config --cflags --libs lamina) -o fit_mesh
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
            goto done;                                                                       \
        }                                                                                    \
    } while (0)

static int report(const lamina_progress *p, void *user_data)
{
    (void)user_data;
    printf("  epoch %zu/%zu  step %zu/%zu  loss %.5f  (%.1f s)\n", p->epoch, p->epochs, p->step,
           p->steps, p->loss, p->elapsed_seconds);
    return 0; /* non-zero would stop training */
}

int main(int argc, char **argv)
{
    const int quick = getenv("LAMINA_EXAMPLE_QUICK") != NULL;
    const char *output = argc > 2 ? argv[2] : "fit_mesh_output.ply";
    const size_t samples = quick ? 4096 : 400000;
    const size_t mc_resolution = quick ? 16 : 128;
    char trainer_config[256];
    lamina_mesh *mesh = NULL, *result = NULL;
    lamina_model *field = NULL;
    lamina_trainer *trainer = NULL;
    float *points = NULL, *sdf = NULL, loss = NAN;
    int rc = 1;

    if (argc > 1) {
        CHECK(lamina_mesh_load(argv[1], &mesh));
    } else {
        CHECK(lamina_shape_mesh("{\"type\": \"capsule\", \"a\": [0, -0.4, 0], \"b\": [0, 0.4, 0],"
                                " \"radius\": 0.3}",
                                quick ? 24 : 160, NULL, &mesh));
    }
    printf("mesh: %zu vertices, %zu triangles\n", lamina_mesh_vertex_count(mesh),
           lamina_mesh_face_count(mesh));

    points = malloc(samples * 3 * sizeof *points);
    sdf = malloc(samples * sizeof *sdf);
    if (!points || !sdf) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    /* Half uniform in the box, half near the surface (Gaussian offsets), exact distances. */
    CHECK(lamina_mesh_sample_points(mesh, "{\"near_fraction\": 0.5, \"sigma\": 0.02, \"seed\": 1}",
                                    samples, points, sdf));

    CHECK(lamina_model_create("{\"kind\": \"triplane\", \"resolution\": 64, \"channels\": 16,"
                              " \"decoder\": {\"hidden\": [64], \"activation\": \"relu\"}}",
                              &field));
    snprintf(trainer_config, sizeof trainer_config,
             "{\"learning_rate\": 1e-3, \"learning_rates\": {\"planes\": 1e-2}, \"loss\": \"l1\","
             " \"batch_size\": %d, \"epochs\": %d}",
             quick ? 1024 : 16384, quick ? 1 : 40);
    CHECK(lamina_trainer_create(field, trainer_config, &trainer));
    CHECK(lamina_trainer_fit(trainer, points, sdf, samples, report, NULL, &loss));
    printf("final loss (mean |sdf error|): %.5f\n", loss);

    CHECK(lamina_model_extract_mesh(field, mc_resolution, 0.0f, NULL, &result));
    printf("reconstruction: %zu vertices, %zu triangles\n", lamina_mesh_vertex_count(result),
           lamina_mesh_face_count(result));
    CHECK(lamina_mesh_save(result, output));
    printf("wrote %s\n", output);
    rc = 0;

done:
    lamina_mesh_free(result);
    lamina_trainer_free(trainer);
    lamina_model_free(field);
    lamina_mesh_free(mesh);
    free(points);
    free(sdf);
    return rc;
}
