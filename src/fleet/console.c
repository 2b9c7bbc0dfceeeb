/* The web console's static files (console.h). */
#define _POSIX_C_SOURCE 200809L
#include "console_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext, *type;
} mimes[] = {
    {".html", "text/html; charset=utf-8"},       {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},  {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},               {".svg", "image/svg+xml"},
    {".png", "image/png"},                       {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},       {".woff2", "font/woff2"},
};

const char *mote_console_mime(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof mimes / sizeof mimes[0]; i++)
        if (strcmp(dot, mimes[i].ext) == 0)
            return mimes[i].type;
    return NULL;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

int mote_console_path_ok(const char *path)
{
    /* A whitelist, not a blacklist of "..": what cannot be spelled cannot
     * escape web_dir (no '..', no '\\', no NUL, no hidden files). */
    if (!path || path[0] != '/' || strlen(path) > 255)
        return 0;
    int depth = 0;
    for (const char *p = path; *p == '/';) {
        p++;
        if (*p == '.' || *p == '/' || *p == '\0' || ++depth > 8)
            return 0;
        while (name_char(*p))
            p++;
        if (*p != '/' && *p != '\0')
            return 0;
    }
    return 1;
}

#ifdef MOTE_HTTP_COOKIES
void console_headers(mote_http_resp_t *resp, const char *lines)
{
    size_t n = strlen(resp->headers);
    snprintf(resp->headers + n, sizeof resp->headers - n, "%s", lines);
}
#else
void console_headers(mote_http_resp_t *resp, const char *lines)
{
    (void)resp;
    (void)lines;
}
#endif

static int if_none_match(const mote_http_req_t *req, const char *etag)
{
#ifdef MOTE_HTTP_COOKIES
    return req->if_none_match && strcmp(req->if_none_match, etag) == 0;
#else
    (void)req;
    (void)etag;
    return 0;
#endif
}

/* Read a whole regular file (not a symlink) of at most
 * MOTE_CONSOLE_MAX_FILE bytes. Returns 0, or an HTTP status. */
static int read_static(const char *full, char **buf, size_t *len, struct stat *st)
{
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 404 : 403;
    int status = 0;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
        status = 404;
    else if ((size_t)st->st_size > MOTE_CONSOLE_MAX_FILE)
        status = 403;
    else if (!(*buf = malloc((size_t)st->st_size + 1)))
        status = 500;
    size_t got = 0;
    while (status == 0 && got < (size_t)st->st_size) {
        ssize_t r = read(fd, *buf + got, (size_t)st->st_size - got);
        if (r <= 0)
            status = 500;
        else
            got += (size_t)r;
    }
    close(fd);
    if (status) {
        free(*buf);
        *buf = NULL;
    }
    *len = got;
    return status;
}

static const char *security_headers =
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'\r\n";

static void on_static(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_console_t *c = user;
    const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
    const char *type = mote_console_mime(path);
    if (strncmp(path, "/api/", 5) == 0 || !mote_console_path_ok(path) || !type) {
        mote_http_error(resp, 404, "no such path");
        return;
    }
    char full[1400];
    snprintf(full, sizeof full, "%s%s", c->web_dir, path);
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int status = read_static(full, &buf, &len, &st);
    if (status) {
        mote_http_error(resp, status, status == 404 ? "no such file" : "cannot serve this file");
        return;
    }
    /* Revalidate every time (no-cache) but send bytes only when changed:
     * a new moted version's pages are never mixed with old cached ones. */
    char etag[96], hdr[256];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    snprintf(hdr, sizeof hdr, "Cache-Control: no-cache\r\nETag: %s\r\n", etag);
    console_headers(resp, hdr);
    console_headers(resp, security_headers);
    snprintf(resp->content_type, sizeof resp->content_type, "%s", type);
    if (if_none_match(req, etag)) {
        free(buf);
        resp->status = 304;
        return;
    }
    resp->status = 200;
    resp->body = buf;
    resp->body_len = len;
}

