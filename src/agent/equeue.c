/* Crash-safe event queue (equeue.h). */
#define _POSIX_C_SOURCE 200809L
#include "equeue.h"
#include "mote/le.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mote/crc32.h"

#define CURSOR_MAGIC 0x55435145u /* "EQCU" little-endian */
#define CURSOR_LEN 16
#define DEFAULT_MAX_BYTES (64ull << 20)
/* Rewrite the log once this many bytes at its head are acknowledged and
 * they are more than half of it, so a device that is never fully caught up
 * does not grow its log forever. */
#define COMPACT_MIN_BYTES (1u << 20)

static void say(char *msg, size_t size, const char *fmt, ...)
{
    if (!msg || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
}

/* CRC over length, seq and payload: the header's crc field is left out. */
static uint32_t record_crc(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
    uint8_t *tmp = malloc((size_t)12 + len);
    if (!tmp)
        return 0;
    memcpy(tmp, hdr, 12);
    if (len)
        memcpy(tmp + 12, payload, len);
    uint32_t c = mote_crc32(tmp, (size_t)12 + len);
    free(tmp);
    return c;
}

mote_status_t mote_equeue_scan(const void *buf, size_t len, mote_equeue_record_fn fn, void *user,
                               size_t *valid_len, char *msg, size_t msg_size)
{
    const uint8_t *b = buf;
    size_t dummy;
    if (!valid_len)
        valid_len = &dummy;
    *valid_len = 0;
    say(msg, msg_size, "%s", "");
    if (len == 0)
        return MOTE_OK;
    if (!b)
        return MOTE_ERR_ARG;
    if (len < MOTE_EQUEUE_HDR) {
        say(msg, msg_size, "torn file magic (%zu of %u bytes)", len, MOTE_EQUEUE_HDR);
        return memcmp(b, MOTE_EQUEUE_MAGIC, len) == 0 ? MOTE_ERR_TRUNCATED : MOTE_ERR_CORRUPT;
    }
    if (memcmp(b, MOTE_EQUEUE_MAGIC, MOTE_EQUEUE_HDR) != 0) {
        say(msg, msg_size, "bad magic at offset 0 (want %s)", MOTE_EQUEUE_MAGIC);
        return MOTE_ERR_CORRUPT;
    }
    size_t off = MOTE_EQUEUE_HDR;
    uint64_t last = 0;
    unsigned long idx = 0;
    *valid_len = off;
    while (off < len) {
        if (len - off < MOTE_EQUEUE_REC_HDR) {
            say(msg, msg_size, "record %lu at offset %zu: torn header (%zu of %u bytes)", idx, off,
                len - off, MOTE_EQUEUE_REC_HDR);
            return MOTE_ERR_TRUNCATED;
        }
        uint32_t rl = mote_le_get32(b + off);
        uint64_t seq = mote_le_get64(b + off + 4);
        if (rl == 0 || rl > MOTE_EQUEUE_MAX_RECORD) {
            say(msg, msg_size, "record %lu at offset %zu: length %u out of range 1..%u", idx, off, rl,
                MOTE_EQUEUE_MAX_RECORD);
            return MOTE_ERR_CORRUPT;
        }
        if (len - off - MOTE_EQUEUE_REC_HDR < rl) {
            say(msg, msg_size, "record %lu at offset %zu: torn payload (%zu of %u bytes)", idx, off,
                len - off - MOTE_EQUEUE_REC_HDR, rl);
            return MOTE_ERR_TRUNCATED;
        }
        const uint8_t *payload = b + off + MOTE_EQUEUE_REC_HDR;
        if (mote_le_get32(b + off + 12) != record_crc(b + off, payload, rl)) {
            say(msg, msg_size, "record %lu at offset %zu: CRC mismatch", idx, off);
            return MOTE_ERR_CORRUPT;
        }
        if (seq == 0 || seq <= last) {
            say(msg, msg_size, "record %lu at offset %zu: seq %llu not above %llu", idx, off,
                (unsigned long long)seq, (unsigned long long)last);
            return MOTE_ERR_CORRUPT;
        }
        if (fn && fn(user, seq, off + MOTE_EQUEUE_REC_HDR, payload, rl))
            return MOTE_OK;
        last = seq;
        off += MOTE_EQUEUE_REC_HDR + rl;
        *valid_len = off;
        idx++;
    }
    return MOTE_OK;
}

/* ---- folder helpers ------------------------------------------------ */

static mote_status_t sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return MOTE_ERR_IO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? MOTE_OK : MOTE_ERR_IO;
}

