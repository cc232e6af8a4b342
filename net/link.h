/* SPDX-License-Identifier: MIT */
/* net/link.h - link helpers over libnl-route-3.
 * Library: synchronous, no libev, no globals, no logging; errors via struct err. */
#pragma once

struct err;

/* Bring the loopback interface of the current network namespace up. Bounded netlink
 * round-trips. */
int net_link_up_lo(struct err *e);
