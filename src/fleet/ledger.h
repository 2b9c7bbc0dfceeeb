/* mote fleet: tamper-evident ledger (append-only, hash-chained, signed).
 *
 * moted records every model registration, deployment, rollback, campaign
 * step and federated round here. The file is JSON Lines, one entry per
 * line, every field at a fixed place so the exact bytes written are the
 * bytes hashed (nothing is re-serialized to verify):
 *
 *   {"seq":N,"ts":T,"kind":"K","body":B,"prev":"P","key":"I","hash":"H","sig":"S"}\n
 *
 *   seq   1, 2, 3, ... (decimal, no leading zeros)
 *   ts    Unix milliseconds when appended (informational, not ordered)
 *   kind  1..32 of [a-z0-9_.-], e.g. "deploy", "rollback", "fl_round"
 *   body  one compact JSON object (no raw newline), at most
 *         MOTE_LEDGER_MAX_BODY bytes
 *   prev  hash of the previous entry, 64 lowercase hex (zeros for seq 1)
 *   key   key id of the signer, 16 lowercase hex (see keys.h)
 *   hash  SHA-256("mote-ledger-v1\n" || the line's bytes before ',"hash"')
 *   sig   Ed25519 signature (crypto_sign_detached) of the 32-byte hash
 *
 * What a verifier detects, and how it names it (first bad line and seq):
 * an edited byte (hash mismatch, or a malformed line), a removed or
 * reordered entry (seq gap, prev-hash mismatch), an entry signed by another
 * key or re-hashed without the key (key id, bad signature), and a torn
 * last line (no final newline: a crash during an append). Removing entries
 * from the END leaves a valid shorter chain: only a head recorded elsewhere
 * reveals it. The appender keeps `<path>.head` ("SEQ HASH\n", replaced
 * atomically after each append); copy it, or the head printed by `mote
 * ledger verify`, somewhere the ledger's host cannot rewrite, and pass it
 * back as an anchor. See docs/security.md.
 *
 * Errors: negative mote_status_t and a NUL-terminated message in `err`
 * (at most errsz bytes; err may be NULL) naming the line, the seq and the
 * reason. */
#ifndef MOTE_LEDGER_H
#define MOTE_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_LEDGER_MAX_BODY (64u * 1024u)  /* bytes of an entry's body */
#define MOTE_LEDGER_MAX_LINE (MOTE_LEDGER_MAX_BODY + 512u)
#define MOTE_LEDGER_KIND_LEN 32             /* kind bytes, without NUL */
#define MOTE_LEDGER_HASH_LEN 32
#define MOTE_LEDGER_SIG_LEN 64

typedef struct mote_ledger mote_ledger_t;

/* Why a ledger failed to verify (finer than mote_status_t). */
typedef enum mote_ledger_problem {
    MOTE_LEDGER_P_OK = 0,
    MOTE_LEDGER_P_TORN,      /* MOTE_ERR_TRUNCATED: last line has no newline */
    MOTE_LEDGER_P_MALFORMED, /* MOTE_ERR_FORMAT: a line is not an entry */
    MOTE_LEDGER_P_HASH,      /* MOTE_ERR_VERIFY: bytes edited */
    MOTE_LEDGER_P_SEQ,       /* MOTE_ERR_VERIFY: entry removed or reordered */
    MOTE_LEDGER_P_PREV,      /* MOTE_ERR_VERIFY: chain broken */
    MOTE_LEDGER_P_KEY,       /* MOTE_ERR_VERIFY: signed by another key */
    MOTE_LEDGER_P_SIG,       /* MOTE_ERR_VERIFY: bad signature */
    MOTE_LEDGER_P_ANCHOR,    /* MOTE_ERR_VERIFY: expected head not in the chain */
} mote_ledger_problem_t;

/* One entry as found in the file. Pointers point into the caller's buffer
 * (or a mapping valid only during the callback). */
typedef struct mote_ledger_entry {
    uint64_t seq;
    uint64_t ts;                           /* Unix ms */
    char kind[MOTE_LEDGER_KIND_LEN + 1];
    const char *body;                      /* JSON object, not NUL-terminated */
    size_t body_len;
    const char *line;                      /* the whole line, without '\n' */
    size_t line_len;
    uint64_t offset;                       /* of the line's first byte */
    uint8_t prev[MOTE_LEDGER_HASH_LEN];
    uint8_t hash[MOTE_LEDGER_HASH_LEN];
    uint8_t key_id[MOTE_KEY_ID_LEN];
    uint8_t sig[MOTE_LEDGER_SIG_LEN];
} mote_ledger_entry_t;

/* Called for each verified entry in order; return non-zero to stop early
 * (the scan then returns MOTE_OK with what it saw so far). */
typedef int (*mote_ledger_cb_t)(const mote_ledger_entry_t *e, void *ctx);

/* A head recorded elsewhere: the chain must contain entry `seq` with this
 * hash (seq 0: any entry with this hash). Entries after it are fine. */
typedef struct mote_ledger_anchor {
    uint64_t seq;
    uint8_t hash[MOTE_LEDGER_HASH_LEN];
} mote_ledger_anchor_t;

