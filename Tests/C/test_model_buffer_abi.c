/*
** test_model_buffer_abi.c -- saving and loading models through memory (lamina_model_save_buffer,
** lamina_model_load_buffer): round trips of an MLP, a KAN and a tri-plane field with
** bit-identical predictions; the buffer equals the file lamina_model_save writes, byte for
** byte; the two-call pattern (NULL/0 sizing, a too-small cap); NULL arguments; and hostile
** bytes (every truncation of a small model, flipped header bytes, len 0), which must fail
** with LAMINA_E_FORMAT and a message, or load a valid model, never crash.
*/
#define _XOPEN_SOURCE 700

#include "model_helpers.h"
#include "scratch_files.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const char *SPECS[] = {
    "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [16, 16], \"output\": 2, \"seed\": 4}",
    "{\"kind\": \"kan\", \"widths\": [3, 4, 2], \"grid\": 5, \"seed\": 6}",
    ("{\"kind\": \"triplane\", \"resolution\": 8, \"channels\": 4, \"seed\": 3,"
     " \"decoder\": {\"hidden\": [16], \"activation\": \"relu\"}}"),
};
enum { N = 64 };
static float g_x[N * 3];

/* The model's buffer (malloc'd, *len bytes) through the two-call pattern; NULL on failure. */
static unsigned char *save_buffer(const lamina_model *m, size_t *len)
{
    unsigned char *buf;
    size_t again = 0;
    *len = 0;
    if (!CHECK_OK(lamina_model_save_buffer(m, NULL, 0, len))) return NULL;
    CHECK(*len > 8, "sizing call gave %zu bytes", *len);
    buf = (unsigned char *)malloc(*len);
    if (!buf) return NULL;
    if (!CHECK_OK(lamina_model_save_buffer(m, buf, *len, &again))) {
        free(buf);
        return NULL;
    }
    CHECK(again == *len, "second call gave %zu bytes, sizing said %zu", again, *len);
    return buf;
}

static void test_round_trips(void)
{
    size_t k;
    section("round trips: MLP, KAN, tri-plane");
    for (k = 0; k < sizeof SPECS / sizeof SPECS[0]; k++) {
        lamina_model *m = MK(SPECS[k]), *back = NULL;
        unsigned char *buf, *file;
        size_t len, file_len, out;
        float *y, *y2;
        if (!m) continue;
        buf = save_buffer(m, &len);
        if (!buf) {
            lamina_model_free(m);
            continue;
        }
        /* The exact bytes lamina_model_save writes. */
        CHECK_OK(lamina_model_save(m, P("model.safetensors")));
        file = read_all(P("model.safetensors"), &file_len);
        CHECK(file && file_len == len && memcmp(file, buf, len) == 0,
              "%s: buffer (%zu bytes) differs from the saved file (%zu bytes)", SPECS[k], len,
              file_len);
        free(file);
        /* And the buffer, written to a file, is a file lamina_model_load reads. */
        CHECK(write_all(P("copy.safetensors"), buf, len), "cannot write the copy");
        CHECK_OK(lamina_model_load(P("copy.safetensors"), &back));
        CHECK(back && same_tensors(m, back), "%s: the buffer's file loads other tensors", SPECS[k]);
        lamina_model_free(back);
        back = NULL;
        CHECK_OK(lamina_model_load_buffer(buf, len, &back));
        if (back) {
            out = lamina_model_output_dim(m);
            y = (float *)malloc(N * out * sizeof(float));
            y2 = (float *)malloc(N * out * sizeof(float));
            CHECK(lamina_model_output_dim(back) == out, "output dims differ");
            CHECK_OK(lamina_model_predict(m, g_x, N, y));
            CHECK_OK(lamina_model_predict(back, g_x, N, y2));
            CHECK(memcmp(y, y2, N * out * sizeof(float)) == 0, "%s: predictions differ",
                  SPECS[k]);
            CHECK(same_tensors(m, back), "%s: tensors differ after the round trip", SPECS[k]);
            free(y);
            free(y2);
            lamina_model_free(back);
        }
        free(buf);
        lamina_model_free(m);
    }
}

