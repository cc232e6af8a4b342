/* SPDX-License-Identifier: MIT */
/* core/firewall.h - berthd's own nftables table (DESIGN §12), when the `nft` program is there.
 *
 * One table per berthd, `ip berth_<hash of root>`, holding:
 * - a forward chain that drops traffic from one of berthd's bridges to another, so two
 *   networks stay apart even on a host that forwards IPv4;
 * - with --nat only, a postrouting chain that masquerades what leaves a network's subnet
 *   through any interface but its own bridge (outbound NAT; the host must forward IPv4).
 * The table is replaced whole (one nft transaction) whenever networks change, by a forked
 * helper so the loop never waits on nft; it is deleted at a graceful shutdown. Nothing else
 * in the host's ruleset is read or touched: drops in our table cannot open anything another
 * table drops. */
#pragma once

#include <stddef.h>

struct sv;
struct network;
struct err;

enum firewall_mode { FIREWALL_AUTO, FIREWALL_OFF };

#define FIREWALL_SCRIPT_MAX (64 * 1024) /* the script for every network; they need ~16 KiB */

/* Find nft (MODE auto) and name the table. --nat without nft is an error (EINVAL). */
int firewall_init(struct sv *sv, enum firewall_mode mode, int nat, struct err *e);
/* Bring the table in line with sv->nets (now or, when a change is still being applied, right
 * after it). No-op without nft. */
void firewall_sync(struct sv *sv);
/* Delete the table (graceful shutdown; waits for nft, bounded). */
void firewall_shutdown(struct sv *sv);
/* "nft", "off" (--firewall off) or "none" (no nft found), for info. */
const char *firewall_status(const struct sv *sv);

/* The nft script that replaces TABLE by the rules for NETS (a list through ->next; only
 * bridge networks count) with or without NAT. -1 (ENOSPC) when BUF is too small. */
int firewall_script(const char *table, const struct network *nets, int nat, char *buf, size_t size,
                    struct err *e);
