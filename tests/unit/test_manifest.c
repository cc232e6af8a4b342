/* SPDX-License-Identifier: MIT */
/* tests/unit/test_manifest.c - unit tests of core/manifest: every refusal (and that it leaves
 * nothing), the translation of container keys into whole create request lines (aliases, object
 * env/labels, health, cmd forms, env files), dependency order and levels, the berth.manifest
 * hash label, the limits (4096 containers, MANIFEST_MAX) and manifest_load. */
#include "core/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/proto.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"
#include "tests/unit/tap.h"

static int parse(const char *json, struct manifest *m, struct err *e)
{
    return manifest_parse(json, strlen(json), m, e);
}

static int empty(const struct manifest *m)
{
    static const struct manifest zero = {0};
    return memcmp(m, &zero, sizeof zero) == 0;
}

/* JSON must fail with a message containing WANT and leave nothing behind. */
static int fails(const char *json, const char *want)
{
    struct manifest m;
    struct err e = {0};

    if (parse(json, &m, &e) == 0) {
        printf("#   parsed: %s\n", json);
        manifest_free(&m);
        return 0;
    }
    if (!empty(&m) || !strstr(e.msg, want)) {
        printf("#   got '%s'\n#   want '%s'\n", e.msg, want);
        return 0;
    }
    return 1;
}

static char *ctr_manifest(const char *ctr)
{
    struct proto_buf b = {0};
    if (proto_buf_printf(&b, "{\"containers\": [%s]}", ctr) < 0)
        abort();
    return b.data;
}

/* The one container CTR must become the line WANT (without the hash label and newline): the
 * label carries util_fnv1a64(WANT) and goes in before " --". */
static int line_is(const char *ctr, const char *want)
{
    struct manifest m;
    struct err e = {0};
    char *json = ctr_manifest(ctr);
    char hash[17], full[8192];
    int good = 0;

    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)util_fnv1a64(want));
    const char *dd = strstr(want, " --");
    int pre = dd ? (int)(dd - want) : (int)strlen(want);
    snprintf(full, sizeof full, "%.*s label=berth.manifest=%s%s\n", pre, want, hash, dd ? dd : "");
    if (parse(json, &m, &e) < 0)
        printf("#   error: %s\n", e.msg);
    else if (m.nctrs != 1 || strcmp(m.ctrs[0].line, full) != 0 || strcmp(m.ctrs[0].hash, hash))
        printf("#   got  %s#   want %s", m.ctrs[0].line, full);
    else
        good = 1;
    if (good) {
        /* the line is one valid request */
        struct proto_req req;
        good = proto_parse(m.ctrs[0].line, strlen(m.ctrs[0].line) - 1, &req, &e) == 0;
        if (good)
            proto_req_free(&req);
    }
    manifest_free(&m);
    free(json);
    return good;
}