mote_status_t mote_console_static_route(mote_console_t *c, mote_http_t *srv)
{
    return mote_http_route(srv, "GET", "/", NULL, on_static, c);
}

/* mkdir -p for one or two levels under an existing folder. */
static int ensure_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static mote_status_t copy_opt(char *dst, size_t cap, const char *src, const char *what, char *err, size_t errsz)
{
    if (!src) {
        dst[0] = '\0';
        return MOTE_OK;
    }
    if (strlen(src) + 1 > cap - 64) {
        snprintf(err, errsz, "console: %s path too long", what);
        return MOTE_ERR_ARG;
    }
    snprintf(dst, cap, "%s", src);
    return MOTE_OK;
}

static mote_status_t check_dirs(mote_console_t *c, char *err, size_t errsz)
{
    char p[1400];
    snprintf(p, sizeof p, "%s/index.html", c->web_dir);
    if (access(p, R_OK) != 0) {
        snprintf(err, errsz, "console: %s: %s (is --web the web/ folder?)", p, strerror(errno));
        return MOTE_ERR_IO;
    }
    char a[1100], b[1100];
    snprintf(a, sizeof a, "%s/pipelines", c->work_dir);
    snprintf(b, sizeof b, "%s/runs", c->work_dir);
    if (ensure_dir(c->work_dir) || ensure_dir(a) || ensure_dir(b)) {
        snprintf(err, errsz, "console: cannot create %s/{pipelines,runs}: %s", c->work_dir, strerror(errno));
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

mote_status_t mote_console_create(mote_console_t **out, const mote_console_opts_t *o, char *err, size_t errsz)
{
    *out = NULL;
    if (!o || !o->web_dir || !o->work_dir) {
        snprintf(err, errsz, "console: web_dir and work_dir are required");
        return MOTE_ERR_ARG;
    }
    mote_console_t *c = calloc(1, sizeof *c);
    if (!c)
        return MOTE_ERR_NOMEM;
    mote_status_t st = copy_opt(c->web_dir, sizeof c->web_dir, o->web_dir, "web", err, errsz);
    if (st == MOTE_OK)
        st = copy_opt(c->work_dir, sizeof c->work_dir, o->work_dir, "work", err, errsz);
    if (st == MOTE_OK)
        st = copy_opt(c->mote_exe, sizeof c->mote_exe, o->mote_exe, "mote", err, errsz);
    if (st == MOTE_OK)
        st = copy_opt(c->datasets_dir, sizeof c->datasets_dir, o->datasets_dir, "datasets", err, errsz);
    if (st == MOTE_OK)
        st = check_dirs(c, err, errsz);
    c->max_running = o->max_running > 0 ? o->max_running : 1;
    c->graph = o->graph;
    c->next_id = 1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (st == MOTE_OK && console_jobs_start(c) != 0) {
        snprintf(err, errsz, "console: cannot start the job thread");
        st = MOTE_ERR_STATE;
    }
    if (st != MOTE_OK) {
        mote_console_destroy(c);
        return st;
    }
    *out = c;
    return MOTE_OK;
}

void mote_console_set_audit(mote_console_t *c, mote_console_audit_fn fn, void *ctx)
{
    pthread_mutex_lock(&c->mu);
    c->audit = fn;
    c->audit_ctx = ctx;
    pthread_mutex_unlock(&c->mu);
}

void console_audit(mote_console_t *c, const char *kind, const char *user, const char *fmt, ...)
{
    pthread_mutex_lock(&c->mu);
    mote_console_audit_fn fn = c->audit;
    void *ctx = c->audit_ctx;
    pthread_mutex_unlock(&c->mu);
    if (!fn)
        return;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    fn(ctx, kind, user ? user : "", detail);
}

void mote_console_destroy(mote_console_t *c)
{
    if (!c)
        return;
    console_jobs_stop(c);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
