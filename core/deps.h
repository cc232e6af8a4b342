/* SPDX-License-Identifier: MIT */
/* core/deps.h - `--requires NAME[:started|healthy|completed]` (DESIGN §9, §13): a container's
 * start waits until the containers it requires are started, healthy or completed, and starts
 * them first when they are not running (their own requirements likewise).
 *
 * A start that has to wait holds a gate: the container stays created (or exited) and the
 * client's start stays unanswered. The gate watches the notes berthd sends about containers
 * (server_ctr_note) and is looked at again in a zero-delay timer after each, never inside the
 * callback that sent the note. When every requirement is met the container is started; when
 * one fails (its start failed, it exited before it was started or healthy, it completed with a
 * code other than 0, it was removed) the start fails with a message naming it, as any failed
 * start does (state exited, exit code 125, State.Error). A stop cancels a waiting start, and
 * so does a shutdown. Requirements are checked at create: they exist, and make no cycle. */
#pragma once

#include "core/server.h"

struct sv;
struct ctr;
struct err;

void deps_init(struct sv *sv);

/* Begin a start of C (EV: CTR_EV_START, or CTR_EV_AUTO_START at berthd's start) that honours
 * its requirements: 1 when C may start now (the caller starts it), 0 when a gate now waits for
 * them (the container is started, or its start fails, later), -1 with E when a requirement
 * cannot be met (E's message names it; C is unchanged). Starts the requirements that are not
 * running. */
int deps_start(struct ctr *c, int ev, struct err *e);

/* Whether a start of C waits for its requirements. */
int deps_gated(const struct sv *sv, const struct ctr *c);

/* A note about C (server_ctr_note): gates that wait for C take it into account. */
void deps_note(struct sv *sv, struct ctr *c, enum server_note note);

/* Cancel C's waiting start (a stop): its start fails with WHY. Returns 1 when one was waiting. */
int deps_cancel(struct ctr *c, const char *why);
/* Cancel every waiting start (shutdown), and free every gate (end of berthd). */
void deps_cancel_all(struct sv *sv, const char *why);
void deps_free_all(struct sv *sv);

/* During a shutdown: C must wait while a live container that requires it is still up. */
int deps_holds(const struct sv *sv, const struct ctr *c);

/* Whether a container NAME requiring DEP would close a cycle: DEP requires NAME, directly or
 * through others. */
int deps_cycle(const struct sv *sv, const char *name, const char *dep);
