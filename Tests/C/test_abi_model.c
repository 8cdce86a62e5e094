/*
** test_abi_model.c -- versions, status strings and the last error; create, free, clone,
** dimensions and specs; initialisers; named tensors (see abi_harness.h).
*/
#define _XOPEN_SOURCE 700

#include "abi_harness.h"

static float g_x[REF_N * 3]; /* inputs: filled by test_lifecycle */

/* =======================================================================================
** Versions, status strings, last error
*/

static void test_versions(void)
{
    char want[64];
    const char *v = lamina_version();
    section("versions");
    /* "LAMINA_VERSION_MAJOR/MINOR/PATCH and LAMINA_VERSION_STRING" */
    snprintf(want, sizeof want, "%d.%d.%d", LAMINA_VERSION_MAJOR, LAMINA_VERSION_MINOR,
             LAMINA_VERSION_PATCH);
    CHECK(strcmp(LAMINA_VERSION_STRING, want) == 0, "LAMINA_VERSION_STRING %s vs macros %s",
          LAMINA_VERSION_STRING, want);
    /* "The library's version as MAJOR.MINOR.PATCH. Static storage; never NULL." */
    CHECK(v != NULL, "lamina_version() returned NULL");
    CHECK(v && strcmp(v, LAMINA_VERSION_STRING) == 0, "lamina_version() = \"%s\", header %s",
          v ? v : "(null)", LAMINA_VERSION_STRING);
}

static void test_status_strings(void)
{
    static const struct {
        lamina_status s;
        const char *name;
    } codes[] = {
        {LAMINA_OK, "LAMINA_OK"},
        {LAMINA_E_INVALID_ARGUMENT, "LAMINA_E_INVALID_ARGUMENT"},
        {LAMINA_E_SHAPE, "LAMINA_E_SHAPE"},
        {LAMINA_E_IO, "LAMINA_E_IO"},
        {LAMINA_E_FORMAT, "LAMINA_E_FORMAT"},
        {LAMINA_E_NUMERIC, "LAMINA_E_NUMERIC"},
        {LAMINA_E_OUT_OF_MEMORY, "LAMINA_E_OUT_OF_MEMORY"},
        {LAMINA_E_UNSUPPORTED, "LAMINA_E_UNSUPPORTED"},
        {LAMINA_E_CANCELLED, "LAMINA_E_CANCELLED"},
        {LAMINA_E_INTERNAL, "LAMINA_E_INTERNAL"},
    };
    size_t i;
    const char *p;
    section("status strings");
    CHECK(LAMINA_OK == 0, "LAMINA_OK must be 0");
    /* "Name of a status code, such as LAMINA_E_SHAPE. Static storage; never NULL." */
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        p = lamina_status_string(codes[i].s);
        CHECK(p && strcmp(p, codes[i].name) == 0, "lamina_status_string(%d) = \"%s\", want \"%s\"",
              (int)codes[i].s, p ? p : "(null)", codes[i].name);
    }
    p = lamina_status_string((lamina_status)99);
    CHECK(p != NULL && p[0] != '\0', "lamina_status_string(99) must be a non-empty string");
    p = lamina_status_string((lamina_status)-1);
    CHECK(p != NULL && p[0] != '\0', "lamina_status_string(-1) must be a non-empty string");
}

/* =======================================================================================
** Create, free, clone, dims, spec
*/

