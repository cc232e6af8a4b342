/* SPDX-License-Identifier: MIT */
/* ctl/flag.h - the shape of a Docker-style command-line flag and of one occurrence of it, shared
 * by the client's flag parser (ctl/client.h) and the run/create flag table (ctl/runopt.h), which
 * berthd also links. Pure header: types only. */
#pragma once

/* A table entry per flag; the index is the flag's id. */
struct client_flag {
    char short_name; /* 0 when the flag has no short form */
    const char *long_name;
    int takes_value;
};

/* One occurrence of a flag. */
struct client_opt {
    int flag;
    const char *val; /* NULL for a bare boolean */
};
