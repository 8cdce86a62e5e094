/*
** check.h -- the assertion kit shared by the C test programs in Tests/C.
**
** Each CHECK is one assertion; CHECK_OK / CHECK_ST check a call's status and, for a failure,
** that lamina_last_error() names the problem (a non-empty message). A test program calls
** check_init() first and returns check_summary() from main: it prints "N passed, M failed"
** and is non-zero when M > 0. LAMINA_TEST_VERBOSE=1 prints the status and message of every
** call expected to fail. Header-only (static functions), so each test stays one file.
*/
#ifndef LAMINA_TEST_CHECK_H
#define LAMINA_TEST_CHECK_H

#include "lamina.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int g_pass, g_fail;
static int g_verbose;
static int g_quiet; /* failures are counted but not printed (abi_harness.h's crash probes) */
static const char *g_ctx = "start";

static void check_init(void) { g_verbose = getenv("LAMINA_TEST_VERBOSE") != NULL; }

static int check_summary(void)
{
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

static int check_(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    va_list ap;
    if (ok) {
        g_pass++;
        return 1;
    }
    g_fail++;
    if (g_quiet) return 0;
    fprintf(stderr, "FAIL %s:%d [%s] %s: ", file, line, g_ctx, expr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

static int status_(lamina_status got, lamina_status want, const char *file, int line,
                   const char *call)
{
    const char *message = lamina_last_error();
    if (g_verbose && want != LAMINA_OK)
        printf("   %s -> %s \"%s\"\n", call, lamina_status_string(got), message);
    if (got == want && (want == LAMINA_OK || message[0] != '\0')) {
        g_pass++;
        return 1;
    }
    g_fail++;
    if (g_quiet) return 0;
    fprintf(stderr, "FAIL %s:%d [%s] %s: expected %s, got %s (last_error: \"%s\")\n", file, line,
            g_ctx, call, lamina_status_string(want), lamina_status_string(got), message);
    return 0;
}

#define CHECK(cond, ...) check_((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_OK(call) status_((call), LAMINA_OK, __FILE__, __LINE__, #call)
#define CHECK_ST(call, want) status_((call), (want), __FILE__, __LINE__, #call)

/* Names the group of checks that follow in failure messages. */
static void section(const char *name)
{
    g_ctx = name;
    printf("-- %s\n", name);
    fflush(stdout);
}

#endif /* LAMINA_TEST_CHECK_H */