static void test_lifecycle(void)
{
    lamina_model *m, *c = NULL;
    float y0[REF_N * 2], y1[REF_N * 2];
    snap s0, s1;
    section("create / free / clone / dims");

    /* "*_free(NULL) is a no-op." */
    lamina_model_free(NULL);
    lamina_trainer_free(NULL);
    CHECK(1, "free(NULL) returned");

    /* "Number of input features per sample; 0 for NULL." */
    CHECK(lamina_model_input_dim(NULL) == 0, "input_dim(NULL)");
    CHECK(lamina_model_output_dim(NULL) == 0, "output_dim(NULL)");
    CHECK(lamina_model_parameter_count(NULL) == 0, "parameter_count(NULL)");
    CHECK(lamina_model_tensor_count(NULL) == 0, "tensor_count(NULL)");

    m = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2}");
    if (!m) return;
    CHECK(lamina_model_input_dim(m) == 3, "input_dim = %zu", lamina_model_input_dim(m));
    CHECK(lamina_model_output_dim(m) == 2, "output_dim = %zu", lamina_model_output_dim(m));
    CHECK(lamina_model_parameter_count(m) == 3 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2,
          "parameter_count = %zu, want 122", lamina_model_parameter_count(m));

    fill_rand(g_x, 3 * REF_N);
    CHECK_OK(lamina_model_predict(m, g_x, REF_N, y0));
    CHECK(all_finite(y0, REF_N * 2), "predictions finite");

    /* "Deep copy of a model (spec and weights)." */
    if (!CHECK_OK(lamina_model_clone(m, &c)) || !c) {
        lamina_model_free(m);
        return;
    }
    CHECK_OK(lamina_model_predict(c, g_x, REF_N, y1));
    CHECK(memcmp(y0, y1, sizeof y0) == 0, "clone predicts bit-identically");
    s0 = take_snap(m);
    s1 = take_snap(c);
    CHECK(snap_equal(&s0, &s1), "clone has identical tensors");
    {
        /* Deep: writing the clone's weights leaves the original alone. */
        float w[24];
        size_t i;
        for (i = 0; i < 24; i++) w[i] = 0.125f;
        CHECK_OK(lamina_model_tensor_write(c, "0.weight", w, 24));
        CHECK_OK(lamina_model_predict(m, g_x, REF_N, y1));
        CHECK(memcmp(y0, y1, sizeof y0) == 0, "writing the clone changed the original");
    }
    free(s0.v);
    free(s1.v);
    /* The clone outlives the original. */
    lamina_model_free(m);
    CHECK_OK(lamina_model_predict(c, g_x, REF_N, y1));
    lamina_model_free(c);
}

