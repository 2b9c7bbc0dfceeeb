/* mote fleet: crash-safe A/B model slots (host / Linux-class devices).
 *
 * A store is a folder holding:
 *   slot_a.bundle, slot_b.bundle  one signed bundle each (bundle.h), byte for byte;
 *   boot.rec                      the boot record (64 bytes, see slots.c), only
 *                                 ever replaced by rename() of boot.rec.tmp.
 *
 * Update protocol (every step leaves a bootable store if power is lost):
 *   1. mote_slots_install_begin: open the inactive slot; if it already holds
 *      a verified prefix of the same model version, resume after it;
 *   2. mote_slots_install_write: verify each chunk, append it, fsync;
 *   3. mote_slots_install_commit: check the bundle is complete and verified,
 *      fsync the folder, then switch the boot record to the new slot in
 *      state PENDING (atomic: temp file, fsync, rename, fsync folder);
 *   4. after the next boot (mote_slots_open) the caller runs its health
 *      check (mote_slots_health_check) and calls mote_slots_confirm or
 *      mote_slots_rollback. Each open of a PENDING store counts a boot
 *      attempt; more than max_attempts rolls back automatically, and so does
 *      an active slot that no longer verifies (signature, hashes, version).
 * Until a record points at it, a slot's content does not matter; while one
 * is PENDING, the other slot keeps the previous model and installs are refused.
 *
 * Errors: negative mote_status_t; mote_slots_error() explains. Every
 * decision taken at boot (rollback and why) goes to the log callback. */
#ifndef MOTE_SLOTS_H
#define MOTE_SLOTS_H

#include <stddef.h>
#include <stdint.h>
#include "bundle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_SLOT_A 0
#define MOTE_SLOT_B 1
#define MOTE_SLOT_NONE 0xff     /* no model installed */
#define MOTE_SLOTS_PATH_LEN 512
#define MOTE_SLOTS_MSG_LEN 512

typedef enum mote_slot_state {
    MOTE_SLOT_CONFIRMED = 0,    /* active model passed its health check */
    MOTE_SLOT_PENDING = 1,      /* newly installed, health not yet known */
    MOTE_SLOT_ROLLED_BACK = 2,  /* back on the previous model (or none) */
} mote_slot_state_t;

typedef struct mote_slots_record {
    uint8_t active;             /* MOTE_SLOT_A, MOTE_SLOT_B or MOTE_SLOT_NONE */
    uint8_t state;              /* mote_slot_state_t */
    uint8_t attempts;           /* boots while PENDING */
    uint64_t version;           /* model version in the active slot, 0 if none */
    uint64_t prev_version;      /* version expected in the other slot, 0 if none */
} mote_slots_record_t;

typedef void (*mote_slots_log_fn)(void *user, const char *line);

typedef struct mote_slots_config {
    const char *dir;            /* existing folder, owned by the store */
    const mote_bundle_key_t *keys; /* trusted signers (caller-owned, must outlive the store) */
    size_t n_keys;
    const char *target;         /* this device class; NULL accepts any */
    uint32_t max_attempts;      /* 1..100 boots in PENDING before rollback */
    mote_slots_log_fn log;      /* may be NULL */
    void *log_user;
    int no_sync;                /* 1: skip fsync. Only for simulators running thousands of
                                   devices on one disk: a power cut may then lose the record */
} mote_slots_config_t;

typedef struct mote_slots {
    mote_slots_config_t cfg;
    char dir[MOTE_SLOTS_PATH_LEN];
    mote_slots_record_t rec;
    /* install in progress */
    int fd;                     /* -1 when none */
    uint8_t slot;               /* slot being written */
    mote_bundle_verifier_t *v;  /* heap, owned */
    char msg[MOTE_SLOTS_MSG_LEN];
} mote_slots_t;

/* "Boot": read the record, verify the active slot, count a PENDING boot
 * attempt, roll back if needed (see the header comment). A folder without a
 * record is an empty store (active MOTE_SLOT_NONE). Fails only on bad
 * arguments or I/O errors; an unusable model is reported through the record. */
mote_status_t mote_slots_open(mote_slots_t *s, const mote_slots_config_t *cfg);
/* Release the handle (an unfinished install stays on disk, resumable). */
void mote_slots_close(mote_slots_t *s);

const mote_slots_record_t *mote_slots_record(const mote_slots_t *s);
const char *mote_slots_error(const mote_slots_t *s);

/* Start (or resume) installing a bundle of model version `version` into the
 * inactive slot. *resume_offset receives how many of its bytes are already
 * on disk and verified: send the bundle from there. A partial slot of
 * another version, or one that no longer verifies, is discarded. Refused
 * with MOTE_ERR_STATE while the store is PENDING, and with MOTE_ERR_VERSION
 * when `version` is not newer than the active one. */
mote_status_t mote_slots_install_begin(mote_slots_t *s, uint64_t version, uint64_t *resume_offset);
/* Verify then append and fsync the next `len` bytes. After an error the
 * install must be begun again (which resumes from what is on disk). */
mote_status_t mote_slots_install_write(mote_slots_t *s, const void *data, size_t len);
/* Finish: MOTE_ERR_TRUNCATED if bytes are missing, else switch to PENDING. */
mote_status_t mote_slots_install_commit(mote_slots_t *s);
/* Stop writing; what was written stays, for a later resume. */
void mote_slots_install_abort(mote_slots_t *s);

/* The health check passed: PENDING becomes CONFIRMED. */
mote_status_t mote_slots_confirm(mote_slots_t *s);
/* The health check failed (why: logged): go back to the previous slot if it
 * still verifies, else to no model. Allowed in any state with a model. */
mote_status_t mote_slots_rollback(mote_slots_t *s, const char *why);

/* Read the active slot's first payload whose name ends with `suffix`
 * (".tflite", ".dspcfg", ".json") into a 16-byte-aligned heap buffer that
 * the caller frees with free(); its SHA-256 is checked again. */
mote_status_t mote_slots_read_payload(mote_slots_t *s, const char *suffix, uint8_t **buf, size_t *len);

/* Load the active .tflite with the runtime, prepare it and run it `runs`
 * times (1..1000) on deterministic pseudo-random inputs. Fails with
 * MOTE_ERR_VERIFY when an output is not finite, or when, over 2 or more
 * runs, every output is identical (a stuck model); the runtime's status if
 * it refuses the model. Does not change the record. */
mote_status_t mote_slots_health_check(mote_slots_t *s, uint32_t runs);

/* Test hook (process-wide, not thread-safe): counts every file-system
 * mutation (create, write, ftruncate, fsync, rename) made by slots.c, and
 * makes the n-th one (0-based) and all later ones fail as if power had been
 * lost: a failing write stores only the first half of its bytes. n < 0
 * counts without failing. Resets the count. */
void mote_slots_set_crash_point(long n);
/* Mutations counted since the last mote_slots_set_crash_point. */
long mote_slots_op_count(void);

#ifdef __cplusplus
}
#endif
#endif
