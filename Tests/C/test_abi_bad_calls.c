/*
** test_abi_bad_calls.c -- a reference model that no bad call may change: save and load and
** the safetensors layout (whose parse feeds the hostile-file builder), hostile files and
** their valid rebuilds, the bad-call table, every truncation of a saved model, and the
** loader cases shared with the Swift and Python suites (see abi_harness.h).
*/
#define _XOPEN_SOURCE 700

#include "abi_harness.h"
#include "dir_entries.h"

/* =======================================================================================
** The reference model every bad call must leave untouched
*/

static lamina_model *g_ref;
static lamina_trainer *g_ref_trainer; /* trainer on g_ref: only failing calls are made on it */
static float g_x[REF_N * 3], g_y[REF_N * 2], g_ref_y0[REF_N * 2];
static float g_xnan[REF_N * 3], g_xinf[REF_N * 3], g_xninf[REF_N * 3], g_ynan[REF_N * 2];
static float g_out[REF_N * 2 * 3 + 64];
static snap g_ref_snap0;

/* Predictions and weights of g_ref are exactly what they were at set-up. */
static int ref_unchanged(void)
{
    float y[REF_N * 2];
    snap s;
    int ok;
    if (lamina_model_predict(g_ref, g_x, REF_N, y) != LAMINA_OK) return 0;
    if (memcmp(y, g_ref_y0, sizeof y) != 0) return 0;
    s = take_snap(g_ref);
    ok = snap_equal(&s, &g_ref_snap0);
    free(s.v);
    return ok;
}

/* =======================================================================================
** Save and load
*/

typedef struct {
    char name[128];
    char dtype[16];
    size_t shape[8], rank;
    unsigned long long off[2];
    size_t noff;
} hdr_entry;

typedef struct {
    char *key, *value; /* raw JSON string contents, still escaped */
} meta_pair;

/* A minimal JSON scanner: enough to read a safetensors header. */
typedef struct {
    const char *s;
    size_t n, i;
} jscan;

