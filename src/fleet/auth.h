/* mote fleet: people logging in to moted's web console.
 *
 * Users live in a text file, one per line "NAME ROLE HASH" where ROLE is
 * viewer | engineer | admin and HASH is libsodium's crypto_pwhash_str
 * (Argon2id, self-describing); '#' starts a comment. The file is read at
 * every login, so `mote user add` takes effect without restarting moted.
 *
 * A login creates a session kept in memory only (a restart logs everyone
 * out): a random 256-bit id sent as an HttpOnly, SameSite=Strict cookie,
 * and a CSRF token the page keeps in memory and sends as the X-CSRF-Token
 * header. The token is a keyed BLAKE2b of the id under a per-process
 * random key, so it is never stored and a reloaded page can ask for it
 * again (GET /api/session); only a hash of the id is stored. Every
 * request that may change state (any method but GET/HEAD/OPTIONS) made
 * with a session cookie must carry that session's CSRF token. Requests
 * with a bearer token are not cookie-authenticated and need none. */
#ifndef MOTE_AUTH_H
#define MOTE_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_AUTH_COOKIE "mote_session"   /* cookie name */
#define MOTE_AUTH_MAX_SESSIONS 256        /* the oldest session is evicted beyond this */
#define MOTE_AUTH_IDLE_S 1800             /* a session unused this long expires */
#define MOTE_AUTH_MAX_AGE_S 28800         /* and every session after this, used or not */
#define MOTE_AUTH_NAME_MAX 63             /* user name bytes: [A-Za-z0-9_.-] */
#define MOTE_AUTH_PASS_MIN 8              /* password bytes */
#define MOTE_AUTH_PASS_MAX 256
#define MOTE_AUTH_TOKEN_HEX 64            /* session id and CSRF token: 32 random bytes in hex */

typedef struct mote_auth mote_auth_t;

/* Something worth recording happened (login, failed login, logout):
 * `kind` is "login" | "login_failed" | "logout", `detail` a short text.
 * moted points this at its ledger. Called without any lock held. */
typedef void (*mote_auth_audit_fn)(void *ctx, const char *kind, const char *user, const char *detail);

/* A session store reading users from `users_path` (the file must exist
 * and parse, so a typo is found at start, not at the first login). */
mote_status_t mote_auth_open(mote_auth_t **out, const char *users_path, char *err, size_t errsz);
/* Free the store; NULL is fine. */
void mote_auth_close(mote_auth_t *a);
/* Record logins through `fn` (NULL to stop). */
void mote_auth_set_audit(mote_auth_t *a, mote_auth_audit_fn fn, void *ctx);

/* Check `password` against the users file; on success create a session
 * and write its cookie value (the id) and CSRF token, MOTE_AUTH_TOKEN_HEX
 * hex characters plus NUL each, and the role. MOTE_ERR_VERIFY for an
 * unknown user or a wrong password (same answer, same time), MOTE_ERR_LIMIT
 * while the user is locked out after 5 failures in a row (60 s). */
mote_status_t mote_auth_login(mote_auth_t *a, const char *user, const char *password, char sid[65],
                              char csrf[65], char role[16]);
/* End the session whose id is `sid`; MOTE_ERR_NOT_FOUND if there is none. */
mote_status_t mote_auth_logout(mote_auth_t *a, const char *sid);

/* Turn a request's raw Cookie header and X-CSRF-Token header (either may
 * be NULL) into a user and role. Returns 0 with user/role filled for a
 * live session, 0 with user[0] == '\0' when there is no live session
 * (anonymous: the route's role check answers), or 403 when a live session
 * makes a state-changing request (method not GET/HEAD/OPTIONS) without
 * its CSRF token. */
int mote_auth_resolve(mote_auth_t *a, const char *method, const char *cookie, const char *csrf_header,
                      char user[64], char role[16]);

/* Find the value of cookie `name` in a raw Cookie header ("a=1; b=2").
 * Returns 1 and copies it to buf (NUL-terminated), 0 when absent, -1 when
 * it does not fit in cap or holds bytes a cookie value may not have. */
int mote_auth_cookie_get(const char *header, const char *name, char *buf, size_t cap);

/* Parse a login body: JSON {"user": "...", "password": "..."}. Returns
 * MOTE_OK or MOTE_ERR_FORMAT with a reason in err. */
mote_status_t mote_auth_parse_login(const uint8_t *body, size_t len, char user[64], char *password, size_t pcap,
                                    char *err, size_t errsz);

/* 1 if `name` is a valid user name, `role` a known role. */
int mote_auth_name_ok(const char *name);
int mote_auth_role_ok(const char *role);

/* Add or replace user `name` in the users file at `path` (created when
 * missing; rewritten atomically, mode 0600), with a fresh Argon2id hash of
 * `password`. */
mote_status_t mote_auth_user_set(const char *path, const char *name, const char *role, const char *password,
                                 char *err, size_t errsz);
/* Look `name` up in the users file: copies role and hash (hash 128 bytes).
 * MOTE_ERR_NOT_FOUND when absent, MOTE_ERR_FORMAT (line named in err) or
 * MOTE_ERR_IO when the file is bad. */
mote_status_t mote_auth_user_find(const char *path, const char *name, char role[16], char hash[128], char *err,
                                  size_t errsz);

/* The CSRF token of session id `sid` (65 bytes out). */
void mote_auth_csrf_for(const mote_auth_t *a, const char *sid, char csrf[65]);

/* Register POST /api/login, POST /api/logout and GET /api/session on srv.
 * Login answers {"user","role","csrf"} and sets the cookie; /api/session
 * answers the same for the current session, so a reloaded page gets its
 * CSRF token back. Needs MOTE_HTTP_COOKIES (else they answer 501). */
mote_status_t mote_auth_routes(mote_auth_t *a, mote_http_t *srv);

#ifdef MOTE_HTTP_COOKIES
/* The session hook for mote_http_set_session: ctx is the mote_auth_t. */
int mote_auth_session_hook(void *ctx, const mote_http_req_t *req, char user[64], char role[16]);
#endif

#ifdef __cplusplus
}
#endif
#endif
