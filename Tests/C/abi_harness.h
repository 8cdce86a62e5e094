/*
** abi_harness.h -- what the test_abi_* programs share on top of check.h: crash probes, small
** helpers for random data, buffers and files, Lamina helpers, and each program's start and
** end. They check liblamina against the promises written in include/lamina.h, one topic per
** program:
**
**   test_abi_model.c      versions, status strings, create/free/clone, specs, initialisers,
**                         named tensors
**   test_abi_predict.c    prediction, input gradients, concurrency
**   test_abi_bad_calls.c  save/load and the file format, hostile and truncated files, and
**                         the bad-call table (each call must leave a reference model as it was)
**   test_abi_training.c   trainer config, steps, fit, L-BFGS, determinism; losses, optimizers
**                         and schedules against hand-computed values; robustness
**
** Plain C99 plus POSIX (threads, mkdtemp, setrlimit, dirent). Each CHECK is one assertion;
** the last line printed is "N passed, M failed" and the exit status is non-zero when M > 0.
** Comments quote the header text each group of checks relies on. Beyond check.h, a section
** can run first in a forked child (run_probed), so that a crash is reported and the rest
** still runs, and CHECK_ST checks the status alone (the bad-call table checks the messages).
**
** Run from build/ (as `make test-c` does): temporary files go in a mkdtemp directory in the
** working directory and are removed at the end. LAMINA_TEST_VERBOSE=1 prints the status and
** message of every call in the bad-call table. Header-only (static inline functions), so
** each program stays one file; a program defines _XOPEN_SOURCE 700 before including it.
*/
#ifndef LAMINA_TEST_ABI_HARNESS_H
#define LAMINA_TEST_ABI_HARNESS_H

#include "check.h"
#include "model_helpers.h"
#include "lamina.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* =======================================================================================
** Assertion kit, beyond check.h: status names, the status-only CHECK_ST, crash probes
*/

static const char *g_program = "test_abi"; /* names the program in crash reports: harness_begin */

static inline const char *sname(lamina_status s)
{
    switch (s) {
    case LAMINA_OK: return "LAMINA_OK";
    case LAMINA_E_INVALID_ARGUMENT: return "LAMINA_E_INVALID_ARGUMENT";
    case LAMINA_E_SHAPE: return "LAMINA_E_SHAPE";
    case LAMINA_E_IO: return "LAMINA_E_IO";
    case LAMINA_E_FORMAT: return "LAMINA_E_FORMAT";
    case LAMINA_E_NUMERIC: return "LAMINA_E_NUMERIC";
    case LAMINA_E_OUT_OF_MEMORY: return "LAMINA_E_OUT_OF_MEMORY";
    case LAMINA_E_UNSUPPORTED: return "LAMINA_E_UNSUPPORTED";
    case LAMINA_E_CANCELLED: return "LAMINA_E_CANCELLED";
    case LAMINA_E_INTERNAL: return "LAMINA_E_INTERNAL";
    }
    return "(unknown status)";
}

static inline int st_(lamina_status got, lamina_status want, const char *file, int line, const char *call)
{
    if (got == want) {
        g_pass++;
        return 1;
    }
    g_fail++;
    if (g_quiet) return 0;
    fprintf(stderr, "FAIL %s:%d [%s] %s: expected %s, got %s (last_error: \"%s\")\n", file, line,
            g_ctx, call, sname(want), sname(got), lamina_last_error());
    return 0;
}

/* The status alone, not check.h's status and message. */
#undef CHECK_ST
#define CHECK_ST(call, want) st_((call), (want), __FILE__, __LINE__, #call)

static inline void on_crash(int sig)
{
    const char *a = " crashed (fatal signal) while running: ";
    if (write(2, "\n*** ", 5) < 0 || write(2, g_program, strlen(g_program)) < 0 ||
        write(2, a, strlen(a)) < 0 || write(2, g_ctx, strlen(g_ctx)) < 0 || write(2, "\n", 1) < 0) {
        /* nothing more can be done */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
** "No input crashes the process" -- but if one does, the rest of the suite should still run.
** run_probed() first runs `fn` in a forked child that reports nothing; if the child dies of
** a signal, the crash handler has already named the call, one failure is counted and `fn` is
** skipped; a child still running after 300 s (or a call's own alarm) counts as a hang.
** Otherwise `fn` runs for real in this process.
*/
static inline int probe_crashed(void (*fn)(void *), void *arg, const char *what)
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        g_quiet = 1;
        alarm(300);
        fn(arg);
        _exit(0);
    }
    if (pid < 0) return 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        g_fail++;
        fprintf(stderr, "FAIL [%s] the call hung (no answer before the alarm); skipped\n", what);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        g_fail++;
        fprintf(stderr, "FAIL [%s] the library crashed the process (signal %d: %s); skipped\n", what,
                WTERMSIG(status), WTERMSIG(status) == SIGILL || WTERMSIG(status) == SIGTRAP ? "Swift trap" : "fault");
        return 1;
    }
    return 0;
}

static inline void call_section(void *fn)
{
    void (*f)(void);
    memcpy(&f, fn, sizeof f);
    f();
}

static inline void run_probed(void (*f)(void), const char *name)
{
    if (!probe_crashed(call_section, (void *)&f, name)) f();
}

/* =======================================================================================
** Small helpers: random numbers, buffers, files
*/

static uint64_t g_rng = UINT64_C(0x9E3779B97F4A7C15);

/* Uniform in [-1, 1). Our own generator, so the data do not depend on libc. */
static inline float frand(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static inline float *falloc(size_t n)
{
    float *p = (float *)calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", g_program);
        exit(2);
    }
    return p;
}

