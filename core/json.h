/* SPDX-License-Identifier: MIT */
/* core/json.h - the cleanup attribute for cJSON trees (R5), shared by every core module that
 * builds or parses JSON. */
#pragma once

#include <cjson/cJSON.h>

static inline void json_deletep(cJSON **j)
{
    if (*j)
        cJSON_Delete(*j);
}
static inline void json_freep(char **s)
{
    cJSON_free(*s);
}
#define auto_json __attribute__((cleanup(json_deletep)))
#define auto_jstr __attribute__((cleanup(json_freep))) /* text from cJSON_Print* */
