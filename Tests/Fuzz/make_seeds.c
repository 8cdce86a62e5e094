/*
** make_seeds -- writes the seed corpora for the fuzz targets from real inputs: the specs,
** configs and shapes the header and the C tests use, models saved by the library, meshes
** written by it (OBJ and binary PLY) and an ASCII PLY. Usage: make_seeds <corpus-dir>;
** writes <dir>/<target>/seed-N. Seeds are regenerated on every `make fuzz`; the files a
** fuzz run adds beside them are kept (they are what makes the next run start further).
*/
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *g_dir;

static void put(const char *target, int index, const void *prefix, size_t plen,
                const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, target);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/seed-%d", g_dir, target, index);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(prefix, 1, plen, f) != plen || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) exit(1);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(*len + 1);
    if (p == NULL || fread(p, 1, *len, f) != *len) exit(1);
    fclose(f);
    return p;
}

static const char *const k_specs[] = {
    "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2, \"activation\": \"tanh\"}",
    "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1, \"activation\": "
    "[{\"name\": \"leaky_relu\", \"negative_slope\": 0.1}], \"init\": \"xavier_normal\", \"seed\": 3}",
    "{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4, 4], \"output\": 1, \"activation\": \"prelu\"}",
    "{\"kind\": \"kan\", \"widths\": [2, 5, 1], \"basis\": \"bspline\", \"grid\": 5, \"order\": 3}",
    "{\"kind\": \"kan\", \"widths\": [2, 3, 1], \"basis\": [\"bspline\", {\"name\": \"chebyshev\", "
    "\"degree\": 8}]}",
    "{\"kind\": \"kan\", \"widths\": [2, 2], \"basis\": \"fourier\", \"grid\": 3}",
    "{\"kind\": \"kan\", \"widths\": [2, 2], \"basis\": \"rbf\", \"grid\": 4, "
    "\"normalize\": true}",
    "{\"kind\": \"kan\", \"widths\": [4, 2], \"basis\": \"rational\", \"groups\": 2}",
    "{\"kind\": \"kan\", \"widths\": [2, 2], \"basis\": \"mixed\"}",
    "{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 2, \"aggregation\": \"sum\", "
    "\"decoder\": {\"hidden\": [4], \"activation\": \"relu\"}, \"output\": 1}",
    "{\"kind\": \"triplane\", \"resolution\": [2, 4], \"channels\": 2, \"decoder\": {\"kind\": "
    "\"kan\", \"hidden\": [2]}}",
    "{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"triplane\", \"resolution\": 4, "
    "\"channels\": 2}, {\"type\": \"dense\", \"output\": 4}, {\"type\": \"activation\", \"name\": "
    "\"relu\"}, {\"type\": \"kan\", \"output\": 1, \"basis\": \"chebyshev\"}]}",
};

static const char *const k_configs[] = {
    "{}",
    "{\"optimizer\": \"adam\", \"learning_rate\": 0.01, \"epochs\": 3, \"batch_size\": 4}",
    "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"momentum\": 0.9, \"nesterov\": true, "
    "\"weight_decay\": 0.001, \"clip_norm\": 1}",
    "{\"optimizer\": \"lbfgs\", \"max_iter\": 5, \"line_search\": \"strong_wolfe\"}",
    "{\"loss\": \"huber\", \"schedule\": \"cosine\", \"validation_split\": 0.25, "
    "\"patience\": 2}",
    "{\"loss\": \"l1\", \"schedule\": \"step\", \"lamb\": 0.01, \"lamb_l1\": 1, \"lamb_entropy\": 2}",
    "{\"learning_rates\": {\"planes\": 0.1}}",
};

static const char *const k_shapes[] = {
    "{\"type\": \"sphere\", \"radius\": 0.5, \"center\": [0, 0, 0]}",
    "{\"type\": \"box\", \"half_extents\": [0.5, 0.5, 0.5], \"rounding\": 0.1}",
    "{\"type\": \"torus\", \"major\": 0.5, \"minor\": 0.2}",
    "{\"type\": \"capsule\", \"a\": [0, -0.5, 0], \"b\": [0, 0.5, 0], \"radius\": 0.2}",
    "{\"type\": \"cylinder\", \"radius\": 0.3, \"height\": 1, \"capped\": true}",
    "{\"type\": \"cylinder\", \"radius\": 0.3, \"capped\": false}",
    "{\"type\": \"difference\", \"shapes\": [{\"type\": \"box\"}, {\"type\": \"union\", \"shapes\": "
    "[{\"type\": \"sphere\", \"radius\": 0.6}, {\"type\": \"intersection\", \"shapes\": "
    "[{\"type\": \"torus\"}]}]}]}",
};

