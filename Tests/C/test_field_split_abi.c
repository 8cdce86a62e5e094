/*
** test_field_split_abi.c -- lamina_model_field_split and lamina_model_field_stack against what
** include/lamina.h promises:
** - split of a 3-field model (shared MLP decoder, multi-resolution planes with concat and
**   Fourier features, a shared KAN decoder): each part has 3 inputs, fields 1 and
**   decoder_per_field false in its full spec, field k's planes, and predicts at (x, y, z)
**   bit for bit what the model predicts at (k, x, y, z), inside and outside the box;
** - split of per-field decoders: the parts' dense tensors are the exact slices, predictions
**   agree to float rounding;
** - split -> save -> load predicts the same bits, with the same spec;
** - stacking the split parts (shared / per_field as the model was) gives back the model's
**   full spec, tensors and predictions bit for bit; stacking independently created models
**   (per_field, and shared after copying one decoder into the other) keeps each model's
**   predictions in its field;
** - every refusal: NULL arguments, field >= fields, an MLP, a sequential model with a
**   tri-plane layer (LAMINA_E_UNSUPPORTED), count 0 or over the field limit, NULL entries,
**   many-field entries, a differing spec key (named with the model), a KAN decoder with
**   "per_field", decoders that differ with "shared", bad options.
*/
#define _XOPEN_SOURCE 700

#include "check.h"
#include "model_helpers.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define NP 300

/* The scratch directory (mkdtemp) and a path in it. */
static char g_dir[64];
static const char *P(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    return path;
}

static float g_pts[NP * 3];

/* Points in [-1.2, 1.2]^3: inside the box and a little outside (zeros padding fades there). */
static void make_points(void)
{
    uint32_t s = 12345u;
    int i;
    for (i = 0; i < NP * 3; i++) {
        s = s * 1664525u + 1013904223u;
        g_pts[i] = ((float)(s >> 8) / 16777216.0f) * 2.4f - 1.2f;
    }
}

/* The model's predictions at (k, p) for every point (one output per point). */
static void predict_field(const lamina_model *m, size_t k, float *y)
{
    static float rows[NP * 4];
    int i;
    for (i = 0; i < NP; i++) {
        rows[4 * i] = (float)k;
        memcpy(rows + 4 * i + 1, g_pts + 3 * i, 3 * sizeof(float));
    }
    CHECK_OK(lamina_model_predict(m, rows, NP, y));
}

static int contains(const char *text, const char *part) { return text && strstr(text, part); }

/* Stacks the 3 parts of `m` with `options` and checks the result is `m` again: the same full
** spec, tensors and predictions, bit for bit. */
static void stack_gives_back(const lamina_model *m, lamina_model *const *parts, const char *options)
{
    lamina_model *back = NULL;
    float want[NP], got[NP];
    size_t k;
    CHECK_OK(lamina_model_field_stack((const lamina_model *const *)parts, 3, options, &back));
    if (back) {
        char *a = spec_of(m), *b = spec_of(back);
        CHECK(a && b && strcmp(a, b) == 0, "stacked spec %s vs %s", b, a);
        CHECK(same_tensors(m, back), "stacked tensors differ");
        for (k = 0; k < 3; k++) {
            predict_field(m, k, want);
            predict_field(back, k, got);
            CHECK(memcmp(want, got, sizeof want) == 0, "stacked field %zu differs", k);
        }
        free(a);
        free(b);
    }
    lamina_model_free(back);
}

/* Splits a 3-field shared-decoder model, checks every part bit for bit, then stacks them. */
static void split_shared(const char *spec)
{
    lamina_model *m = MK(spec), *parts[3] = {NULL, NULL, NULL};
    float want[NP], got[NP];
    size_t k;
    if (!m) return;
    for (k = 0; k < 3; k++) {
        char *s;
        CHECK_OK(lamina_model_field_split(m, k, &parts[k]));
        if (!parts[k]) continue;
        CHECK(lamina_model_input_dim(parts[k]) == 3, "input %zu", lamina_model_input_dim(parts[k]));
        s = spec_of(parts[k]);
        CHECK(contains(s, "\"fields\": 1") && contains(s, "\"decoder_per_field\": false"), "spec %s", s);
        free(s);
        predict_field(m, k, want);
        CHECK_OK(lamina_model_predict(parts[k], g_pts, NP, got));
        CHECK(memcmp(want, got, sizeof want) == 0, "field %zu: predictions differ", k);
    }
    stack_gives_back(m, parts, "{\"decoder\": \"shared\"}");
    for (k = 0; k < 3; k++) lamina_model_free(parts[k]);
    lamina_model_free(m);
}

