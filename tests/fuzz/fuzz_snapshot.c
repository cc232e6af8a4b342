/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_snapshot.c - libFuzzer target for the snapshot loader: any input is either
 * refused with an error and adds nothing, or loads containers that build back into a snapshot
 * which loads again to the same count. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctr.h"
#include "core/err.h"
#include "core/snapshot.h"
#include "core/sv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void free_all(struct sv *sv)
{
    while (sv->ctrs) {
        struct ctr *c = sv->ctrs;
        sv->ctrs = c->next;
        ctr_free(c);
    }
    sv->nctrs = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sv sv, again;
    struct err e = {0};

    strcpy(sv.containers_dir, "/nonexistent/containers");
    strcpy(again.containers_dir, "/nonexistent/containers");
    if (snapshot_parse(&sv, (const char *)data, size, &e) < 0) {
        if (sv.nctrs != 0 || e.msg[0] == '\0')
            abort(); /* a refusal adds nothing and says why */
        return 0;
    }
    cJSON *root = snapshot_build(&sv);
    char *txt = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!txt)
        abort();
    if (snapshot_parse(&again, txt, strlen(txt), &e) < 0 || again.nctrs != sv.nctrs)
        abort(); /* what we write we must read back */
    cJSON_free(txt);
    free_all(&sv);
    free_all(&again);
    return 0;
}
