/* SPDX-License-Identifier: MIT */
/* tests/unit/test_util.c - core/util.c and core/err.c: time and duration parsing, integers,
 * names, signals, RFC 3339 formatting, bounded file I/O, mkdir -p, and error formatting
 * (strerror appended, long chains truncated but always terminated). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/util.h"
#include "tests/unit/tap.h"

#define SEC 1000000000LL

static char tmpdir[] = "/tmp/berth-test-util-XXXXXX";

/* ---- time ---- */

/* Run util_parse_time (WHICH 0) or util_parse_duration_ms (1) on S in a child process;
 * *CRASHED is set when the child died (a sanitizer abort). */
static int isolated(int which, const char *s, int64_t now, int64_t *out, int *crashed)
{
    int fds[2];
    struct {
        int rc;
        int64_t out;
    } r = {-2, 0};
    *crashed = 0;
    if (pipe(fds) < 0)
        return -2;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        struct err e = {0};
        (void)close(fds[0]);
        r.out = -42;
        r.rc = which ? util_parse_duration_ms(s, &r.out, &e) : util_parse_time(s, now, &r.out, &e);
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    (void)close(fds[1]);
    ssize_t n = read(fds[0], &r, sizeof r);
    (void)close(fds[0]);
    int status = 0;
    (void)waitpid(pid, &status, 0);
    if (n != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *crashed = 1;
        return -2;
    }
    *out = r.out;
    return r.rc;
}

