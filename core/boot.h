/* SPDX-License-Identifier: MIT */
/* core/boot.h - berthd as a machine's init (DESIGN §13): what PID 1 does before the loop
 * starts (leave the initramfs, mount the API filesystems, cgroups, lo, hostname, modules), the
 * end of a shutdown (every remaining process killed, sync, unmount, reboot(2)), the fallback
 * when the supervisor cannot start, and systemd's readiness protocol in session mode.
 *
 * Three roles. The MACHINE's init (PID 1 of the initial pid namespace) does everything. The
 * init of a PID NAMESPACE (a container, `unshare --pid --fork`) lives on someone else's
 * machine: it mounts nothing and ends a shutdown by killing what is left in its namespace and
 * exiting 0. In a SESSION (any other pid) berthd is a subreaper and only ever touches its own
 * children. Nothing here exits or aborts in the machine role: failures are logged. */
#pragma once

#include <stddef.h>

struct err;

enum boot_role { BOOT_SESSION, BOOT_PIDNS, BOOT_MACHINE };

/* What a shutdown ends with. EXIT: berthd exits 0 (session, pid namespace). */
enum boot_halt { BOOT_EXIT, BOOT_REBOOT, BOOT_HALT, BOOT_POWEROFF };

/* Our role, decided once (the first call) from getpid() and the pid namespace. As PID 1
 * without a /proc it mounts one first: every init needs it. */
enum boot_role boot_role(void);
const char *boot_role_name(enum boot_role r);

/* "reboot" | "halt" | "poweroff" | "exit" -> BOOT_*; -1 when unknown. */
int boot_halt_parse(const char *s);
const char *boot_halt_name(enum boot_halt h);
/* The halt a signal asks PID 1 for (busybox: reboot TERM, halt USR1, poweroff USR2; the
 * kernel: SIGINT for ctrl-alt-del, SIGPWR from a UPS daemon); BOOT_EXIT outside the machine
 * role, or for a signal that asks for nothing. */
enum boot_halt boot_halt_for_signal(enum boot_role r, int sig);

/* The machine role's first steps, before the supervisor: leave the initramfs (copy it onto a
 * tmpfs, move that onto / and chroot, as switch_root does), mount /proc /sys /dev /dev/pts
 * /dev/shm /run /tmp and cgroup2 (or v1 controllers with berth.cgroup=v1 on the kernel command
 * line) where nothing is mounted yet, enable every controller for children, open the console
 * as stdio when the kernel gave none, disable ctrl-alt-del's immediate reboot. Logs failures
 * and goes on. After moving the root it re-executes ARGV (an absolute ARGV[0], from the new
 * root): the process stays PID 1 and finds a tmpfs root the second time. */
void boot_early(char **argv);

/* Bring up lo (machine role). */
void boot_network(void);

/* sethostname(2) (machine role; DESIGN §13's manifest "hostname"). */
int boot_hostname(const char *name, struct err *e);

/* Load kernel modules by name (dashes and underscores alike) from /lib/modules/<release>,
 * their dependencies first (modules.dep), with finit_module(2); compressed files (.ko.xz,
 * .ko.zst, .ko.gz) are handed to the kernel to decompress. Already loaded or built in: fine.
 * Each failure is logged; returns the number of modules that could not be loaded. */
int boot_modules(const char *const *names, size_t n);

/* The end of a shutdown, after every container is down and the loop has ended. MACHINE:
 * SIGTERM to every remaining process, BOOT_KILL_GRACE_S to go, SIGKILL, sync, unmount every
 * filesystem (lazily when busy), reboot(2) as HOW (BOOT_EXIT means poweroff there); never
 * returns (boot_fallback when reboot(2) fails). PIDNS: the same kill sequence, then returns
 * (the caller exits 0). SESSION: returns at once. */
void boot_final(enum boot_role r, enum boot_halt how);

/* PID 1 without a supervisor (it failed to start): reap children and obey the halt signals
 * forever. Never returns. */
__attribute__((noreturn)) void boot_fallback(void);

/* systemd's notification protocol (sd_notify): send STATE ("READY=1", "STOPPING=1") to
 * $NOTIFY_SOCKET when it is set (a path or an @abstract name). Silent when unset; logs a
 * failure at debug level. */
void boot_notify(const char *state);
