/* SPDX-License-Identifier: MIT */
/* core/verbs.h - the protocol verbs' handlers (ctl/PROTOCOL.md). */
#pragma once

struct client;
struct proto_req;

/* Validate REQ against the verb's options and arguments and run it for CL. Replies (or
 * registers a pending operation) in every case. */
void verbs_dispatch(struct client *cl, const struct proto_req *req);