static const char k_ascii_ply[] =
    "ply\nformat ascii 1.0\ncomment made by make_seeds\nelement vertex 4\nproperty float x\n"
    "property float y\nproperty double z\nproperty uchar red\nelement face 2\n"
    "property list uchar int vertex_indices\nend_header\n0 0 0 1\n1 0 0 2\n0 1 0 3\n0 0 1 4\n"
    "3 0 1 2\n4 0 1 2 3\n";

static const char k_obj[] = "# made by make_seeds\nv 0 0 0\nv 1 0 0\nv 0 1 0 1.0\nv 0 0 1\n"
                            "vn 0 0 1\nvt 0.5 0.5\nf 1/1/1 2//1 3\nf -1 -2 -3 -4\no x\ng y\n"
                            "s off\nusemtl m\n";

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds <corpus-dir>\n");
        return 2;
    }
    g_dir = argv[1];
    mkdir(g_dir, 0777);
    char path[1024];
    int n = 0;
    size_t len;

    for (size_t i = 0; i < sizeof k_specs / sizeof *k_specs; i++) {
        put("model_spec", (int)i, "", 0, k_specs[i], strlen(k_specs[i]));
        lamina_model *m = NULL;
        if (lamina_model_create(k_specs[i], &m) != LAMINA_OK) {
            fprintf(stderr, "make_seeds: spec %zu refused: %s\n", i, lamina_last_error());
            return 1;
        }
        snprintf(path, sizeof path, "%s/tmp.safetensors", g_dir);
        if (lamina_model_save(m, path) != LAMINA_OK) return 1;
        void *bytes = slurp(path, &len);
        put("safetensors", (int)i, "", 0, bytes, len);
        put("model_buffer", (int)i, "", 0, bytes, len); /* the same bytes, loaded from memory */
        free(bytes);
        remove(path);
        lamina_model_free(m);
    }
    for (size_t i = 0; i < sizeof k_configs / sizeof *k_configs; i++)
        for (unsigned char model = 0; model < 3; model++)
            put("trainer_config", n++, &model, 1, k_configs[i], strlen(k_configs[i]));
    for (size_t i = 0; i < sizeof k_shapes / sizeof *k_shapes; i++)
        put("shape", (int)i, "", 0, k_shapes[i], strlen(k_shapes[i]));

    const unsigned char obj = 0, ply = 1;
    put("mesh", 0, &obj, 1, k_obj, strlen(k_obj));
    put("mesh", 1, &ply, 1, k_ascii_ply, strlen(k_ascii_ply));
    lamina_mesh *mesh = NULL;
    if (lamina_shape_mesh(k_shapes[2], 5, NULL, &mesh) != LAMINA_OK) return 1;
    const char *suffix[2] = {"obj", "ply"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/tmp.%s", g_dir, suffix[k]);
        if (lamina_mesh_save(mesh, path) != LAMINA_OK) return 1;
        void *bytes = slurp(path, &len);
        unsigned char which = (unsigned char)k;
        put("mesh", 2 + k, &which, 1, bytes, len);
        free(bytes);
        remove(path);
    }
    lamina_mesh_free(mesh);

    /* ABI sequences: a few hand-made ones (op, slot, n, ...) and pseudo-random ones. */
    const unsigned char seq0[] = {0, 0, 3, 3, 0, 2, 4, 0, 2, 8, 0, 1, 10, 0, 4, 13, 0, 0, 14, 1, 0, 3, 1, 1};
    const unsigned char seq1[] = {0, 4, 0, 8, 2, 0, 12, 0, 5, 5, 0, 0, 0, 6, 0, 0, 1, 7, 0, 0, 200, 0};
    put("abi_sequence", 0, "", 0, seq0, sizeof seq0);
    put("abi_sequence", 1, "", 0, seq1, sizeof seq1);
    unsigned state = 12345;
    for (int s = 2; s < 8; s++) {
        unsigned char buf[192];
        for (size_t i = 0; i < sizeof buf; i++) {
            state = state * 1103515245u + 12345u;
            buf[i] = (unsigned char)(state >> 16);
        }
        put("abi_sequence", s, "", 0, buf, sizeof buf);
    }
    return 0;
}