static void test_spec(void)
{
    static const char *mlp_keys[] = {"kind", "input", "hidden", "output", "activation",
                                     "output_activation", "init", "bias_init", "seed"};
    lamina_model *m, *m2;
    char *full, *full2, *buf;
    size_t len = 0, len2, i;
    section("spec (two-call pattern, full form, round trip)");

    m = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2, \"seed\": 5}");
    if (!m) return;
    /* "pass buf = NULL and cap = 0 to learn the length in *len (excluding the NUL)" */
    if (!CHECK_OK(lamina_model_spec(m, NULL, 0, &len))) {
        lamina_model_free(m);
        return;
    }
    CHECK(len > 2 && len < 100000, "spec length %zu", len);
    buf = (char *)malloc(len + 1);
    /* "A buffer that is too small gives LAMINA_E_INVALID_ARGUMENT and still sets *len." */
    len2 = 0;
    CHECK_ST(lamina_model_spec(m, buf, len, &len2), LAMINA_E_INVALID_ARGUMENT);
    CHECK(len2 == len, "too-small buffer: *len = %zu, want %zu", len2, len);
    CHECK(lamina_last_error()[0] != '\0', "too-small buffer gives a message");
    len2 = 0;
    CHECK_ST(lamina_model_spec(m, buf, 1, &len2), LAMINA_E_INVALID_ARGUMENT);
    CHECK(len2 == len, "cap 1: *len = %zu, want %zu", len2, len);
    /* "then call again with cap >= *len + 1" */
    len2 = 0;
    memset(buf, 'x', len + 1);
    CHECK_OK(lamina_model_spec(m, buf, len + 1, &len2));
    CHECK(len2 == len, "*len %zu vs %zu", len2, len);
    CHECK(buf[len] == '\0' && strlen(buf) == len, "spec text NUL-terminated at *len");
    free(buf);
    /* cap is a size_t: any cap >= *len + 1 is enough, however large. */
    if (len < 4000) {
        char big[4096];
        len2 = 0;
        CHECK_OK(lamina_model_spec(m, big, SIZE_MAX, &len2));
        CHECK(len2 == len, "cap SIZE_MAX: *len %zu vs %zu", len2, len);
        len2 = 0;
        CHECK_OK(lamina_model_spec(m, big, (size_t)1 << 63, &len2));
    }

    full = spec_of(m);
    CHECK(full != NULL, "spec_of");
    if (!full) {
        lamina_model_free(m);
        return;
    }
    if (g_verbose) printf("   full spec: %s\n", full);
    /* "MLP keys (defaults): ..." -- "the full form with every default filled in" */
    for (i = 0; i < sizeof mlp_keys / sizeof mlp_keys[0]; i++)
        CHECK(has_key(full, mlp_keys[i]), "full spec lacks \"%s\": %s", mlp_keys[i], full);

    /* "Creating a model from this text gives the same architecture." */
    m2 = MK(full);
    if (m2) {
        snap a = take_snap(m), b = take_snap(m2);
        size_t nt = lamina_model_tensor_count(m);
        full2 = spec_of(m2);
        CHECK(full2 && strcmp(full, full2) == 0, "spec of the re-created model differs:\n  %s\n  %s",
              full, full2 ? full2 : "(null)");
        free(full2);
        CHECK(lamina_model_input_dim(m2) == 3 && lamina_model_output_dim(m2) == 2, "dims");
        CHECK(lamina_model_parameter_count(m2) == lamina_model_parameter_count(m), "param count");
        CHECK(lamina_model_tensor_count(m2) == nt, "tensor count");
        for (i = 0; i < nt && i < lamina_model_tensor_count(m2); i++) {
            char n1[64], n2[64];
            size_t s1[8], s2[8], r1 = 0, r2 = 0, c1, c2;
            if (!tensor_name(m, i, n1, sizeof n1) || !tensor_name(m2, i, n2, sizeof n2)) {
                CHECK(0, "tensor_name %zu", i);
                continue;
            }
            c1 = tensor_elems(m, n1, s1, &r1);
            c2 = tensor_elems(m2, n2, s2, &r2);
            CHECK(strcmp(n1, n2) == 0 && c1 == c2 && r1 == r2 && memcmp(s1, s2, r1 * sizeof(size_t)) == 0,
                  "tensor %zu: %s vs %s", i, n1, n2);
        }
        /* The full spec keeps the seed, so the same weights come back (Determinism). */
        CHECK(snap_equal(&a, &b), "model from the full spec (same seed) has different weights");
        free(a.v);
        free(b.v);
        lamina_model_free(m2);
    }
    free(full);
    lamina_model_free(m);

    /* The general sequential form composes the same layers. */
    m = MK("{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"dense\", \"output\": 8},"
           " {\"type\": \"activation\", \"name\": \"tanh\"}, {\"type\": \"dense\", \"output\": 2}]}");
    if (m) {
        char n[64];
        CHECK(lamina_model_input_dim(m) == 3 && lamina_model_output_dim(m) == 2, "sequential dims");
        CHECK(lamina_model_parameter_count(m) == 3 * 8 + 8 + 8 * 2 + 2, "sequential params %zu",
              lamina_model_parameter_count(m));
        CHECK(lamina_model_tensor_count(m) == 4, "sequential tensors %zu", lamina_model_tensor_count(m));
        CHECK(tensor_name(m, 2, n, sizeof n) && strcmp(n, "2.weight") == 0, "sequential tensor 2 = %s", n);
        full = spec_of(m);
        CHECK(full != NULL, "sequential spec");
        if (full) {
            lamina_model *m3 = MK(full);
            CHECK(m3 && lamina_model_parameter_count(m3) == 50, "sequential full spec round trip");
            lamina_model_free(m3);
        }
        free(full);
        lamina_model_free(m);
    }

    /* A list with one activation per hidden layer, and the object form. */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4, 4], \"output\": 1, \"activation\":"
           " [\"tanh\", {\"name\": \"leaky_relu\", \"negative_slope\": 0.1}]}");
    lamina_model_free(m);
}

/* =======================================================================================
** Initialisers and aliases (documented by reference to PyTorch)
*/

