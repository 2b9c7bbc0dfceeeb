/* Minimal HTTP/1.1 client (httpc.h): one request per connection. */
#define _POSIX_C_SOURCE 200809L
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct url {
    char host[256], port[8], base[256];
} url_t;

static int parse_url(const char *s, url_t *u)
{
    if (strncmp(s, "http://", 7) != 0)
        return -1;
    s += 7;
    const char *slash = strchr(s, '/');
    size_t hp = slash ? (size_t)(slash - s) : strlen(s);
    const char *colon = memchr(s, ':', hp);
    size_t hl = colon ? (size_t)(colon - s) : hp;
    if (hl == 0 || hl >= sizeof u->host)
        return -1;
    memcpy(u->host, s, hl);
    u->host[hl] = '\0';
    size_t pl = colon ? hp - hl - 1 : 2;
    if (pl == 0 || pl >= sizeof u->port)
        return -1;
    memcpy(u->port, colon ? colon + 1 : "80", pl);
    u->port[pl] = '\0';
    snprintf(u->base, sizeof u->base, "%s", slash ? slash : "");
    size_t bl = strlen(u->base);
    if (bl && u->base[bl - 1] == '/')
        u->base[bl - 1] = '\0';
    return 0;
}

static int dial(const url_t *u, unsigned timeout_ms, char *err, size_t errsz)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errsz, "%s:%s: %s", u->host, u->port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        snprintf(err, errsz, "cannot connect to %s:%s: %s", u->host, u->port, strerror(errno));
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *recv_all(int fd, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            char *b = cap < MOTE_HTTPC_MAX_RESP ? realloc(buf, cap * 2 + 1) : NULL;
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static mote_status_t parse_resp(char *raw, size_t n, mote_httpc_resp_t *out, char *err, size_t errsz)
{
    int status = 0;
    char *hdr_end = strstr(raw, "\r\n\r\n");
    if (sscanf(raw, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 599 || !hdr_end) {
        snprintf(err, errsz, "the server's answer is not an HTTP response");
        return MOTE_ERR_FORMAT;
    }
    char *body = hdr_end + 4;
    size_t blen = n - (size_t)(body - raw);
    for (char *h = strstr(raw, "\r\n"); h && h < hdr_end; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0) {
            unsigned long long cl = strtoull(h + 17, NULL, 10);
            if (cl < blen)
                blen = (size_t)cl;
        }
    }
    out->status = status;
    out->body = malloc(blen + 1);
    if (!out->body)
        return MOTE_ERR_NOMEM;
    memcpy(out->body, body, blen);
    out->body[blen] = '\0';
    out->len = blen;
    return MOTE_OK;
}

mote_status_t mote_httpc_request(const char *url, const char *method, const char *path, const char *token,
                                 const char *body, size_t body_len, unsigned timeout_ms, mote_httpc_resp_t *out,
                                 char *err, size_t errsz)
{
    url_t u;
    memset(out, 0, sizeof *out);
    if (!url || parse_url(url, &u) != 0) {
        snprintf(err, errsz, "'%s' is not an http://HOST:PORT URL", url ? url : "(null)");
        return MOTE_ERR_ARG;
    }
    int fd = dial(&u, timeout_ms ? timeout_ms : 30000, err, errsz);
    if (fd < 0)
        return MOTE_ERR_IO;
    char head[2048];
    int hn =
        snprintf(head, sizeof head,
                 "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\nAccept: application/json\r\n"
                 "%s%s%s%s%zu\r\n\r\n",
                 method, u.base, path, u.host, u.port, token ? "Authorization: Bearer " : "", token ? token : "",
                 token ? "\r\n" : "",
                 body ? "Content-Type: application/json\r\nContent-Length: " : "Content-Length: ", body ? body_len : 0);
    size_t rlen = 0;
    char *raw = NULL;
    mote_status_t st = MOTE_ERR_IO;
    if (hn > 0 && (size_t)hn < sizeof head && send_all(fd, head, (size_t)hn) == 0 &&
        (!body || send_all(fd, body, body_len) == 0) && (raw = recv_all(fd, &rlen)) != NULL)
        st = parse_resp(raw, rlen, out, err, errsz);
    else if (hn <= 0 || (size_t)hn >= sizeof head)
        snprintf(err, errsz, "request too long"), st = MOTE_ERR_LIMIT;
    else
        snprintf(err, errsz, "%s:%s: %s", u.host, u.port, errno ? strerror(errno) : "connection closed");
    free(raw);
    close(fd);
    return st;
}

void mote_httpc_free(mote_httpc_resp_t *r)
{
    if (r) {
        free(r->body);
        r->body = NULL;
        r->len = 0;
    }
}