static void test_split_shared(void)
{
    section("split: shared MLP decoder");
    split_shared("{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 8, \"fields\": 3,"
                 " \"decoder\": {\"hidden\": [16, 16]}, \"init_std\": 0.5, \"seed\": 3}");
    section("split: multi-resolution, concat, Fourier, border padding");
    split_shared("{\"kind\": \"triplane\", \"resolution\": [6, 12], \"channels\": 4,"
                 " \"aggregation\": \"concat\", \"fourier\": 2, \"padding\": \"border\","
                 " \"align_corners\": false, \"bounds\": [-1.5, 1.5], \"fields\": 3,"
                 " \"decoder\": {\"hidden\": [32], \"activation\": \"tanh\"}, \"output\": 1,"
                 " \"init_std\": 0.3, \"seed\": 7}");
    section("split: shared KAN decoder");
    split_shared("{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 4, \"fields\": 3,"
                 " \"decoder\": {\"kind\": \"kan\", \"hidden\": [5], \"grid\": 4}, \"init_std\": 0.5,"
                 " \"seed\": 2}");
}

static void test_split_per_field(void)
{
    lamina_model *m, *parts[3] = {NULL, NULL, NULL};
    float want[NP], got[NP];
    size_t k, i;
    section("split: per-field decoders");
    m = MK("{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 8, \"fields\": 3,"
           " \"decoder\": {\"hidden\": [16]}, \"decoder_per_field\": true, \"init_std\": 0.5,"
           " \"seed\": 5}");
    if (!m) return;
    for (k = 0; k < 3; k++) {
        size_t nw = 0, nb = 0, pw = 0;
        float *w, *wk, *planes, *pk;
        double worst = 0;
        CHECK_OK(lamina_model_field_split(m, k, &parts[k]));
        if (!parts[k]) continue;
        /* Stage 0's slice k is the part's "1.weight"; the planes are rows 3k..3k+2. */
        w = read_tensor(m, "1.0.weight", &nw);
        wk = read_tensor(parts[k], "1.weight", &nb);
        CHECK(w && wk && nw == 3 * nb && memcmp(w + k * nb, wk, nb * sizeof *wk) == 0,
              "field %zu: decoder slice", k);
        planes = read_tensor(m, "0.planes", &nw);
        pk = read_tensor(parts[k], "0.planes", &pw);
        CHECK(planes && pk && nw == 3 * pw && memcmp(planes + k * pw, pk, pw * sizeof *pk) == 0,
              "field %zu: planes slice", k);
        free(w);
        free(wk);
        free(planes);
        free(pk);
        predict_field(m, k, want);
        CHECK_OK(lamina_model_predict(parts[k], g_pts, NP, got));
        for (i = 0; i < NP; i++) {
            double d = fabs((double)want[i] - got[i]) / (1 + fabs((double)want[i]));
            if (d > worst) worst = d;
        }
        CHECK(worst < 1e-6, "field %zu: relative difference %g", k, worst);
    }
    section("stack: per-field parts give the model back bit for bit");
    stack_gives_back(m, parts, NULL);
    for (k = 0; k < 3; k++) lamina_model_free(parts[k]);
    lamina_model_free(m);
}