/* Outcome of a scan, filled on success and on failure. */
typedef struct mote_ledger_result {
    uint64_t n;                          /* valid entries before any problem */
    uint8_t head[MOTE_LEDGER_HASH_LEN];  /* hash of the last valid entry; zeros if n == 0 */
    uint64_t valid_bytes;                /* bytes up to the end of that entry */
    mote_ledger_problem_t problem;
    uint64_t bad_line;                   /* 1-based line of the problem, 0 if none */
    uint64_t bad_seq;                    /* seq expected at that line */
} mote_ledger_result_t;

/* Verify a ledger held in memory (len bytes; an empty buffer is a valid
 * empty ledger) and call cb (may be NULL) for each entry. `pk` NULL checks
 * structure, hashes and chain but not signatures (display only: anyone can
 * rewrite a whole unsigned chain). `anchor` may be NULL. Stops at the first
 * problem; res (required) says where. */
mote_status_t mote_ledger_scan(const void *buf, size_t len, const uint8_t *pk, const mote_ledger_anchor_t *anchor,
                               mote_ledger_cb_t cb, void *ctx, mote_ledger_result_t *res, char *err, size_t errsz);

/* mote_ledger_scan over a file (mapped, not copied). A missing file is
 * MOTE_ERR_NOT_FOUND. */
mote_status_t mote_ledger_scan_file(const char *path, const uint8_t *pk, const mote_ledger_anchor_t *anchor,
                                    mote_ledger_cb_t cb, void *ctx, mote_ledger_result_t *res, char *err,
                                    size_t errsz);

/* Verify a ledger file under public key pk (required). On success *n is
 * the number of entries and head the last entry's hash (zeros when empty);
 * either may be NULL. */
mote_status_t mote_ledger_verify_file(const char *path, const uint8_t pk[MOTE_KEY_PK_LEN], uint64_t *n,
                                      uint8_t head[MOTE_LEDGER_HASH_LEN], char *err, size_t errsz);

/* Read an anchor file "SEQ HASH\n" (as written beside the ledger). */
mote_status_t mote_ledger_anchor_read(const char *path, mote_ledger_anchor_t *a, char *err, size_t errsz);

/* Open a ledger for appending, creating it (and nothing else) when
 * missing. The existing chain is verified under sk's public key first; a
 * broken chain is refused (MOTE_ERR_VERIFY / MOTE_ERR_FORMAT). A torn last
 * line is repaired: completed with its newline when it holds a whole valid
 * entry, else cut off (logged on stderr; never a valid entry). Also takes
 * an exclusive lock, so a second appender (another process) gets
 * MOTE_ERR_STATE. The secret key is copied; *out is freed by close. */
mote_status_t mote_ledger_open(mote_ledger_t **out, const char *path, const uint8_t sk[64], char *err,
                               size_t errsz);

/* Append one entry. `kind`: 1..32 of [a-z0-9_.-]; `body_json`: a JSON
 * object (re-encoded compactly before signing). Thread-safe; the entry is
 * on disk (fsync) before this returns, then `<path>.head` is replaced.
 * *seq_out (may be NULL) gets the new seq. After an I/O error the handle
 * refuses further appends (MOTE_ERR_STATE) until reopened, because the
 * file may end in a partial line. */
mote_status_t mote_ledger_append(mote_ledger_t *l, const char *kind, const char *body_json, uint64_t *seq_out,
                                 char *err, size_t errsz);

/* One entry of a batch: kind and JSON object body as for append. */
typedef struct mote_ledger_item {
    const char *kind;
    const char *body_json;
} mote_ledger_item_t;

/* Append n entries in order with one write and one fsync: a crash leaves
 * none, some leading ones, or all of them (a torn last line is repaired at
 * open), never a gap. Any bad kind or body refuses the whole batch before
 * anything is written (MOTE_ERR_FORMAT, `err` names the item). Why: a
 * campaign records one entry per device, and an fsync per entry would cap
 * deploys at the disk's fsync rate. *first_seq (may be NULL) gets the seq
 * of the first entry. n == 0 does nothing. Thread-safe. */
mote_status_t mote_ledger_append_many(mote_ledger_t *l, const mote_ledger_item_t *items, size_t n,
                                      uint64_t *first_seq, char *err, size_t errsz);

/* Last seq (0 when empty) and head hash of an open ledger. Thread-safe. */
void mote_ledger_head(mote_ledger_t *l, uint64_t *seq, uint8_t hash[MOTE_LEDGER_HASH_LEN]);

/* Bytes cut from a torn tail when the ledger was opened (0 if none). */
uint64_t mote_ledger_repaired_bytes(const mote_ledger_t *l);

/* Call cb for entries with seq >= from_seq of an open ledger (committed
 * entries only; appends may continue meanwhile). Signatures are checked. */
mote_status_t mote_ledger_list(mote_ledger_t *l, uint64_t from_seq, mote_ledger_cb_t cb, void *ctx, char *err,
                               size_t errsz);

/* Close and free (NULL is fine). */
void mote_ledger_close(mote_ledger_t *l);

/* Short name of a problem ("hash mismatch", "torn last line", ...). */
const char *mote_ledger_problem_str(mote_ledger_problem_t p);

#ifdef __cplusplus
}
#endif
#endif
