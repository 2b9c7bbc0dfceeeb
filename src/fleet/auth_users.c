/* The console's users file (auth.h): lookup and atomic update. */
#define _POSIX_C_SOURCE 200809L
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { LINE_MAX_BYTES = 512 };

int mote_auth_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MOTE_AUTH_NAME_MAX || name[0] == '#')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '.' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int mote_auth_role_ok(const char *role)
{
    return role && (strcmp(role, "viewer") == 0 || strcmp(role, "engineer") == 0 || strcmp(role, "admin") == 0);
}

/* Split one line into name, role, hash. Returns 1 for a user line, 0 for
 * a blank or comment line, -1 when malformed. */
static int parse_line(char *line, char name[64], char role[16], char hash[128])
{
    char *hashmark = strchr(line, '#');
    /* '#' inside an Argon2 hash cannot occur (its alphabet is base64 and
     * '$,=' ), so cutting at the first one is safe. */
    if (hashmark)
        *hashmark = '\0';
    char extra[2];
    int n = sscanf(line, "%63s %15s %127s %1s", name, role, hash, extra);
    if (n <= 0)
        return 0;
    if (n != 3 || !mote_auth_name_ok(name) || !mote_auth_role_ok(role) || strncmp(hash, "$argon2", 7) != 0)
        return -1;
    return 1;
}

mote_status_t mote_auth_user_find(const char *path, const char *name, char role[16], char hash[128], char *err,
                                  size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return MOTE_ERR_IO;
    }
    char line[LINE_MAX_BYTES], n[64], r[16], h[128];
    mote_status_t st = MOTE_ERR_NOT_FOUND;
    for (int ln = 1; fgets(line, sizeof line, f); ln++) {
        int k = parse_line(line, n, r, h);
        if (k < 0) {
            snprintf(err, errsz, "%s:%d: want 'NAME ROLE HASH' (role viewer|engineer|admin, an Argon2 hash from"
                     " 'mote user add')", path, ln);
            st = MOTE_ERR_FORMAT;
            break;
        }
        if (k == 1 && name && strcmp(n, name) == 0 && st == MOTE_ERR_NOT_FOUND) {
            memcpy(role, r, sizeof r);
            memcpy(hash, h, sizeof h);
            st = MOTE_OK;
        }
    }
    fclose(f);
    if (st == MOTE_ERR_NOT_FOUND)
        snprintf(err, errsz, "%s: no user '%s'", path, name ? name : "");
    return st;
}

/* Copy every line of `in` (may be NULL) but the one for `name` to `out`. */
static mote_status_t copy_others(FILE *in, FILE *out, const char *name)
{
    char line[LINE_MAX_BYTES], copy[LINE_MAX_BYTES], n[64], r[16], h[128];
    while (in && fgets(line, sizeof line, in)) {
        memcpy(copy, line, sizeof line);
        if (parse_line(copy, n, r, h) == 1 && strcmp(n, name) == 0)
            continue;
        if (fputs(line, out) == EOF)
            return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

static mote_status_t hash_password(const char *password, char hash[crypto_pwhash_STRBYTES])
{
    if (sodium_init() < 0)
        return MOTE_ERR_STATE;
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return MOTE_ERR_NOMEM;
    return MOTE_OK;
}

static mote_status_t check_user_args(const char *name, const char *role, const char *password, char *err,
                                     size_t errsz)
{
    if (!mote_auth_name_ok(name)) {
        snprintf(err, errsz, "user name must be 1-%d of [A-Za-z0-9_.-]", MOTE_AUTH_NAME_MAX);
        return MOTE_ERR_ARG;
    }
    if (!mote_auth_role_ok(role)) {
        snprintf(err, errsz, "role must be viewer, engineer or admin");
        return MOTE_ERR_ARG;
    }
    size_t n = password ? strlen(password) : 0;
    if (n < MOTE_AUTH_PASS_MIN || n > MOTE_AUTH_PASS_MAX) {
        snprintf(err, errsz, "password must be %d-%d bytes", MOTE_AUTH_PASS_MIN, MOTE_AUTH_PASS_MAX);
        return MOTE_ERR_ARG;
    }
    return MOTE_OK;
}

mote_status_t mote_auth_user_set(const char *path, const char *name, const char *role, const char *password,
                                 char *err, size_t errsz)
{
    mote_status_t st = check_user_args(name, role, password, err, errsz);
    char hash[crypto_pwhash_STRBYTES];
    if (st != MOTE_OK)
        return st;
    if ((st = hash_password(password, hash)) != MOTE_OK) {
        snprintf(err, errsz, "cannot hash the password (out of memory?)");
        return st;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errsz, "path too long");
        return MOTE_ERR_ARG;
    }
    /* The hashes are offline-guessable: keep the file private. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return MOTE_ERR_IO;
    }
    FILE *in = fopen(path, "r");
    st = copy_others(in, out, name);
    if (in)
        fclose(in);
    if (st == MOTE_OK && fprintf(out, "%s %s %s\n", name, role, hash) < 0)
        st = MOTE_ERR_IO;
    if (fflush(out) != 0 || fsync(fileno(out)) != 0)
        st = MOTE_ERR_IO;
    if (fclose(out) != 0)
        st = MOTE_ERR_IO;
    if (st == MOTE_OK && rename(tmp, path) != 0)
        st = MOTE_ERR_IO;
    if (st != MOTE_OK) {
        snprintf(err, errsz, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
    }
    sodium_memzero(hash, sizeof hash);
    return st;
}
