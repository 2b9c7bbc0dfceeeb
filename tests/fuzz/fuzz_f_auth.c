/* libFuzzer target for the console's parsers of outside bytes: the Cookie
 * header, the login body, static-file paths and training logs
 * (src/fleet/auth.c, console.c, console_jobs.c). The first input byte
 * picks the parser; the rest is its input. Any crash, leak, overflow or
 * result outside the documented range is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "console.h"

static void cookie(const char *s)
{
    char buf[65];
    int r = mote_auth_cookie_get(s, MOTE_AUTH_COOKIE, buf, sizeof buf);
    if (r < -1 || r > 1 || (r == 1 && strlen(buf) >= sizeof buf))
        abort();
}

static void login(const uint8_t *d, size_t n)
{
    char user[64], pw[MOTE_AUTH_PASS_MAX + 1], err[256];
    if (mote_auth_parse_login(d, n, user, pw, sizeof pw, err, sizeof err) == MOTE_OK &&
        (!mote_auth_name_ok(user) || strlen(pw) > MOTE_AUTH_PASS_MAX))
        abort();
}

static void path(const char *s)
{
    /* An accepted path can never climb out of the web folder: no segment
     * starts with a dot (so none is "." or ".."), no backslash. */
    if (mote_console_path_ok(s) && (strstr(s, "/.") || strchr(s, '\\')))
        abort();
    (void)mote_console_mime(s);
}

static void progress(const char *s, size_t n)
{
    int e, m;
    mote_console_parse_progress(s, n, &e, &m);
    if (e < 0 || m < 0 || e > m)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: cookie(s); break;
    case 1: login(data + 1, size - 1); break;
    case 2: path(s); break;
    default: progress(s, strlen(s)); break;
    }
    free(s);
    return 0;
}