static mote_status_t read_all(int fd, uint8_t **out, size_t *len, uint64_t cap)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return MOTE_ERR_IO;
    if ((uint64_t)st.st_size > cap + MOTE_EQUEUE_MAX_RECORD + MOTE_EQUEUE_REC_HDR)
        return MOTE_ERR_LIMIT;
    uint8_t *b = malloc((size_t)st.st_size + 1);
    if (!b)
        return MOTE_ERR_NOMEM;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    *out = b;
    *len = got;
    return MOTE_OK;
}

static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

/* ---- cursor -------------------------------------------------------- */

static mote_status_t cursor_read(mote_equeue_t *q)
{
    uint8_t b[CURSOR_LEN];
    int fd = open(q->cursor, O_RDONLY);
    q->acked = 0;
    if (fd < 0) {
        if (errno == ENOENT)
            return MOTE_OK;
        say(q->msg, sizeof q->msg, "%s: %s", q->cursor, strerror(errno));
        return MOTE_ERR_IO;
    }
    ssize_t r = read(fd, b, sizeof b);
    close(fd);
    if (r != CURSOR_LEN || mote_le_get32(b + 8) != CURSOR_MAGIC || mote_le_get32(b + 12) != mote_crc32(b, 12)) {
        say(q->msg, sizeof q->msg, "%s: damaged cursor (%zd bytes)", q->cursor, r);
        return MOTE_ERR_CORRUPT;
    }
    q->acked = mote_le_get64(b);
    return MOTE_OK;
}

/* Temp file, fsync, rename, fsync folder: the old or the new cursor. */
static mote_status_t cursor_write(mote_equeue_t *q, uint64_t acked)
{
    char tmp[MOTE_EQUEUE_PATH_LEN + 8];
    uint8_t b[CURSOR_LEN];
    mote_le_put64(b, acked);
    mote_le_put32(b + 8, CURSOR_MAGIC);
    mote_le_put32(b + 12, mote_crc32(b, 12));
    snprintf(tmp, sizeof tmp, "%s.tmp", q->cursor);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return MOTE_ERR_IO;
    int bad = write_full(fd, b, sizeof b, 0) != 0;
    if (!bad && q->sync == MOTE_EQUEUE_SYNC)
        bad = fsync(fd) != 0;
    close(fd);
    if (bad || rename(tmp, q->cursor) != 0) {
        say(q->msg, sizeof q->msg, "%s: %s", q->cursor, strerror(errno));
        return MOTE_ERR_IO;
    }
    if (q->sync == MOTE_EQUEUE_SYNC && sync_dir(q->dir) != MOTE_OK)
        return MOTE_ERR_IO;
    q->acked = acked;
    return MOTE_OK;
}

/* ---- index --------------------------------------------------------- */

static int index_push(mote_equeue_t *q, uint64_t seq, uint64_t offset, uint32_t len)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        mote_equeue_entry_t *e = realloc(q->e, cap * sizeof *e);
        if (!e)
            return -1;
        q->e = e;
        q->cap = cap;
    }
    q->e[q->n++] = (mote_equeue_entry_t){.seq = seq, .offset = offset, .len = len, .acked = 0};
    return 0;
}

typedef struct scan_ctx {
    mote_equeue_t *q;
    uint64_t last;
    int nomem;
} scan_ctx_t;

static int on_record(void *user, uint64_t seq, uint64_t offset, const uint8_t *payload, uint32_t len)
{
    scan_ctx_t *c = user;
    (void)payload;
    c->last = seq;
    if (seq <= c->q->acked)
        return 0;
    if (index_push(c->q, seq, offset, len) != 0) {
        c->nomem = 1;
        return 1;
    }
    return 0;
}

