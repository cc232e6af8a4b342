/* SPDX-License-Identifier: MIT */
/* core/caps.c - capability names, the final set and applying it with libcap. Runs its apply
 * steps only in a container's child, never on the loop; keeps no state. */
#include "core/caps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/capability.h>

#include "core/err.h"

#define CAP_NAME(x) [CAP_##x] = "CAP_" #x

static const char *const cap_names[] = {
    CAP_NAME(CHOWN),
    CAP_NAME(DAC_OVERRIDE),
    CAP_NAME(DAC_READ_SEARCH),
    CAP_NAME(FOWNER),
    CAP_NAME(FSETID),
    CAP_NAME(KILL),
    CAP_NAME(SETGID),
    CAP_NAME(SETUID),
    CAP_NAME(SETPCAP),
    CAP_NAME(LINUX_IMMUTABLE),
    CAP_NAME(NET_BIND_SERVICE),
    CAP_NAME(NET_BROADCAST),
    CAP_NAME(NET_ADMIN),
    CAP_NAME(NET_RAW),
    CAP_NAME(IPC_LOCK),
    CAP_NAME(IPC_OWNER),
    CAP_NAME(SYS_MODULE),
    CAP_NAME(SYS_RAWIO),
    CAP_NAME(SYS_CHROOT),
    CAP_NAME(SYS_PTRACE),
    CAP_NAME(SYS_PACCT),
    CAP_NAME(SYS_ADMIN),
    CAP_NAME(SYS_BOOT),
    CAP_NAME(SYS_NICE),
    CAP_NAME(SYS_RESOURCE),
    CAP_NAME(SYS_TIME),
    CAP_NAME(SYS_TTY_CONFIG),
    CAP_NAME(MKNOD),
    CAP_NAME(LEASE),
    CAP_NAME(AUDIT_WRITE),
    CAP_NAME(AUDIT_CONTROL),
    CAP_NAME(SETFCAP),
    CAP_NAME(MAC_OVERRIDE),
    CAP_NAME(MAC_ADMIN),
    CAP_NAME(SYSLOG),
    CAP_NAME(WAKE_ALARM),
    CAP_NAME(BLOCK_SUSPEND),
    CAP_NAME(AUDIT_READ),
    CAP_NAME(PERFMON),
    CAP_NAME(BPF),
    CAP_NAME(CHECKPOINT_RESTORE),
};

#define BIT(c) (UINT64_C(1) << (c))

static void cap_freep(cap_t *c)
{
    if (*c) {
        int saved = errno;
        (void)cap_free(*c); /* frees a valid cap_t, nothing to report */
        errno = saved;
    }
}
#define auto_cap __attribute__((cleanup(cap_freep)))

const char *caps_name(int cap)
{
    if (cap < 0 || (size_t)cap >= sizeof cap_names / sizeof cap_names[0])
        return NULL;
    return cap_names[cap];
}

/* A name for messages, never NULL. */
static const char *cap_label(int cap)
{
    const char *name = caps_name(cap);
    return name ? name : "capability";
}

static unsigned kernel_cap_bits(void)
{
    unsigned n = cap_max_bits();
    return n > 63 ? 63 : n;
}

uint64_t caps_all(void)
{
    /* every capability the kernel knows that we still hold in our bounding set: a container
     * can never get more than its supervisor has (this machine has no CAP_SYS_RESOURCE) */
    uint64_t all = 0;
    for (int c = 0; c < (int)kernel_cap_bits(); c++)
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
            all |= BIT(c);
    return all;
}

int caps_parse_name(const char *name, int *cap_or_all, struct err *e)
{
    const char *bare = name;
    if (strncasecmp(bare, "CAP_", 4) == 0)
        bare += 4;
    if (strcasecmp(bare, "ALL") == 0) {
        *cap_or_all = -1;
        return 0;
    }
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++) {
        if (!cap_names[i] || strcasecmp(bare, cap_names[i] + 4) != 0)
            continue;
        if (i >= kernel_cap_bits())
            return err_set(e, EINVAL, "capability '%s' is not supported by this kernel", name);
        *cap_or_all = (int)i;
        return 0;
    }
    return err_set(e, EINVAL, "unknown capability '%s'", name);
}

