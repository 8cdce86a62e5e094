/*
** Counts heap allocations for the steady-state allocation tests: a program that includes
** this (once) defines malloc, calloc and realloc, which win over libc's for the whole
** process (liblamina and OpenBLAS included), and counts the calls made while `counting` is
** set in `calls`.
*/
#ifndef LAMINA_TEST_MALLOC_COUNTER_H
#define LAMINA_TEST_MALLOC_COUNTER_H

#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static volatile int counting = 0;
static volatile long calls = 0;

void *malloc(size_t n) {
    if (counting) calls++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (counting) calls++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (counting) calls++;
    return __libc_realloc(p, n);
}

#endif