static void test_refusals(void)
{
    ok(fails("{", "not JSON: syntax error at byte"), "not JSON");
    ok(fails("{} x", "not JSON: trailing data at byte 3"), "trailing data");
    ok(fails("", "not JSON"), "empty text");
    ok(fails("[]", "the manifest must be a JSON object, not an array"), "not an object");
    ok(fails("{\"hostnme\": \"x\"}", "manifest: unknown key 'hostnme'"), "unknown top-level key");
    ok(fails("{\"hostname\": \"a\", \"hostname\": \"b\"}", "manifest: duplicate key 'hostname'"),
       "duplicate top-level key");
    ok(fails("{\"hostname\": 5}", "'hostname' must be a string, not a number"),
       "hostname of the wrong type");
    ok(fails("{\"hostname\": \"-bad\"}", "invalid hostname '-bad'") &&
           fails("{\"hostname\": \"a..b\"}", "invalid hostname") &&
           fails("{\"hostname\": \"a_b\"}", "invalid hostname"),
       "invalid hostnames");
    ok(fails("{\"modules\": \"overlay\"}", "'modules' must be an array, not a string"),
       "modules not an array");
    ok(fails("{\"modules\": [\"../evil\"]}", "modules[0]: not a module name") &&
           fails("{\"modules\": [\"a/b\"]}", "modules[0]: not a module name") &&
           fails("{\"modules\": [1]}", "modules[0]: not a module name"),
       "module names");
    ok(fails("{\"modules\": [\"veth\", \"veth\"]}", "modules: 'veth' listed twice"),
       "a module twice");
    ok(fails("{\"images\": [{\"load\": \"/a.tar\"}]}", "images[0]: no name"), "image without name");
    ok(fails("{\"images\": [{\"name\": \"../x\", \"load\": \"/a.tar\"}]}",
             "images[0]: invalid name"),
       "invalid image name");
    ok(fails("{\"images\": [{\"name\": \"app\"}]}",
             "image 'app': needs exactly one of 'load' and 'import'") &&
           fails("{\"images\": [{\"name\": \"app\", \"load\": \"/a\", \"import\": \"/b\"}]}",
                 "needs exactly one of 'load' and 'import'"),
       "image with neither or both of load/import");
    ok(fails("{\"images\": [{\"name\": \"app\", \"import\": \"images/app\"}]}",
             "image 'app': 'import' must be an absolute path"),
       "relative image path");
    ok(fails("{\"images\": [{\"name\": \"app\", \"load\": \"/a\", \"tag\": \"x\"}]}",
             "images[0]: unknown key 'tag'"),
       "unknown image key");
    ok(fails("{\"images\": [{\"name\": \"app\", \"load\": 5}]}",
             "images[0]: 'load' must be a string, not a number"),
       "image path of the wrong type");
    ok(fails("{\"images\": [{\"name\": \"a\", \"load\": \"/a\"}, {\"name\": \"a\", \"load\": "
             "\"/b\"}]}",
             "image 'a' defined twice"),
       "an image twice");
    ok(fails("{\"images\": [\"app\"]}", "images[0]: must be an object, not a string"),
       "image not an object");
    ok(fails("{\"volumes\": [\"a/b\"]}", "volumes[0]: invalid volume name") &&
           fails("{\"volumes\": [{\"nom\": \"x\"}]}", "volumes[0]: unknown key 'nom'") &&
           fails("{\"volumes\": [{}]}", "volumes[0]: no name") &&
           fails("{\"volumes\": [true]}", "volumes[0]: must be a name or an object, not a "
                                          "boolean") &&
           fails("{\"volumes\": [\"data\", {\"name\": \"data\"}]}", "volume 'data' defined twice"),
       "volume refusals");
    ok(fails("{\"networks\": [{\"subnet\": \"10.0.0.0/24\"}]}", "networks[0]: no name") &&
           fails("{\"networks\": [{\"name\": \"b\", \"subnet\": 24}]}",
                 "networks[0]: 'subnet' must be a string, not a number") &&
           fails("{\"networks\": [{\"name\": \"bridge\"}]}", "network 'bridge' is built in") &&
           fails("{\"networks\": [{\"name\": \"b\"}, {\"name\": \"b\"}]}",
                 "network 'b' defined twice") &&
           fails("{\"networks\": [{\"name\": \"b\", \"mtu\": 1}]}",
                 "networks[0]: unknown key 'mtu'"),
       "network refusals");
    ok(fails("{\"containers\": {}}", "'containers' must be an array, not an object"),
       "containers not an array");
    ok(fails("{\"containers\": [5]}", "containers[0]: must be an object, not a number"),
       "container not an object");
    ok(fails("{\"containers\": [{\"image\": \"app\"}]}", "containers[0]: no name"),
       "container without name");
    ok(fails("{\"containers\": [{\"name\": \"web\"}]}", "container 'web': no image"),
       "container without image");
    ok(fails("{\"containers\": [{\"name\": 5, \"image\": \"a\"}]}",
             "containers[0]: 'name' must be a string, not a number"),
       "name of the wrong type");
    ok(fails("{\"containers\": [{\"name\": \"-x\", \"image\": \"a\"}]}",
             "containers[0]: invalid container name '-x'"),
       "invalid container name");
    ok(fails("{\"containers\": [{\"name\": \"w\", \"image\": \"a/b\"}]}",
             "container 'w': invalid image name 'a/b'"),
       "invalid image name in a container");
    ok(fails("{\"containers\": [{\"name\": \"a\", \"image\": \"i\"}, {\"name\": \"b\", \"image\": "
             "\"i\"}, {\"name\": \"a\", \"image\": \"i\"}]}",
             "container 'a' defined twice"),
       "duplicate container names");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"colour\": \"red\"}]}",
             "container 'web': unknown key 'colour'"),
       "unknown container key");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"stop-timeout\": 3}]}",
             "container 'web': unknown key 'stop-timeout'"),
       "a key spelled with '-' is unknown");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"tty\": true, \"tty\": "
             "false}]}",
             "container 'web': duplicate key 'tty'"),
       "duplicate container key");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"detach\": true}]}",
             "container 'web': 'detach' is a client option, not valid in a manifest") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"detach_keys\": "
                 "\"ctrl-a\"}]}",
                 "'detach_keys' is a client option") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"sig_proxy\": false}]}",
                 "'sig_proxy' is a client option"),
       "client-only flags refused");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"tty\": \"yes\"}]}",
             "container 'web': 'tty' must be true or false, not a string"),
       "boolean flag of the wrong type");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"memory\": [\"1m\"]}]}",
             "container 'web': 'memory' takes one value, not an array"),
       "array for a flag that does not repeat");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"memory\": {}}]}",
             "'memory' must be a string or a number, not an object"),
       "object for a flag other than env/label");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"user\": true}]}",
             "'user' must be a string or a number, not a boolean") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"dns\": [null]}]}",
                 "'dns' must be a string or a number, not null"),
       "value flag of the wrong type");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"env\": {\"A\": true}}]}",
             "container 'web': 'env.A' must be a string or a number, not a boolean"),
       "env object with a boolean");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"memory\": \"lots\"}]}",
             "container 'web': invalid size 'lots' for --memory"),
       "a bad value, checked as the client does");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"log_opt\": "
             "[\"colour=red\"]}]}",
             "container 'web': unknown log opt 'colour'"),
       "a bad log opt");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"env_file\": "
             "\"/nonexistent/env\"}]}",
             "container 'web': env file: open '/nonexistent/env'"),
       "a missing env file");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"labels\": "
             "{\"berth.manifest\": \"x\"}}]}",
             "container 'web': the label 'berth.manifest' is reserved") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"label\": "
                 "\"berth.manifest=1\"}]}",
                 "the label 'berth.manifest' is reserved"),
       "the hash label is reserved");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"cmd\": 5}]}",
             "container 'web': 'cmd' must be an array or a string, not a number") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"cmd\": [\"a\", 1]}]}",
                 "container 'web': 'cmd' must hold strings, not a number"),
       "cmd of the wrong type");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"health\": \"x\"}]}",
             "container 'web': 'health' must be an object, not a string") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"health\": "
                 "{\"every\": 1}}]}",
                 "container 'web': health: unknown key 'every'") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"health\": "
                 "{\"cmd\": []}}]}",
                 "'cmd' must be a string or a non-empty array") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"health\": "
                 "{\"cmd\": [true]}}]}",
                 "container 'web': health: 'cmd' must hold strings, not a boolean") &&
           fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"health\": "
                 "{\"interval\": true}}]}",
                 "container 'web': health: 'interval' must be a string or a number"),
       "health refusals");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"health_cmd\": \"true\", "
             "\"health\": {\"cmd\": [\"true\"]}}]}",
             "container 'web': the health check command is given both in 'health' and as "
             "'health_cmd'"),
       "health command given twice");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"requires\": \"db\"}]}",
             "container 'web': 'requires' must be an array, not a string"),
       "requires not an array");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"requires\": [\"dbx\"]}]}",
             "container 'web' requires 'dbx', which the manifest does not define"),
       "requirement on an undefined container");
    ok(fails("{\"containers\": [{\"name\": \"web\", \"image\": \"a\", \"requires\": [\"web\"]}]}",
             "container 'web' requires itself"),
       "self-requirement");
    ok(fails("{\"containers\": [{\"name\": \"db\", \"image\": \"a\"}, {\"name\": \"web\", "
             "\"image\": \"a\", \"requires\": [{\"name\": \"db\", \"condition\": \"ready\"}]}]}",
             "container 'web': condition 'ready' for 'db': use started, healthy or completed"),
       "bad condition");
    ok(fails("{\"containers\": [{\"name\": \"db\", \"image\": \"a\"}, {\"name\": \"web\", "
             "\"image\": \"a\", \"requires\": [{\"condition\": \"healthy\"}]}]}",
             "container 'web': a requirement without a name") &&
           fails("{\"containers\": [{\"name\": \"db\", \"image\": \"a\"}, {\"name\": \"web\", "
                 "\"image\": \"a\", \"requires\": [{\"name\": \"db\", \"when\": 1}]}]}",
                 "container 'web': requires: unknown key 'when'") &&
           fails("{\"containers\": [{\"name\": \"db\", \"image\": \"a\"}, {\"name\": \"web\", "
                 "\"image\": \"a\", \"requires\": [5]}]}",
                 "a requirement must be a name or an object, not a number"),
       "malformed requirements");
    ok(fails("{\"containers\": [{\"name\": \"db\", \"image\": \"a\"}, {\"name\": \"web\", "
             "\"image\": \"a\", \"requires\": [\"db\", {\"name\": \"db\"}]}]}",
             "container 'web' requires 'db' twice"),
       "a requirement twice");
    ok(fails("{\"containers\": [{\"name\": \"a\", \"image\": \"i\", \"requires\": [\"b\"]}, "
             "{\"name\": \"b\", \"image\": \"i\", \"requires\": [\"c\"]}, {\"name\": \"c\", "
             "\"image\": \"i\", \"requires\": [\"a\"]}]}",
             "dependency cycle: a -> b -> c -> a"),
       "a cycle is reported with its path");
    ok(fails("{\"containers\": [{\"name\": \"x\", \"image\": \"i\", \"requires\": [\"b\"]}, "
             "{\"name\": \"b\", \"image\": \"i\", \"requires\": [\"c\"]}, {\"name\": \"c\", "
             "\"image\": \"i\", \"requires\": [\"b\"]}]}",
             "dependency cycle: b -> c -> b"),
       "a cycle below a container starts where it closes");
    ok(fails("{\"containers\": [{\"name\": \"a\", \"image\": \"i\"}], \"exit_with\": \"b\"}",
             "exit_with names 'b', which the manifest does not define") &&
           fails("{\"exit_with\": \"b\"}", "exit_with names 'b'") &&
           fails("{\"exit_with\": 1}", "'exit_with' must be a string, not a number"),
       "exit_with naming an unknown container");
}