static inline void fill_rand(float *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) p[i] = frand();
}

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static inline void sb_put(sbuf *b, const void *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->p = (char *)realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "%s: out of memory\n", g_program);
            exit(2);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static inline void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static inline void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) sb_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

static inline void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static inline void put_le64(sbuf *b, uint64_t v)
{
    unsigned char c[8];
    int i;
    for (i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
    sb_put(b, c, 8);
}

static inline void put_f32(sbuf *b, float f)
{
    uint32_t u;
    unsigned char c[4];
    int i;
    memcpy(&u, &f, 4);
    for (i = 0; i < 4; i++) c[i] = (unsigned char)(u >> (8 * i));
    sb_put(b, c, 4);
}

static inline void put_f64(sbuf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_le64(b, u);
}

static inline float get_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* JSON string escaping, for putting a spec inside the safetensors metadata. */
static inline void json_escape(sbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') sb_puts(b, "\\\"");
        else if (c == '\\') sb_puts(b, "\\\\");
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_put(b, s, 1);
    }
}

/* Decodes the raw text of a JSON string (without its quotes). Caller frees. */
static inline char *json_unescape(const char *s, size_t n)
{
    sbuf b = {0};
    size_t i;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 >= n) {
            sb_put(&b, &c, 1);
            continue;
        }
        c = s[++i];
        switch (c) {
        case 'n': sb_puts(&b, "\n"); break;
        case 't': sb_puts(&b, "\t"); break;
        case 'r': sb_puts(&b, "\r"); break;
        case 'b': sb_puts(&b, "\b"); break;
        case 'f': sb_puts(&b, "\f"); break;
        case 'u':
            if (i + 4 < n) {
                char hex[5];
                unsigned long cp;
                memcpy(hex, s + i + 1, 4);
                hex[4] = '\0';
                cp = strtoul(hex, NULL, 16);
                i += 4;
                if (cp < 0x80) {
                    char o = (char)cp;
                    sb_put(&b, &o, 1);
                } else if (cp < 0x800) {
                    char o[2];
                    o[0] = (char)(0xC0 | (cp >> 6));
                    o[1] = (char)(0x80 | (cp & 0x3F));
                    sb_put(&b, o, 2);
                } else {
                    char o[3];
                    o[0] = (char)(0xE0 | (cp >> 12));
                    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    o[2] = (char)(0x80 | (cp & 0x3F));
                    sb_put(&b, o, 3);
                }
            }
            break;
        default: sb_put(&b, &c, 1); break; /* \" \\ \/ */
        }
    }
    if (!b.p) sb_puts(&b, "");
    return b.p;
}

static char g_dir[64]; /* mkdtemp directory, relative to the working directory */

/* Path of `name` inside the temporary directory (rotating static buffers). */
static inline const char *P(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", g_dir, name);
    return b;
}

static inline int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(data, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    return ok;
}

/* Whole file into a malloc'ed buffer (NUL-terminated, for convenience). */
static inline unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    sbuf b = {0};
    char tmp[65536];
    size_t k;
    *n = 0;
    if (!f) return NULL;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) sb_put(&b, tmp, k);
    fclose(f);
    if (!b.p) sb_puts(&b, "");
    *n = b.n;
    return (unsigned char *)b.p;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    struct stat st;
    char sub[1024];
    if (!d) {
        remove(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree(sub);
        else remove(sub);
    }
    closedir(d);
    rmdir(path);
}

/* =======================================================================================
** Lamina helpers
*/

/* All tensors, in index order, concatenated. */
typedef struct {
    size_t total;
    float *v;
    int ok;
} snap;

static inline snap take_snap(const lamina_model *m)
{
    snap s = {0, NULL, 1};
    size_t nt = lamina_model_tensor_count(m), i;
    for (i = 0; i < nt; i++) {
        char name[256];
        size_t shape[8], rank = 0, count;
        if (!tensor_name(m, i, name, sizeof name)) {
            s.ok = 0;
            break;
        }
        count = tensor_elems(m, name, shape, &rank);
        if (count == 0) {
            s.ok = 0;
            break;
        }
        s.v = (float *)realloc(s.v, (s.total + count) * sizeof(float));
        if (!s.v || lamina_model_tensor_read(m, name, s.v + s.total, count) != LAMINA_OK) {
            s.ok = 0;
            break;
        }
        s.total += count;
    }
    if (nt == 0) s.ok = 0;
    return s;
}

static inline int snap_equal(const snap *a, const snap *b)
{
    return a->ok && b->ok && a->total == b->total &&
           memcmp(a->v, b->v, a->total * sizeof(float)) == 0;
}

static inline int all_finite(const float *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static inline int has_key(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    return json && strstr(json, pat) != NULL;
}
/* The reference model of the bad-call table, and the batch size every program uses. */
#define REF_SPEC                                                                              \
    "{\"kind\": \"mlp\", \"input\": 3, \"hidden\": [8, 8], \"output\": 2, \"activation\": \"tanh\"," \
    " \"seed\": 1}"
#define REF_N 16

/* =======================================================================================
** A program's main: harness_begin first (0, or 2 when the temporary directory cannot be
** made), then the sections, then return harness_end().
*/

static inline int harness_begin(const char *program)
{
    struct sigaction sa;
    const char *v = getenv("LAMINA_TEST_VERBOSE");
    g_program = program;
    check_init();
    g_verbose = v && v[0] && strcmp(v, "0") != 0;
    setvbuf(stdout, NULL, _IOLBF, 0);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);

    snprintf(g_dir, sizeof g_dir, "lamina_abi_XXXXXX");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "%s: mkdtemp: %s\n", program, strerror(errno));
        return 2;
    }
    return 0;
}

static inline int harness_end(void)
{
    rm_tree(g_dir);
    return check_summary();
}

#endif /* LAMINA_TEST_ABI_HARNESS_H */