static mote_status_t load_log(mote_equeue_t *q)
{
    uint8_t *buf = NULL;
    size_t len = 0, valid = 0;
    mote_status_t st = read_all(q->fd, &buf, &len, q->max_bytes);
    if (st != MOTE_OK) {
        say(q->msg, sizeof q->msg, "%s: cannot read (%s)", q->path, mote_status_str(st));
        return st;
    }
    scan_ctx_t c = {.q = q};
    char why[160];
    st = mote_equeue_scan(buf, len, on_record, &c, &valid, why, sizeof why);
    free(buf);
    if (c.nomem)
        return MOTE_ERR_NOMEM;
    if (len == 0 || valid < MOTE_EQUEUE_HDR) {
        /* empty, or a torn magic: start a fresh log */
        valid = 0;
        if (len > 0 && st == MOTE_ERR_CORRUPT) {
            say(q->msg, sizeof q->msg, "%s: %s", q->path, why);
            return MOTE_ERR_CORRUPT;
        }
    }
    if (st != MOTE_OK) {
        q->dropped_tail = len - valid;
        say(q->msg, sizeof q->msg, "%s: dropped %llu bytes of tail: %s", q->path,
            (unsigned long long)q->dropped_tail, why);
    }
    if (valid < len && (ftruncate(q->fd, (off_t)valid) != 0 || fsync(q->fd) != 0))
        return MOTE_ERR_IO;
    if (valid == 0) {
        if (write_full(q->fd, MOTE_EQUEUE_MAGIC, MOTE_EQUEUE_HDR, 0) != 0 || fsync(q->fd) != 0)
            return MOTE_ERR_IO;
        valid = MOTE_EQUEUE_HDR;
    }
    q->size = valid;
    q->next_seq = (c.last > q->acked ? c.last : q->acked) + 1;
    return MOTE_OK;
}

mote_status_t mote_equeue_open(mote_equeue_t *q, const char *dir, mote_equeue_sync_t sync,
                               uint64_t max_bytes)
{
    if (!q || !dir || (sync != MOTE_EQUEUE_SYNC && sync != MOTE_EQUEUE_NOSYNC))
        return MOTE_ERR_ARG;
    memset(q, 0, sizeof *q);
    q->fd = -1;
    q->sync = sync;
    q->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
    if ((size_t)snprintf(q->dir, sizeof q->dir, "%s", dir) >= sizeof q->dir ||
        (size_t)snprintf(q->path, sizeof q->path, "%s/events.q", dir) >= sizeof q->path ||
        (size_t)snprintf(q->cursor, sizeof q->cursor, "%s/cursor", dir) >= sizeof q->cursor) {
        say(q->msg, sizeof q->msg, "%s: path too long", dir);
        return MOTE_ERR_ARG;
    }
    mote_status_t st = cursor_read(q);
    if (st != MOTE_OK)
        return st;
    q->fd = open(q->path, O_RDWR | O_CREAT, 0644);
    if (q->fd < 0) {
        say(q->msg, sizeof q->msg, "%s: %s", q->path, strerror(errno));
        return MOTE_ERR_IO;
    }
    st = load_log(q);
    if (st == MOTE_OK && q->sync == MOTE_EQUEUE_SYNC)
        st = sync_dir(q->dir);
    if (st != MOTE_OK)
        mote_equeue_close(q);
    return st;
}

void mote_equeue_close(mote_equeue_t *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    q->fd = -1;
    free(q->e);
    q->e = NULL;
    q->n = q->cap = 0;
}

uint64_t mote_equeue_next_seq(const mote_equeue_t *q)
{
    return q ? q->next_seq : 0;
}

size_t mote_equeue_pending(const mote_equeue_t *q)
{
    size_t n = 0;
    for (size_t i = 0; q && i < q->n; i++)
        n += !q->e[i].acked;
    return n;
}

mote_status_t mote_equeue_append(mote_equeue_t *q, uint64_t seq, const void *data, size_t len)
{
    if (!q || q->fd < 0 || !data || len == 0 || len > MOTE_EQUEUE_MAX_RECORD || seq < q->next_seq)
        return MOTE_ERR_ARG;
    if (q->size + MOTE_EQUEUE_REC_HDR + len > q->max_bytes)
        return MOTE_ERR_FULL;
    uint8_t *rec = malloc(MOTE_EQUEUE_REC_HDR + len);
    if (!rec)
        return MOTE_ERR_NOMEM;
    mote_le_put32(rec, (uint32_t)len);
    mote_le_put64(rec + 4, seq);
    memcpy(rec + MOTE_EQUEUE_REC_HDR, data, len);
    mote_le_put32(rec + 12, record_crc(rec, rec + MOTE_EQUEUE_REC_HDR, (uint32_t)len));
    /* One write: a crash leaves a prefix of this record, never a hole. */
    int bad = write_full(q->fd, rec, MOTE_EQUEUE_REC_HDR + len, q->size) != 0;
    free(rec);
    if (!bad && q->sync == MOTE_EQUEUE_SYNC)
        bad = fdatasync(q->fd) != 0;
    if (bad || index_push(q, seq, q->size + MOTE_EQUEUE_REC_HDR, (uint32_t)len) != 0) {
        say(q->msg, sizeof q->msg, "%s: append failed: %s", q->path, strerror(errno));
        if (ftruncate(q->fd, (off_t)q->size) != 0)
            return MOTE_ERR_IO;
        return bad ? MOTE_ERR_IO : MOTE_ERR_NOMEM;
    }
    q->size += MOTE_EQUEUE_REC_HDR + len;
    q->next_seq = seq + 1;
    return MOTE_OK;
}