static void test_parse_time(void)
{
    const int64_t now = 1800000000LL * SEC + 123;
    const int64_t t0 = 1700000000LL * SEC; /* 2023-11-14T22:13:20Z */
    static const struct {
        const char *s;
        int64_t off; /* from t0 */
    } abs[] = {
        {"2023-11-14T22:13:20Z", 0},
        {"2023-11-14T22:13:20.5Z", 500000000},
        {"2023-11-14T22:13:20.123456789Z", 123456789},
        {"2023-11-14T22:13:20.000000001Z", 1},
        {"2023-11-14T22:13:20.1234567899Z", 123456789}, /* beyond ns: truncated */
        {"2023-11-15T00:13:20+02:00", 0},
        {"2023-11-15T00:13:20.25+02:00", 250000000},
        {"2023-11-14T20:13:20-02:00", 0},
        {"2023-11-14T22:43:20+00:30", 0},
        {"2023-11-14T22:13:20+00:00", 0},
        {"1970-01-01T00:00:00Z", -1700000000LL * SEC},
        {"1700000000", 0},
        {"1700000000.5", 500000000},
        {"0", -1700000000LL * SEC},
    };
    for (size_t i = 0; i < ARRAY_LEN(abs); i++) {
        int64_t out = -42;
        struct err e = {0};
        int rc = util_parse_time(abs[i].s, now, &out, &e);
        ok(rc == 0 && out == t0 + abs[i].off, "parse time '%s' -> %lld (want %lld) %s", abs[i].s,
           (long long)out, (long long)(t0 + abs[i].off), rc ? e.msg : "");
    }
    /* a fraction of a Unix time is a double: within a microsecond is all it promises */
    int64_t out = 0;
    struct err e = {0};
    int rc = util_parse_time("1700000000.123456789", now, &out, &e);
    int64_t diff = out - (t0 + 123456789);
    ok(rc == 0 && diff > -1000 && diff < 1000, "unix seconds with 9 decimals (off by %lld ns)",
       (long long)diff);

    static const struct {
        const char *s;
        int64_t ago;
    } rel[] = {
        {"10s", 10 * SEC},   {"5m", 300 * SEC},  {"2h", 7200 * SEC},   {"1h30m", 5400 * SEC},
        {"1m30s", 90 * SEC}, {"500ms", SEC / 2}, {"1.5h", 5400 * SEC}, {"0s", 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(rel); i++) {
        out = -42;
        memset(&e, 0, sizeof e);
        rc = util_parse_time(rel[i].s, now, &out, &e);
        ok(rc == 0 && out == now - rel[i].ago, "relative time '%s' -> now - %lld ns (%s)", rel[i].s,
           (long long)(now - out), rc ? e.msg : "");
    }

    static const char *const bad[] = {
        "",
        "garbage",
        "yesterday",
        "10x",
        "-5",
        "-10s",
        "2023-11-14",
        "2023-11-14 22:13:20Z",
        "2023-11-14T22:13Z",
        "2023-11-14T22:13:20Zjunk",
        "2023-11-14T22:13:20+0200",
        "2023-11-14T22:13:20+02",
        "2023-11-14T22:13:20+02:00junk",
        "1700000000.5.5",
        "1700000000x",
        "10s garbage",
        /* RFC 3339 offsets are hh:mm with hh <= 23 and mm <= 59 */
        "2023-11-14T22:13:20+99:99",
        /* beyond what nanoseconds in 64 bits hold (was an overflow) */
        "0019-01-01T00:00:00Z",
        "1677-01-01T00:00:00Z",
        "2263-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999Z",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        out = -42;
        memset(&e, 0, sizeof e);
        rc = util_parse_time(bad[i], now, &out, &e);
        ok(rc == -1 && e.code == EINVAL && out == -42, "bad time '%s' refused (%s) out %lld",
           bad[i], e.msg, (long long)out);
    }
    out = -42;
    ok(util_parse_time(NULL, now, &out, &e) == -1 && out == -42, "NULL time refused");

    /* Values that do not fit an int64_t of ns: the conversions are undefined behaviour, which
     * the sanitizers may abort on, so each runs in a child. */
    static const char *const huge[] = {"inf", "1e30", "nan", "3000000h", "1e15ms"};
    for (size_t i = 0; i < ARRAY_LEN(huge); i++) {
        int crashed = 0;
        rc = isolated(0, huge[i], now, &out, &crashed);
        ok(rc == -1 && !crashed, "out-of-range time '%s' refused (rc %d, out %lld%s)", huge[i], rc,
           (long long)out, crashed ? ", crashed" : "");
    }

    /* Short offsets make the parser step past the terminating NUL (it always skips 6 bytes).
     * The strings sit in zeroed buffers so the overrun reads a 0 instead of crashing. */
    static const char *const short_off[] = {"2023-11-14T22:13:20+02:0", "2023-11-14T22:13:20+2:00",
                                            "2023-11-14T22:13:20+2:0"};
    for (size_t i = 0; i < ARRAY_LEN(short_off); i++) {
        char buf[64] = {0};
        (void)snprintf(buf, sizeof buf, "%s", short_off[i]);
        out = -42;
        memset(&e, 0, sizeof e);
        rc = util_parse_time(buf, now, &out, &e);
        ok(rc == -1, "short offset '%s' refused (rc %d, out %lld)", short_off[i], rc,
           (long long)out);
    }
}

/* util_parse_time's date part replaced glibc's strptime(s, "%Y-%m-%dT%H:%M:%S") (which takes
 * about 16 KB of locale code into the static berthd): it must accept exactly what strptime
 * accepts (white space before a number, fewer digits, the ranges) and give the same time. Each
 * case is a mutation of a valid date followed by "Z"; without '.' or '+' only the date path can
 * take such a string. */
static void test_parse_time_as_strptime(void)
{
    static const char alpha[] = " \t\n\v\f\r0123456789-T:xZ\xa0";
    static const char *const base[] = {"2023-11-14T22:13:20", "1678-01-01T00:00:00",
                                       "2261-12-31T23:59:61", "1970-1-1T0:0:0"};
    unsigned seed = 1;
    int n = 0, parsed = 0, bad = 0;
    char first[80] = "";

    for (int it = 0; it < 20000; it++) {
        char buf[80];
        int len = snprintf(buf, sizeof buf, "%s", base[it % ARRAY_LEN(base)]);
        for (int k = (int)((seed = seed * 1103515245 + 12345) >> 16) % 4; k > 0; k--) {
            seed = seed * 1103515245 + 12345;
            int op = (int)(seed >> 16) % 3, pos = (int)(seed >> 8) % (len + 1);
            char c = alpha[(seed >> 20) % (sizeof alpha - 1)];
            if (op == 0 && pos < len) {
                buf[pos] = c;
            } else if (op == 1 && len < 60) {
                memmove(buf + pos + 1, buf + pos, (size_t)(len - pos) + 1);
                buf[pos] = c;
                len++;
            } else if (op == 2 && pos < len) {
                memmove(buf + pos, buf + pos + 1, (size_t)(len - pos));
                len--;
            }
        }
        (void)snprintf(buf + len, sizeof buf - (size_t)len, "Z");

        struct tm tm = {0};
        const char *p = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
        int want_rc = p && strcmp(p, "Z") == 0 ? 0 : -1;
        /* ns since 1970 fit an int64_t from 1678 to 2261 only: beyond, a clear error */
        int64_t secs = want_rc ? 0 : (int64_t)timegm(&tm);
        if (want_rc == 0 && (secs < -9223372035LL || secs > 9223372035LL))
            want_rc = -1;
        int64_t want = want_rc ? -42 : secs * SEC;
        int64_t out = -42;
        struct err e = {0};
        int rc = util_parse_time(buf, 0, &out, &e);
        n++;
        parsed += rc == 0;
        if ((rc != want_rc || out != want) && bad++ == 0)
            (void)snprintf(first, sizeof first, "%s", buf);
    }
    ok(bad == 0 && parsed > 1000,
       "dates parsed as strptime does: %d cases, %d parsed, %d differ%s%s", n, parsed, bad,
       bad ? ", first " : "", first);
}

static void test_parse_duration(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {
        {"10s", 10000},   {"500ms", 500}, {"1m30s", 90000},   {"2h", 7200000},        {"5", 5000},
        {"0", 0},         {"1.5s", 1500}, {"1h30m", 5400000}, {"1h1m1s1ms", 3661001}, {"0.5", 500},
        {"90m", 5400000}, {"1ms", 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        int64_t out = -42;
        struct err e = {0};
        int rc = util_parse_duration_ms(good[i].s, &out, &e);
        ok(rc == 0 && out == good[i].ms, "duration '%s' -> %lld ms (want %lld) %s", good[i].s,
           (long long)out, (long long)good[i].ms, rc ? e.msg : "");
    }
    static const char *const bad[] = {
        "", "s", "ms", "5x", "-1s", "5s5", "5 s", "1d", "10s-", "abc", "1e16", "1e300h",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t out = -42;
        struct err e = {0};
        int rc = util_parse_duration_ms(bad[i], &out, &e);
        ok(rc == -1 && (e.code == EINVAL || e.code == ERANGE) && out == -42 &&
               strstr(e.msg, "invalid duration"),
           "bad duration '%s' refused (%s)", bad[i], e.msg);
    }
    int64_t out = -42;
    struct err e = {0};
    ok(util_parse_duration_ms(NULL, &out, &e) == -1 && out == -42, "NULL duration refused");
    ok(util_parse_duration_ms("1e16", &out, &e) == -1 && e.code == ERANGE,
       "a huge duration is ERANGE");
    static const char *const nonfinite[] = {"nan", "nans", "inf", "infms"};
    for (size_t i = 0; i < ARRAY_LEN(nonfinite); i++) {
        int crashed = 0;
        out = -42;
        int rc = isolated(1, nonfinite[i], 0, &out, &crashed);
        ok(rc == -1 && !crashed, "duration '%s' refused (rc %d, out %lld%s)", nonfinite[i], rc,
           (long long)out, crashed ? ", crashed" : "");
    }
}

static void test_parse_int(void)
{
    static const struct {
        const char *s;
        long long min, max, want;
    } good[] = {
        {"5", 0, 10, 5},
        {"0", 0, 10, 0},
        {"10", 0, 10, 10},
        {"-3", -5, 5, -3},
        {"-5", -5, 5, -5},
        {"9223372036854775807", 0, LLONG_MAX, LLONG_MAX},
        {"-9223372036854775808", LLONG_MIN, 0, LLONG_MIN},
        {"007", 0, 10, 7},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        long long out = -42;
        struct err e = {0};
        int rc = util_parse_int(good[i].s, good[i].min, good[i].max, &out, &e);
        ok(rc == 0 && out == good[i].want, "int '%s' in [%lld, %lld] -> %lld", good[i].s,
           good[i].min, good[i].max, out);
    }
    static const struct {
        const char *s;
        long long min, max;
        int code;
    } bad[] = {
        {"11", 0, 10, ERANGE},
        {"-1", 0, 10, ERANGE},
        {"-6", -5, 5, ERANGE},
        {"9223372036854775808", 0, LLONG_MAX, EINVAL},
        {"-9223372036854775809", LLONG_MIN, 0, EINVAL},
        {"", 0, 10, EINVAL},
        {"abc", 0, 10, EINVAL},
        {"5x", 0, 10, EINVAL},
        {"5 ", 0, 10, EINVAL},
        {"0x10", 0, 100, EINVAL},
        {"1.5", 0, 10, EINVAL},
        {"-", 0, 10, EINVAL},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        long long out = -42;
        struct err e = {0};
        int rc = util_parse_int(bad[i].s, bad[i].min, bad[i].max, &out, &e);
        ok(rc == -1 && e.code == bad[i].code && out == -42, "int '%s' in [%lld, %lld] refused: %s",
           bad[i].s, bad[i].min, bad[i].max, e.msg);
    }
    long long out = -42;
    struct err e = {0};
    ok(util_parse_int(NULL, 0, 10, &out, &e) == -1 && e.code == EINVAL, "NULL int refused");
    util_parse_int("11", 0, 10, &out, &e);
    ok(strcmp(e.msg, "number '11' out of range [0, 10]: Numerical result out of range") == 0,
       "range message: %s", e.msg);
}

static void test_valid_name(void)
{
    char n63[CTR_NAME_MAX], n64[CTR_NAME_MAX + 1];
    memset(n63, 'a', sizeof n63);
    n63[CTR_NAME_MAX - 1] = '\0';
    memset(n64, 'b', sizeof n64);
    n64[CTR_NAME_MAX] = '\0';

    ok(strlen(n63) == 63 && util_valid_name(n63), "63 characters is a valid name");
    ok(strlen(n64) == 64 && !util_valid_name(n64), "64 characters is refused");
    static const char *const good[] = {"a", "web", "web-1", "web_1", "web.1", "0",     "9lives",
                                       "A", "Web", "a-",    "a.",    "a..b",  "a--_.b"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        ok(util_valid_name(good[i]), "name '%s' is valid", good[i]);
    static const char *const bad[] = {
        "",  "-web", ".web", "_web", "/web", "web/x", "a b",     "a\tb", "a:b", "a@b",
        "é", "aé",   "ä",    "日本", "a\n",  " a",    "a/../..", "..",   ".",   "a*",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char shown[32];
        size_t k = 0;
        for (const char *c = bad[i]; *c && k + 5 < sizeof shown; c++)
            k += (size_t)snprintf(shown + k, sizeof shown - k,
                                  (unsigned char)*c < 0x20 ? "\\x%02x" : "%c", *c);
        shown[k] = '\0';
        ok(!util_valid_name(bad[i]), "name '%s' is refused", shown);
    }
    ok(!util_valid_name(NULL), "NULL name refused");
}

static void test_signals(void)
{
    static const struct {
        const char *s;
        int sig;
    } cases[] = {
        {"TERM", SIGTERM},
        {"SIGTERM", SIGTERM},
        {"term", SIGTERM},
        {"sigterm", SIGTERM},
        {"SigTerm", SIGTERM},
        {"KILL", SIGKILL},
        {"9", SIGKILL},
        {"15", SIGTERM},
        {"1", 1},
        {"64", 64},
        {"HUP", SIGHUP},
        {"USR1", SIGUSR1},
        {"SIGUSR2", SIGUSR2},
        {"WINCH", SIGWINCH},
        {"CHLD", SIGCHLD},
        {"STOP", SIGSTOP},
        {"0", -1},
        {"65", -1},
        {"-9", -1},
        {"", -1},
        {"SIG", -1},
        {"FOO", -1},
        {"SIGFOO", -1},
        {"9x", -1},
        {"TERM ", -1},
        {"SIGSIGTERM", -1},
        {"99999999999999999999", -1},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        ok(util_signal_parse(cases[i].s) == cases[i].sig, "signal '%s' -> %d (want %d)", cases[i].s,
           util_signal_parse(cases[i].s), cases[i].sig);
    ok(util_signal_parse(NULL) == -1, "NULL signal -> -1");

    ok(strcmp(util_signal_name(SIGTERM), "SIGTERM") == 0, "name of 15: SIGTERM");
    ok(strcmp(util_signal_name(SIGKILL), "SIGKILL") == 0, "name of 9: SIGKILL");
    ok(strcmp(util_signal_name(SIGHUP), "SIGHUP") == 0, "name of 1: SIGHUP");
    ok(strcmp(util_signal_name(SIGSYS), "SIGSYS") == 0, "name of 31: SIGSYS");
    ok(strcmp(util_signal_name(0), "SIG?") == 0, "name of 0: SIG?");
    ok(strcmp(util_signal_name(-1), "SIG?") == 0, "name of -1: SIG?");
    ok(strcmp(util_signal_name(64), "SIG?") == 0, "name of 64: SIG?");
    ok(strcmp(util_signal_name(INT_MAX), "SIG?") == 0, "name of INT_MAX: SIG?");
    /* every standard signal's name parses back (SIGSTKFLT has no name: skipped) */
    int bad = 0;
    for (int s = 1; s < 32; s++) {
        if (s == SIGSTKFLT)
            continue;
        const char *n = util_signal_name(s);
        if (strcmp(n, "SIG?") == 0 || util_signal_parse(n) != s || util_signal_parse(n + 3) != s) {
            bad++;
            ok(0, "signal %d: name '%s' does not parse back", s, n);
        }
    }
    ok(bad == 0, "signal names 1..31 round trip");
}

static void test_rfc3339(void)
{
    static const struct {
        int64_t ns;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000000Z"},
        {1, "1970-01-01T00:00:00.000000001Z"},
        {1700000000LL * SEC, "2023-11-14T22:13:20.000000000Z"},
        {1700000000LL * SEC + 123456789, "2023-11-14T22:13:20.123456789Z"},
        {951782400LL * SEC + 999999999, "2000-02-29T00:00:00.999999999Z"},
        {-1, "1969-12-31T23:59:59.999999999Z"},
        {-SEC, "1969-12-31T23:59:59.000000000Z"},
        {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char buf[64];
        util_rfc3339(cases[i].ns, buf, sizeof buf);
        ok(strcmp(buf, cases[i].want) == 0, "rfc3339(%lld) = %s", (long long)cases[i].ns, buf);
    }
    /* formatting and parsing agree */
    char buf[64];
    int64_t out = 0;
    struct err e = {0};
    util_rfc3339(1700000000LL * SEC + 987654321, buf, sizeof buf);
    ok(util_parse_time(buf, 0, &out, &e) == 0 && out == 1700000000LL * SEC + 987654321,
       "parse(rfc3339(t)) == t");
    char small[11];
    util_rfc3339(0, small, sizeof small);
    ok(strcmp(small, "1970-01-01") == 0, "a short buffer is truncated and terminated: %s", small);
}

/* ---- files ---- */

static void path_in(char *buf, size_t size, const char *name)
{
    (void)snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void test_files(void)
{
    char p[PATH_MAX_BERTH], q[PATH_MAX_BERTH];
    struct err e = {0};
    size_t len = 99;

    path_in(p, sizeof p, "f.txt");
    ok(util_write_atomic(p, "hello\n", 6, &e) == 0, "write_atomic (%s)", e.msg);
    char *s = util_read_file(p, 100, &len, &e);
    ok(s && len == 6 && strcmp(s, "hello\n") == 0, "read back 6 bytes");
    free(s);
    struct stat st;
    ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "atomic file mode 0600 (%o)",
       st.st_mode & 0777);
    path_in(q, sizeof q, "f.txt.tmp");
    ok(access(q, F_OK) < 0, "no .tmp left behind");

    s = util_read_regular(p, 100, &len, &e);
    ok(s && len == 6, "read_regular reads a regular file");
    free(s);
    ok(!util_read_regular("/dev/null", 100, NULL, &e) && strstr(e.msg, "not a regular file"),
       "read_regular refuses a device (%s)", e.msg);
    ok(!util_read_regular(tmpdir, 100, NULL, &e) && strstr(e.msg, "not a regular file"),
       "read_regular refuses a directory (%s)", e.msg);

    ok(util_write_atomic(p, "xy", 2, &e) == 0, "overwrite");
    s = util_read_file(p, 100, NULL, &e);
    ok(s && strcmp(s, "xy") == 0, "overwrite replaced the content (len may be NULL)");
    free(s);

    /* binary with NULs */
    static const char bin[] = {'a', 0, 'b', 0, 0, 'c'};
    ok(util_write_atomic(p, bin, sizeof bin, &e) == 0, "write binary");
    s = util_read_file(p, 100, &len, &e);
    ok(s && len == sizeof bin && memcmp(s, bin, sizeof bin) == 0 && s[len] == '\0',
       "binary read back with NUL terminator");
    free(s);

    /* size limits */
    static char big[4096];
    memset(big, 'z', sizeof big);
    ok(util_write_atomic(p, big, sizeof big, &e) == 0, "write 4096 bytes");
    memset(&e, 0, sizeof e);
    s = util_read_file(p, 4095, &len, &e);
    ok(!s && e.code == EFBIG && strstr(e.msg, p), "max 4095 of 4096: EFBIG (%s)", e.msg);
    free(s);
    memset(&e, 0, sizeof e);
    s = util_read_file(p, 4096, &len, &e);
    ok(s && len == 4096, "a file of exactly max bytes is read (%s)", s ? "ok" : e.msg);
    free(s);
    s = util_read_file(p, 1 << 20, &len, &e);
    ok(s && len == 4096 && s[4096] == '\0', "a file well under max is read");
    free(s);

    ok(util_write_atomic(p, "", 0, &e) == 0, "write an empty file");
    s = util_read_file(p, 10, &len, &e);
    ok(s && len == 0 && s[0] == '\0', "read an empty file");
    free(s);
    memset(&e, 0, sizeof e);
    s = util_read_file(p, 0, &len, &e);
    ok(s && len == 0, "an empty file with max 0 is read (%s)", s ? "ok" : e.msg);
    free(s);

    /* /proc files report size 0 but have content */
    s = util_read_file("/proc/self/stat", 1 << 16, &len, &e);
    ok(s && len > 0 && strlen(s) == len, "read a /proc file of st_size 0 (%zu bytes)", len);
    free(s);
    memset(&e, 0, sizeof e);
    s = util_read_file("/proc/self/stat", 4, &len, &e);
    ok(!s && e.code == EFBIG, "a /proc file over max: EFBIG (%s)", e.msg);
    free(s);

    path_in(q, sizeof q, "missing");
    memset(&e, 0, sizeof e);
    s = util_read_file(q, 100, &len, &e);
    ok(!s && e.code == ENOENT && strstr(e.msg, q) && strstr(e.msg, "No such file"),
       "missing file: ENOENT (%s)", e.msg);
    path_in(q, sizeof q, "nodir/f");
    memset(&e, 0, sizeof e);
    ok(util_write_atomic(q, "x", 1, &e) == -1 && e.code == ENOENT,
       "write into a missing directory: ENOENT (%s)", e.msg);

    /* mkdir -p */
    path_in(q, sizeof q, "a/b/c/d");
    ok(util_mkdir_p(q, 0755, &e) == 0 && stat(q, &st) == 0 && S_ISDIR(st.st_mode),
       "mkdir -p a/b/c/d");
    ok(util_mkdir_p(q, 0755, &e) == 0, "mkdir -p of an existing directory is fine");
    path_in(q, sizeof q, "a/b/x/");
    ok(util_mkdir_p(q, 0755, &e) == 0 && stat(q, &st) == 0 && S_ISDIR(st.st_mode),
       "mkdir -p with a trailing slash");
    path_in(q, sizeof q, "a//b//y");
    ok(util_mkdir_p(q, 0755, &e) == 0 && stat(q, &st) == 0 && S_ISDIR(st.st_mode),
       "mkdir -p with doubled slashes");
    path_in(q, sizeof q, "a/m700");
    ok(util_mkdir_p(q, 0700, &e) == 0 && stat(q, &st) == 0 && (st.st_mode & 0777) == 0700,
       "mkdir -p applies the mode");
    path_in(q, sizeof q, "f.txt/sub");
    memset(&e, 0, sizeof e);
    ok(util_mkdir_p(q, 0755, &e) == -1 && e.code == ENOTDIR, "mkdir -p under a file: ENOTDIR (%s)",
       e.msg);
    /* like mkdir -p, an existing non-directory at the end is an error */
    memset(&e, 0, sizeof e);
    ok(util_mkdir_p(p, 0755, &e) == -1, "mkdir -p of an existing regular file fails (%s)", e.msg);
    char rel[64];
    (void)snprintf(rel, sizeof rel, "%s", "relative-x/y");
    char cwd[PATH_MAX_BERTH];
    if (getcwd(cwd, sizeof cwd) && chdir(tmpdir) == 0) {
        ok(util_mkdir_p(rel, 0755, &e) == 0 && stat(rel, &st) == 0, "mkdir -p of a relative path");
        if (chdir(cwd) != 0)
            ok(0, "chdir back");
    }
    char longp[PATH_MAX_BERTH + 16];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    memset(&e, 0, sizeof e);
    ok(util_mkdir_p(longp, 0755, &e) == -1 && e.code == ENAMETOOLONG,
       "mkdir -p of an over-long path: ENAMETOOLONG");
    memset(&e, 0, sizeof e);
    ok(util_write_atomic(longp, "x", 1, &e) == -1 && e.code == ENAMETOOLONG,
       "write_atomic of an over-long path: ENAMETOOLONG");
}

/* ---- err ---- */

static void test_err(void)
{
    struct err e = {0};

    errno = EBADF;
    int rc = err_set(&e, ENOENT, "open '%s'", "/x");
    int saved = errno;
    ok(rc == -1, "err_set returns -1");
    ok(saved == EBADF, "err_set keeps errno");
    ok(e.code == ENOENT && strcmp(e.msg, "open '/x': No such file or directory") == 0,
       "err_set appends strerror: %s", e.msg);
    errno = EBADF;
    rc = err_wrap(&e, "start '%s'", "web");
    saved = errno;
    ok(rc == -1 && saved == EBADF, "err_wrap returns -1, keeps errno");
    ok(e.code == ENOENT && strcmp(e.msg, "start 'web': open '/x': No such file or directory") == 0,
       "err_wrap prefixes context: %s", e.msg);
    ok(strcmp(err_str(&e), e.msg) == 0 && strcmp(err_str(NULL), "") == 0, "err_str");

    err_set(&e, 0, "no such image: %s", "busybox");
    ok(e.code == 0 && strcmp(e.msg, "no such image: busybox") == 0, "code 0: no strerror: %s",
       e.msg);
    ok(err_set(NULL, EINVAL, "x") == -1 && err_wrap(NULL, "y") == -1, "NULL err is tolerated");

    /* a message that fills the buffer: truncated, terminated, no strerror */
    char longm[400];
    memset(longm, 'm', sizeof longm);
    longm[sizeof longm - 1] = '\0';
    err_set(&e, EIO, "%s", longm);
    ok(strlen(e.msg) == ERR_MSG_MAX - 1 && e.code == EIO, "long message truncated to %d",
       ERR_MSG_MAX - 1);
    /* one that just fits without the strerror text */
    memset(longm, 'n', sizeof longm);
    longm[ERR_MSG_MAX - 5] = '\0';
    err_set(&e, EIO, "%s", longm);
    ok(strlen(e.msg) == ERR_MSG_MAX - 1 && e.code == EIO &&
           strncmp(e.msg + ERR_MSG_MAX - 5, ": I", 3) == 0,
       "strerror is cut to fit: ...%s", e.msg + ERR_MSG_MAX - 8);

    /* long wrap chains keep the newest context first and stay terminated */
    err_set(&e, ENOSPC, "write '%s'", "/var/lib/berth/berth.json.tmp");
    for (int i = 0; i < 40; i++)
        err_wrap(&e, "level %02d context", i);
    ok(strlen(e.msg) <= ERR_MSG_MAX - 1 && e.msg[ERR_MSG_MAX - 1] == '\0',
       "40 wraps: %zu bytes, terminated", strlen(e.msg));
    ok(strncmp(e.msg, "level 39 context: level 38 context: ", 36) == 0,
       "newest context first: %.40s", e.msg);
    ok(e.code == ENOSPC, "wrap keeps the code");

    /* a prefix as long as the buffer */
    err_set(&e, EIO, "old");
    err_wrap(&e, "%s", longm); /* 251 'n's */
    ok(strlen(e.msg) == ERR_MSG_MAX - 1 && strncmp(e.msg + 251, ": ol", 4) == 0,
       "a 251-byte prefix: ': ol' fits: ...%s", e.msg + 248);
    memset(longm, 'p', sizeof longm);
    longm[sizeof longm - 1] = '\0';
    err_set(&e, EIO, "old");
    err_wrap(&e, "%s", longm);
    ok(strlen(e.msg) == ERR_MSG_MAX - 1 && e.msg[0] == 'p' && e.msg[ERR_MSG_MAX - 2] == 'p',
       "a prefix longer than the buffer is cut and terminated");
    for (int pl = ERR_MSG_MAX - 4; pl <= ERR_MSG_MAX; pl++) {
        memset(longm, 'q', sizeof longm);
        longm[pl] = '\0';
        err_set(&e, EIO, "old");
        err_wrap(&e, "%s", longm);
        ok(strlen(e.msg) < ERR_MSG_MAX &&
               strncmp(e.msg, longm, strlen(e.msg) < (size_t)pl ? strlen(e.msg) : (size_t)pl) == 0,
           "prefix of %d bytes: %zu bytes, terminated", pl, strlen(e.msg));
    }
    /* wrapping a message that is itself full */
    memset(longm, 'r', sizeof longm);
    longm[sizeof longm - 1] = '\0';
    err_set(&e, EIO, "%s", longm);
    err_wrap(&e, "ctx");
    ok(strlen(e.msg) == ERR_MSG_MAX - 1 && strncmp(e.msg, "ctx: rrr", 8) == 0,
       "wrapping a full message keeps the head");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 77;
    }
    test_parse_time();
    test_parse_time_as_strptime();
    test_parse_duration();
    test_parse_int();
    test_valid_name();
    test_signals();
    test_rfc3339();
    test_files();
    test_err();
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", tmpdir);
    return done();
}
