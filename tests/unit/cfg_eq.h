/* SPDX-License-Identifier: MIT */
/* tests/unit/cfg_eq.h - field-by-field equality of two container configs, shared by the tests
 * that round-trip a config (test_ctr through JSON, test_snapshot through the snapshot). Keep it
 * in step with struct ctr_config. */
#pragma once

#include <string.h>

#include "core/ctr.h"

static inline int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static inline int strv_eq(char **a, char **b)
{
    size_t i = 0;
    for (; a && a[i] && b && b[i]; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return !(a && a[i]) && !(b && b[i]);
}

static inline int mounts_eq(const struct ctr_config *a, const struct ctr_config *b)
{
    if (a->nmounts != b->nmounts)
        return 0;
    for (int i = 0; i < a->nmounts; i++) {
        const struct ctr_mount *x = &a->mounts[i], *y = &b->mounts[i];
        if (x->type != y->type || !str_eq(x->source, y->source) || !str_eq(x->target, y->target) ||
            x->read_only != y->read_only || x->anonymous != y->anonymous ||
            x->nocopy != y->nocopy || x->flags != y->flags || x->tmpfs_size != y->tmpfs_size ||
            x->tmpfs_mode != y->tmpfs_mode)
            return 0;
    }
    return 1;
}

static inline int health_eq(const struct ctr_health *a, const struct ctr_health *b)
{
    return strv_eq(a->test, b->test) && !a->test == !b->test && a->interval_ms == b->interval_ms &&
           a->timeout_ms == b->timeout_ms && a->start_period_ms == b->start_period_ms &&
           a->start_interval_ms == b->start_interval_ms && a->retries == b->retries &&
           a->on_failure == b->on_failure && a->sdnotify == b->sdnotify;
}

static inline int cfg_eq(const struct ctr_config *a, const struct ctr_config *b)
{
    return str_eq(a->image, b->image) && strv_eq(a->argv, b->argv) && strv_eq(a->env, b->env) &&
           strv_eq(a->labels, b->labels) && str_eq(a->hostname, b->hostname) &&
           str_eq(a->user, b->user) && str_eq(a->workdir, b->workdir) &&
           a->read_only == b->read_only && a->network == b->network &&
           str_eq(a->network_name, b->network_name) && str_eq(a->ip, b->ip) &&
           strv_eq(a->ports, b->ports) && strv_eq(a->dns, b->dns) &&
           strv_eq(a->devices, b->devices) && a->pid_host == b->pid_host &&
           strv_eq(a->group_add, b->group_add) && strv_eq(a->requires, b->requires) &&
           strv_eq(a->expose, b->expose) && a->publish_all == b->publish_all && mounts_eq(a, b) &&
           a->stop_signal == b->stop_signal && a->stop_timeout == b->stop_timeout &&
           a->restart == b->restart && a->max_retries == b->max_retries &&
           a->auto_remove == b->auto_remove && a->open_stdin == b->open_stdin && a->tty == b->tty &&
           a->log_max_size == b->log_max_size && a->log_max_file == b->log_max_file &&
           a->backoff_min_ms == b->backoff_min_ms && a->backoff_max_ms == b->backoff_max_ms &&
           a->backoff_reset_ms == b->backoff_reset_ms && strv_eq(a->cap_add, b->cap_add) &&
           strv_eq(a->cap_drop, b->cap_drop) && a->privileged == b->privileged &&
           a->no_new_privs == b->no_new_privs && a->seccomp_unconfined == b->seccomp_unconfined &&
           str_eq(a->seccomp_profile, b->seccomp_profile) && a->memory == b->memory &&
           a->memory_swap == b->memory_swap && a->pids_limit == b->pids_limit &&
           a->nano_cpus == b->nano_cpus && a->cpu_shares == b->cpu_shares && a->init == b->init &&
           health_eq(&a->health, &b->health);
}