static void js_ws(jscan *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int js_lit(jscan *j, char c)
{
    js_ws(j);
    if (j->i < j->n && j->s[j->i] == c) {
        j->i++;
        return 1;
    }
    return 0;
}

static int js_str(jscan *j, size_t *b, size_t *e)
{
    js_ws(j);
    if (j->i >= j->n || j->s[j->i] != '"') return 0;
    j->i++;
    *b = j->i;
    while (j->i < j->n && j->s[j->i] != '"') {
        if (j->s[j->i] == '\\') j->i++;
        j->i++;
    }
    if (j->i >= j->n) return 0;
    *e = j->i;
    j->i++;
    return 1;
}

static int js_skip(jscan *j)
{
    size_t b, e;
    js_ws(j);
    if (j->i >= j->n) return 0;
    if (j->s[j->i] == '"') return js_str(j, &b, &e);
    if (j->s[j->i] == '{' || j->s[j->i] == '[') {
        long depth = 0;
        do {
            char c = j->s[j->i];
            if (c == '"') {
                if (!js_str(j, &b, &e)) return 0;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') depth--;
            j->i++;
        } while (depth > 0 && j->i < j->n);
        return depth == 0;
    }
    b = j->i;
    while (j->i < j->n && !strchr(",]} \t\r\n", j->s[j->i])) j->i++;
    return j->i > b;
}

static int js_uints(jscan *j, unsigned long long *out, size_t max, size_t *count)
{
    *count = 0;
    if (!js_lit(j, '[')) return 0;
    if (js_lit(j, ']')) return 1;
    for (;;) {
        char *end;
        js_ws(j);
        if (*count >= max) return 0;
        out[(*count)++] = strtoull(j->s + j->i, &end, 10);
        if (end == j->s + j->i) return 0;
        j->i = (size_t)(end - j->s);
        if (js_lit(j, ']')) return 1;
        if (!js_lit(j, ',')) return 0;
    }
}

/* Parses a safetensors file's header. Returns 1 on success; `why` says what went wrong. */
static int parse_safetensors(const unsigned char *f, size_t flen, hdr_entry *ents, size_t maxe,
                             size_t *nents, meta_pair *meta, size_t maxm, size_t *nmeta,
                             size_t *data_start, char *why, size_t whylen)
{
    uint64_t hlen = 0;
    jscan j;
    char *text;
    int i, ok = 0;
    size_t b, e;
    *nents = *nmeta = 0;
    if (flen < 8) {
        snprintf(why, whylen, "file shorter than 8 bytes");
        return 0;
    }
    for (i = 7; i >= 0; i--) hlen = hlen << 8 | f[i];
    if (hlen > flen - 8) {
        snprintf(why, whylen, "header length %llu past the end", (unsigned long long)hlen);
        return 0;
    }
    *data_start = 8 + (size_t)hlen;
    text = (char *)malloc((size_t)hlen + 1);
    memcpy(text, f + 8, (size_t)hlen);
    text[hlen] = '\0';
    j.s = text;
    j.n = (size_t)hlen;
    j.i = 0;
    if (!js_lit(&j, '{')) {
        snprintf(why, whylen, "header does not start with '{'");
        goto done;
    }
    if (js_lit(&j, '}')) {
        ok = 1;
        goto done;
    }
    for (;;) {
        char key[128];
        if (!js_str(&j, &b, &e) || e - b >= sizeof key || !js_lit(&j, ':')) {
            snprintf(why, whylen, "bad key at byte %zu", j.i);
            goto done;
        }
        memcpy(key, text + b, e - b);
        key[e - b] = '\0';
        if (strcmp(key, "__metadata__") == 0) {
            if (!js_lit(&j, '{')) {
                snprintf(why, whylen, "__metadata__ is not an object");
                goto done;
            }
            if (!js_lit(&j, '}')) {
                for (;;) {
                    size_t vb, ve;
                    if (!js_str(&j, &b, &e) || !js_lit(&j, ':') || !js_str(&j, &vb, &ve)) {
                        snprintf(why, whylen, "__metadata__ is not a map of strings");
                        goto done;
                    }
                    if (*nmeta < maxm) {
                        meta[*nmeta].key = (char *)malloc(e - b + 1);
                        memcpy(meta[*nmeta].key, text + b, e - b);
                        meta[*nmeta].key[e - b] = '\0';
                        meta[*nmeta].value = (char *)malloc(ve - vb + 1);
                        memcpy(meta[*nmeta].value, text + vb, ve - vb);
                        meta[*nmeta].value[ve - vb] = '\0';
                        (*nmeta)++;
                    }
                    if (js_lit(&j, '}')) break;
                    if (!js_lit(&j, ',')) {
                        snprintf(why, whylen, "__metadata__: expected ','");
                        goto done;
                    }
                }
            }
        } else {
            hdr_entry *t = *nents < maxe ? &ents[(*nents)++] : NULL;
            if (!t) {
                snprintf(why, whylen, "too many tensors");
                goto done;
            }
            memset(t, 0, sizeof *t);
            snprintf(t->name, sizeof t->name, "%s", key);
            if (!js_lit(&j, '{')) {
                snprintf(why, whylen, "tensor %s is not an object", key);
                goto done;
            }
            for (;;) {
                char field[32];
                if (!js_str(&j, &b, &e) || e - b >= sizeof field || !js_lit(&j, ':')) {
                    snprintf(why, whylen, "tensor %s: bad field", key);
                    goto done;
                }
                memcpy(field, text + b, e - b);
                field[e - b] = '\0';
                if (strcmp(field, "dtype") == 0) {
                    if (!js_str(&j, &b, &e) || e - b >= sizeof t->dtype) goto done;
                    memcpy(t->dtype, text + b, e - b);
                    t->dtype[e - b] = '\0';
                } else if (strcmp(field, "shape") == 0) {
                    unsigned long long v[8];
                    size_t k;
                    if (!js_uints(&j, v, 8, &t->rank)) goto done;
                    for (k = 0; k < t->rank; k++) t->shape[k] = (size_t)v[k];
                } else if (strcmp(field, "data_offsets") == 0) {
                    if (!js_uints(&j, t->off, 2, &t->noff)) goto done;
                } else if (!js_skip(&j)) {
                    goto done;
                }
                if (js_lit(&j, '}')) break;
                if (!js_lit(&j, ',')) goto done;
            }
        }
        if (js_lit(&j, '}')) break;
        if (!js_lit(&j, ',')) {
            snprintf(why, whylen, "expected ',' at byte %zu", j.i);
            goto done;
        }
    }
    ok = 1;
done:
    if (!ok && !why[0]) snprintf(why, whylen, "header not understood near byte %zu", j.i);
    free(text);
    return ok;
}

/* What the hostile-file builder needs: g_ref's tensors and the metadata Lamina writes. */
typedef struct {
    char name[64];
    size_t shape[8], rank, count;
    float *data;
} tensor_info;

static tensor_info g_tens[32];
static size_t g_ntens;
static meta_pair g_meta[32];
static size_t g_nmeta;
static int g_spec_key = -1; /* index in g_meta of the spec */

static void load_ref_tensors(void)
{
    size_t i, nt = lamina_model_tensor_count(g_ref);
    g_ntens = 0;
    for (i = 0; i < nt && i < 32; i++) {
        tensor_info *t = &g_tens[g_ntens];
        if (!tensor_name(g_ref, i, t->name, sizeof t->name)) continue;
        t->count = tensor_elems(g_ref, t->name, t->shape, &t->rank);
        if (!t->count) continue;
        t->data = falloc(t->count);
        if (lamina_model_tensor_read(g_ref, t->name, t->data, t->count) != LAMINA_OK) continue;
        g_ntens++;
    }
}

static void test_save_load(void)
{
    lamina_model *m, *l = NULL, *other;
    float y0[REF_N * 2], y1[REF_N * 2];
    unsigned char *file;
    size_t flen, i, k;
    hdr_entry ents[32];
    size_t nents = 0, data_start = 0;
    char why[256] = "";
    section("save / load / file format");

    m = g_ref;
    CHECK_OK(lamina_model_predict(m, g_x, REF_N, y0));
    if (!CHECK_OK(lamina_model_save(m, P("ref.safetensors")))) return;
    mkdir(P("fresh"), 0755);
    if (CHECK_OK(lamina_model_save(m, P("fresh/a.safetensors")))) {
        char names[512];
        int n = dir_entries(P("fresh"), names, sizeof names, NULL, NULL);
        CHECK(n == 1, "after one save the directory holds: %s", names);
        remove(P("fresh/a.safetensors"));
    }
    rmdir(P("fresh"));
    if (CHECK_OK(lamina_model_load(P("ref.safetensors"), &l)) && l) {
        snap a = take_snap(m), b = take_snap(l);
        char *s1 = spec_of(m), *s2 = spec_of(l);
        CHECK_OK(lamina_model_predict(l, g_x, REF_N, y1));
        CHECK(memcmp(y0, y1, sizeof y0) == 0, "loaded model predicts differently");
        CHECK(snap_equal(&a, &b), "loaded tensors differ");
        CHECK(s1 && s2 && strcmp(s1, s2) == 0, "loaded spec differs:\n  %s\n  %s", s1 ? s1 : "", s2 ? s2 : "");
        CHECK(lamina_model_parameter_count(l) == lamina_model_parameter_count(m), "param count");
        free(a.v);
        free(b.v);
        free(s1);
        free(s2);
        lamina_model_free(l);
    }

    /* Overwriting an existing file with another model replaces it. */
    other = MK("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [5], \"output\": 2, \"seed\": 9}");
    if (other) {
        CHECK_OK(lamina_model_save(other, P("other.safetensors")));
        CHECK_OK(lamina_model_save(m, P("other.safetensors")));
        l = NULL;
        if (CHECK_OK(lamina_model_load(P("other.safetensors"), &l)) && l) {
            CHECK_OK(lamina_model_predict(l, g_x, REF_N, y1));
            CHECK(memcmp(y0, y1, sizeof y0) == 0, "save over an existing file did not replace it");
            lamina_model_free(l);
        }
        remove(P("other.safetensors"));
        lamina_model_free(other);
    }

    /* The file is safetensors: 8-byte LE header length, JSON header, raw F32 data. */
    file = read_file(P("ref.safetensors"), &flen);
    CHECK(file != NULL && flen > 8, "read back the saved file");
    if (!file) return;
    if (!CHECK(parse_safetensors(file, flen, ents, 32, &nents, g_meta, 32, &g_nmeta, &data_start, why,
                                 sizeof why),
               "saved header does not parse: %s", why)) {
        free(file);
        return;
    }
    CHECK(nents == g_ntens, "header has %zu tensors, model %zu", nents, g_ntens);
    {
        unsigned long long covered = 0;
        size_t data_len = flen - data_start;
        int contiguous = 1;
        for (i = 0; i < g_ntens; i++) {
            const tensor_info *t = &g_tens[i];
            const hdr_entry *e = NULL;
            for (k = 0; k < nents; k++)
                if (strcmp(ents[k].name, t->name) == 0) e = &ents[k];
            if (!CHECK(e != NULL, "tensor %s missing from the header", t->name)) continue;
            CHECK(strcmp(e->dtype, "F32") == 0, "%s dtype %s", t->name, e->dtype);
            CHECK(e->rank == t->rank && memcmp(e->shape, t->shape, t->rank * sizeof(size_t)) == 0,
                  "%s shape differs from tensor_shape", t->name);
            if (!CHECK(e->noff == 2 && e->off[1] >= e->off[0] && e->off[1] - e->off[0] == 4 * t->count &&
                           e->off[1] <= data_len,
                       "%s data_offsets [%llu, %llu] for %zu floats", t->name, e->off[0], e->off[1], t->count))
                continue;
            covered += e->off[1] - e->off[0];
            {
                int same = 1;
                for (k = 0; k < t->count; k++) {
                    float f = get_f32(file + data_start + e->off[0] + 4 * k);
                    if (memcmp(&f, &t->data[k], 4) != 0) same = 0;
                }
                CHECK(same, "%s: file data differ from tensor_read", t->name);
            }
        }
        /* safetensors readers require the offsets to tile the data section exactly. */
        for (i = 0; i < nents; i++) {
            int has_start = ents[i].off[0] == 0;
            for (k = 0; k < nents && !has_start; k++)
                if (ents[k].off[1] == ents[i].off[0]) has_start = 1;
            if (!has_start) contiguous = 0;
        }
        CHECK(contiguous && covered == data_len, "data offsets do not tile the %zu data bytes (%llu covered)",
              data_len, covered);
    }
    /* "the full model spec as JSON in the __metadata__ map, a format version" */
    g_spec_key = -1;
    for (i = 0; i < g_nmeta; i++) {
        char *v = json_unescape(g_meta[i].value, strlen(g_meta[i].value));
        if (g_verbose) printf("   metadata \"%s\": %s\n", g_meta[i].key, v);
        if (v[0] == '{' && strstr(v, "\"kind\"")) g_spec_key = (int)i;
        free(v);
    }
    CHECK(g_spec_key >= 0, "no spec found in __metadata__ (%zu keys)", g_nmeta);
    CHECK(g_nmeta >= 2, "__metadata__ has %zu keys; want the spec and a format version", g_nmeta);
    if (g_spec_key >= 0) {
        char *v = json_unescape(g_meta[g_spec_key].value, strlen(g_meta[g_spec_key].value));
        lamina_model *r = MK(v);
        if (r) {
            char *s1 = spec_of(g_ref), *s2 = spec_of(r);
            CHECK(s1 && s2 && strcmp(s1, s2) == 0, "metadata spec does not recreate the architecture");
            free(s1);
            free(s2);
            lamina_model_free(r);
        }
        free(v);
    }
    free(file);
}

/* ---- hostile files ------------------------------------------------------------------- */

enum variant {
    V_VALID = 1,
    V_VALID_REVERSED,
    V_VALID_NOPAD,
    V_VALID_SPEC_ONLY,
    V_HLEN_2_63,
    V_HLEN_PAST_END,
    V_HLEN_OVER_LIMIT,
    V_HLEN_ZERO,
    V_HLEN_SHORT,
    V_HEADER_GARBAGE,
    V_HEADER_ARRAY,
    V_HEADER_EMPTY,
    V_HEADER_DEEP,
    V_HEADER_NOT_UTF8,
    V_OFFSETS_PAST_END,
    V_OFFSETS_REVERSED,
    V_OFFSETS_SIZE,
    V_OFFSETS_HUGE,
    V_OFFSETS_NEGATIVE,
    V_OFFSETS_MISSING,
    V_OFFSETS_ONE,
    V_DTYPE_F64,
    V_DTYPE_I32,
    V_DTYPE_UNKNOWN,
    V_DTYPE_MISSING,
    V_DTYPE_NOT_STRING,
    V_SHAPE_TRANSPOSED,
    V_SHAPE_WRONG,
    V_SHAPE_NEGATIVE,
    V_SHAPE_OVERFLOW,
    V_SHAPE_FRACTIONAL,
    V_SHAPE_MISSING,
    V_SHAPE_SCALAR,
    V_TENSOR_MISSING,
    V_TENSOR_EXTRA,
    V_TENSOR_NOT_OBJECT,
    V_NO_METADATA,
    V_METADATA_NOT_OBJECT,
    V_NO_SPEC,
    V_SPEC_NOT_JSON,
    V_SPEC_NOT_OBJECT,
    V_SPEC_ABSURD,
    V_SPEC_OTHER_ARCH,
    V_SPEC_UNKNOWN_KIND,
    V_SPEC_DEEP,
    V_NAN_WEIGHT,
    V_INF_WEIGHT,
    V_MANY_TENSORS,
    V_DUPLICATE_TENSOR,
    V_DUPLICATE_METADATA
};

static char *g_deep; /* 100000 '[' */

static void sep(sbuf *b, int *first)
{
    if (!*first) sb_puts(b, ", ");
    *first = 0;
}

/* Builds a safetensors file for g_ref, corrupted as `v` says. */
static void build_variant(int v, sbuf *file)
{
    sbuf h = {0}, d = {0};
    const char *dtype = "F32";
    size_t elem = 4, k, j;
    int first = 1;
    uint64_t hlen;

    if (v == V_DTYPE_F64) {
        dtype = "F64";
        elem = 8;
    } else if (v == V_DTYPE_I32) {
        dtype = "I32";
    } else if (v == V_DTYPE_UNKNOWN) {
        dtype = "Q4";
    }
    sb_puts(&h, "{");
    for (k = 0; k < g_ntens; k++) {
        size_t i = v == V_VALID_REVERSED ? g_ntens - 1 - k : k;
        const tensor_info *t = &g_tens[i];
        size_t shape[8], rank = t->rank, count = t->count, r;
        uint64_t b, e;
        int ffirst = 1;
        if (v == V_TENSOR_MISSING && i == g_ntens - 1) continue;
        memcpy(shape, t->shape, sizeof shape);
        if (v == V_SHAPE_WRONG && i == 0) {
            shape[rank - 1] += 1;
            for (count = 1, r = 0; r < rank; r++) count *= shape[r];
        }
        b = d.n;
        for (j = 0; j < count; j++) {
            float f = j < t->count ? t->data[j] : 0.5f;
            if (i == 0 && j == 0 && v == V_NAN_WEIGHT) f = NAN;
            if (i == 0 && j == count - 1 && v == V_INF_WEIGHT) f = INFINITY;
            if (elem == 8) put_f64(&d, f);
            else put_f32(&d, f);
        }
        e = d.n;
        sep(&h, &first);
        sb_printf(&h, "\"%s\": ", t->name);
        if (v == V_TENSOR_NOT_OBJECT && i == 0) {
            sb_puts(&h, "42");
            continue;
        }
        sb_puts(&h, "{");
        if (!(v == V_DTYPE_MISSING && i == 0)) {
            sep(&h, &ffirst);
            if (v == V_DTYPE_NOT_STRING && i == 0) sb_puts(&h, "\"dtype\": 32");
            else sb_printf(&h, "\"dtype\": \"%s\"", dtype);
        }
        if (!(v == V_SHAPE_MISSING && i == 0)) {
            sep(&h, &ffirst);
            sb_puts(&h, "\"shape\": ");
            if (i == 0 && v == V_SHAPE_TRANSPOSED) sb_printf(&h, "[%zu, %zu]", shape[1], shape[0]);
            else if (i == 0 && v == V_SHAPE_NEGATIVE) sb_printf(&h, "[-%zu, %zu]", shape[0], shape[1]);
            else if (i == 0 && v == V_SHAPE_OVERFLOW) sb_puts(&h, "[4294967296, 4294967296, 4294967296]");
            else if (i == 0 && v == V_SHAPE_FRACTIONAL) sb_printf(&h, "[%zu.5, %zu]", shape[0], shape[1]);
            else if (i == 0 && v == V_SHAPE_SCALAR) sb_puts(&h, "[]");
            else {
                sb_puts(&h, "[");
                for (r = 0; r < rank; r++) sb_printf(&h, r ? ", %zu" : "%zu", shape[r]);
                sb_puts(&h, "]");
            }
        }
        if (!(v == V_OFFSETS_MISSING && i == 0)) {
            sep(&h, &ffirst);
            sb_puts(&h, "\"data_offsets\": ");
            if (i == g_ntens - 1 && v == V_OFFSETS_PAST_END)
                sb_printf(&h, "[%llu, %llu]", (unsigned long long)b, (unsigned long long)e + 4096);
            else if (i == 0 && v == V_OFFSETS_REVERSED)
                sb_printf(&h, "[%llu, %llu]", (unsigned long long)e, (unsigned long long)b);
            else if (i == 0 && v == V_OFFSETS_SIZE)
                sb_printf(&h, "[%llu, %llu]", (unsigned long long)b, (unsigned long long)e - 4);
            else if (i == 0 && v == V_OFFSETS_HUGE)
                sb_puts(&h, "[18446744073709551608, 18446744073709551615]");
            else if (i == 0 && v == V_OFFSETS_NEGATIVE)
                sb_printf(&h, "[-4, %llu]", (unsigned long long)e - 4);
            else if (i == 0 && v == V_OFFSETS_ONE)
                sb_printf(&h, "[%llu]", (unsigned long long)b);
            else
                sb_printf(&h, "[%llu, %llu]", (unsigned long long)b, (unsigned long long)e);
        }
        sb_puts(&h, "}");
    }
    if (v == V_MANY_TENSORS) {
        for (k = 0; k < 20000; k++) {
            sep(&h, &first);
            sb_printf(&h, "\"x%zu\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}", k);
        }
    }
    if (v == V_DUPLICATE_TENSOR) { /* "0.weight" again, pointing at the next tensor's bytes */
        sep(&h, &first);
        sb_printf(&h, "\"%s\": {\"dtype\": \"F32\", \"shape\": [%zu, %zu], \"data_offsets\": [0, %zu]}",
                  g_tens[0].name, g_tens[0].shape[0], g_tens[0].shape[1], 4 * g_tens[0].count);
    }
    if (v == V_TENSOR_EXTRA) {
        sep(&h, &first);
        sb_printf(&h, "\"9.weight\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [%llu, %llu]}",
                  (unsigned long long)d.n, (unsigned long long)d.n + 4);
        put_f32(&d, 1.0f);
    }
    if (v != V_NO_METADATA) {
        sep(&h, &first);
        sb_puts(&h, "\"__metadata__\": ");
        if (v == V_METADATA_NOT_OBJECT) {
            sb_puts(&h, "\"lamina\"");
        } else {
            int mfirst = 1;
            sb_puts(&h, "{");
            for (k = 0; k < g_nmeta; k++) {
                int is_spec = (int)k == g_spec_key;
                if (is_spec && v == V_NO_SPEC) continue;
                if (!is_spec && v == V_VALID_SPEC_ONLY) continue;
                sep(&h, &mfirst);
                sb_printf(&h, "\"%s\": \"", g_meta[k].key);
                if (is_spec && v == V_SPEC_NOT_JSON) json_escape(&h, "{\"kind\": \"mlp\", \"input\": ");
                else if (is_spec && v == V_SPEC_NOT_OBJECT) json_escape(&h, "[3, 8, 8, 2]");
                else if (is_spec && v == V_SPEC_ABSURD)
                    json_escape(&h, "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [1e12], \"output\": 2}");
                else if (is_spec && v == V_SPEC_OTHER_ARCH)
                    json_escape(&h, "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 9], \"output\": 2,"
                                    " \"activation\": \"tanh\"}");
                else if (is_spec && v == V_SPEC_UNKNOWN_KIND)
                    json_escape(&h, "{\"kind\": \"transformer\", \"input\": 3, \"output\": 2}");
                else if (is_spec && v == V_SPEC_DEEP) sb_puts(&h, g_deep);
                else sb_puts(&h, g_meta[k].value);
                sb_puts(&h, "\"");
                if (is_spec && v == V_DUPLICATE_METADATA) {
                    sb_printf(&h, ", \"%s\": \"", g_meta[k].key);
                    json_escape(&h, "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 9], \"output\": 2}");
                    sb_puts(&h, "\"");
                }
            }
            sb_puts(&h, "}");
        }
    }
    sb_puts(&h, "}");

    if (v == V_HEADER_GARBAGE) {
        h.n = 0;
        sb_puts(&h, "this is not JSON at all");
    } else if (v == V_HEADER_ARRAY) {
        h.n = 0;
        sb_puts(&h, "[1, 2, 3]");
    } else if (v == V_HEADER_EMPTY) {
        h.n = 0;
        sb_puts(&h, "{}");
    } else if (v == V_HEADER_DEEP) {
        h.n = 0;
        sb_puts(&h, g_deep);
    } else if (v == V_HEADER_NOT_UTF8) {
        h.p[2] = (char)0xFF; /* first byte of the first tensor name */
        h.p[3] = (char)0xFE;
    }
    if (v != V_VALID_NOPAD)
        while ((8 + h.n) % 8 != 0) sb_puts(&h, " ");

    hlen = h.n;
    if (v == V_HLEN_2_63) hlen = (uint64_t)1 << 63;
    else if (v == V_HLEN_PAST_END) hlen = h.n + d.n + 1000;
    else if (v == V_HLEN_OVER_LIMIT) hlen = (uint64_t)LAMINA_MAX_HEADER_BYTES + 1;
    else if (v == V_HLEN_ZERO) hlen = 0;
    else if (v == V_HLEN_SHORT) hlen = h.n / 2;

    file->n = 0;
    put_le64(file, hlen);
    sb_put(file, h.p, h.n);
    if (d.n) sb_put(file, d.p, d.n);
    sb_free(&h);
    sb_free(&d);
}

static lamina_status load_variant(int v, lamina_model **out)
{
    sbuf f = {0};
    lamina_status s;
    build_variant(v, &f);
    if (!write_file(P("hostile.safetensors"), f.p, f.n)) {
        sb_free(&f);
        return LAMINA_E_INTERNAL; /* cannot happen; will show as a failure */
    }
    sb_free(&f);
    s = lamina_model_load(P("hostile.safetensors"), out);
    return s;
}

/* Files a correct reader must accept: rebuilding Lamina's own file, and variations
** the safetensors format allows. Proves the builder is right before it is corrupted. */
static const struct {
    int v;
    const char *name; /* the enum's name, for write_loader_cases */
    const char *what;
} g_valid[] = {
    {V_VALID, "V_VALID", "rebuilt file"},
    {V_VALID_REVERSED, "V_VALID_REVERSED", "tensors in reverse order"},
    {V_VALID_NOPAD, "V_VALID_NOPAD", "header without padding"},
    {V_VALID_SPEC_ONLY, "V_VALID_SPEC_ONLY", "metadata holding only the spec"},
};

static void test_valid_rebuilds(void)
{
    size_t i;
    section("safetensors files built in C load");
    if (g_spec_key < 0 || g_ntens == 0) {
        CHECK(0, "no metadata/tensors to build files from");
        return;
    }
    for (i = 0; i < sizeof g_valid / sizeof g_valid[0]; i++) {
        lamina_model *m = NULL;
        float y[REF_N * 2];
        g_ctx = g_valid[i].what;
        if (CHECK_OK(load_variant(g_valid[i].v, &m)) && m) {
            CHECK_OK(lamina_model_predict(m, g_x, REF_N, y));
            CHECK(memcmp(y, g_ref_y0, sizeof y) == 0, "%s predicts differently", g_valid[i].what);
            lamina_model_free(m);
        }
    }
    remove(P("hostile.safetensors"));
}

/* =======================================================================================
** The bad-call table: every entry must return its status, leave a message, and leave the
** reference model exactly as it was.
*/

typedef struct bad_case bad_case;
typedef lamina_status (*bad_fn)(const bad_case *c);
struct bad_case {
    const char *what;
    bad_fn fn;
    const char *arg;
    int variant;
    lamina_status want;
    int alt; /* a second acceptable status where the header allows two; NOALT otherwise */
};
#define NOALT (-1)

static lamina_model *g_sink_model;
static lamina_trainer *g_sink_trainer;
static size_t g_len;
static float g_loss;
static char g_cbuf[16];
static char *g_deep_spec, *g_deep_obj, *g_huge_json, *g_many_layers, *g_nest129;

static lamina_status bad_create(const bad_case *c)
{
    lamina_model *m = NULL;
    lamina_status s = lamina_model_create(c->arg, &m);
    if (s == LAMINA_OK) lamina_model_free(m);
    return s;
}

static lamina_status bad_trainer_cfg(const bad_case *c)
{
    lamina_trainer *t = NULL;
    lamina_status s = lamina_trainer_create(g_ref, c->arg, &t);
    if (s == LAMINA_OK) lamina_trainer_free(t);
    return s;
}

static lamina_status bad_load(const bad_case *c)
{
    lamina_model *m = NULL;
    lamina_status s = lamina_model_load(c->arg ? P(c->arg) : NULL, &m);
    if (s == LAMINA_OK) lamina_model_free(m);
    return s;
}

static lamina_status bad_variant(const bad_case *c)
{
    lamina_model *m = NULL;
    lamina_status s = load_variant(c->variant, &m);
    if (s == LAMINA_OK) lamina_model_free(m);
    return s;
}

#define BADFN(name, expr)                            \
    static lamina_status name(const bad_case *c)     \
    {                                                \
        (void)c;                                     \
        return (expr);                               \
    }

static lamina_status create_global(const char *text)
{
    lamina_model *m = NULL;
    lamina_status s = lamina_model_create(text, &m);
    if (s == LAMINA_OK) lamina_model_free(m);
    return s;
}

BADFN(b_create_null_spec, lamina_model_create(NULL, &g_sink_model))
BADFN(b_create_null_out, lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"output\": 2}", NULL))
BADFN(b_create_deep_array, create_global(g_deep))
BADFN(b_create_deep_spec, create_global(g_deep_spec))
BADFN(b_create_deep_obj, create_global(g_deep_obj))
BADFN(b_create_huge, create_global(g_huge_json))
BADFN(b_create_many_layers, create_global(g_many_layers))
BADFN(b_create_nest129, create_global(g_nest129))
BADFN(b_clone_null, lamina_model_clone(NULL, &g_sink_model))
BADFN(b_clone_null_out, lamina_model_clone(g_ref, NULL))
BADFN(b_spec_null_model, lamina_model_spec(NULL, g_cbuf, sizeof g_cbuf, &g_len))
BADFN(b_spec_null_len, lamina_model_spec(g_ref, g_cbuf, sizeof g_cbuf, NULL))
BADFN(b_spec_small, lamina_model_spec(g_ref, g_cbuf, 4, &g_len))
BADFN(b_spec_null_buf, lamina_model_spec(g_ref, NULL, 64, &g_len))
BADFN(b_pred_null_model, lamina_model_predict(NULL, g_x, REF_N, g_out))
BADFN(b_pred_null_x, lamina_model_predict(g_ref, NULL, REF_N, g_out))
BADFN(b_pred_null_y, lamina_model_predict(g_ref, g_x, REF_N, NULL))
BADFN(b_pred_nan, lamina_model_predict(g_ref, g_xnan, REF_N, g_out))
BADFN(b_pred_inf, lamina_model_predict(g_ref, g_xinf, REF_N, g_out))
BADFN(b_pred_ninf, lamina_model_predict(g_ref, g_xninf, REF_N, g_out))
BADFN(b_pred_absurd, lamina_model_predict(g_ref, g_x, SIZE_MAX / 2, g_out))
BADFN(b_pred_size_max, lamina_model_predict(g_ref, g_x, SIZE_MAX, g_out))
BADFN(b_pred_2_63, lamina_model_predict(g_ref, g_x, (size_t)1 << 63, g_out))
BADFN(b_grad_size_max, lamina_model_input_gradient(g_ref, g_x, SIZE_MAX, g_out))
BADFN(b_eval_size_max, lamina_trainer_evaluate(g_ref_trainer, g_x, g_y, SIZE_MAX, &g_loss))
BADFN(b_fit_size_max, lamina_trainer_fit(g_ref_trainer, g_x, g_y, SIZE_MAX, NULL, NULL, &g_loss))
BADFN(b_pred_over_limit, lamina_model_predict(g_ref, g_x, (size_t)1 << 28, g_out))
BADFN(b_grad_null_model, lamina_model_input_gradient(NULL, g_x, REF_N, g_out))
BADFN(b_grad_null_x, lamina_model_input_gradient(g_ref, NULL, REF_N, g_out))
BADFN(b_grad_null_out, lamina_model_input_gradient(g_ref, g_x, REF_N, NULL))
BADFN(b_grad_nan, lamina_model_input_gradient(g_ref, g_xnan, REF_N, g_out))
BADFN(b_grad_absurd, lamina_model_input_gradient(g_ref, g_x, SIZE_MAX / 2, g_out))
BADFN(b_tname_range, lamina_model_tensor_name(g_ref, lamina_model_tensor_count(g_ref), g_cbuf, sizeof g_cbuf, &g_len))
BADFN(b_tname_max, lamina_model_tensor_name(g_ref, SIZE_MAX, g_cbuf, sizeof g_cbuf, &g_len))
BADFN(b_tname_null_len, lamina_model_tensor_name(g_ref, 0, g_cbuf, sizeof g_cbuf, NULL))
BADFN(b_tname_null_model, lamina_model_tensor_name(NULL, 0, g_cbuf, sizeof g_cbuf, &g_len))
BADFN(b_tshape_unknown, lamina_model_tensor_shape(g_ref, "7.weight", NULL, 0, &g_len))
BADFN(b_tshape_null_name, lamina_model_tensor_shape(g_ref, NULL, NULL, 0, &g_len))
BADFN(b_tshape_null_rank, lamina_model_tensor_shape(g_ref, "0.weight", NULL, 0, NULL))
static size_t g_shape_buf[8];
BADFN(b_tshape_small, lamina_model_tensor_shape(g_ref, "0.weight", g_shape_buf, 1, &g_len))
BADFN(b_tread_unknown, lamina_model_tensor_read(g_ref, "0.weights", g_out, 24))
BADFN(b_tread_empty_name, lamina_model_tensor_read(g_ref, "", g_out, 24))
BADFN(b_tread_count, lamina_model_tensor_read(g_ref, "0.weight", g_out, 23))
BADFN(b_tread_count_big, lamina_model_tensor_read(g_ref, "0.weight", g_out, 25))
BADFN(b_tread_size_max, lamina_model_tensor_read(g_ref, "0.weight", g_out, SIZE_MAX))
BADFN(b_tname_null_buf, lamina_model_tensor_name(g_ref, 0, NULL, 8, &g_len))
BADFN(b_tshape_null_shape, lamina_model_tensor_shape(g_ref, "0.weight", NULL, 8, &g_len))
BADFN(b_tread_zero, lamina_model_tensor_read(g_ref, "0.weight", g_out, 0))
BADFN(b_tread_null_out, lamina_model_tensor_read(g_ref, "0.weight", NULL, 24))
BADFN(b_tread_null_model, lamina_model_tensor_read(NULL, "0.weight", g_out, 24))
static float g_wnan[24], g_winf[24], g_wok[24];
BADFN(b_twrite_nan, lamina_model_tensor_write(g_ref, "0.weight", g_wnan, 24))
BADFN(b_twrite_inf, lamina_model_tensor_write(g_ref, "0.weight", g_winf, 24))
BADFN(b_twrite_count, lamina_model_tensor_write(g_ref, "0.weight", g_wok, 23))
BADFN(b_twrite_unknown, lamina_model_tensor_write(g_ref, "0.wieght", g_wok, 24))
BADFN(b_twrite_size_max, lamina_model_tensor_write(g_ref, "0.weight", g_wok, SIZE_MAX))
BADFN(b_twrite_null_values, lamina_model_tensor_write(g_ref, "0.weight", NULL, 24))
BADFN(b_twrite_null_model, lamina_model_tensor_write(NULL, "0.weight", g_wok, 24))
BADFN(b_twrite_null_name, lamina_model_tensor_write(g_ref, NULL, g_wok, 24))
BADFN(b_trainer_null_model, lamina_trainer_create(NULL, "{}", &g_sink_trainer))
BADFN(b_trainer_null_out, lamina_trainer_create(g_ref, "{}", NULL))
BADFN(b_trainer_deep, lamina_trainer_create(g_ref, g_deep, &g_sink_trainer))
BADFN(b_tconfig_null, lamina_trainer_config(NULL, g_cbuf, sizeof g_cbuf, &g_len))
BADFN(b_tconfig_null_len, lamina_trainer_config(g_ref_trainer, g_cbuf, sizeof g_cbuf, NULL))
BADFN(b_tconfig_small, lamina_trainer_config(g_ref_trainer, g_cbuf, 4, &g_len))
BADFN(b_step_null_trainer, lamina_trainer_step(NULL, g_x, g_y, REF_N, &g_loss))
BADFN(b_step_null_x, lamina_trainer_step(g_ref_trainer, NULL, g_y, REF_N, &g_loss))
BADFN(b_step_null_y, lamina_trainer_step(g_ref_trainer, g_x, NULL, REF_N, &g_loss))
BADFN(b_step_zero, lamina_trainer_step(g_ref_trainer, g_x, g_y, 0, &g_loss))
BADFN(b_step_nan_y, lamina_trainer_step(g_ref_trainer, g_x, g_ynan, REF_N, &g_loss))
BADFN(b_step_inf_x, lamina_trainer_step(g_ref_trainer, g_xinf, g_y, REF_N, &g_loss))
BADFN(b_step_absurd, lamina_trainer_step(g_ref_trainer, g_x, g_y, SIZE_MAX / 2, &g_loss))
BADFN(b_step_size_max, lamina_trainer_step(g_ref_trainer, g_x, g_y, SIZE_MAX, &g_loss))
BADFN(b_eval_null, lamina_trainer_evaluate(NULL, g_x, g_y, REF_N, &g_loss))
BADFN(b_eval_nan_y, lamina_trainer_evaluate(g_ref_trainer, g_x, g_ynan, REF_N, &g_loss))
BADFN(b_eval_zero, lamina_trainer_evaluate(g_ref_trainer, g_x, g_y, 0, &g_loss))
BADFN(b_fit_null, lamina_trainer_fit(NULL, g_x, g_y, REF_N, NULL, NULL, &g_loss))
BADFN(b_fit_null_y, lamina_trainer_fit(g_ref_trainer, g_x, NULL, REF_N, NULL, NULL, &g_loss))
BADFN(b_fit_nan_x, lamina_trainer_fit(g_ref_trainer, g_xnan, g_y, REF_N, NULL, NULL, &g_loss))
BADFN(b_fit_nan_y, lamina_trainer_fit(g_ref_trainer, g_x, g_ynan, REF_N, NULL, NULL, &g_loss))
BADFN(b_fit_zero, lamina_trainer_fit(g_ref_trainer, g_x, g_y, 0, NULL, NULL, &g_loss))
BADFN(b_fit_absurd, lamina_trainer_fit(g_ref_trainer, g_x, g_y, SIZE_MAX / 2, NULL, NULL, &g_loss))
BADFN(b_save_null_model, lamina_model_save(NULL, P("x.safetensors")))
BADFN(b_save_null_path, lamina_model_save(g_ref, NULL))
BADFN(b_save_no_dir, lamina_model_save(g_ref, "/nonexistent/dir/x.safetensors"))
BADFN(b_load_null_path, lamina_model_load(NULL, &g_sink_model))
BADFN(b_load_null_out, lamina_model_load(P("ref.safetensors"), NULL))
BADFN(b_load_dir, lamina_model_load(g_dir, &g_sink_model))
BADFN(b_load_dev_zero, lamina_model_load("/dev/zero", &g_sink_model))
BADFN(b_load_dev_null, lamina_model_load("/dev/null", &g_sink_model))
static char g_long_path[6000];
BADFN(b_save_long_path, lamina_model_save(g_ref, g_long_path))
BADFN(b_load_long_path, lamina_model_load(g_long_path, &g_sink_model))

/* A FIFO with no writer: opening it for reading blocks forever unless the type is checked. */
static lamina_status b_load_fifo(const bad_case *c)
{
    lamina_status s;
    (void)c;
    remove(P("fifo.safetensors"));
    if (mkfifo(P("fifo.safetensors"), 0644) != 0) {
        CHECK(0, "cannot make a FIFO");
        return LAMINA_E_INTERNAL;
    }
    alarm(5);
    s = lamina_model_load(P("fifo.safetensors"), &g_sink_model);
    alarm(0);
    remove(P("fifo.safetensors"));
    return s;
}

/* "a temporary file in the same directory is written, flushed and renamed over path, so a
** failure never damages an existing file": renaming over a directory fails. */
static lamina_status b_save_over_dir(const bad_case *c)
{
    char names[512];
    lamina_status s;
    int n;
    (void)c;
    mkdir(P("savedir"), 0755);
    mkdir(P("savedir/target"), 0755);
    s = lamina_model_save(g_ref, P("savedir/target"));
    n = dir_entries(P("savedir"), names, sizeof names, NULL, NULL);
    CHECK(n == 1, "failed save left temporary files: %s", names);
    n = dir_entries(P("savedir/target"), names, sizeof names, NULL, NULL);
    CHECK(n == 0, "failed save wrote into the directory: %s", names);
    return s;
}

/* A write error mid-save (file size limit) must leave the old file byte for byte. */
static lamina_status b_save_write_error(const bad_case *c)
{
    struct rlimit old, lim;
    unsigned char *before, *after;
    size_t nb = 0, na = 0;
    char names[512];
    lamina_status s;
    lamina_model *other = NULL;
    int n;
    void (*prev)(int);
    (void)c;
    mkdir(P("savefail"), 0755);
    if (lamina_model_create("{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [4], \"output\": 2}", &other) !=
            LAMINA_OK ||
        lamina_model_save(other, P("savefail/model.safetensors")) != LAMINA_OK) {
        lamina_model_free(other);
        CHECK(0, "could not write the old file");
        return LAMINA_E_INTERNAL;
    }
    lamina_model_free(other);
    before = read_file(P("savefail/model.safetensors"), &nb);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64;
    prev = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    s = lamina_model_save(g_ref, P("savefail/model.safetensors"));
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    after = read_file(P("savefail/model.safetensors"), &na);
    CHECK(before && after && nb == na && memcmp(before, after, nb) == 0,
          "failed save changed the existing file (%zu -> %zu bytes)", nb, na);
    n = dir_entries(P("savefail"), names, sizeof names, NULL, NULL);
    CHECK(n == 1, "failed save left temporary files: %s", names);
    free(before);
    free(after);
    return s;
}

#define CREATE(desc, spec) {desc, bad_create, spec, 0, LAMINA_E_INVALID_ARGUMENT, NOALT}
#define CALL(desc, fn, want) {desc, fn, NULL, 0, want, NOALT}
#define CALL2(desc, fn, want, alt) {desc, fn, NULL, 0, want, alt}
#define TCFG(desc, cfg) {desc, bad_trainer_cfg, cfg, 0, LAMINA_E_INVALID_ARGUMENT, NOALT}
#define LOAD(desc, file, want) {desc, bad_load, file, 0, want, NOALT}
/* arg: the variant's name, which write_loader_cases uses for its file */
#define HOSTILE(desc, v) {desc, bad_variant, #v, v, LAMINA_E_FORMAT, NOALT}
#define MLP3(rest) "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2, " rest "}"

static const bad_case g_bad[] = {
    /* ---- lamina_model_create: "LAMINA_E_INVALID_ARGUMENT (NULL, malformed JSON, unknown or bad key)" */
    CALL("create: NULL spec", b_create_null_spec, LAMINA_E_INVALID_ARGUMENT),
    CALL("create: NULL out", b_create_null_out, LAMINA_E_INVALID_ARGUMENT),
    CREATE("create: empty string", ""),
    CREATE("create: whitespace only", "   \n"),
    CREATE("create: malformed JSON \"{\"", "{"),
    CREATE("create: malformed JSON \"[1,2\"", "[1,2"),
    CREATE("create: malformed JSON \"nul\"", "nul"),
    CREATE("create: JSON null", "null"),
    CREATE("create: JSON array", "[1, 2]"),
    CREATE("create: JSON number", "42"),
    CREATE("create: JSON string", "\"mlp\""),
    CREATE("create: trailing garbage", "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2} xyz"),
    CREATE("create: invalid UTF-8", "{\"kind\": \"ml\xff\", \"input\": 3, \"output\": 2}"),
    CREATE("create: empty object (no kind)", "{}"),
    CREATE("create: unknown kind", "{\"kind\": \"transformer\", \"input\": 3, \"output\": 2}"),
    CREATE("create: kind not a string", "{\"kind\": 7, \"input\": 3, \"output\": 2}"),
    CREATE("create: unknown key", MLP3("\"hiden\": [8]")),
    CREATE("create: missing input", "{\"kind\": \"mlp\", \"output\": 2}"),
    CREATE("create: missing output", "{\"kind\": \"mlp\", \"input\": 3}"),
    CREATE("create: input 0", "{\"kind\": \"mlp\", \"input\": 0, \"output\": 2}"),
    CREATE("create: input -3", "{\"kind\": \"mlp\", \"input\": -3, \"output\": 2}"),
    CREATE("create: input 2.5", "{\"kind\": \"mlp\", \"input\": 2.5, \"output\": 2}"),
    CREATE("create: input \"3\"", "{\"kind\": \"mlp\", \"input\": \"3\", \"output\": 2}"),
    CREATE("create: input 1e12", "{\"kind\": \"mlp\", \"input\": 1e12, \"output\": 2}"),
    CREATE("create: output 0", "{\"kind\": \"mlp\", \"input\": 3, \"output\": 0}"),
    CREATE("create: output -1", "{\"kind\": \"mlp\", \"input\": 3, \"output\": -1}"),
    CREATE("create: hidden [0]", MLP3("\"hidden\": [0]")),
    CREATE("create: hidden [-8]", MLP3("\"hidden\": [-8]")),
    CREATE("create: hidden [8.5]", MLP3("\"hidden\": [8.5]")),
    CREATE("create: hidden [1e12]", MLP3("\"hidden\": [1e12]")),
    CREATE("create: hidden [1e300]", MLP3("\"hidden\": [1e300]")),
    CREATE("create: hidden not an array", MLP3("\"hidden\": 8")),
    CREATE("create: hidden [\"8\"]", MLP3("\"hidden\": [\"8\"]")),
    CREATE("create: hidden [null]", MLP3("\"hidden\": [null]")),
    /* "LAMINA_E_INVALID_ARGUMENT for one value in a spec or config (a width, a layer count, a
    ** text length), LAMINA_E_OUT_OF_MEMORY for totals (a model's parameters ...)" */
    CREATE("create: width LAMINA_MAX_WIDTH + 1", MLP3("\"hidden\": [65537]")),
    CREATE("create: input LAMINA_MAX_WIDTH + 1", "{\"kind\": \"mlp\", \"input\": 65537, \"output\": 2}"),
    {"create: over LAMINA_MAX_PARAMETERS", bad_create, MLP3("\"hidden\": [20000, 20000]"), 0,
     LAMINA_E_OUT_OF_MEMORY, NOALT},
    CALL("create: over LAMINA_MAX_LAYERS", b_create_many_layers, LAMINA_E_INVALID_ARGUMENT),
    /* "JSON must be strict RFC 8259 (no trailing commas, no comments, no duplicate keys)" */
    CREATE("create: trailing comma in object", "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2,}"),
    CREATE("create: trailing comma in array", MLP3("\"hidden\": [8, 8,]")),
    CREATE("create: // comment", "{\"kind\": \"mlp\", // a comment\n \"input\": 3, \"output\": 2}"),
    CREATE("create: /* comment */", "{\"kind\": \"mlp\", /* c */ \"input\": 3, \"output\": 2}"),
    CREATE("create: duplicate key", "{\"kind\": \"mlp\", \"input\": 3, \"input\": 4, \"output\": 2}"),
    CREATE("create: single-quoted strings", "{'kind': 'mlp', 'input': 3, 'output': 2}"),
    CREATE("create: NaN literal", MLP3("\"seed\": NaN")),
    CREATE("create: leading zero", "{\"kind\": \"mlp\", \"input\": 03, \"output\": 2}"),
    CREATE("create: hex number", "{\"kind\": \"mlp\", \"input\": 0x3, \"output\": 2}"),
    CREATE("create: unquoted key", "{kind: \"mlp\", \"input\": 3, \"output\": 2}"),
    CALL("create: 129 nested arrays as hidden", b_create_nest129, LAMINA_E_INVALID_ARGUMENT),
    CREATE("create: unknown activation", MLP3("\"hidden\": [8], \"activation\": \"relu6\"")),
    CREATE("create: activation list too short", MLP3("\"hidden\": [8, 8], \"activation\": [\"tanh\"]")),
    CREATE("create: activation list too long",
           MLP3("\"hidden\": [8, 8], \"activation\": [\"tanh\", \"tanh\", \"tanh\"]")),
    CREATE("create: activation object, unknown name", MLP3("\"hidden\": [8], \"activation\": {\"name\": \"swishy\"}")),
    CREATE("create: activation object, unknown parameter",
           MLP3("\"hidden\": [8], \"activation\": {\"name\": \"leaky_relu\", \"slope\": 0.1}")),
    CREATE("create: activation object without name", MLP3("\"hidden\": [8], \"activation\": {\"alpha\": 1}")),
    CREATE("create: activation a number", MLP3("\"hidden\": [8], \"activation\": 42")),
    CREATE("create: unknown output_activation", MLP3("\"output_activation\": \"nope\"")),
    CREATE("create: unknown init", MLP3("\"init\": \"orthogonal\"")),
    CREATE("create: unknown bias_init", MLP3("\"bias_init\": \"nope\"")),
    CREATE("create: seed a string", MLP3("\"seed\": \"abc\"")),
    CREATE("create: sequential, unknown layer type",
           "{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"conv\"}]}"),
    CREATE("create: sequential, dense output 0",
           "{\"kind\": \"sequential\", \"input\": 3, \"layers\": [{\"type\": \"dense\", \"output\": 0}]}"),
    CREATE("create: sequential, layers not an array", "{\"kind\": \"sequential\", \"input\": 3, \"layers\": 5}"),
    CALL("create: 100000 nested '['", b_create_deep_array, LAMINA_E_INVALID_ARGUMENT),
    CALL("create: 100000 nested '[' as hidden", b_create_deep_spec, LAMINA_E_INVALID_ARGUMENT),
    CALL("create: 100000 nested objects", b_create_deep_obj, LAMINA_E_INVALID_ARGUMENT),
    CALL("create: JSON over LAMINA_MAX_JSON_BYTES", b_create_huge, LAMINA_E_INVALID_ARGUMENT),
    /* ---- clone, spec */
    CALL("clone: NULL model", b_clone_null, LAMINA_E_INVALID_ARGUMENT),
    CALL("clone: NULL out", b_clone_null_out, LAMINA_E_INVALID_ARGUMENT),
    CALL("spec: NULL model", b_spec_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("spec: NULL len", b_spec_null_len, LAMINA_E_INVALID_ARGUMENT),
    CALL("spec: buffer too small", b_spec_small, LAMINA_E_INVALID_ARGUMENT),
    CALL("spec: NULL buf with cap 64", b_spec_null_buf, LAMINA_E_INVALID_ARGUMENT),
    /* ---- predict / input_gradient: "INVALID_ARGUMENT (NULL pointers), NUMERIC (NaN/Inf in x),
    ** OUT_OF_MEMORY (n beyond the documented limit)" */
    CALL("predict: NULL model", b_pred_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("predict: NULL x", b_pred_null_x, LAMINA_E_INVALID_ARGUMENT),
    CALL("predict: NULL y", b_pred_null_y, LAMINA_E_INVALID_ARGUMENT),
    CALL("predict: NaN in the last x", b_pred_nan, LAMINA_E_NUMERIC),
    CALL("predict: +Inf in x", b_pred_inf, LAMINA_E_NUMERIC),
    CALL("predict: -Inf in x", b_pred_ninf, LAMINA_E_NUMERIC),
    CALL("predict: n = SIZE_MAX/2", b_pred_absurd, LAMINA_E_OUT_OF_MEMORY),
    CALL("predict: n = SIZE_MAX", b_pred_size_max, LAMINA_E_OUT_OF_MEMORY),
    CALL("predict: n = 2^63", b_pred_2_63, LAMINA_E_OUT_OF_MEMORY),
    CALL("predict: n x widest = 2^31 (tiny buffers)", b_pred_over_limit, LAMINA_E_OUT_OF_MEMORY),
    CALL("input_gradient: NULL model", b_grad_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("input_gradient: NULL x", b_grad_null_x, LAMINA_E_INVALID_ARGUMENT),
    CALL("input_gradient: NULL dydx", b_grad_null_out, LAMINA_E_INVALID_ARGUMENT),
    CALL("input_gradient: NaN in x", b_grad_nan, LAMINA_E_NUMERIC),
    CALL("input_gradient: n = SIZE_MAX/2", b_grad_absurd, LAMINA_E_OUT_OF_MEMORY),
    CALL("input_gradient: n = SIZE_MAX", b_grad_size_max, LAMINA_E_OUT_OF_MEMORY),
    /* ---- named tensors */
    CALL("tensor_name: index = count", b_tname_range, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_name: index SIZE_MAX", b_tname_max, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_name: NULL len", b_tname_null_len, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_name: NULL model", b_tname_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_shape: unknown name", b_tshape_unknown, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_shape: NULL name", b_tshape_null_name, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_shape: NULL rank", b_tshape_null_rank, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_shape: cap 1 < rank 2", b_tshape_small, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_read: unknown name", b_tread_unknown, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_read: empty name", b_tread_empty_name, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_read: count 23 for 24", b_tread_count, LAMINA_E_SHAPE),
    CALL("tensor_read: count 25 for 24", b_tread_count_big, LAMINA_E_SHAPE),
    CALL("tensor_read: count 0", b_tread_zero, LAMINA_E_SHAPE),
    CALL("tensor_read: count SIZE_MAX", b_tread_size_max, LAMINA_E_SHAPE),
    CALL("tensor_name: NULL buf with cap 8", b_tname_null_buf, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_shape: NULL shape with cap 8", b_tshape_null_shape, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_read: NULL out", b_tread_null_out, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_read: NULL model", b_tread_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_write: NaN in the last value", b_twrite_nan, LAMINA_E_NUMERIC),
    CALL("tensor_write: Inf in the first value", b_twrite_inf, LAMINA_E_NUMERIC),
    CALL("tensor_write: count 23 for 24", b_twrite_count, LAMINA_E_SHAPE),
    CALL("tensor_write: count SIZE_MAX", b_twrite_size_max, LAMINA_E_SHAPE),
    CALL("tensor_write: unknown name", b_twrite_unknown, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_write: NULL values", b_twrite_null_values, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_write: NULL model", b_twrite_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("tensor_write: NULL name", b_twrite_null_name, LAMINA_E_INVALID_ARGUMENT),
    /* ---- trainer_create: "Errors: LAMINA_E_INVALID_ARGUMENT" */
    CALL("trainer_create: NULL model", b_trainer_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_create: NULL out", b_trainer_null_out, LAMINA_E_INVALID_ARGUMENT),
    TCFG("trainer_create: malformed \"{\"", "{"),
    TCFG("trainer_create: config an array", "[]"),
    TCFG("trainer_create: empty string (\"\" is malformed JSON)", ""),
    TCFG("trainer_create: unknown optimizer", "{\"optimizer\": \"rmsprop\"}"),
    TCFG("trainer_create: negative learning rate", "{\"learning_rate\": -0.1}"),
    TCFG("trainer_create: learning rate a string", "{\"learning_rate\": \"fast\"}"),
    TCFG("trainer_create: unknown key", "{\"learning_rat\": 0.1}"),
    TCFG("trainer_create: batch_size 0", "{\"batch_size\": 0}"),
    TCFG("trainer_create: batch_size -1", "{\"batch_size\": -1}"),
    TCFG("trainer_create: batch_size 2.5", "{\"batch_size\": 2.5}"),
    TCFG("trainer_create: epochs -1", "{\"epochs\": -1}"),
    TCFG("trainer_create: validation_split 1.5", "{\"validation_split\": 1.5}"),
    TCFG("trainer_create: validation_split -0.1", "{\"validation_split\": -0.1}"),
    TCFG("trainer_create: unknown loss", "{\"loss\": \"hinge\"}"),
    TCFG("trainer_create: unknown schedule", "{\"schedule\": \"linear\"}"),
    TCFG("trainer_create: beta1 1.5", "{\"beta1\": 1.5}"),
    TCFG("trainer_create: negative epsilon", "{\"epsilon\": -1}"),
    TCFG("trainer_create: negative momentum", "{\"optimizer\": \"sgd\", \"momentum\": -0.5}"),
    TCFG("trainer_create: negative weight_decay", "{\"weight_decay\": -1}"),
    TCFG("trainer_create: shuffle a string", "{\"shuffle\": \"yes\"}"),
    TCFG("trainer_create: patience -1", "{\"patience\": -1}"),
    TCFG("trainer_create: unknown line_search", "{\"optimizer\": \"lbfgs\", \"line_search\": \"armijo\"}"),
    TCFG("trainer_create: lbfgs with weight_decay", "{\"optimizer\": \"lbfgs\", \"weight_decay\": 0.01}"),
    TCFG("trainer_create: lbfgs with clip_norm", "{\"optimizer\": \"lbfgs\", \"clip_norm\": 1}"),
    TCFG("trainer_create: nesterov with adam", "{\"optimizer\": \"adam\", \"nesterov\": true}"),
    TCFG("trainer_create: nesterov with sgd, momentum 0", "{\"optimizer\": \"sgd\", \"nesterov\": true}"),
    TCFG("trainer_create: duplicate key", "{\"epochs\": 2, \"epochs\": 3}"),
    TCFG("trainer_create: trailing comma", "{\"epochs\": 2,}"),
    CALL("trainer_create: 100000 nested '['", b_trainer_deep, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_config: NULL trainer", b_tconfig_null, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_config: NULL len", b_tconfig_null_len, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_config: buffer too small", b_tconfig_small, LAMINA_E_INVALID_ARGUMENT),
    /* ---- step / evaluate / fit: "LAMINA_E_NUMERIC (NaN/Inf in x or y ...: then the weights are
    ** left as they were before the step)" */
    CALL("trainer_step: NULL trainer", b_step_null_trainer, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_step: NULL x", b_step_null_x, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_step: NULL y", b_step_null_y, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_step: n = 0", b_step_zero, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_step: NaN in y", b_step_nan_y, LAMINA_E_NUMERIC),
    CALL("trainer_step: Inf in x", b_step_inf_x, LAMINA_E_NUMERIC),
    CALL2("trainer_step: n = SIZE_MAX/2", b_step_absurd, LAMINA_E_OUT_OF_MEMORY, LAMINA_E_INVALID_ARGUMENT),
    CALL2("trainer_step: n = SIZE_MAX", b_step_size_max, LAMINA_E_OUT_OF_MEMORY, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_evaluate: NULL trainer", b_eval_null, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_evaluate: NaN in y", b_eval_nan_y, LAMINA_E_NUMERIC),
    CALL("trainer_evaluate: n = 0", b_eval_zero, LAMINA_E_INVALID_ARGUMENT),
    CALL2("trainer_evaluate: n = SIZE_MAX", b_eval_size_max, LAMINA_E_OUT_OF_MEMORY, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_fit: NULL trainer", b_fit_null, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_fit: NULL y", b_fit_null_y, LAMINA_E_INVALID_ARGUMENT),
    CALL("trainer_fit: NaN in x", b_fit_nan_x, LAMINA_E_NUMERIC),
    CALL("trainer_fit: NaN in y", b_fit_nan_y, LAMINA_E_NUMERIC),
    CALL("trainer_fit: n = 0", b_fit_zero, LAMINA_E_INVALID_ARGUMENT),
    CALL2("trainer_fit: n = SIZE_MAX/2", b_fit_absurd, LAMINA_E_OUT_OF_MEMORY, LAMINA_E_INVALID_ARGUMENT),
    CALL2("trainer_fit: n = SIZE_MAX", b_fit_size_max, LAMINA_E_OUT_OF_MEMORY, LAMINA_E_INVALID_ARGUMENT),
    /* ---- save: "Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_IO" */
    CALL("save: NULL model", b_save_null_model, LAMINA_E_INVALID_ARGUMENT),
    CALL("save: NULL path", b_save_null_path, LAMINA_E_INVALID_ARGUMENT),
    CALL("save: /nonexistent/dir/x.safetensors", b_save_no_dir, LAMINA_E_IO),
    CALL("save: path is a directory (rename fails)", b_save_over_dir, LAMINA_E_IO),
    CALL2("save: a 5000-character path", b_save_long_path, LAMINA_E_IO, LAMINA_E_INVALID_ARGUMENT),
    CALL("save: write error over an existing file", b_save_write_error, LAMINA_E_IO),
    /* ---- load: "Errors: LAMINA_E_INVALID_ARGUMENT, LAMINA_E_IO, LAMINA_E_FORMAT" */
    CALL("load: NULL path", b_load_null_path, LAMINA_E_INVALID_ARGUMENT),
    CALL("load: NULL out", b_load_null_out, LAMINA_E_INVALID_ARGUMENT),
    LOAD("load: nonexistent file", "does-not-exist.safetensors", LAMINA_E_IO),
    CALL("load: a directory", b_load_dir, LAMINA_E_IO),
    CALL2("load: a FIFO without a writer (must not hang)", b_load_fifo, LAMINA_E_IO, LAMINA_E_FORMAT),
    CALL2("load: /dev/zero", b_load_dev_zero, LAMINA_E_IO, LAMINA_E_FORMAT),
    CALL2("load: /dev/null", b_load_dev_null, LAMINA_E_IO, LAMINA_E_FORMAT),
    CALL2("load: a 5000-character path", b_load_long_path, LAMINA_E_IO, LAMINA_E_INVALID_ARGUMENT),
    LOAD("load: empty file", "empty.safetensors", LAMINA_E_FORMAT),
    LOAD("load: 4096 random bytes", "garbage.safetensors", LAMINA_E_FORMAT),
    LOAD("load: length 100 then random bytes", "garbage2.safetensors", LAMINA_E_FORMAT),
    LOAD("load: a text file", "text.safetensors", LAMINA_E_FORMAT),
    HOSTILE("load: header length 2^63", V_HLEN_2_63),
    HOSTILE("load: header length past the end", V_HLEN_PAST_END),
    HOSTILE("load: header length LAMINA_MAX_HEADER_BYTES + 1", V_HLEN_OVER_LIMIT),
    HOSTILE("load: header length 0", V_HLEN_ZERO),
    HOSTILE("load: header length cuts the JSON", V_HLEN_SHORT),
    HOSTILE("load: header not JSON", V_HEADER_GARBAGE),
    HOSTILE("load: header a JSON array", V_HEADER_ARRAY),
    HOSTILE("load: header {}", V_HEADER_EMPTY),
    HOSTILE("load: header 100000 nested '['", V_HEADER_DEEP),
    HOSTILE("load: header not UTF-8", V_HEADER_NOT_UTF8),
    HOSTILE("load: data_offsets past the end", V_OFFSETS_PAST_END),
    HOSTILE("load: data_offsets reversed", V_OFFSETS_REVERSED),
    HOSTILE("load: data_offsets 4 bytes short of the shape", V_OFFSETS_SIZE),
    HOSTILE("load: data_offsets near 2^64", V_OFFSETS_HUGE),
    HOSTILE("load: data_offsets negative", V_OFFSETS_NEGATIVE),
    HOSTILE("load: data_offsets missing", V_OFFSETS_MISSING),
    HOSTILE("load: data_offsets with one number", V_OFFSETS_ONE),
    HOSTILE("load: dtype F64", V_DTYPE_F64),
    HOSTILE("load: dtype I32", V_DTYPE_I32),
    HOSTILE("load: dtype unknown", V_DTYPE_UNKNOWN),
    HOSTILE("load: dtype missing", V_DTYPE_MISSING),
    HOSTILE("load: dtype a number", V_DTYPE_NOT_STRING),
    HOSTILE("load: shape transposed (same size)", V_SHAPE_TRANSPOSED),
    HOSTILE("load: shape differs from the spec", V_SHAPE_WRONG),
    HOSTILE("load: shape negative", V_SHAPE_NEGATIVE),
    HOSTILE("load: shape product overflows", V_SHAPE_OVERFLOW),
    HOSTILE("load: shape fractional", V_SHAPE_FRACTIONAL),
    HOSTILE("load: shape missing", V_SHAPE_MISSING),
    HOSTILE("load: shape [] (scalar)", V_SHAPE_SCALAR),
    HOSTILE("load: a tensor missing", V_TENSOR_MISSING),
    HOSTILE("load: an extra tensor", V_TENSOR_EXTRA),
    HOSTILE("load: tensor entry not an object", V_TENSOR_NOT_OBJECT),
    HOSTILE("load: no __metadata__", V_NO_METADATA),
    HOSTILE("load: __metadata__ not an object", V_METADATA_NOT_OBJECT),
    HOSTILE("load: no spec in the metadata", V_NO_SPEC),
    HOSTILE("load: spec not JSON", V_SPEC_NOT_JSON),
    HOSTILE("load: spec not an object", V_SPEC_NOT_OBJECT),
    HOSTILE("load: spec with width 1e12", V_SPEC_ABSURD),
    HOSTILE("load: spec of another architecture", V_SPEC_OTHER_ARCH),
    HOSTILE("load: spec with unknown kind", V_SPEC_UNKNOWN_KIND),
    HOSTILE("load: spec 100000 nested '['", V_SPEC_DEEP),
    HOSTILE("load: NaN weight", V_NAN_WEIGHT),
    HOSTILE("load: Inf weight", V_INF_WEIGHT),
    HOSTILE("load: 20000 extra tensors", V_MANY_TENSORS),
    HOSTILE("load: duplicate tensor name", V_DUPLICATE_TENSOR),
    HOSTILE("load: duplicate spec key in __metadata__", V_DUPLICATE_METADATA),
};

static void make_fixtures(void)
{
    size_t i;
    sbuf b = {0};
    unsigned char garbage[4096];
    /* NaN/Inf inputs: the bad value is late in the array, so a partial check misses it. */
    memcpy(g_xnan, g_x, sizeof g_x);
    memcpy(g_xinf, g_x, sizeof g_x);
    memcpy(g_xninf, g_x, sizeof g_x);
    memcpy(g_ynan, g_y, sizeof g_y);
    g_xnan[REF_N * 3 - 1] = NAN;
    g_xinf[REF_N * 3 / 2] = INFINITY;
    g_xninf[5] = -INFINITY;
    g_ynan[REF_N * 2 - 1] = NAN;
    for (i = 0; i < 24; i++) g_wok[i] = g_wnan[i] = g_winf[i] = 0.5f;
    g_wnan[23] = NAN;
    g_winf[0] = INFINITY;

    g_deep = (char *)malloc(100001);
    memset(g_deep, '[', 100000);
    g_deep[100000] = '\0';
    sb_puts(&b, "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2, \"hidden\": ");
    sb_puts(&b, g_deep);
    sb_puts(&b, "}");
    g_deep_spec = b.p;
    b.p = NULL;
    b.n = b.cap = 0;
    for (i = 0; i < 100000; i++) sb_puts(&b, "{\"a\": ");
    g_deep_obj = b.p;
    b.p = NULL;
    b.n = b.cap = 0;
    sb_puts(&b, "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2, \"note\": \"");
    while (b.n < (size_t)LAMINA_MAX_JSON_BYTES + 16) sb_puts(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    sb_puts(&b, "\"}");
    g_huge_json = b.p;
    b.p = NULL;
    b.n = b.cap = 0;
    sb_puts(&b, "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2, \"hidden\": [1");
    for (i = 1; i < LAMINA_MAX_LAYERS + 10; i++) sb_puts(&b, ", 1");
    sb_puts(&b, "]}");
    g_many_layers = b.p;
    b.p = NULL;
    b.n = b.cap = 0;
    sb_puts(&b, "{\"kind\": \"mlp\", \"input\": 3, \"output\": 2, \"hidden\": ");
    for (i = 0; i < 129; i++) sb_puts(&b, "[");
    sb_puts(&b, "8");
    for (i = 0; i < 129; i++) sb_puts(&b, "]");
    sb_puts(&b, "}");
    g_nest129 = b.p;

    memset(g_long_path, 'a', 5000);
    memcpy(g_long_path, g_dir, strlen(g_dir));
    g_long_path[strlen(g_dir)] = '/';
    g_long_path[5000] = '\0';
    write_file(P("empty.safetensors"), "", 0);
    for (i = 0; i < sizeof garbage; i++) garbage[i] = (unsigned char)(frand() * 127.0f + 128.0f);
    write_file(P("garbage.safetensors"), garbage, sizeof garbage);
    garbage[0] = 100;
    for (i = 1; i < 8; i++) garbage[i] = 0;
    write_file(P("garbage2.safetensors"), garbage, 108);
    write_file(P("text.safetensors"), "hello, world\n", 13);
}

static void probe_case(void *p)
{
    const bad_case *c = (const bad_case *)p;
    c->fn(c);
}

static void test_bad_calls(void)
{
    size_t i, n = sizeof g_bad / sizeof g_bad[0];
    char ctx[256];
    section("bad-call table");
    printf("   %zu bad calls\n", n);
    CHECK(n >= 30, "table has %zu entries", n);
    for (i = 0; i < n; i++) {
        const bad_case *c = &g_bad[i];
        lamina_status s;
        const char *e;
        char msg[512];
        int status_ok, msg_ok, ref_ok;
        snprintf(ctx, sizeof ctx, "bad call %zu: %s", i, c->what);
        g_ctx = ctx;
        if (probe_crashed(probe_case, (void *)c, ctx)) {
            if (g_verbose) printf("   %-58s CRASHED OR HUNG\n", c->what);
            continue;
        }
        s = c->fn(c);
        e = lamina_last_error();
        snprintf(msg, sizeof msg, "%s", e ? e : "(null)");
        status_ok = s == c->want || (c->alt != NOALT && (int)s == c->alt);
        msg_ok = e != NULL && e[0] != '\0';
        ref_ok = ref_unchanged();
        if (g_verbose) printf("   %-58s %-26s %s\n", c->what, sname(s), msg);
        CHECK(status_ok, "expected %s%s%s, got %s (\"%s\")", sname(c->want), c->alt != NOALT ? " or " : "",
              c->alt != NOALT ? sname((lamina_status)c->alt) : "", sname(s), msg);
        CHECK(msg_ok, "no lamina_last_error() message after %s", sname(s));
        CHECK(ref_ok, "the reference model changed");
    }
    g_ctx = "bad-call table";
}

/* The loader cases shared with the Swift and Python suites. LAMINA_WRITE_LOADER_CASES=DIR
** writes every file the tables above load (the valid rebuilds, each hostile variant, the
** plain bad files) into DIR, with the manifest DIR/safetensors.tsv: one line per file (which
** need not exist: the missing-file case), its expected status, the status every proper
** prefix of it must give ("-": not checked) and the table's description. The copy in
** Tests/Data/loader_cases is read by Tests/LaminaTests/IO/LoaderCaseTests.swift and
** bindings/python/tests/test_loader_cases.py; Tests/Data/loader_cases/regenerate.sh
** rewrites it from these tables. */
static const char *case_file(const char *name)
{
    static char buf[96];
    size_t i, k = 0;
    if (strncmp(name, "V_", 2) == 0) name += 2;
    for (i = 0; name[i] && k + 16 < sizeof buf; i++)
        buf[k++] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    buf[k] = '\0';
    if (!strchr(buf, '.')) strcat(buf, ".safetensors");
    return buf;
}

static void write_loader_cases(const char *dir)
{
    char path[1024];
    sbuf manifest = {0};
    size_t i, n = 0;
    sb_puts(&manifest, "# Written by Tests/C/test_abi_bad_calls.c (write_loader_cases) from its tables; do not edit.\n"
                       "# Regenerate: bash Tests/Data/loader_cases/regenerate.sh\n"
                       "# file\tstatus\tstatus of every proper prefix (- = unchecked)\twhat\n");
    for (i = 0; i < sizeof g_valid / sizeof g_valid[0]; i++) {
        sbuf b = {0};
        const char *name = case_file(g_valid[i].name);
        build_variant(g_valid[i].v, &b);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        CHECK(write_file(path, b.p, b.n), "cannot write %s", path);
        sb_printf(&manifest, "%s\tLAMINA_OK\tLAMINA_E_FORMAT\t%s\n", name, g_valid[i].what);
        sb_free(&b);
        n++;
    }
    for (i = 0; i < sizeof g_bad / sizeof g_bad[0]; i++) {
        const bad_case *c = &g_bad[i];
        const char *name;
        if (c->fn != bad_variant && c->fn != bad_load) continue;
        CHECK(c->alt == NOALT, "%s: the manifest has no alternative status", c->what);
        name = case_file(c->arg);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (c->fn == bad_variant) {
            sbuf b = {0};
            build_variant(c->variant, &b);
            CHECK(write_file(path, b.p, b.n), "cannot write %s", path);
            sb_free(&b);
        } else {
            size_t len;
            unsigned char *data = read_file(P(c->arg), &len);
            if (data) CHECK(write_file(path, data, len), "cannot write %s", path);
            free(data); /* no fixture: the file must not exist (the missing-file case) */
        }
        sb_printf(&manifest, "%s\t%s\t-\t%s\n", name, sname(c->want), c->what);
        n++;
    }
    snprintf(path, sizeof path, "%s/safetensors.tsv", dir);
    CHECK(write_file(path, manifest.p, manifest.n), "cannot write %s", path);
    printf("   wrote %zu loader cases to %s\n", n, dir);
    sb_free(&manifest);
}

/* "Every offset ... is checked": each proper prefix of a saved model is refused. */
static void test_truncations(void)
{
    unsigned char *file;
    size_t flen = 0, cut, bad = 0, nomsg = 0;
    char first[512] = "";
    section("every truncation of a saved model");
    file = read_file(P("ref.safetensors"), &flen);
    if (!CHECK(file != NULL && flen > 8, "saved reference model missing")) return;
    for (cut = 0; cut < flen; cut++) {
        lamina_model *m = NULL;
        lamina_status s;
        char ctx[64];
        snprintf(ctx, sizeof ctx, "truncated to %zu of %zu bytes", cut, flen);
        g_ctx = ctx;
        if (!write_file(P("trunc.safetensors"), file, cut)) {
            bad++;
            continue;
        }
        s = lamina_model_load(P("trunc.safetensors"), &m);
        if (s != LAMINA_E_FORMAT) {
            if (!bad)
                snprintf(first, sizeof first, "first: %zu bytes gave %s (\"%s\")", cut, sname(s), lamina_last_error());
            bad++;
        } else if (lamina_last_error()[0] == '\0') {
            nomsg++;
        }
        if (s == LAMINA_OK) lamina_model_free(m);
    }
    g_ctx = "every truncation of a saved model";
    printf("   %zu truncations\n", flen);
    CHECK(bad == 0, "%zu of %zu truncations not refused with LAMINA_E_FORMAT; %s", bad, flen, first);
    CHECK(nomsg == 0, "%zu truncations gave no message", nomsg);
    CHECK(ref_unchanged(), "reference model changed");
    remove(P("trunc.safetensors"));
    free(file);
}

/* =======================================================================================
** main
*/

int main(void)
{
    size_t i;
    if (harness_begin("test_abi_bad_calls")) return 2;

    section("reference model");
    g_ref = MK(REF_SPEC);
    if (g_ref) {
        fill_rand(g_x, REF_N * 3);
        fill_rand(g_y, REF_N * 2);
        CHECK_OK(lamina_model_predict(g_ref, g_x, REF_N, g_ref_y0));
        g_ref_snap0 = take_snap(g_ref);
        CHECK(g_ref_snap0.ok, "snapshot of the reference model");
        g_ref_trainer = MKT(g_ref, "{\"optimizer\": \"sgd\", \"learning_rate\": 0.1, \"batch_size\": 4}");
        load_ref_tensors();
        make_fixtures();
        run_probed(test_save_load, "test_save_load");
        run_probed(test_valid_rebuilds, "test_valid_rebuilds");
        test_bad_calls();
        run_probed(test_truncations, "test_truncations");
        if (getenv("LAMINA_WRITE_LOADER_CASES")) write_loader_cases(getenv("LAMINA_WRITE_LOADER_CASES"));
    }

    lamina_trainer_free(g_ref_trainer);
    lamina_model_free(g_ref);
    free(g_ref_snap0.v);
    for (i = 0; i < g_ntens; i++) free(g_tens[i].data);
    for (i = 0; i < g_nmeta; i++) {
        free(g_meta[i].key);
        free(g_meta[i].value);
    }
    free(g_deep);
    free(g_deep_spec);
    free(g_deep_obj);
    free(g_huge_json);
    free(g_many_layers);
    free(g_nest129);
    return harness_end();
}