static void test_lines(void)
{
    ok(line_is("{\"name\": \"web\", \"image\": \"app\"}", "create name=web image=app"),
       "the least container");
    ok(line_is("{\"name\": \"web\", \"image\": \"app\", \"cmd\": [\"/bin/web\", \"-p\", \"8 0\"]}",
               "create name=web image=app -- /bin/web -p \"8 0\""),
       "cmd array: the words after --");
    ok(line_is("{\"name\": \"web\", \"image\": \"app\", \"cmd\": \"echo $HOME && sleep 1\"}",
               "create name=web image=app -- /bin/sh -c \"echo $HOME && sleep 1\""),
       "cmd string: /bin/sh -c");
    ok(line_is("{\"name\": \"web\", \"image\": \"app\", \"cmd\": []}", "create name=web image=app"),
       "empty cmd: the image's");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"restart\": \"always\", \"stop_timeout\": "
               "5, \"stop_signal\": \"INT\", \"read_only\": true, \"tty\": false, "
               "\"interactive\": true, \"rm\": false, \"init\": true, \"privileged\": false}",
               "create name=db image=app restart=always stop_timeout=5 stop_signal=INT "
               "read_only=1 tty=0 open_stdin=1 rm=0 init=1 privileged=0"),
       "scalars and booleans (interactive is open_stdin)");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"memory\": \"64m\", \"memory_swap\": -1, "
               "\"pids_limit\": 100, \"cpus\": 1.5, \"cpu_shares\": 512, \"cap_add\": "
               "[\"NET_ADMIN\", \"SYS_TIME\"], \"cap_drop\": \"ALL\", \"security_opt\": "
               "[\"no-new-privileges\"]}",
               "create name=db image=app memory=67108864 memory_swap=-1 pids_limit=100 cpus=1.5 "
               "cpu_shares=512 cap_add=NET_ADMIN cap_add=SYS_TIME cap_drop=ALL "
               "security_opt=no-new-privileges"),
       "resources and isolation: sizes in bytes, numbers as text, arrays repeat");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"log_opt\": [\"max-size=1m\", "
               "\"max-file=2\"], \"restart_backoff\": \"1s:1m:30s\", \"hostname\": \"dbhost\", "
               "\"user\": 1000, \"workdir\": \"/srv\"}",
               "create name=db image=app log_max_size=1048576 log_max_file=2 "
               "backoff=1000:60000:30000 hostname=dbhost user=1000 workdir=/srv"),
       "log options, backoff, a number as user");
    ok(line_is("{\"name\": \"t\", \"image\": \"app\", \"devices\": [\"/dev/ttyS1\", "
               "\"/dev/sda:/dev/xvda:r\"], \"pid\": \"host\"}",
               "create name=t image=app device=/dev/ttyS1 device=/dev/sda:/dev/xvda:r pid=host"),
       "devices (the alias of device) and pid");
    ok(line_is("{\"name\": \"web\", \"image\": \"app\", \"ports\": [\"80:8080\", "
               "\"127.0.0.1:53:53/udp\"], \"publish\": \"81:81\", \"expose\": [90, \"91/udp\"], "
               "\"publish_all\": true, \"network\": \"back\", \"ip\": \"10.89.0.5\", \"dns\": "
               "[\"1.1.1.1\"]}",
               "create name=web image=app publish=80:8080 publish=127.0.0.1:53:53/udp "
               "publish=81:81 expose=90 expose=91/udp publish_all=1 network=back ip=10.89.0.5 "
               "dns=1.1.1.1"),
       "network keys, the ports alias next to publish");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"volumes\": [\"data:/var/lib/db\", "
               "\"/srv:/srv:ro\"], \"tmpfs\": \"/run\", \"mounts\": "
               "[\"type=tmpfs,target=/cache\"], \"volume\": \"/anon\"}",
               "create name=db image=app volume=data:/var/lib/db volume=/srv:/srv:ro tmpfs=/run "
               "mount=type=tmpfs,target=/cache volume=/anon"),
       "mount keys and their aliases");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"labels\": {\"tier\": \"back\", \"n\": 3},"
               " \"label\": [\"solo\"], \"env\": {\"A\": \"1 2\", \"B\": 2}}",
               "create name=db image=app label=tier=back label=n=3 label=solo= "
               "\"env=A=1 2\" env=B=2"),
       "env and labels as objects, a bare label");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"env\": [\"A=1\", \"B=x\"]}",
               "create name=db image=app env=A=1 env=B=x"),
       "env as an array");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"env\": \"A=1\"}",
               "create name=db image=app env=A=1"),
       "env as a string");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"health\": {\"cmd\": [\"/bin/db\", "
               "\"--ping\"], \"interval\": \"2s\", \"retries\": 3, \"on_failure\": "
               "\"restart\", \"timeout\": 1, \"start_period\": 0.5, \"start_interval\": "
               "\"100ms\"}}",
               "create name=db image=app health_interval=2s health_retries=3 "
               "health_on_failure=restart health_timeout=1s health_start_period=0.5s "
               "health_start_interval=100ms "
               "\"health_test=[\\\"CMD\\\",\\\"/bin/db\\\",\\\"--ping\\\"]\""),
       "health object: CMD form, numbers of seconds");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"health\": {\"cmd\": \"pg_isready || "
               "exit 1\"}}",
               "create name=db image=app "
               "\"health_test=[\\\"CMD-SHELL\\\",\\\"pg_isready || exit 1\\\"]\""),
       "health object: a string cmd is CMD-SHELL");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"health_cmd\": \"true\", "
               "\"health_interval\": 5, \"health_retries\": \"2\", \"sdnotify\": \"container\"}",
               "create name=db image=app \"health_test=[\\\"CMD-SHELL\\\",\\\"true\\\"]\" "
               "health_interval=5s health_retries=2 sdnotify=container"),
       "health flags at the top level of a container");
    ok(line_is("{\"name\": \"db\", \"image\": \"app\", \"no_healthcheck\": true}",
               "create name=db image=app \"health_test=[\\\"NONE\\\"]\""),
       "no_healthcheck");
}

