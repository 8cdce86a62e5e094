/*
** scratch_files.h -- files in a test's scratch directory, shared by the C test programs that
** damage, truncate and compare saved files (test_faults.c, test_trainer_state.c):
** paths under g_dir, and whole-file reads and writes. Header-only.
*/
#ifndef LAMINA_TEST_SCRATCH_FILES_H
#define LAMINA_TEST_SCRATCH_FILES_H

#include <stdio.h>
#include <stdlib.h>

/* The test's scratch directory (each program makes it with mkdtemp). */
static char g_dir[64];
static char g_buf[8][512];
static int g_bufi;

/* g_dir/name (a few rotating buffers, so several paths can be live at once) */
static const char *P(const char *name)
{
    char *b = g_buf[g_bufi++ % 8];
    snprintf(b, 512, "%s/%s", g_dir, name);
    return b;
}

/* The whole file at `path` (malloc'd, *len bytes; NULL and *len 0 when it cannot be read). */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    *len = 0;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (unsigned char *)malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Writes `len` bytes to `path`, replacing it; 1 on success. */
static int write_all(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

#endif /* LAMINA_TEST_SCRATCH_FILES_H */
