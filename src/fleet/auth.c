/* Console sessions (auth.h): login, logout, cookie + CSRF resolution. */
#define _POSIX_C_SOURCE 200809L
#include "auth.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { MAX_LOCKS = 64, LOCK_AFTER = 5, LOCK_S = 60, HASH_BYTES = 32 };

typedef struct session {
    uint8_t idhash[HASH_BYTES];
    char user[64];
    char role[16];
    int64_t created, last; /* monotonic seconds */
    int used;
} session_t;

typedef struct lockout {
    char user[64];
    int fails;
    int64_t last;  /* time of the last failure */
    int64_t until; /* locked until, once fails reaches LOCK_AFTER */
} lockout_t;

struct mote_auth {
    char users_path[4096];
    uint8_t key[crypto_generichash_KEYBYTES]; /* derives CSRF tokens and id hashes */
    char dummy_hash[crypto_pwhash_STRBYTES];  /* verified against for unknown users */
    pthread_mutex_t mu;
    session_t sessions[MOTE_AUTH_MAX_SESSIONS];
    lockout_t locks[MAX_LOCKS];
    mote_auth_audit_fn audit;
    void *audit_ctx;
};

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void audit(mote_auth_t *a, const char *kind, const char *user, const char *detail)
{
    if (a->audit)
        a->audit(a->audit_ctx, kind, user, detail);
}

/* Keyed hash of "domain" || s: the stored form of a session id, and the
 * CSRF token, are both derived from the id so neither needs storing. */
static void keyed(const mote_auth_t *a, const char *domain, const char *s, uint8_t out[HASH_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, a->key, sizeof a->key, HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, (const uint8_t *)s, strlen(s));
    crypto_generichash_final(&st, out, HASH_BYTES);
}

void mote_auth_csrf_for(const mote_auth_t *a, const char *sid, char csrf[65])
{
    uint8_t h[HASH_BYTES];
    keyed(a, "csrf", sid, h);
    sodium_bin2hex(csrf, 65, h, sizeof h);
}

