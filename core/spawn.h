/* SPDX-License-Identifier: MIT */
/* core/spawn.h - the start pipeline's process part: clone the container's init into new
 * namespaces and set it up (rootfs, hostname, stdio, user, workdir, environment) in the child,
 * which reports a failure through a CLOEXEC pipe (EOF means the exec succeeded). */
#pragma once

#include <sys/types.h>

#include "core/err.h"

struct ctr;

/* What the child writes to the pipe when it fails before exec. */
struct spawn_report {
    int exit_code; /* 125, 126 or 127 */
    struct err e;
};

/* Clone C's init. STDIN_FD (or -1 for /dev/null) becomes its stdin; it is not closed here. On
 * success *PID is the child and *REPORT_FD the read end of its report pipe (CLOEXEC,
 * O_NONBLOCK). The clone itself is quick; the child's setup runs concurrently. */
int spawn_container(const struct ctr *c, const char *ctr_dir, const char *image_rootfs,
                    int stdin_fd, pid_t *pid, int *report_fd, struct err *e);