int caps_spec_add(struct caps_spec *s, const char *name, int drop, struct err *e)
{
    int cap;
    if (caps_parse_name(name, &cap, e) < 0)
        return -1;
    uint64_t bit = cap < 0 ? CAPS_ALL : BIT(cap);
    if (drop)
        s->drop |= bit;
    else
        s->add |= bit;
    return 0;
}

uint64_t caps_default(void)
{
    return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
           BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
           BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) |
           BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
}

uint64_t caps_effective_set(const struct caps_spec *s)
{
    uint64_t all = caps_all();
    uint64_t add = s->add & ~CAPS_ALL, drop = s->drop & ~CAPS_ALL;
    if (s->privileged)
        return all;
    if (s->add & CAPS_ALL)
        return all & ~drop;
    if (s->drop & CAPS_ALL)
        return add & all;
    return ((caps_default() & ~drop) | add) & all;
}

uint64_t caps_added_set(const struct caps_spec *s)
{
    uint64_t final = caps_effective_set(s);
    if (s->privileged)
        return 0;
    if (s->add & CAPS_ALL)
        return final;
    return s->add & final;
}

/* Fill LIST with the capability numbers of MASK; returns their count. */
static int mask_to_list(uint64_t mask, cap_value_t list[64])
{
    int n = 0;
    for (int c = 0; c < 63; c++)
        if (mask & BIT(c))
            list[n++] = c;
    return n;
}

int caps_before_setuid(const struct caps_spec *s, int non_root, struct err *e)
{
    uint64_t keep = caps_effective_set(s);
    unsigned max = kernel_cap_bits();
    for (unsigned c = 0; c < max; c++) {
        if (keep & BIT(c))
            continue;
        if (cap_drop_bound((cap_value_t)c) < 0)
            return err_set(e, errno, "drop %s from the bounding set", cap_label((int)c));
    }
    /* without KEEPCAPS, setuid() from 0 to non-zero clears the permitted set, and step 2
     * could not raise anything any more */
    if (non_root && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
        return err_set(e, errno, "set keep-capabilities");
    return 0;
}

int caps_after_setuid(const struct caps_spec *s, int non_root, struct err *e)
{
    uint64_t final = caps_effective_set(s);
    uint64_t eff = non_root ? caps_added_set(s) : final;
    cap_value_t list[64];
    int n;

    auto_cap cap_t c = cap_init();
    if (!c)
        return err_set(e, errno, "allocate capability state");
    n = mask_to_list(final, list);
    if (n > 0 && (cap_set_flag(c, CAP_PERMITTED, n, list, CAP_SET) < 0 ||
                  cap_set_flag(c, CAP_INHERITABLE, n, list, CAP_SET) < 0))
        return err_set(e, errno, "build capability sets");
    n = mask_to_list(eff, list);
    if (n > 0 && cap_set_flag(c, CAP_EFFECTIVE, n, list, CAP_SET) < 0)
        return err_set(e, errno, "build capability sets");
    if (cap_set_proc(c) < 0)
        return err_set(e, errno, "set process capabilities");

    /* ambient caps (they need the cap in permitted and inheritable, set just above) are
     * the only way a non-root process keeps a capability across exec without file caps */
    if (cap_reset_ambient() < 0)
        return err_set(e, errno, "clear ambient capabilities");
    if (non_root) {
        for (int i = 0; i < n; i++)
            if (cap_set_ambient(list[i], CAP_SET) < 0)
                return err_set(e, errno, "raise ambient %s", cap_label(list[i]));
        if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
            return err_set(e, errno, "clear keep-capabilities");
    }
    return 0;
}

int caps_format(uint64_t mask, const char *sep, char *buf, size_t size, struct err *e)
{
    size_t off = 0;
    if (size == 0)
        return err_set(e, ENAMETOOLONG, "format capabilities");
    buf[0] = '\0';
    for (int c = 0; c < 64; c++) {
        if (!(mask & (UINT64_C(1) << c)))
            continue;
        const char *name = (UINT64_C(1) << c) == CAPS_ALL ? "ALL" : caps_name(c);
        if (!name)
            continue;
        int k = snprintf(buf + off, size - off, "%s%s", off ? sep : "", name);
        if (k < 0 || (size_t)k >= size - off)
            return err_set(e, ENAMETOOLONG, "format capabilities");
        off += (size_t)k;
    }
    return 0;
}