mote_status_t mote_auth_open(mote_auth_t **out, const char *users_path, char *err, size_t errsz)
{
    *out = NULL;
    if (!users_path || strlen(users_path) >= sizeof((mote_auth_t *)0)->users_path) {
        snprintf(err, errsz, "users file path missing or too long");
        return MOTE_ERR_ARG;
    }
    if (sodium_init() < 0)
        return MOTE_ERR_STATE;
    char role[16], hash[128];
    mote_status_t st = mote_auth_user_find(users_path, NULL, role, hash, err, errsz);
    if (st != MOTE_ERR_NOT_FOUND)
        return st == MOTE_OK ? MOTE_ERR_STATE : st;
    mote_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return MOTE_ERR_NOMEM;
    snprintf(a->users_path, sizeof a->users_path, "%s", users_path);
    randombytes_buf(a->key, sizeof a->key);
    char pw[33];
    sodium_bin2hex(pw, sizeof pw, a->key, 16);
    if (crypto_pwhash_str(a->dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        free(a);
        snprintf(err, errsz, "cannot hash (out of memory?)");
        return MOTE_ERR_NOMEM;
    }
    pthread_mutex_init(&a->mu, NULL);
    *out = a;
    return MOTE_OK;
}

void mote_auth_close(mote_auth_t *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    sodium_memzero(a, sizeof *a);
    free(a);
}

void mote_auth_set_audit(mote_auth_t *a, mote_auth_audit_fn fn, void *ctx)
{
    pthread_mutex_lock(&a->mu);
    a->audit = fn;
    a->audit_ctx = ctx;
    pthread_mutex_unlock(&a->mu);
}

/* ---- lockout after repeated failures (caller holds mu) ---- */

/* An entry is stale once its last failure and its lock are both over:
 * only then may another user name take its place. */
static int lock_stale(const lockout_t *l, int64_t t)
{
    return !l->user[0] || (t - l->last > LOCK_S && t >= l->until);
}

static lockout_t *lock_slot(mote_auth_t *a, const char *user, int create)
{
    int64_t t = now_s();
    lockout_t *free_slot = NULL, *oldest = &a->locks[0];
    for (int i = 0; i < MAX_LOCKS; i++) {
        lockout_t *l = &a->locks[i];
        if (l->user[0] && strcmp(l->user, user) == 0)
            return l;
        if (!free_slot && lock_stale(l, t))
            free_slot = l;
        if (l->last < oldest->last)
            oldest = l;
    }
    if (!create)
        return NULL;
    if (!free_slot) /* 64 names failing within a minute: forget the oldest */
        free_slot = oldest;
    memset(free_slot, 0, sizeof *free_slot);
    snprintf(free_slot->user, sizeof free_slot->user, "%s", user);
    return free_slot;
}

static int locked_out(mote_auth_t *a, const char *user)
{
    pthread_mutex_lock(&a->mu);
    lockout_t *l = lock_slot(a, user, 0);
    int locked = l && l->fails >= LOCK_AFTER && now_s() < l->until;
    pthread_mutex_unlock(&a->mu);
    return locked;
}

static void note_result(mote_auth_t *a, const char *user, int ok)
{
    pthread_mutex_lock(&a->mu);
    lockout_t *l = lock_slot(a, user, !ok);
    if (l && ok) {
        memset(l, 0, sizeof *l);
    } else if (l) {
        l->last = now_s();
        if (++l->fails >= LOCK_AFTER)
            l->until = l->last + LOCK_S;
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- sessions ---- */

static int session_live(const session_t *s, int64_t t)
{
    return s->used && t - s->last < MOTE_AUTH_IDLE_S && t - s->created < MOTE_AUTH_MAX_AGE_S;
}

/* A free or expired slot, else the least recently used one. */
static session_t *session_slot(mote_auth_t *a, int64_t t)
{
    session_t *lru = &a->sessions[0];
    for (int i = 0; i < MOTE_AUTH_MAX_SESSIONS; i++) {
        session_t *s = &a->sessions[i];
        if (!session_live(s, t))
            return s;
        if (s->last < lru->last)
            lru = s;
    }
    return lru;
}

static session_t *session_find(mote_auth_t *a, const char *sid, int64_t t)
{
    uint8_t h[HASH_BYTES];
    keyed(a, "sid", sid, h);
    session_t *hit = NULL;
    for (int i = 0; i < MOTE_AUTH_MAX_SESSIONS; i++)
        if (session_live(&a->sessions[i], t) && sodium_memcmp(h, a->sessions[i].idhash, HASH_BYTES) == 0)
            hit = &a->sessions[i];
    return hit;
}

static void session_create(mote_auth_t *a, const char *user, const char *role, char sid[65])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(sid, 65, raw, sizeof raw);
    int64_t t = now_s();
    pthread_mutex_lock(&a->mu);
    session_t *s = session_slot(a, t);
    memset(s, 0, sizeof *s);
    keyed(a, "sid", sid, s->idhash);
    snprintf(s->user, sizeof s->user, "%s", user);
    snprintf(s->role, sizeof s->role, "%s", role);
    s->created = s->last = t;
    s->used = 1;
    pthread_mutex_unlock(&a->mu);
}

mote_status_t mote_auth_login(mote_auth_t *a, const char *user, const char *password, char sid[65],
                              char csrf[65], char role[16])
{
    if (!a || !user || !password || !mote_auth_name_ok(user))
        return MOTE_ERR_VERIFY;
    if (locked_out(a, user)) {
        audit(a, "login_failed", user, "locked out after repeated failures");
        return MOTE_ERR_LIMIT;
    }
    char hash[128], err[256];
    mote_status_t st = mote_auth_user_find(a->users_path, user, role, hash, err, sizeof err);
    /* Unknown users cost one hash verification too: no timing oracle. */
    const char *against = st == MOTE_OK ? hash : a->dummy_hash;
    int good = crypto_pwhash_str_verify(against, password, strlen(password)) == 0 && st == MOTE_OK;
    note_result(a, user, good);
    if (!good) {
        audit(a, "login_failed", user, st == MOTE_OK ? "wrong password" : "unknown user or bad users file");
        return MOTE_ERR_VERIFY;
    }
    session_create(a, user, role, sid);
    mote_auth_csrf_for(a, sid, csrf);
    audit(a, "login", user, role);
    return MOTE_OK;
}

mote_status_t mote_auth_logout(mote_auth_t *a, const char *sid)
{
    char user[64] = "";
    pthread_mutex_lock(&a->mu);
    session_t *s = sid ? session_find(a, sid, now_s()) : NULL;
    if (s) {
        snprintf(user, sizeof user, "%s", s->user);
        memset(s, 0, sizeof *s);
    }
    pthread_mutex_unlock(&a->mu);
    if (!user[0])
        return MOTE_ERR_NOT_FOUND;
    audit(a, "logout", user, "");
    return MOTE_OK;
}

static int safe_method(const char *m)
{
    return m && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0);
}

int mote_auth_resolve(mote_auth_t *a, const char *method, const char *cookie, const char *csrf_header,
                      char user[64], char role[16])
{
    char sid[MOTE_AUTH_TOKEN_HEX + 1];
    user[0] = role[0] = '\0';
    if (mote_auth_cookie_get(cookie, MOTE_AUTH_COOKIE, sid, sizeof sid) != 1 ||
        strlen(sid) != MOTE_AUTH_TOKEN_HEX)
        return 0;
    pthread_mutex_lock(&a->mu);
    int64_t t = now_s();
    session_t *s = session_find(a, sid, t);
    if (s) {
        s->last = t;
        snprintf(user, 64, "%s", s->user);
        snprintf(role, 16, "%s", s->role);
    }
    pthread_mutex_unlock(&a->mu);
    if (!s || safe_method(method))
        return 0;
    char want[65];
    mote_auth_csrf_for(a, sid, want);
    if (!csrf_header || strlen(csrf_header) != MOTE_AUTH_TOKEN_HEX ||
        sodium_memcmp(want, csrf_header, MOTE_AUTH_TOKEN_HEX) != 0) {
        user[0] = role[0] = '\0';
        return 403;
    }
    return 0;
}

/* ---- parsing ---- */

/* RFC 6265 cookie-octet: visible ASCII but for '"', ',', ';', '\\'. */
static int cookie_octet(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

int mote_auth_cookie_get(const char *header, const char *name, char *buf, size_t cap)
{
    if (!header || !name || !buf || cap == 0)
        return 0;
    size_t nlen = strlen(name);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = len - nlen - 1;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen + 1 > cap)
                return -1;
            for (size_t i = 0; i < vlen; i++)
                if (!cookie_octet((unsigned char)v[i]))
                    return -1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return 1;
        }
        p += len;
    }
    return 0;
}