static void test_env_file(void)
{
    char dir[] = "/tmp/test_manifest.XXXXXX";
    char path[128], json[512];

    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/app.env", dir);
    FILE *f = fopen(path, "w");
    ok(f && fputs("# app\nA=file\nB=file\n", f) >= 0 && fclose(f) == 0, "write env file");
    snprintf(json, sizeof json,
             "{\"name\": \"db\", \"image\": \"app\", \"env\": {\"A\": \"env\"}, \"env_file\": "
             "\"%s\", \"tty\": true}",
             path);
    ok(line_is(json, "create name=db image=app tty=1 env=A=file env=B=file env=A=env"),
       "env_file read, before env (as Docker orders them)");
    (void)unlink(path); /* best effort */
    (void)rmdir(dir);
}

static void test_order(void)
{
    struct manifest m;
    struct err e = {0};
    const char *design =
        "{ \"hostname\": \"appliance\", \"modules\": [\"overlay\", \"veth\", \"bridge\"],\n"
        "  \"images\": [{\"name\": \"app\", \"load\": \"/images/app.tar\"}, {\"name\": "
        "\"tools\", \"import\": \"/images/tools\"}],\n"
        "  \"volumes\": [\"data\", {\"name\": \"logs\"}], \"networks\": [{\"name\": \"back\", "
        "\"subnet\": \"10.89.0.0/24\"}],\n"
        "  \"containers\": [\n"
        "    {\"name\": \"selftest\", \"image\": \"app\", \"cmd\": [\"/bin/check\"],\n"
        "     \"requires\": [{\"name\": \"web\", \"condition\": \"started\"}, {\"name\": "
        "\"migrate\", \"condition\": \"completed\"}]},\n"
        "    {\"name\": \"web\", \"image\": \"app\", \"cmd\": [\"/bin/web\"], \"ports\": "
        "[\"80:8080\"],\n"
        "     \"requires\": [{\"name\": \"db\", \"condition\": \"healthy\"}]},\n"
        "    {\"name\": \"db\", \"image\": \"app\", \"cmd\": [\"/bin/db\"], \"restart\": "
        "\"always\",\n"
        "     \"volumes\": [\"data:/var/lib/db\"], \"network\": \"back\",\n"
        "     \"health\": {\"cmd\": [\"/bin/db\", \"--ping\"], \"interval\": \"2s\", \"retries\": "
        "3, \"on_failure\": \"restart\"}},\n"
        "    {\"name\": \"migrate\", \"image\": \"tools\", \"requires\": [\"db\"]},\n"
        "    {\"name\": \"ntp\", \"image\": \"tools\"} ],\n"
        "  \"exit_with\": \"selftest\" }\n";

    int rc = parse(design, &m, &e);
    ok(rc == 0, "parse DESIGN's example (%s)", e.msg);
    if (rc < 0)
        return;
    ok(strcmp(m.hostname, "appliance") == 0 && m.nmodules == 3 &&
           strcmp(m.modules[2], "bridge") == 0,
       "hostname and modules");
    ok(m.nimages == 2 && strcmp(m.images[0].load, "/images/app.tar") == 0 && !m.images[0].import &&
           strcmp(m.images[1].import, "/images/tools") == 0 && !m.images[1].load,
       "images: load and import");
    ok(m.nvolumes == 2 && strcmp(m.volumes[0], "data") == 0 && strcmp(m.volumes[1], "logs") == 0,
       "volumes: names and objects");
    ok(m.nnets == 1 && strcmp(m.nets[0].subnet, "10.89.0.0/24") == 0 && !m.nets[0].gateway,
       "networks");
    ok(strcmp(m.exit_with, "selftest") == 0, "exit_with");
    const char *want[] = {"db", "web", "migrate", "selftest", "ntp"};
    const int lv[] = {0, 1, 1, 2, 0};
    int good = m.nctrs == 5;
    for (size_t i = 0; good && i < 5; i++)
        good = strcmp(m.ctrs[i].name, want[i]) == 0 && m.ctrs[i].level == lv[i];
    ok(good, "dependencies first, else manifest order; levels 0 1 1 2 0");
    long st = manifest_find(&m, "selftest"), web = manifest_find(&m, "web"),
         db = manifest_find(&m, "db"), mig = manifest_find(&m, "migrate");
    ok(st == 3 && manifest_find(&m, "nope") == -1, "manifest_find");
    ok(m.ctrs[st].ndeps == 2 && m.ctrs[st].deps[0].idx == (size_t)web &&
           m.ctrs[st].deps[0].cond == MANIFEST_STARTED && m.ctrs[st].deps[1].idx == (size_t)mig &&
           m.ctrs[st].deps[1].cond == MANIFEST_COMPLETED,
       "deps point into the sorted array, in listed order, with their conditions");
    ok(m.ctrs[web].ndeps == 1 && m.ctrs[web].deps[0].idx == (size_t)db &&
           m.ctrs[web].deps[0].cond == MANIFEST_HEALTHY &&
           m.ctrs[mig].deps[0].cond == MANIFEST_STARTED && m.ctrs[db].ndeps == 0 &&
           !m.ctrs[db].deps,
       "healthy, and a bare name means started");
    ok(strstr(m.ctrs[db].line, "create name=db image=app restart=always volume=data:/var/lib/db "
                               "network=back health_interval=2s health_retries=3 "
                               "health_on_failure=restart \"health_test=") == m.ctrs[db].line &&
           strstr(m.ctrs[db].line, " -- /bin/db\n"),
       "db's line");
    ok(strcmp(m.ctrs[mig].image, "tools") == 0, "a container's image");
    manifest_free(&m);
    ok(empty(&m), "manifest_free empties");
    manifest_free(&m);
    manifest_free(NULL);
    ok(1, "manifest_free twice and of NULL");

    ok(parse("{}", &m, &e) == 0 && m.nctrs == 0 && !m.hostname && !m.exit_with, "an empty "
                                                                                "manifest");
    manifest_free(&m);
}

