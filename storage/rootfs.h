/* SPDX-License-Identifier: MIT */
/* storage/rootfs.h - a container's root filesystem, set up inside the container's new mount
 * namespace by the cloned child (so every mount vanishes with the namespace: nothing to undo on
 * the host). Library: synchronous, no libev, no globals, no logging; errors via struct err. */
#pragma once

#include <sys/types.h>

struct err;

/* A mount of the container's config (-v, --tmpfs, --mount), as the child applies it. */
struct storage_mount {
    const char *source; /* host path (a bind's, or a volume's directory); NULL: a tmpfs */
    const char *target; /* absolute path in the container (clean, never "/") */
    int read_only;
    unsigned long flags; /* MS_NOEXEC | MS_NOSUID | MS_NODEV */
    const char *data;    /* tmpfs options ("size=N,mode=O"), or NULL */
    int copy_up;         /* a volume: when SOURCE is empty, first copy the image's TARGET in */
};

/* A device node of --device, made in the container's /dev as the host's node is. */
struct storage_device {
    const char *path; /* absolute, under /dev/ */
    const char *host; /* the host's node: bound instead when mknod is not allowed */
    mode_t mode;      /* S_IFCHR or S_IFBLK and the permission bits */
    dev_t rdev;
    uid_t uid;
    gid_t gid;
};

struct storage_rootfs {
    const char *lower;                  /* image rootfs directory (read-only lower layer) */
    const char *upper;                  /* container's upper dir (exists) */
    const char *work;                   /* overlay work dir (exists) */
    const char *merged;                 /* mount point (exists) */
    const char *hostname;               /* file bound over /etc/hostname, or NULL */
    const char *hosts;                  /* file bound over /etc/hosts, or NULL */
    const char *resolv;                 /* file bound over /etc/resolv.conf, or NULL */
    int read_only;                      /* remount / read-only after setup */
    int host_network;                   /* the container shares the host's netns */
    int privileged;                     /* no masked or read-only /proc and /sys paths */
    const char *init_binary;            /* bound read-only at /sbin/berth-init when set (--init) */
    int *init_fd;                       /* out: an O_PATH fd to that mounted file (for execveat) */
    int defer_pivot;                    /* stop before pivot_root, with the cwd at MERGED */
    const struct storage_mount *mounts; /* applied in order, after /dev and before the masks */
    int nmounts;
    const struct storage_device *devices; /* made after the standard /dev nodes */
    int ndevices;
    /* copies the content of directory SFD into directory DFD (for copy_up) */
    int (*copy_contents)(int sfd, int dfd, struct err *e);
};

/* In the child, after clone(CLONE_NEWNS|CLONE_NEWPID|...) and before exec: make every mount
 * private, mount the overlay on MERGED, bind the hostname/hosts/resolv files, mount /proc,
 * /sys (read-only), a tmpfs /dev with null zero full random urandom tty, /dev/pts (new
 * instance, ptmx), /dev/shm, /dev/mqueue, the /dev/fd stdin stdout stderr links, then
 * pivot_root into MERGED and detach the old root; remount / read-only when asked. On return
 * the cwd is "/". May block on the kernel (mounts): runs only in the child. With DEFER_PIVOT
 * it returns with the cwd at MERGED and storage_rootfs_pivot() finishes (a process may exec in
 * between: berthd re-executes itself from the read-only /sbin/berth-init that way, loading its
 * libraries from the host before the host's tree goes away). */
int storage_rootfs_setup(const struct storage_rootfs *r, struct err *e);

/* pivot_root into the cwd, detach the old root, chdir "/"; remount / read-only when asked. */
int storage_rootfs_pivot(int read_only, struct err *e);

/* Result of resolving a user spec inside the container's rootfs. */
#define STORAGE_GROUPS_MAX 64
struct storage_user {
    uid_t uid;
    gid_t gid;
    char home[256];
    gid_t groups[STORAGE_GROUPS_MAX]; /* supplementary groups from the group file */
    int ngroups;
};

/* Resolve SPEC ("", "name", "uid", "name:group", "uid:gid", "name:gid"...) against PASSWD and
 * GROUP files (paths; a missing file counts as empty). An empty SPEC is root. A numeric uid
 * without a passwd entry is allowed (gid 0 unless given, home "/"); an unknown name fails with
 * ENOENT "unable to find user NAME: no matching entries in passwd file". HOME falls back to
 * "/root" for uid 0 and "/" otherwise when missing or empty. Supplementary groups are the
 * groups whose member list names the user. */
int storage_user_resolve(const char *spec, const char *passwd, const char *group,
                         struct storage_user *out, struct err *e);

/* --group-add G: the group G (a gid, or a name looked up in the GROUP file) added to U's
 * supplementary groups (once). ENOENT "unable to find group G: no matching entries in group
 * file", E2BIG past STORAGE_GROUPS_MAX. */
int storage_group_add(const char *g, const char *group, struct storage_user *u, struct err *e);

/* mkdir -p of PATH with mode 0755, each created directory owned by UID:GID (Docker creates a
 * missing working directory). */
int storage_mkdir_owned(const char *path, uid_t uid, gid_t gid, struct err *e);