mote_status_t mote_auth_parse_login(const uint8_t *body, size_t len, char user[64], char *password, size_t pcap,
                                    char *err, size_t errsz)
{
    json_error_t je;
    json_t *o = body ? json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    const char *u = o ? json_string_value(json_object_get(o, "user")) : NULL;
    const char *p = o ? json_string_value(json_object_get(o, "password")) : NULL;
    mote_status_t st = MOTE_ERR_FORMAT;
    if (!o)
        snprintf(err, errsz, "body: not JSON (%s)", body ? je.text : "empty");
    else if (!json_is_object(o))
        snprintf(err, errsz, "body: want an object {\"user\", \"password\"}");
    else if (!u || !mote_auth_name_ok(u))
        snprintf(err, errsz, "user: missing or not 1-%d of [A-Za-z0-9_.-]", MOTE_AUTH_NAME_MAX);
    else if (!p || strlen(p) > MOTE_AUTH_PASS_MAX || strlen(p) + 1 > pcap ||
             strlen(p) != json_string_length(json_object_get(o, "password")))
        snprintf(err, errsz, "password: missing, too long or holding a NUL");
    else {
        snprintf(user, 64, "%s", u);
        memcpy(password, p, strlen(p) + 1);
        st = MOTE_OK;
    }
    json_decref(o);
    return st;
}
