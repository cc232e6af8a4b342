/* SPDX-License-Identifier: MIT */
/* core/apply.h - applying a boot manifest (DESIGN §13) in the loop, and what the applied
 * manifest decides later: the shutdown order and `exit_with`.
 *
 * berthd applies a manifest through its own control protocol: each piece of work is a
 * conversation on a loopback connection (server_loopback), with the requests a script would
 * send (`image load`, `volume create`, `network create`, `stop`, `rm`, `create`, `wait`,
 * `start`), so a manifest container is made and checked exactly as `berth create` makes it.
 * Phases: images, then volumes and networks, then removals (containers a previous manifest made
 * that are gone or changed), then containers: every container's conversation starts at once
 * and waits, with `wait condition=...`, for what it requires, so independent containers start
 * in parallel. A container whose requirement fails is not started (logged, and in the reply).
 * A manifest's containers carry the label berth.manifest=<hash of their create request>: an
 * unchanged one is left as it is (started when it is not live, at berthd's first apply). */
#pragma once

struct sv;
struct ctr;
struct client;
struct err;
struct manifest;

/* Load PATH and start applying it (the manifest is checked first: a bad one changes nothing).
 * CL, when not NULL, gets the reply when the application ends: ok {"Created":[..],
 * "Started":[..],"Removed":[..],"Unchanged":[..],"Failed":[{"Name","Error"}]}. Fails (E, code
 * 409) while another application is under way or the supervisor shuts down. */
int apply_start(struct sv *sv, const char *path, struct client *cl, struct err *e);

/* Stop applying (shutdown): conversations are closed, nothing more is started. */
void apply_cancel(struct sv *sv);
/* Free the applied manifest (end of berthd). */
void apply_free(struct sv *sv);

/* During a shutdown: C must wait while a container that requires it (in the applied manifest)
 * is still live. */
int apply_holds(const struct sv *sv, const struct ctr *c);

/* C has exited for good (no restart follows): when it is the manifest's exit_with container,
 * print "berth: NAME exited with N" on the console and shut down (poweroff as the machine's
 * init). */
void apply_ctr_exited(struct ctr *c);
