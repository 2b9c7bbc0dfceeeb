/* mote fleet: Ed25519 key files and hex helpers. */
#define _POSIX_C_SOURCE 200809L
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Key files are tiny; anything larger than this is not a key. */
#define KEY_FILE_MAX 512

static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || errsz == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

char *mote_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static int hex_val(char c, int strict)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (!strict && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

mote_status_t mote_hex_decode(const char *s, size_t n, uint8_t *out, int strict)
{
    if (!s || (!out && n))
        return MOTE_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2 * i], strict);
        int lo = hi < 0 ? -1 : hex_val(s[2 * i + 1], strict);
        if (lo < 0)
            return MOTE_ERR_FORMAT;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return MOTE_OK;
}

void mote_key_id(const uint8_t pk[MOTE_KEY_PK_LEN], uint8_t id[MOTE_KEY_ID_LEN])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, pk, MOTE_KEY_PK_LEN);
    memcpy(id, h, MOTE_KEY_ID_LEN);
}

/* Write all of buf to a new file with `mode`; fsync before closing so a
 * key reported as written survives a power cut. */
static mote_status_t write_new(const char *path, const char *buf, size_t n, mode_t mode, int force, char *err,
                               size_t errsz)
{
    if (force && unlink(path) != 0 && errno != ENOENT) {
        set_err(err, errsz, "%s: cannot replace: %s", path, strerror(errno));
        return MOTE_ERR_IO;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        set_err(err, errsz, "%s: %s%s", path, strerror(errno),
                errno == EEXIST ? " (use --force to replace the key pair)" : "");
        return MOTE_ERR_IO;
    }
    /* O_CREAT honours the umask; the secret key must not be readable by
     * others whatever the umask says. */
    int ok = fchmod(fd, mode) == 0 && write(fd, buf, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        unlink(path);
        set_err(err, errsz, "%s: write failed: %s", path, strerror(e));
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

mote_status_t mote_key_generate(const char *prefix, int force, uint8_t pk_out[MOTE_KEY_PK_LEN], char *err,
                                size_t errsz)
{
    char skp[4096], pkp[4096];
    if (!prefix || !*prefix || strlen(prefix) + 4 >= sizeof skp) {
        set_err(err, errsz, "key prefix missing or too long");
        return MOTE_ERR_ARG;
    }
    if (sodium_init() < 0) {
        set_err(err, errsz, "libsodium failed to initialize");
        return MOTE_ERR_STATE;
    }
    snprintf(skp, sizeof skp, "%s.sk", prefix);
    snprintf(pkp, sizeof pkp, "%s.pk", prefix);
    uint8_t pk[MOTE_KEY_PK_LEN], sk[MOTE_KEY_SK_LEN];
    char skhex[2 * MOTE_KEY_SK_LEN + 2], pkhex[2 * MOTE_KEY_PK_LEN + 2];
    crypto_sign_keypair(pk, sk);
    mote_hex_encode(sk, sizeof sk, skhex);
    mote_hex_encode(pk, sizeof pk, pkhex);
    strcat(skhex, "\n");
    strcat(pkhex, "\n");
    mote_status_t st = write_new(skp, skhex, strlen(skhex), 0600, force, err, errsz);
    if (st == MOTE_OK) {
        st = write_new(pkp, pkhex, strlen(pkhex), 0644, force, err, errsz);
        if (st != MOTE_OK)
            unlink(skp); /* a secret key without its public half is useless */
    }
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(skhex, sizeof skhex);
    if (st == MOTE_OK && pk_out)
        memcpy(pk_out, pk, sizeof pk);
    return st;
}

/* Read a small file whole into buf (at most cap bytes; larger is an error). */
static mote_status_t read_small(const char *path, uint8_t *buf, size_t cap, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errsz, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? MOTE_ERR_NOT_FOUND : MOTE_ERR_IO;
    }
    size_t n = fread(buf, 1, cap, f);
    int bad = ferror(f), more = !bad && fgetc(f) != EOF;
    fclose(f);
    if (bad) {
        set_err(err, errsz, "read failed");
        return MOTE_ERR_IO;
    }
    if (more) {
        set_err(err, errsz, "not a key file (larger than %d bytes)", KEY_FILE_MAX);
        return MOTE_ERR_FORMAT;
    }
    *len = n;
    return MOTE_OK;
}

/* Hex (either case, whitespace around) or raw bytes of exactly `want`. */
static mote_status_t parse_key(const uint8_t *buf, size_t len, uint8_t *out, size_t want, char *err,
                               size_t errsz)
{
    size_t a = 0, b = len, hexish = 0;
    for (size_t i = 0; i < len; i++)
        hexish += isxdigit(buf[i]) || isspace(buf[i]);
    /* A raw key made only of hex characters is vanishingly unlikely, so
     * such a file is hex of the wrong length (e.g. a .pk given as .sk). */
    if (len == want && hexish < len) {
        memcpy(out, buf, want);
        return MOTE_OK;
    }
    while (a < b && isspace(buf[a]))
        a++;
    while (b > a && isspace(buf[b - 1]))
        b--;
    if (b - a != 2 * want || mote_hex_decode((const char *)buf + a, want, out, 0) != MOTE_OK) {
        set_err(err, errsz, "not a key: want %zu hex digits or %zu raw bytes, found %zu %s", 2 * want, want,
                hexish == len ? b - a : len, hexish == len ? "hex digits" : "bytes");
        return MOTE_ERR_FORMAT;
    }
    return MOTE_OK;
}

mote_status_t mote_key_load_pk(const char *path, uint8_t pk[MOTE_KEY_PK_LEN], char *err, size_t errsz)
{
    uint8_t buf[KEY_FILE_MAX];
    size_t len = 0;
    if (!path || !pk)
        return MOTE_ERR_ARG;
    mote_status_t st = read_small(path, buf, sizeof buf, &len, err, errsz);
    return st != MOTE_OK ? st : parse_key(buf, len, pk, MOTE_KEY_PK_LEN, err, errsz);
}

mote_status_t mote_key_load_sk(const char *path, uint8_t sk[MOTE_KEY_SK_LEN], char *err, size_t errsz)
{
    uint8_t buf[KEY_FILE_MAX];
    size_t len = 0;
    if (!path || !sk)
        return MOTE_ERR_ARG;
    if (sodium_init() < 0)
        return MOTE_ERR_STATE;
    mote_status_t st = read_small(path, buf, sizeof buf, &len, err, errsz);
    if (st == MOTE_OK)
        st = parse_key(buf, len, sk, MOTE_KEY_SK_LEN, err, errsz);
    sodium_memzero(buf, sizeof buf);
    if (st != MOTE_OK)
        return st;
    uint8_t pk[MOTE_KEY_PK_LEN], sk2[MOTE_KEY_SK_LEN];
    crypto_sign_seed_keypair(pk, sk2, sk); /* the seed is the first 32 bytes */
    int same = sodium_memcmp(sk2, sk, MOTE_KEY_SK_LEN) == 0;
    sodium_memzero(sk2, sizeof sk2);
    if (!same) {
        sodium_memzero(sk, MOTE_KEY_SK_LEN);
        set_err(err, errsz, "damaged secret key: its public half does not match its seed");
        return MOTE_ERR_VERIFY;
    }
    return MOTE_OK;
}