static void test_save_load(void)
{
    lamina_model *m, *part = NULL, *loaded = NULL;
    float want[NP], got[NP];
    section("split -> save -> load");
    m = MK("{\"kind\": \"triplane\", \"resolution\": [8, 4], \"channels\": 8, \"fields\": 4,"
           " \"decoder\": {\"hidden\": [16]}, \"init_std\": 0.5, \"seed\": 9}");
    if (!m) return;
    CHECK_OK(lamina_model_field_split(m, 3, &part));
    if (part) {
        CHECK_OK(lamina_model_save(part, P("part.safetensors")));
        CHECK_OK(lamina_model_load(P("part.safetensors"), &loaded));
    }
    if (loaded) {
        char *a = spec_of(part), *b = spec_of(loaded);
        CHECK(a && b && strcmp(a, b) == 0, "loaded spec %s vs %s", b, a);
        CHECK(same_tensors(part, loaded), "loaded tensors differ");
        predict_field(m, 3, want);
        CHECK_OK(lamina_model_predict(loaded, g_pts, NP, got));
        CHECK(memcmp(want, got, sizeof want) == 0, "loaded part predicts other bits");
        free(a);
        free(b);
    }
    remove(P("part.safetensors"));
    lamina_model_free(loaded);
    lamina_model_free(part);
    lamina_model_free(m);
}

static void test_stack_independent(void)
{
    const char *a_spec = "{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 8,"
                         " \"decoder\": {\"hidden\": [16]}, \"init_std\": 0.5, \"seed\": 1}";
    const char *b_spec = "{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 8,"
                         " \"decoder\": {\"hidden\": [16]}, \"init_std\": 0.5, \"seed\": 2}";
    lamina_model *a = MK(a_spec), *b = MK(b_spec), *out = NULL;
    const lamina_model *both[2];
    float want[NP], got[NP];
    const char *names[] = {"1.weight", "1.bias", "3.weight", "3.bias"};
    size_t i, k;
    double worst = 0;
    section("stack: independently created models");
    if (!a || !b) goto done;
    both[0] = a;
    both[1] = b;
    CHECK_OK(lamina_model_field_stack(both, 2, "{}", &out));
    if (out) {
        char *s = spec_of(out);
        CHECK(contains(s, "\"fields\": 2") && contains(s, "\"decoder_per_field\": true") &&
                  contains(s, "\"seed\": 1"),
              "spec %s", s);
        free(s);
        for (k = 0; k < 2; k++) {
            predict_field(out, k, want);
            CHECK_OK(lamina_model_predict(both[k], g_pts, NP, got));
            for (i = 0; i < NP; i++) {
                double d = fabs((double)want[i] - got[i]) / (1 + fabs((double)want[i]));
                if (d > worst) worst = d;
            }
        }
        CHECK(worst < 1e-6, "per-field stack: relative difference %g", worst);
    }
    lamina_model_free(out);
    out = NULL;

    section("stack: shared needs the same decoder");
    CHECK_ST(lamina_model_field_stack(both, 2, "{\"decoder\": \"shared\"}", &out),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "model 1"), "message: %s", lamina_last_error());
    CHECK(out == NULL, "out is cleared");
    for (i = 0; i < 4; i++) {
        size_t n = 0;
        float *v = read_tensor(a, names[i], &n);
        CHECK(v && lamina_model_tensor_write(b, names[i], v, n) == LAMINA_OK, "copy %s", names[i]);
        free(v);
    }
    CHECK_OK(lamina_model_field_stack(both, 2, "{\"decoder\": \"shared\"}", &out));
    if (out) {
        for (k = 0; k < 2; k++) {
            predict_field(out, k, want);
            CHECK_OK(lamina_model_predict(both[k], g_pts, NP, got));
            CHECK(memcmp(want, got, sizeof want) == 0, "shared stack field %zu differs", k);
        }
    }
    lamina_model_free(out);
    out = NULL;
    /* The same model twice is fine (both reads). */
    both[1] = a;
    CHECK_OK(lamina_model_field_stack(both, 2, "{\"decoder\": \"shared\"}", &out));
    lamina_model_free(out);
done:
    lamina_model_free(a);
    lamina_model_free(b);
}