static void test_arguments(void)
{
    lamina_model *m = MK(SPECS[0]), *out = (lamina_model *)&out;
    unsigned char small[16], *buf;
    size_t len = 0, need = 0;
    section("NULL arguments and the two-call pattern");
    if (!m) return;
    CHECK_ST(lamina_model_save_buffer(NULL, NULL, 0, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_save_buffer(m, NULL, 0, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_save_buffer(m, NULL, 8, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK_OK(lamina_model_save_buffer(m, NULL, 0, &need));
    /* Too small: LAMINA_E_INVALID_ARGUMENT, *len still set, nothing written. */
    memset(small, 0xAB, sizeof small);
    len = 0;
    CHECK_ST(lamina_model_save_buffer(m, small, sizeof small, &len), LAMINA_E_INVALID_ARGUMENT);
    CHECK(len == need, "too-small call set *len = %zu, want %zu", len, need);
    CHECK(small[0] == 0xAB && small[15] == 0xAB, "too-small call wrote to the buffer");
    buf = (unsigned char *)malloc(need + 1);
    CHECK_ST(lamina_model_save_buffer(m, buf, need - 1, &len), LAMINA_E_INVALID_ARGUMENT);
    /* A larger cap is fine; SIZE_MAX means "more than enough". */
    CHECK_OK(lamina_model_save_buffer(m, buf, need + 1, &len));
    CHECK(len == need, "larger cap gave %zu bytes, want %zu", len, need);
    CHECK_OK(lamina_model_save_buffer(m, buf, SIZE_MAX, &len));
    /* Loading: NULL out, NULL buf (even with len 0), len 0, absurd len. */
    CHECK_ST(lamina_model_load_buffer(buf, need, NULL), LAMINA_E_INVALID_ARGUMENT);
    CHECK_ST(lamina_model_load_buffer(NULL, need, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(out == NULL, "out not cleared on failure");
    out = (lamina_model *)&out;
    CHECK_ST(lamina_model_load_buffer(NULL, 0, &out), LAMINA_E_INVALID_ARGUMENT);
    CHECK(out == NULL, "out not cleared on failure");
    CHECK_ST(lamina_model_load_buffer(buf, 0, &out), LAMINA_E_FORMAT);
    CHECK(out == NULL, "len 0 gave a model");
    CHECK_ST(lamina_model_load_buffer(buf, SIZE_MAX, &out), LAMINA_E_FORMAT);
    CHECK_ST(lamina_model_load_buffer(buf, (size_t)1 << 40, &out), LAMINA_E_FORMAT);
    free(buf);
    lamina_model_free(m);
}

/* A load that must not crash: LAMINA_OK with a model, or a failure with a message. */
static int load_hostile(const unsigned char *buf, size_t len, lamina_status *status)
{
    lamina_model *m = NULL;
    *status = lamina_model_load_buffer(buf, len, &m);
    if (*status == LAMINA_OK) {
        int ok = m != NULL && lamina_model_input_dim(m) > 0;
        lamina_model_free(m);
        return ok;
    }
    return m == NULL && lamina_last_error()[0] != '\0';
}

static void test_hostile_bytes(void)
{
    lamina_model *m = MK("{\"kind\": \"mlp\", \"input\": 2, \"hidden\": [3], \"output\": 1}");
    unsigned char *buf, *copy;
    size_t len, cut, i;
    lamina_status st;
    int bad = 0, not_format = 0;
    section("truncated and damaged buffers");
    if (!m) return;
    buf = save_buffer(m, &len);
    if (!buf) return;
    /* Every truncation, each in its own allocation so that reading past it would be seen by
    ** a memory checker. */
    for (cut = 0; cut < len; cut++) {
        copy = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        if (!load_hostile(copy, cut, &st)) bad++;
        if (st != LAMINA_E_FORMAT) not_format++;
        free(copy);
    }
    CHECK(bad == 0, "%d truncations crashed the contract (no message, or a model left)", bad);
    CHECK(not_format == 0, "%d truncations were not LAMINA_E_FORMAT", not_format);
    /* Every byte of the length word and header, flipped: each loads or fails cleanly. */
    {
        uint64_t header = 0;
        bad = 0;
        for (i = 0; i < 8; i++) header |= (uint64_t)buf[i] << (8 * i);
        copy = (unsigned char *)malloc(len);
        for (i = 0; i < 8 + header && i < len; i++) {
            memcpy(copy, buf, len);
            copy[i] ^= 0xFF;
            if (!load_hostile(copy, len, &st)) bad++;
            memcpy(copy, buf, len);
            copy[i] ^= 0x01;
            if (!load_hostile(copy, len, &st)) bad++;
        }
        CHECK(bad == 0, "%d damaged headers crashed the contract", bad);
        /* A damaged data byte (the last weight's exponent: a non-finite or changed value). */
        memcpy(copy, buf, len);
        copy[len - 1] ^= 0x7F;
        CHECK(load_hostile(copy, len, &st), "a damaged weight crashed the contract");
        free(copy);
    }
    /* Junk and an extra byte. */
    {
        unsigned char junk[64];
        lamina_model *out = NULL;
        for (i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
        CHECK_ST(lamina_model_load_buffer(junk, sizeof junk, &out), LAMINA_E_FORMAT);
        copy = (unsigned char *)malloc(len + 1);
        memcpy(copy, buf, len);
        copy[len] = 0;
        CHECK(load_hostile(copy, len + 1, &st), "an extra byte crashed the contract");
        free(copy);
    }
    free(buf);
    lamina_model_free(m);
}

int main(void)
{
    size_t i;
    check_init();
    for (i = 0; i < N * 3; i++) g_x[i] = (float)((i * 7919u) % 2001u) / 1000.0f - 1.0f;
    snprintf(g_dir, sizeof g_dir, "/tmp/lamina-buffer-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_arguments();
    test_hostile_bytes();
    unlink(P("model.safetensors"));
    unlink(P("copy.safetensors"));
    rmdir(g_dir);
    return check_summary();
}