static char *hash_of(const char *ctr)
{
    struct manifest m;
    struct err e = {0};
    char *json = ctr_manifest(ctr), *h = NULL;

    if (parse(json, &m, &e) == 0) {
        h = strdup(m.ctrs[0].hash);
        manifest_free(&m);
    }
    free(json);
    return h ? h : strdup("error");
}

static void test_hash(void)
{
    const char *a = "{\"name\": \"db\", \"image\": \"app\", \"memory\": \"64m\", \"cmd\": [\"x\"]}";
    char *h1 = hash_of(a), *h2 = hash_of(a);
    char *h3 = hash_of("{\"name\": \"db\", \"image\": \"app\", \"memory\": \"65m\", \"cmd\": "
                       "[\"x\"]}");
    char *h4 = hash_of("{\"name\": \"db\", \"image\": \"app\", \"memory\": \"64m\", \"cmd\": "
                       "[\"y\"]}");
    char *h5 = hash_of("{\"name\": \"db\", \"image\": \"app\", \"memory\": 67108864, \"cmd\": "
                       "[\"x\"]}");
    char *h6 = hash_of("{\"name\": \"db\", \"image\": \"app\", \"memory\": \"64m\", \"cmd\": "
                       "[\"x\"], \"requires\": []}");

    ok(strlen(h1) == 16 && strspn(h1, "0123456789abcdef") == 16, "16 lower-case hex digits");
    ok(strcmp(h1, h2) == 0, "the same container gives the same hash");
    ok(strcmp(h1, "7ac30daebb3eca82") == 0 || printf("#   hash %s\n", h1) < 0,
       "the hash is stable across runs (a known value)");
    ok(strcmp(h1, h3) != 0, "an option that changes changes the hash");
    ok(strcmp(h1, h4) != 0, "the command changes the hash");
    ok(strcmp(h1, h5) == 0, "the same request spelled otherwise keeps the hash");
    ok(strcmp(h1, h6) == 0, "requirements are not in the request");
    free(h1);
    free(h2);
    free(h3);
    free(h4);
    free(h5);
    free(h6);
}

