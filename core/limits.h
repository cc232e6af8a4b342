/* SPDX-License-Identifier: MIT */
/* core/limits.h - every fixed limit of berth, in one place. Pure header. */
#pragma once

#define CTR_MAX              4096 /* containers per supervisor */
#define CTR_NAME_MAX         64   /* names are at most 63 characters */
#define CTR_ID_LEN           64   /* hex digits of a full id */
#define CTR_SHORT_ID_LEN     12
#define CTR_ARGS_MAX         1024 /* command words */
#define CTR_ENV_MAX          1024 /* environment entries */
#define CTR_LABELS_MAX       256
#define CTR_MOUNTS_MAX       128
#define CTR_STR_MAX          4096              /* one argument, env entry, label or path */
#define CTL_CLIENTS_MAX      1024              /* control connections at once */
#define CTL_LINE_MAX         (64 * 1024)       /* one request line, newline included */
#define CTL_OUT_MAX          (1024 * 1024)     /* queued reply bytes before a client is dropped */
#define CTL_WORDS_MAX        4096              /* words in one request */
#define CTL_OUT_HIGH         (CTL_OUT_MAX / 2) /* attach output queued: hold the container back */
#define CTL_OUT_LOW          (CTL_OUT_MAX / 8) /* ... until the queue is down to this */
#define CTL_STALL_SECONDS    30 /* an attached client making no progress is dropped */
#define CTL_FDS_MAX          3  /* fds passed with one request */
#define SNAPSHOT_MAX         (64 * 1024 * 1024)
#define MANIFEST_MAX         (4 * 1024 * 1024) /* boot manifest text (core/manifest.c) */
#define EVENTS_RING_MAX      4096              /* events kept for --since replay */
#define LOG_LINE_MAX         (16 * 1024)       /* a longer line is split (as Docker does) */
#define LOG_SIZE_DEFAULT     (10 * 1024 * 1024)
#define LOG_FILES_DEFAULT    3
#define LOG_FILES_MAX        100
#define BACKOFF_MIN_MS       100
#define BACKOFF_MAX_MS       60000
#define BACKOFF_RESET_MS     10000
#define PIDS_LIMIT_DEFAULT   2048
#define CTR_CAPS_MAX         64
#define STOP_TIMEOUT_DEFAULT 10
#define BOOT_KILL_GRACE_S    5 /* machine shutdown: SIGTERM to everything left, then SIGKILL */
#define BOOT_MANIFEST_PATH   "/etc/berth/boot.json" /* the machine init's manifest */
#define PATH_MAX_BERTH       4096
#define CTR_PORTS_MAX        64  /* published ports of one container */
#define CTR_DNS_MAX          8   /* --dns servers */
#define CTR_DEVICES_MAX      32  /* --device nodes of one container */
#define CTR_GROUP_ADD_MAX    32  /* --group-add groups of one container */
#define CTR_REQUIRES_MAX     16  /* --requires of one container */
#define CTR_REQUIRES_DEPTH   32  /* requirements of requirements, started on the way */
#define CTR_DEVICE_PATH_MAX  256 /* bytes of a --device path, NUL included */
#define NET_PREFIX_MIN       12  /* largest subnet: /12, 2^20 addresses (128 KiB IPAM bitmap) */
#define NET_PREFIX_MAX       30  /* smallest subnet: /30, one address besides the gateway */
#define NET_MTU_MIN          68  /* IPv4's minimum link MTU */
#define NET_MTU_MAX          65535

/* health checks and readiness (core/health.c) */
#define HEALTH_LOG_MAX           5    /* results kept per container (Docker's 5) */
#define HEALTH_OUTPUT_MAX        4096 /* bytes of a check's output kept (Docker's 4 KiB) */
#define HEALTH_INTERVAL_MS       30000
#define HEALTH_TIMEOUT_MS        30000
#define HEALTH_START_INTERVAL_MS 5000
#define HEALTH_RETRIES           3
#define HEALTH_DURATION_MAX_MS   (365LL * 86400 * 1000) /* a year: longer is a mistake */
#define HEALTH_NOTIFY_BATCH      16                     /* readiness datagrams read per wakeup */
#define HEALTH_NOTIFY_DGRAM_MAX  4096                   /* a longer datagram is cut */

/* published-port proxy (core/proxy.c) */
#define PROXY_BUF_LEN         (64 * 1024) /* bytes queued per direction of one TCP connection */
#define PROXY_CONNS_MAX       1024        /* TCP connections per proxy; more are closed at accept */
#define PROXY_ACCEPT_BATCH    64          /* accepts per wakeup before the loop runs others */
#define PROXY_ACCEPT_PAUSE_MS 100         /* accepting pauses this long when out of fds */
#define PROXY_UDP_FLOWS_MAX   256         /* UDP client flows per proxy; the least recent goes */
#define PROXY_UDP_IDLE        30          /* seconds before an idle UDP flow is closed */
#define PROXY_UDP_BATCH       64          /* datagrams per wakeup before the loop runs others */
#define PROXY_DGRAM_MAX       65536       /* larger than any IPv4 UDP payload */
