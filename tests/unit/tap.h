/* SPDX-License-Identifier: MIT */
/* tests/unit/tap.h - minimal TAP producer. ok(cond, fmt...) prints one test line; done()
 * prints the plan and returns the exit code (1 when anything failed). Exit 77 skips a file. */
#pragma once

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                              \
    do {                                                                                           \
        int tap_c_ = !!(cond);                                                                     \
        tap_n++;                                                                                   \
        if (!tap_c_)                                                                               \
            tap_failed++;                                                                          \
        printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n);                                         \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        if (!tap_c_)                                                                               \
            printf("#   failed at %s:%d\n", __FILE__, __LINE__);                                   \
        fflush(stdout);                                                                            \
    } while (0)

static inline int done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