static void test_limits(void)
{
    struct proto_buf b = {0};
    struct manifest m;
    struct err e = {0};

    /* CTR_MAX containers, a chain listed backwards: c0 <- c1 <- ... <- c4095 */
    int good = proto_buf_printf(&b, "{\"containers\": [") == 0;
    for (int i = CTR_MAX - 1; good && i >= 0; i--) {
        good = proto_buf_printf(&b, "%s{\"name\": \"c%d\", \"image\": \"app\", \"cmd\": [\"run\"]",
                                i == CTR_MAX - 1 ? "" : ", ", i) == 0;
        if (good && i > 0)
            good = proto_buf_printf(&b, ", \"requires\": [\"c%d\"]", i - 1) == 0;
        good = good && proto_buf_printf(&b, "}") == 0;
    }
    size_t open_len = b.len;
    good = good && proto_buf_printf(&b, "]}") == 0;
    int rc = good ? manifest_parse(b.data, b.len, &m, &e) : -1;
    ok(rc == 0, "%d containers in one chain (%s)", CTR_MAX, e.msg);
    if (rc == 0) {
        int order = m.nctrs == CTR_MAX;
        for (size_t i = 0; order && i < m.nctrs; i++) {
            char name[32];
            snprintf(name, sizeof name, "c%zu", i);
            order = strcmp(m.ctrs[i].name, name) == 0 && m.ctrs[i].level == (int)i &&
                    (i == 0 ? m.ctrs[i].ndeps == 0
                            : m.ctrs[i].ndeps == 1 && m.ctrs[i].deps[0].idx == i - 1);
        }
        ok(order, "sorted c0..c%d with levels 0..%d", CTR_MAX - 1, CTR_MAX - 1);
        manifest_free(&m);
    }
    /* one more is too many */
    b.len = open_len;
    b.data[b.len] = '\0';
    good = proto_buf_printf(&b, ", {\"name\": \"extra\", \"image\": \"app\"}]}") == 0;
    ok(good && fails(b.data, "'containers' has 4097 entries, more than 4096"),
       "%d containers are too many", CTR_MAX + 1);
    proto_buf_free(&b);

    /* text over MANIFEST_MAX */
    size_t big = (size_t)MANIFEST_MAX + 1;
    char *txt = malloc(big + 1);
    if (txt) {
        memset(txt, ' ', big);
        txt[0] = '{';
        txt[big - 1] = '}';
        txt[big] = '\0';
        ok(manifest_parse(txt, big, &m, &e) < 0 && e.code == EFBIG && empty(&m) &&
               strstr(e.msg, "larger than"),
           "a manifest over MANIFEST_MAX");
        ok(manifest_parse(txt + 1, big - 1, &m, &e) < 0 && strstr(e.msg, "not JSON"),
           "MANIFEST_MAX bytes are parsed (and here fail as JSON)");
        txt[1] = '{';
        txt[2] = '}';
        ok(manifest_parse(txt + 1, big - 1, &m, &e) < 0 && strstr(e.msg, "trailing data"),
           "trailing data at the end of a big text");
        memset(txt, ' ', big);
        txt[0] = '{';
        txt[MANIFEST_MAX - 1] = '}';
        ok(manifest_parse(txt, MANIFEST_MAX, &m, &e) == 0, "exactly MANIFEST_MAX bytes");
        manifest_free(&m);
        free(txt);
    }

    /* a request over CTL_LINE_MAX */
    b = (struct proto_buf){0};
    good = proto_buf_printf(&b, "{\"containers\": [{\"name\": \"a\", \"image\": \"i\", "
                                "\"cmd\": [") == 0;
    for (int i = 0; good && i < 800; i++)
        good = proto_buf_printf(&b, "%s\"%0100d\"", i ? ", " : "", i) == 0;
    good = good && proto_buf_printf(&b, "]}]}") == 0;
    ok(good && fails(b.data, "container 'a': the create request exceeds 65536 bytes"),
       "a request longer than CTL_LINE_MAX");
    proto_buf_free(&b);
}