static float max_abs(const float *v, size_t n)
{
    float m = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (fabsf(v[i]) > m) m = fabsf(v[i]);
    return m;
}

static void test_init(void)
{
    lamina_model *m, *a, *b;
    float w[64 * 16], bias[64];
    section("initialisers and aliases");

    /* relu family -> he_uniform: |w| <= sqrt(6 / fan_in); bias uniform(+-1/sqrt(fan_in)). */
    m = MK("{\"kind\": \"mlp\", \"input\": 16, \"hidden\": [64], \"output\": 1, \"seed\": 3}");
    if (m) {
        float bound = sqrtf(6.0f / 16.0f);
        CHECK_OK(lamina_model_tensor_read(m, "0.weight", w, 64 * 16));
        CHECK_OK(lamina_model_tensor_read(m, "0.bias", bias, 64));
        CHECK(max_abs(w, 1024) <= bound * 1.0001f && max_abs(w, 1024) > 0.8f * bound,
              "he_uniform: max |w| = %g, bound %g", max_abs(w, 1024), bound);
        CHECK(max_abs(bias, 64) <= 0.25f * 1.0001f && max_abs(bias, 64) > 0.15f,
              "bias: max |b| = %g, bound 0.25", max_abs(bias, 64));
        lamina_model_free(m);
    }
    /* tanh -> xavier_uniform: |w| <= sqrt(6 / (fan_in + fan_out)). */
    m = MK("{\"kind\": \"mlp\", \"input\": 16, \"hidden\": [64], \"output\": 1, \"activation\": \"tanh\"}");
    if (m) {
        float bound = sqrtf(6.0f / 80.0f);
        CHECK_OK(lamina_model_tensor_read(m, "0.weight", w, 64 * 16));
        CHECK(max_abs(w, 1024) <= bound * 1.0001f && max_abs(w, 1024) > 0.8f * bound,
              "xavier_uniform: max |w| = %g, bound %g", max_abs(w, 1024), bound);
        lamina_model_free(m);
    }
    /* init "zeros" */
    m = MK("{\"kind\": \"mlp\", \"input\": 16, \"hidden\": [64], \"output\": 1, \"init\": \"zeros\"}");
    if (m) {
        CHECK_OK(lamina_model_tensor_read(m, "0.weight", w, 64 * 16));
        CHECK(max_abs(w, 1024) == 0.0f, "zeros init: max |w| = %g", max_abs(w, 1024));
        lamina_model_free(m);
    }
    /* Aliases give the same model: swish = silu, kaiming_uniform = he_uniform. */
    a = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 2, \"activation\": \"silu\"}");
    b = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 2, \"activation\": \"swish\"}");
    if (a && b) {
        float ya[REF_N * 2], yb[REF_N * 2];
        CHECK_OK(lamina_model_predict(a, g_x, REF_N, ya));
        CHECK_OK(lamina_model_predict(b, g_x, REF_N, yb));
        CHECK(memcmp(ya, yb, sizeof ya) == 0, "swish and silu differ");
    }
    lamina_model_free(a);
    lamina_model_free(b);
    a = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 2, \"init\": \"he_uniform\"}");
    b = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 2, \"init\": \"kaiming_uniform\"}");
    if (a && b) {
        snap sa = take_snap(a), sb = take_snap(b);
        CHECK(snap_equal(&sa, &sb), "kaiming_uniform and he_uniform differ");
        free(sa.v);
        free(sb.v);
    }
    lamina_model_free(a);
    lamina_model_free(b);
    /* Different seeds give different weights; the same seed the same ones. */
    a = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 2, \"seed\": 1}");
    b = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8], \"output\": 2, \"seed\": 2}");
    if (a && b) {
        snap sa = take_snap(a), sb = take_snap(b);
        CHECK(sa.ok && sb.ok && !snap_equal(&sa, &sb), "seeds 1 and 2 give identical weights");
        free(sa.v);
        free(sb.v);
    }
    lamina_model_free(a);
    lamina_model_free(b);
}

/* =======================================================================================
** Named tensors
*/

