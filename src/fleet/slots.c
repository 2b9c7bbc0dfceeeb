/* Crash-safe A/B model slots (slots.h).
 *
 * Boot record, 64 bytes, little-endian:
 *   0  "MOTEBOOT"   8  u32 format (1)   12 u8 active   13 u8 state
 *   14 u8 attempts  15 u8 reserved      16 u64 version 24 u64 prev_version
 *   32 SHA-256 of bytes 0..31 (detects a record damaged on the medium). */
#define _POSIX_C_SOURCE 200809L
#include "slots.h"
#include "mote/le.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mote/model.h"

#define REC_LEN 64
#define REC_MAGIC "MOTEBOOT"
#define READ_CHUNK 65536

/* ---- test hook: simulated power loss ---- */

static long g_ops;
static long g_crash_at = -1;

void mote_slots_set_crash_point(long n)
{
    g_ops = 0;
    g_crash_at = n;
}

long mote_slots_op_count(void)
{
    return g_ops;
}

/* Count one mutation; non-zero when power is "lost" at or before it. */
static int power_lost(void)
{
    long n = g_ops++;
    return g_crash_at >= 0 && n >= g_crash_at;
}

/* ---- messages ---- */

static mote_status_t fail(mote_slots_t *s, mote_status_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    return st;
}