static void test_load(void)
{
    char dir[] = "/tmp/test_manifest.XXXXXX";
    char path[128];
    struct manifest m;
    struct err e = {0};

    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/boot.json", dir);
    FILE *f = fopen(path, "w");
    ok(f &&
           fputs("{\"hostname\": \"box\", \"containers\": [{\"name\": \"a\", \"image\": "
                 "\"busybox\"}]}\n",
                 f) >= 0 &&
           fclose(f) == 0,
       "write a manifest");
    ok(manifest_load(path, &m, &e) == 0 && m.nctrs == 1 && strcmp(m.hostname, "box") == 0,
       "manifest_load");
    manifest_free(&m);
    f = fopen(path, "w");
    ok(f && fputs("{\"containers\": [{\"name\": \"a\"}]}", f) >= 0 && fclose(f) == 0,
       "write a bad manifest");
    char want[256];
    snprintf(want, sizeof want, "manifest '%s': container 'a': no image", path);
    ok(manifest_load(path, &m, &e) < 0 && strcmp(e.msg, want) == 0 && empty(&m),
       "errors name the file (%s)", e.msg);
    ok(manifest_load("/nonexistent/boot.json", &m, &e) < 0 && e.code == ENOENT &&
           strstr(e.msg, "manifest '/nonexistent/boot.json'"),
       "a missing file");
    /* a FIFO would block berthd's loop in open(2): refused at once, as is one named by env_file */
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    ok(mkfifo(fifo, 0600) == 0, "mkfifo");
    ok(manifest_load(fifo, &m, &e) < 0 && strstr(e.msg, "is not a regular file") && empty(&m),
       "a FIFO as the manifest is refused without blocking (%s)", e.msg);
    f = fopen(path, "w");
    ok(f &&
           fprintf(f,
                   "{\"containers\": [{\"name\": \"a\", \"image\": \"b\", \"env_file\": \"%s\"}]}",
                   fifo) > 0 &&
           fclose(f) == 0,
       "write a manifest naming the FIFO");
    ok(manifest_load(path, &m, &e) < 0 && strstr(e.msg, "is not a regular file") && empty(&m),
       "a FIFO as env_file is refused without blocking (%s)", e.msg);
    (void)unlink(fifo);
    (void)unlink(path); /* best effort */
    (void)rmdir(dir);

    /* the example in the tree (the tests run from the top directory) */
    if (access("examples/boot.json", R_OK) < 0) {
        ok(1, "# skip examples/boot.json not found");
        return;
    }
    e = (struct err){0};
    int rc = manifest_load("examples/boot.json", &m, &e);
    ok(rc == 0, "examples/boot.json parses (%s)", e.msg);
    if (rc == 0) {
        long web = manifest_find(&m, "web");
        ok(m.nctrs == 4 && strcmp(m.ctrs[0].name, "db") == 0 && web == 1 &&
               m.ctrs[web].deps[0].cond == MANIFEST_HEALTHY &&
               strcmp(m.ctrs[3].name, "selftest") == 0 && m.ctrs[3].level == 2 &&
               strcmp(m.exit_with, "selftest") == 0,
           "examples/boot.json: db, web, ticker, selftest");
        manifest_free(&m);
    }
}

int main(void)
{
    test_refusals();
    test_lines();
    test_env_file();
    test_order();
    test_hash();
    test_limits();
    test_load();
    return done();
}