static void test_tensors(void)
{
    static const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
    static const size_t shapes[][2] = {{8, 3}, {8, 0}, {8, 8}, {8, 0}, {2, 8}, {2, 0}};
    lamina_model *m;
    size_t i, total = 0, len, rank, shp[8];
    char buf[64];
    section("named tensors");

    m = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2}");
    if (!m) return;
    /* "its tensors are 0.weight (out x in), 0.bias, 2.weight, ..." */
    CHECK(lamina_model_tensor_count(m) == 6, "tensor_count = %zu, want 6", lamina_model_tensor_count(m));
    for (i = 0; i < 6 && i < lamina_model_tensor_count(m); i++) {
        size_t want_rank = shapes[i][1] ? 2 : 1, count;
        CHECK(tensor_name(m, i, buf, sizeof buf) && strcmp(buf, names[i]) == 0,
              "tensor %zu is \"%s\", want \"%s\"", i, buf, names[i]);
        count = tensor_elems(m, names[i], shp, &rank);
        CHECK(rank == want_rank && shp[0] == shapes[i][0] && (rank == 1 || shp[1] == shapes[i][1]),
              "shape of %s: rank %zu [%zu, %zu]", names[i], rank, shp[0], rank > 1 ? shp[1] : 0);
        total += count;
    }
    CHECK(total == lamina_model_parameter_count(m), "tensor sizes sum to %zu, parameter_count %zu",
          total, lamina_model_parameter_count(m));

    /* Two-call pattern for names. */
    len = 0;
    CHECK_OK(lamina_model_tensor_name(m, 0, NULL, 0, &len));
    CHECK(len == 8, "len of \"0.weight\" = %zu", len);
    len = 0;
    CHECK_ST(lamina_model_tensor_name(m, 0, buf, 8, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK(len == 8, "too-small name buffer still sets *len (%zu)", len);
    CHECK_OK(lamina_model_tensor_name(m, 0, buf, 9, &len));
    CHECK(strcmp(buf, "0.weight") == 0, "name = %s", buf);
    /* cap is a size_t: a huge cap over a big enough buffer is fine. */
    CHECK_OK(lamina_model_tensor_name(m, 0, buf, SIZE_MAX, &len));
    CHECK_OK(lamina_model_tensor_shape(m, "0.weight", shp, SIZE_MAX, &rank));

    /* "pass shape = NULL, cap = 0 to learn the rank" */
    rank = 0;
    CHECK_OK(lamina_model_tensor_shape(m, "2.weight", NULL, 0, &rank));
    CHECK(rank == 2, "rank of 2.weight = %zu", rank);
    rank = 0;
    CHECK_ST(lamina_model_tensor_shape(m, "2.weight", shp, 1, &rank), LAMINA_E_INVALID_ARGUMENT);
    CHECK_OK(lamina_model_tensor_shape(m, "4.weight", shp, 2, &rank));
    CHECK(rank == 2 && shp[0] == 2 && shp[1] == 8, "4.weight shape [%zu, %zu]", shp[0], shp[1]);

    /* Read / write round trip. */
    {
        float orig[64], mod[64], back[64], y0[REF_N * 2], y1[REF_N * 2];
        CHECK_OK(lamina_model_predict(m, g_x, REF_N, y0));
        CHECK_OK(lamina_model_tensor_read(m, "2.weight", orig, 64));
        for (i = 0; i < 64; i++) mod[i] = orig[i] * 0.5f + (float)i / 64.0f;
        CHECK_OK(lamina_model_tensor_write(m, "2.weight", mod, 64));
        CHECK_OK(lamina_model_tensor_read(m, "2.weight", back, 64));
        CHECK(memcmp(mod, back, sizeof mod) == 0, "read after write differs");
        CHECK_OK(lamina_model_predict(m, g_x, REF_N, y1));
        CHECK(memcmp(y0, y1, sizeof y0) != 0, "writing 2.weight did not change predictions");
        CHECK_OK(lamina_model_tensor_write(m, "2.weight", orig, 64));
        CHECK_OK(lamina_model_predict(m, g_x, REF_N, y1));
        CHECK(memcmp(y0, y1, sizeof y0) == 0, "restoring 2.weight did not restore predictions");
    }
    lamina_model_free(m);

    /* A 1-layer linear model computes y = w.x + b exactly (values chosen to be exact in float). */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [], \"output\": 1}");
    if (m) {
        const float w[2] = {0.5f, -2.0f}, b[1] = {0.25f};
        const float x[6] = {1.0f, 3.0f, -4.0f, 0.5f, 0.0f, 0.0f};
        const float want[3] = {-5.25f, -2.75f, 0.25f};
        float y[3], g[6];
        CHECK(lamina_model_tensor_count(m) == 2, "linear model has %zu tensors", lamina_model_tensor_count(m));
        CHECK(lamina_model_parameter_count(m) == 3, "linear params %zu", lamina_model_parameter_count(m));
        CHECK(tensor_elems(m, "0.weight", shp, &rank) == 2 && rank == 2 && shp[0] == 1 && shp[1] == 2,
              "0.weight is [out, in] = [1, 2]");
        CHECK_OK(lamina_model_tensor_write(m, "0.weight", w, 2));
        CHECK_OK(lamina_model_tensor_write(m, "0.bias", b, 1));
        CHECK_OK(lamina_model_predict(m, x, 3, y));
        CHECK(y[0] == want[0] && y[1] == want[1] && y[2] == want[2],
              "y = (%.9g, %.9g, %.9g), want (-5.25, -2.75, 0.25)", y[0], y[1], y[2]);
        /* The Jacobian of a linear model is its weight matrix, exactly. */
        CHECK_OK(lamina_model_input_gradient(m, x, 3, g));
        CHECK(g[0] == 0.5f && g[1] == -2.0f && g[2] == 0.5f && g[3] == -2.0f && g[4] == 0.5f && g[5] == -2.0f,
              "dydx = (%g, %g, %g, %g, %g, %g)", g[0], g[1], g[2], g[3], g[4], g[5]);
        lamina_model_free(m);
    }

    /* "a PReLU's slope is 1.weight" */
    m = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [4], \"output\": 1, \"activation\": \"prelu\"}");
    if (m) {
        size_t nt = lamina_model_tensor_count(m), found = 0, count = 0, sum = 0;
        for (i = 0; i < nt; i++) {
            if (!tensor_name(m, i, buf, sizeof buf)) continue;
            sum += tensor_elems(m, buf, shp, &rank);
            if (strcmp(buf, "1.weight") == 0) found = 1;
        }
        CHECK(nt == 5 && found, "prelu MLP: %zu tensors, 1.weight %s", nt, found ? "found" : "missing");
        CHECK(sum == lamina_model_parameter_count(m), "prelu: tensor sizes %zu vs parameter_count %zu",
              sum, lamina_model_parameter_count(m));
        count = tensor_elems(m, "1.weight", shp, &rank);
        if (count > 0 && count <= 64) {
            float a[64];
            CHECK_OK(lamina_model_tensor_read(m, "1.weight", a, count));
            CHECK(a[0] == 0.25f && a[count - 1] == 0.25f, "prelu slope initialised to %g, want 0.25", a[0]);
        } else {
            CHECK(0, "1.weight has %zu elements", count);
        }
        lamina_model_free(m);
    }
}

/* =======================================================================================
** main
*/

int main(void)
{
    const char *e;
    if (harness_begin("test_abi_model")) return 2;

    /* "Message describing the most recent failure on the calling thread ("" if none yet)." */
    e = lamina_last_error();
    CHECK(e != NULL && e[0] == '\0', "lamina_last_error() before any failure is \"%s\"", e ? e : "(null)");

    run_probed(test_versions, "test_versions");
    run_probed(test_status_strings, "test_status_strings");
    run_probed(test_lifecycle, "test_lifecycle");
    run_probed(test_spec, "test_spec");
    run_probed(test_init, "test_init");
    run_probed(test_tensors, "test_tensors");
    return harness_end();
}