static void logf_(mote_slots_t *s, const char *fmt, ...)
{
    if (!s->cfg.log)
        return;
    char line[MOTE_SLOTS_MSG_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->cfg.log(s->cfg.log_user, line);
}

static char slot_letter(uint8_t slot)
{
    return slot == MOTE_SLOT_A ? 'A' : slot == MOTE_SLOT_B ? 'B' : '-';
}

static void path_of(const mote_slots_t *s, const char *file, char out[MOTE_SLOTS_PATH_LEN + 32])
{
    snprintf(out, MOTE_SLOTS_PATH_LEN + 32, "%s/%s", s->dir, file);
}

static const char *slot_file(uint8_t slot)
{
    return slot == MOTE_SLOT_A ? "slot_a.bundle" : "slot_b.bundle";
}

/* ---- instrumented file-system mutations ---- */

static int x_open_create(const char *path, int flags)
{
    if (power_lost()) {
        errno = EIO;
        return -1;
    }
    return open(path, flags | O_CREAT, 0644);
}

/* Whole buffer or failure; a "power loss" leaves a torn half. */
static int x_write(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t want = len;
    int lost = power_lost();
    if (lost)
        want = len / 2;
    while (want) {
        ssize_t n = write(fd, p, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        want -= (size_t)n;
    }
    if (lost)
        errno = EIO;
    return lost ? -1 : 0;
}

static int x_fsync(const mote_slots_t *s, int fd)
{
    if (power_lost()) {
        errno = EIO;
        return -1;
    }
    return s->cfg.no_sync ? 0 : fsync(fd);
}

static int x_ftruncate(int fd, off_t len)
{
    if (power_lost()) {
        errno = EIO;
        return -1;
    }
    return ftruncate(fd, len);
}

static int x_rename(const char *from, const char *to)
{
    if (power_lost()) {
        errno = EIO;
        return -1;
    }
    return rename(from, to);
}

/* Makes created, renamed or removed names in the folder durable. */
static mote_status_t fsync_dir(mote_slots_t *s)
{
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fail(s, MOTE_ERR_IO, "cannot open folder %s: %s", s->dir, strerror(errno));
    int rc = x_fsync(s, fd);
    int err = errno;
    close(fd);
    if (rc != 0)
        return fail(s, MOTE_ERR_IO, "fsync of folder %s failed: %s", s->dir, strerror(err));
    return MOTE_OK;
}

/* ---- boot record ---- */

static void rec_encode(const mote_slots_record_t *r, uint8_t b[REC_LEN])
{
    memset(b, 0, REC_LEN);
    memcpy(b, REC_MAGIC, 8);
    mote_le_put(b + 8, 1, 4);
    b[12] = r->active;
    b[13] = r->state;
    b[14] = r->attempts;
    mote_le_put(b + 16, r->version, 8);
    mote_le_put(b + 24, r->prev_version, 8);
    crypto_hash_sha256(b + 32, b, 32);
}

static int rec_decode(const uint8_t b[REC_LEN], mote_slots_record_t *r)
{
    uint8_t h[32];
    crypto_hash_sha256(h, b, 32);
    if (memcmp(b, REC_MAGIC, 8) != 0 || mote_le_get(b + 8, 4) != 1 || memcmp(h, b + 32, 32) != 0)
        return 0;
    r->active = b[12];
    r->state = b[13];
    r->attempts = b[14];
    r->version = mote_le_get(b + 16, 8);
    r->prev_version = mote_le_get(b + 24, 8);
    int active_ok = r->active == MOTE_SLOT_A || r->active == MOTE_SLOT_B || r->active == MOTE_SLOT_NONE;
    return active_ok && r->state <= MOTE_SLOT_ROLLED_BACK;
}

/* Temp file, fsync, rename over the record, fsync the folder: a crash at
 * any point leaves either the old or the new record, never a mix. */
static mote_status_t rec_write(mote_slots_t *s, const mote_slots_record_t *r)
{
    char tmp[MOTE_SLOTS_PATH_LEN + 32], dst[MOTE_SLOTS_PATH_LEN + 32];
    path_of(s, "boot.rec.tmp", tmp);
    path_of(s, "boot.rec", dst);
    uint8_t b[REC_LEN];
    rec_encode(r, b);
    int fd = x_open_create(tmp, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return fail(s, MOTE_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    int rc = x_write(fd, b, sizeof b);
    if (rc == 0)
        rc = x_fsync(s, fd);
    int err = errno;
    close(fd);
    if (rc != 0)
        return fail(s, MOTE_ERR_IO, "cannot write %s: %s", tmp, strerror(err));
    if (x_rename(tmp, dst) != 0)
        return fail(s, MOTE_ERR_IO, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
    mote_status_t st = fsync_dir(s);
    if (st == MOTE_OK)
        s->rec = *r;
    return st;
}

/* 1: record read; 0: no record; -1: unreadable or damaged. */
static int rec_read(mote_slots_t *s, mote_slots_record_t *r)
{
    char path[MOTE_SLOTS_PATH_LEN + 32];
    path_of(s, "boot.rec", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    uint8_t b[REC_LEN + 1];
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    return n == REC_LEN && rec_decode(b, r) ? 1 : -1;
}

/* ---- slot verification ---- */

static mote_bundle_policy_t policy_of(const mote_slots_t *s, uint64_t installed)
{
    mote_bundle_policy_t p = {s->cfg.keys, s->cfg.n_keys, s->cfg.target, installed};
    return p;
}

/* Feed the slot file's bytes to `v`; *fed receives how many it accepted
 * before an error (or all). Returns 0, or -1 on a read error. */
static int feed_file(int fd, mote_bundle_verifier_t *v, uint64_t *fed)
{
    *fed = 0;
    uint8_t *buf = malloc(READ_CHUNK);
    if (!buf || lseek(fd, 0, SEEK_SET) < 0) {
        free(buf);
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -1;
        if (n <= 0 || mote_bundle_verify_update(v, buf, (size_t)n) != MOTE_OK)
            break;
        *fed += (uint64_t)n;
    }
    free(buf);
    return rc;
}

/* Full check of a slot: signature, every hash, exact length, and the
 * version the record expects. */
static mote_status_t verify_slot(mote_slots_t *s, uint8_t slot, uint64_t version)
{
    char path[MOTE_SLOTS_PATH_LEN + 32];
    path_of(s, slot_file(slot), path);
    mote_bundle_verifier_t *v = malloc(sizeof *v);
    if (!v)
        return fail(s, MOTE_ERR_NOMEM, "cannot allocate a verifier");
    mote_bundle_policy_t pol = policy_of(s, version - 1);
    mote_bundle_verify_init(v, &pol);
    mote_status_t st = MOTE_OK;
    uint64_t fed = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || feed_file(fd, v, &fed) != 0)
        st = fail(s, MOTE_ERR_IO, "slot %c: cannot read %s: %s", slot_letter(slot), path, strerror(errno));
    else if ((st = mote_bundle_verify_final(v)) != MOTE_OK)
        fail(s, st, "slot %c (%s): %s", slot_letter(slot), mote_bundle_reason_str(v->reason), v->msg);
    else if (v->info.version != version)
        st = fail(s, MOTE_ERR_VERIFY, "slot %c holds version %llu, the record expects %llu", slot_letter(slot),
                  (unsigned long long)v->info.version, (unsigned long long)version);
    if (fd >= 0)
        close(fd);
    free(v);
    return st;
}

/* ---- boot ---- */

mote_status_t mote_slots_rollback(mote_slots_t *s, const char *why)
{
    if (!s || s->rec.active == MOTE_SLOT_NONE)
        return s ? fail(s, MOTE_ERR_STATE, "no model to roll back from") : MOTE_ERR_ARG;
    uint8_t other = (uint8_t)(1 - s->rec.active);
    mote_slots_record_t r = {MOTE_SLOT_NONE, MOTE_SLOT_ROLLED_BACK, 0, 0, 0};
    logf_(s, "rollback from slot %c version %llu: %s", slot_letter(s->rec.active),
          (unsigned long long)s->rec.version, why ? why : "requested");
    if (s->rec.prev_version && verify_slot(s, other, s->rec.prev_version) == MOTE_OK) {
        r.active = other;
        r.version = s->rec.prev_version;
        logf_(s, "rollback: slot %c version %llu is active", slot_letter(other), (unsigned long long)r.version);
    } else {
        logf_(s, "rollback: no valid previous model (%s)", s->rec.prev_version ? s->msg : "none installed");
    }
    return rec_write(s, &r);
}

/* Count a boot of a PENDING model; too many means it never got confirmed
 * (it crashes or hangs the agent), so go back. */
static mote_status_t count_attempt(mote_slots_t *s)
{
    mote_slots_record_t r = s->rec;
    if (r.attempts >= s->cfg.max_attempts) {
        char why[96];
        snprintf(why, sizeof why, "%u boot attempts without confirmation (max %u)", r.attempts, s->cfg.max_attempts);
        return mote_slots_rollback(s, why);
    }
    r.attempts++;
    return rec_write(s, &r);
}

static mote_status_t boot(mote_slots_t *s)
{
    int got = rec_read(s, &s->rec);
    if (got == 0) {
        mote_slots_record_t none = {MOTE_SLOT_NONE, MOTE_SLOT_CONFIRMED, 0, 0, 0};
        s->rec = none;
        logf_(s, "boot: empty store, no model installed");
        return MOTE_OK;
    }
    if (got < 0)
        return fail(s, MOTE_ERR_CORRUPT, "boot record %s/boot.rec is damaged (bad length, magic or checksum)", s->dir);
    if (s->rec.active == MOTE_SLOT_NONE)
        return MOTE_OK;
    if (verify_slot(s, s->rec.active, s->rec.version) != MOTE_OK) {
        char why[MOTE_SLOTS_MSG_LEN];
        snprintf(why, sizeof why, "active slot no longer verifies: %.440s", s->msg);
        return mote_slots_rollback(s, why);
    }
    if (s->rec.state == MOTE_SLOT_PENDING)
        return count_attempt(s);
    return MOTE_OK;
}

mote_status_t mote_slots_open(mote_slots_t *s, const mote_slots_config_t *cfg)
{
    if (!s)
        return MOTE_ERR_ARG;
    memset(s, 0, sizeof *s);
    s->fd = -1;
    if (!cfg || !cfg->dir || (cfg->n_keys && !cfg->keys))
        return fail(s, MOTE_ERR_ARG, "NULL config, folder or key list");
    if (cfg->max_attempts < 1 || cfg->max_attempts > 100)
        return fail(s, MOTE_ERR_ARG, "max_attempts %u out of range 1..100", cfg->max_attempts);
    if (strlen(cfg->dir) >= sizeof s->dir)
        return fail(s, MOTE_ERR_ARG, "folder name longer than %d bytes", MOTE_SLOTS_PATH_LEN - 1);
    if (sodium_init() < 0)
        return fail(s, MOTE_ERR_STATE, "libsodium failed to initialize");
    s->cfg = *cfg;
    snprintf(s->dir, sizeof s->dir, "%s", cfg->dir);
    s->cfg.dir = s->dir;
    return boot(s);
}

void mote_slots_close(mote_slots_t *s)
{
    if (s)
        mote_slots_install_abort(s);
}

const mote_slots_record_t *mote_slots_record(const mote_slots_t *s)
{
    return s ? &s->rec : NULL;
}

const char *mote_slots_error(const mote_slots_t *s)
{
    return s ? s->msg : "";
}

/* ---- install ---- */

void mote_slots_install_abort(mote_slots_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->v);
    s->v = NULL;
}

/* Re-hash what an earlier attempt left in the slot; keep it only if it is
 * a clean verified prefix of the requested version. */
static mote_status_t resume_from_disk(mote_slots_t *s, uint64_t version, uint64_t *resume)
{
    uint64_t fed = 0;
    if (feed_file(s->fd, s->v, &fed) != 0)
        return fail(s, MOTE_ERR_IO, "cannot read slot %c: %s", slot_letter(s->slot), strerror(errno));
    const mote_bundle_info_t *inf = mote_bundle_verify_info(s->v);
    struct stat stt;
    int keep = s->v->status == MOTE_OK && fed > 0 && version && fstat(s->fd, &stt) == 0 &&
               (uint64_t)stt.st_size == fed && (!inf || inf->version == version);
    if (keep) {
        *resume = fed;
        logf_(s, "install: resuming slot %c at byte %llu", slot_letter(s->slot), (unsigned long long)fed);
        return MOTE_OK;
    }
    if (fed || s->v->status != MOTE_OK)
        logf_(s, "install: discarding %llu bytes in slot %c (%s)", (unsigned long long)fed, slot_letter(s->slot),
              s->v->status != MOTE_OK ? s->v->msg : "another version");
    mote_bundle_policy_t pol = policy_of(s, s->rec.version);
    mote_bundle_verify_init(s->v, &pol);
    *resume = 0;
    if (x_ftruncate(s->fd, 0) != 0 || x_fsync(s, s->fd) != 0 || lseek(s->fd, 0, SEEK_SET) < 0)
        return fail(s, MOTE_ERR_IO, "cannot empty slot %c: %s", slot_letter(s->slot), strerror(errno));
    return MOTE_OK;
}

mote_status_t mote_slots_install_begin(mote_slots_t *s, uint64_t version, uint64_t *resume_offset)
{
    if (!s || !resume_offset)
        return MOTE_ERR_ARG;
    mote_slots_install_abort(s);
    *resume_offset = 0;
    if (s->rec.state == MOTE_SLOT_PENDING)
        return fail(s, MOTE_ERR_STATE, "version %llu is pending its health check; confirm or roll back first",
                    (unsigned long long)s->rec.version);
    if (version && version <= s->rec.version)
        return fail(s, MOTE_ERR_VERSION, "version %llu is not newer than installed version %llu",
                    (unsigned long long)version, (unsigned long long)s->rec.version);
    s->slot = s->rec.active == MOTE_SLOT_A ? MOTE_SLOT_B : MOTE_SLOT_A;
    s->v = malloc(sizeof *s->v);
    if (!s->v)
        return fail(s, MOTE_ERR_NOMEM, "cannot allocate a verifier");
    mote_bundle_policy_t pol = policy_of(s, s->rec.version);
    mote_bundle_verify_init(s->v, &pol);
    char path[MOTE_SLOTS_PATH_LEN + 32];
    path_of(s, slot_file(s->slot), path);
    s->fd = x_open_create(path, O_RDWR);
    if (s->fd < 0) {
        mote_status_t st = fail(s, MOTE_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        mote_slots_install_abort(s);
        return st;
    }
    mote_status_t st = resume_from_disk(s, version, resume_offset);
    if (st == MOTE_OK && lseek(s->fd, 0, SEEK_END) < 0)
        st = fail(s, MOTE_ERR_IO, "cannot seek in %s: %s", path, strerror(errno));
    if (st != MOTE_OK)
        mote_slots_install_abort(s);
    return st;
}

mote_status_t mote_slots_install_write(mote_slots_t *s, const void *data, size_t len)
{
    if (!s || (len && !data))
        return MOTE_ERR_ARG;
    if (s->fd < 0)
        return fail(s, MOTE_ERR_STATE, "no install in progress (call mote_slots_install_begin)");
    /* Refuse bad bytes before they reach the disk. */
    mote_status_t st = mote_bundle_verify_update(s->v, data, len);
    if (st != MOTE_OK) {
        fail(s, st, "install into slot %c refused (%s): %s", slot_letter(s->slot),
             mote_bundle_reason_str(s->v->reason), s->v->msg);
        mote_slots_install_abort(s);
        return st;
    }
    if (x_write(s->fd, data, len) != 0 || x_fsync(s, s->fd) != 0) {
        /* The verifier is now ahead of the disk: only a new begin, which
         * re-hashes the file, knows where to resume. */
        st = fail(s, MOTE_ERR_IO, "cannot append to slot %c: %s", slot_letter(s->slot), strerror(errno));
        mote_slots_install_abort(s);
    }
    return st;
}

mote_status_t mote_slots_install_commit(mote_slots_t *s)
{
    if (!s)
        return MOTE_ERR_ARG;
    if (s->fd < 0)
        return fail(s, MOTE_ERR_STATE, "no install in progress (call mote_slots_install_begin)");
    mote_status_t st = mote_bundle_verify_final(s->v);
    if (st != MOTE_OK)
        return fail(s, st, "slot %c incomplete: %s", slot_letter(s->slot), s->v->msg);
    mote_slots_record_t r = {s->slot, MOTE_SLOT_PENDING, 0, s->v->info.version, s->rec.version};
    if (s->rec.active == MOTE_SLOT_NONE)
        r.prev_version = 0;
    mote_slots_install_abort(s);
    /* The slot file's name must be durable before a record points at it. */
    st = fsync_dir(s);
    if (st == MOTE_OK)
        st = rec_write(s, &r);
    if (st == MOTE_OK)
        logf_(s, "install: slot %c version %llu pending its health check", slot_letter(r.active),
              (unsigned long long)r.version);
    return st;
}

mote_status_t mote_slots_confirm(mote_slots_t *s)
{
    if (!s)
        return MOTE_ERR_ARG;
    if (s->rec.state != MOTE_SLOT_PENDING)
        return fail(s, MOTE_ERR_STATE, "nothing pending to confirm");
    mote_slots_record_t r = s->rec;
    r.state = MOTE_SLOT_CONFIRMED;
    r.attempts = 0;
    mote_status_t st = rec_write(s, &r);
    if (st == MOTE_OK)
        logf_(s, "confirm: slot %c version %llu", slot_letter(r.active), (unsigned long long)r.version);
    return st;
}

/* ---- reading and health ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Header of the active slot (its signature checked again). */
static mote_status_t active_info(mote_slots_t *s, int fd, mote_bundle_info_t *info)
{
    uint8_t pre[MOTE_BUNDLE_MAX_PREFIX];
    ssize_t n = pread(fd, pre, sizeof pre, 0);
    if (n < 0)
        return fail(s, MOTE_ERR_IO, "cannot read slot %c: %s", slot_letter(s->rec.active), strerror(errno));
    mote_bundle_verifier_t *v = malloc(sizeof *v);
    if (!v)
        return fail(s, MOTE_ERR_NOMEM, "cannot allocate a verifier");
    mote_bundle_policy_t pol = policy_of(s, s->rec.version - 1);
    mote_bundle_verify_init(v, &pol);
    mote_bundle_verify_update(v, pre, (size_t)n);
    mote_status_t st = MOTE_OK;
    if (!mote_bundle_verify_info(v))
        st = fail(s, v->status ? v->status : MOTE_ERR_TRUNCATED, "slot %c header: %s", slot_letter(s->rec.active), v->msg);
    else
        *info = v->info;
    free(v);
    return st;
}

static mote_status_t read_entry(mote_slots_t *s, int fd, const mote_bundle_entry_t *e, uint8_t **buf)
{
    size_t len = (size_t)e->len;
    uint8_t *b = aligned_alloc(16, (len + 15) / 16 * 16);
    if (!b)
        return fail(s, MOTE_ERR_NOMEM, "cannot allocate %zu bytes for '%s'", len, e->name);
    ssize_t n = pread(fd, b, len, (off_t)e->offset);
    uint8_t h[32];
    crypto_hash_sha256(h, b, n == (ssize_t)len ? len : 0);
    if (n != (ssize_t)len || memcmp(h, e->sha256, 32) != 0) {
        free(b);
        return fail(s, MOTE_ERR_VERIFY, "payload '%s' in slot %c is short or its SHA-256 differs", e->name,
                    slot_letter(s->rec.active));
    }
    *buf = b;
    return MOTE_OK;
}

mote_status_t mote_slots_read_payload(mote_slots_t *s, const char *suffix, uint8_t **buf, size_t *len)
{
    if (!s || !suffix || !buf || !len)
        return MOTE_ERR_ARG;
    *buf = NULL;
    *len = 0;
    if (s->rec.active == MOTE_SLOT_NONE)
        return fail(s, MOTE_ERR_STATE, "no model installed");
    char path[MOTE_SLOTS_PATH_LEN + 32];
    path_of(s, slot_file(s->rec.active), path);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail(s, MOTE_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    mote_bundle_info_t info;
    mote_status_t st = active_info(s, fd, &info);
    const mote_bundle_entry_t *e = NULL;
    for (uint32_t i = 0; st == MOTE_OK && !e && i < info.n_payloads; i++)
        if (ends_with(info.payload[i].name, suffix))
            e = &info.payload[i];
    if (st == MOTE_OK && !e)
        st = fail(s, MOTE_ERR_NOT_FOUND, "slot %c has no payload ending in '%s'", slot_letter(s->rec.active), suffix);
    if (st == MOTE_OK && (st = read_entry(s, fd, e, buf)) == MOTE_OK)
        *len = (size_t)e->len;
    close(fd);
    return st;
}

/* xorshift32: deterministic inputs, so a health check is reproducible. */
static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void fill_inputs(mote_model_t *m, uint32_t *seed)
{
    for (uint32_t i = 0; i < mote_model_input_count(m); i++) {
        mote_tensor_t t;
        if (mote_model_input(m, i, &t) != MOTE_OK || !t.data)
            continue;
        uint8_t *d = t.data;
        if (t.type == MOTE_F32) {
            for (size_t k = 0; k + 4 <= t.bytes; k += 4) {
                float f = (float)(next_rand(seed) % 2001) / 1000.0f - 1.0f;
                memcpy(d + k, &f, 4);
            }
        } else {
            for (size_t k = 0; k < t.bytes; k++)
                d[k] = (uint8_t)next_rand(seed);
        }
    }
}

/* Checks one run's outputs; *same stays 1 while they equal run 0's. */
static mote_status_t check_outputs(mote_slots_t *s, mote_model_t *m, uint8_t *first, size_t cap, int *same, uint32_t run)
{
    size_t at = 0;
    for (uint32_t i = 0; i < mote_model_output_count(m); i++) {
        mote_tensor_t t;
        if (mote_model_output(m, i, &t) != MOTE_OK)
            return fail(s, MOTE_ERR_STATE, "output %u: %s", i, mote_model_error(m));
        for (size_t k = 0; t.type == MOTE_F32 && k + 4 <= t.bytes; k += 4) {
            float f;
            memcpy(&f, (uint8_t *)t.data + k, 4);
            if (!isfinite(f))
                return fail(s, MOTE_ERR_VERIFY, "health: output %u element %zu is not finite on run %u", i, k / 4, run);
        }
        size_t n = t.bytes < cap - at ? t.bytes : cap - at;
        if (run == 0)
            memcpy(first + at, t.data, n);
        else if (memcmp(first + at, t.data, n) != 0)
            *same = 0;
        at += n;
    }
    return MOTE_OK;
}

static mote_status_t run_model(mote_slots_t *s, mote_model_t *m, uint32_t runs)
{
    enum { CAP = 4096 };
    uint8_t first[CAP];
    int same = 1;
    uint32_t seed = 0x9e3779b9u;
    for (uint32_t r = 0; r < runs; r++) {
        fill_inputs(m, &seed);
        if (mote_model_invoke(m) != MOTE_OK)
            return fail(s, MOTE_ERR_STATE, "health: invoke failed: %s", mote_model_error(m));
        mote_status_t st = check_outputs(s, m, first, CAP, &same, r);
        if (st != MOTE_OK)
            return st;
    }
    if (runs >= 2 && same)
        return fail(s, MOTE_ERR_VERIFY, "health: outputs identical over %u runs on different inputs (stuck model)", runs);
    return MOTE_OK;
}

mote_status_t mote_slots_health_check(mote_slots_t *s, uint32_t runs)
{
    if (!s)
        return MOTE_ERR_ARG;
    if (runs < 1 || runs > 1000)
        return fail(s, MOTE_ERR_ARG, "runs %u out of range 1..1000", runs);
    uint8_t *model = NULL;
    size_t len = 0;
    mote_status_t st = mote_slots_read_payload(s, ".tflite", &model, &len);
    if (st != MOTE_OK)
        return st;
    mote_model_t m;
    void *arena = NULL;
    size_t need = 0;
    st = mote_model_load(&m, model, len);
    if (st == MOTE_OK)
        st = mote_model_arena_size(&m, &need);
    if (st == MOTE_OK && !(arena = aligned_alloc(16, (need + 15) / 16 * 16 + 16)))
        st = fail(s, MOTE_ERR_NOMEM, "health: cannot allocate a %zu-byte arena", need);
    else if (st == MOTE_OK)
        st = mote_model_prepare(&m, arena, need);
    if (st != MOTE_OK && st != MOTE_ERR_NOMEM)
        fail(s, st, "health: the runtime refuses the model: %s", mote_model_error(&m));
    if (st == MOTE_OK)
        st = run_model(s, &m, runs);
    free(arena);
    free(model);
    return st;
}