mote_status_t mote_equeue_peek(mote_equeue_t *q, uint64_t after, uint64_t *seq, void *buf,
                               size_t cap, size_t *len)
{
    if (!q || !seq || !len || (!buf && cap))
        return MOTE_ERR_ARG;
    /* entries are in seq order: binary search, then skip early acks */
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->e[mid].seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < q->n; i++) {
        const mote_equeue_entry_t *e = &q->e[i];
        if (e->acked)
            continue;
        *seq = e->seq;
        *len = e->len;
        if (e->len > cap)
            return MOTE_ERR_LIMIT;
        ssize_t r = pread(q->fd, buf, e->len, (off_t)e->offset);
        if (r != (ssize_t)e->len)
            return r < 0 ? MOTE_ERR_IO : MOTE_ERR_CORRUPT;
        return MOTE_OK;
    }
    return MOTE_ERR_NOT_FOUND;
}

/* Copy the unacknowledged tail into a new log and rename it over the old
 * one. A crash before the rename leaves the old (longer) log, whose
 * acknowledged head is skipped at open by the cursor. */
static mote_status_t rewrite_tail(mote_equeue_t *q, size_t first)
{
    char tmp[MOTE_EQUEUE_PATH_LEN + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", q->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return MOTE_ERR_IO;
    uint64_t from = q->e[first].offset - MOTE_EQUEUE_REC_HDR;
    uint64_t n = q->size - from;
    uint8_t *b = malloc((size_t)n);
    int bad = !b || pread(q->fd, b, (size_t)n, (off_t)from) != (ssize_t)n ||
              write_full(fd, MOTE_EQUEUE_MAGIC, MOTE_EQUEUE_HDR, 0) != 0 ||
              write_full(fd, b, (size_t)n, MOTE_EQUEUE_HDR) != 0 || fsync(fd) != 0 ||
              rename(tmp, q->path) != 0;
    free(b);
    if (bad) {
        close(fd);
        unlink(tmp);
        return MOTE_ERR_IO;
    }
    close(q->fd);
    q->fd = fd;
    uint64_t shift = from - MOTE_EQUEUE_HDR;
    memmove(q->e, q->e + first, (q->n - first) * sizeof *q->e);
    q->n -= first;
    for (size_t i = 0; i < q->n; i++)
        q->e[i].offset -= shift;
    q->size -= shift;
    return sync_dir(q->dir);
}

/* Drop the acknowledged head of the index; shrink the file when it pays. */
static mote_status_t compact(mote_equeue_t *q)
{
    size_t first = 0;
    while (first < q->n && q->e[first].seq <= q->acked)
        first++;
    if (first == 0)
        return MOTE_OK;
    if (first == q->n) {
        q->n = 0;
        if (ftruncate(q->fd, MOTE_EQUEUE_HDR) != 0)
            return MOTE_ERR_IO;
        q->size = MOTE_EQUEUE_HDR;
        if (q->sync == MOTE_EQUEUE_SYNC && fsync(q->fd) != 0)
            return MOTE_ERR_IO;
        return MOTE_OK;
    }
    uint64_t head = q->e[first].offset - MOTE_EQUEUE_REC_HDR - MOTE_EQUEUE_HDR;
    if (head >= COMPACT_MIN_BYTES && head * 2 > q->size)
        return rewrite_tail(q, first);
    memmove(q->e, q->e + first, (q->n - first) * sizeof *q->e);
    q->n -= first;
    return MOTE_OK;
}

mote_status_t mote_equeue_ack(mote_equeue_t *q, uint64_t seq)
{
    if (!q || q->fd < 0)
        return MOTE_ERR_ARG;
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->e[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == q->n || q->e[lo].seq != seq)
        return MOTE_OK;
    size_t i = lo;
    q->e[i].acked = 1;
    uint64_t prefix = q->acked;
    for (size_t k = 0; k < q->n && q->e[k].acked; k++)
        prefix = q->e[k].seq;
    if (prefix == q->acked)
        return MOTE_OK;
    /* cursor first: if we crash before truncating, open skips those records */
    mote_status_t st = cursor_write(q, prefix);
    return st != MOTE_OK ? st : compact(q);
}