static void test_refusals(void)
{
    lamina_model *many = MK("{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 2, \"fields\": 3,"
                            " \"decoder\": {\"hidden\": [4]}}");
    lamina_model *one = MK("{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 2,"
                           " \"decoder\": {\"hidden\": [4]}}");
    lamina_model *wide = MK("{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 3,"
                            " \"decoder\": {\"hidden\": [4]}}");
    lamina_model *kan = MK("{\"kind\": \"triplane\", \"resolution\": 4, \"channels\": 2,"
                           " \"decoder\": {\"kind\": \"kan\", \"hidden\": [3]}}");
    lamina_model *mlp = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [4], \"output\": 1}");
    lamina_model *seq = MK("{\"kind\": \"sequential\", \"input\": 4, \"layers\": [{\"type\": \"triplane\","
                           " \"resolution\": 4, \"channels\": 2, \"fields\": 2},"
                           " {\"type\": \"dense\", \"output\": 1}]}");
    lamina_model *out = NULL;
    const lamina_model *list[3];
    section("split: refusals");
    if (!many || !one || !wide || !kan || !mlp || !seq) goto done;
    CHECK_ST(lamina_model_field_split(NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_split(many, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_split(many, 3, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "out of range"), "message: %s", lamina_last_error());
    CHECK_ST(lamina_model_field_split(many, (size_t)-1, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_split(one, 1, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_split(mlp, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "not a tri-plane field"), "message: %s", lamina_last_error());
    CHECK_ST(lamina_model_field_split(seq, 0, &out), LAMINA_E_UNSUPPORTED);
    CHECK(contains(lamina_last_error(), "sequential"), "message: %s", lamina_last_error());
    CHECK(out == NULL, "out stays NULL");
    CHECK_OK(lamina_model_field_split(one, 0, &out)); /* one field: a copy */
    CHECK(out && same_tensors(one, out), "copy of a one-field model");
    lamina_model_free(out);
    out = NULL;

    section("stack: refusals");
    list[0] = one;
    list[1] = one;
    list[2] = NULL;
    CHECK_ST(lamina_model_field_stack(NULL, 1, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, 1, NULL, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, 0, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, (size_t)16777217, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, (size_t)-1, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, 3, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "models[2]"), "message: %s", lamina_last_error());
    list[1] = many;
    CHECK_ST(lamina_model_field_stack(list, 2, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "model 1 holds 3 fields"), "message: %s", lamina_last_error());
    list[1] = wide;
    CHECK_ST(lamina_model_field_stack(list, 2, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "\"channels\"") && contains(lamina_last_error(), "model 1"),
          "message: %s", lamina_last_error());
    list[1] = mlp;
    CHECK_ST(lamina_model_field_stack(list, 2, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    list[1] = seq;
    CHECK_ST(lamina_model_field_stack(list, 2, NULL, &out), LAMINA_E_UNSUPPORTED);
    list[0] = kan;
    list[1] = kan;
    CHECK_ST(lamina_model_field_stack(list, 2, NULL, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "KAN"), "message: %s", lamina_last_error());
    CHECK_OK(lamina_model_field_stack(list, 2, "{\"decoder\": \"shared\"}", &out));
    lamina_model_free(out);
    out = NULL;
    list[0] = one;
    list[1] = one;
    CHECK_ST(lamina_model_field_stack(list, 2, "{\"decoders\": \"shared\"}", &out),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "\"decoder\""), "message: %s", lamina_last_error());
    CHECK_ST(lamina_model_field_stack(list, 2, "{\"decoder\": \"both\"}", &out),
             LAMINA_E_INVALID_ARGUMENT);
    CHECK(contains(lamina_last_error(), "per_field"), "message: %s", lamina_last_error());
    CHECK_ST(lamina_model_field_stack(list, 2, "{\"decoder\": 1}", &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, 2, "{", &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_field_stack(list, 2, "[]", &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(out == NULL, "out stays NULL");
    CHECK_OK(lamina_model_field_stack(list, 1, NULL, &out)); /* one model: a copy */
    CHECK(out && same_tensors(one, out), "stack of one model");
    lamina_model_free(out);
done:
    lamina_model_free(many);
    lamina_model_free(one);
    lamina_model_free(wide);
    lamina_model_free(kan);
    lamina_model_free(mlp);
    lamina_model_free(seq);
}

int main(void)
{
    check_init();
    snprintf(g_dir, sizeof g_dir, "%s", access("/dev/shm", W_OK) == 0 ? "/dev/shm/lamina-split-XXXXXX"
                                                                          : "split-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_points();
    test_split_shared();
    test_split_per_field();
    test_save_load();
    test_stack_independent();
    test_refusals();
    rmdir(g_dir);
    return check_summary();
}
