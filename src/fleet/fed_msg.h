/* mote fleet: the signed global head as it travels on the retained topic
 * mote/v1/fl/global (docs/federated.md, "Over MQTT").
 *
 * Little-endian, version 1:
 *   offset size  field
 *   0      4     magic "MFLG"
 *   4      2     format version (1)
 *   6      2     reserved, 0
 *   8      4     round that produced this version (0: the initial head)
 *   12     8     global version
 *   20     64    Ed25519 signature (mote_fed_global_sign: fleet key over
 *                round, version and blob)
 *   84     ...   blob: the head's mote_learn_save bytes ("MOTL", CRC)
 *
 * The signature is checked before anything else is believed, so a device
 * never loads a head the fleet key did not sign. */
#ifndef MOTE_FED_MSG_H
#define MOTE_FED_MSG_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_FED_GLOBAL_MAGIC "MFLG"
#define MOTE_FED_GLOBAL_HDR 84u
#define MOTE_FED_GLOBAL_TOPIC "mote/v1/fl/global"

/* A decoded message; blob points into the caller's bytes. */
typedef struct mote_fed_global_msg {
    uint32_t round;
    uint64_t version;
    const uint8_t *blob;
    size_t blob_len;
} mote_fed_global_msg_t;

/* Sign blob (len bytes) with the 64-byte fleet key and write the message
 * into out[0..cap); *written gets its length (MOTE_FED_GLOBAL_HDR + len).
 * MOTE_ERR_ARG (NULL, empty blob), MOTE_ERR_LIMIT (cap too small). */
mote_status_t mote_fed_global_msg_encode(const uint8_t sk[64], uint32_t round, uint64_t version,
                                         const uint8_t *blob, size_t len, uint8_t *out, size_t cap,
                                         size_t *written);

/* Check untrusted bytes: header, then the signature against the 32-byte
 * fleet public key. Errors: MOTE_ERR_ARG, MOTE_ERR_TRUNCATED, MOTE_ERR_CORRUPT
 * (magic, reserved), MOTE_ERR_VERSION, MOTE_ERR_VERIFY (signature); msg
 * (may be NULL) names the field. The blob itself is checked when loaded
 * (mote_learn_load verifies its CRC and shape). */
mote_status_t mote_fed_global_msg_decode(const uint8_t *buf, size_t len, const uint8_t pk[32],
                                         mote_fed_global_msg_t *m, char *msg, size_t msg_size);


/* ---- secure aggregation messages (docs/federated.md, "Over MQTT") ----
 *
 * Devices send K (keys), S (encrypted shares) and V (revealed shares) on
 * their mote/v1/d/<id>/fl/up, beside their updates (magic MFLU); moted
 * broadcasts A (announce: roster names), R (roster of keys), F (forwarded
 * shares) and Q (reveal request) on mote/v1/fl/global, not retained,
 * beside the retained head (magic MFLG). Little-endian, version 1:
 *   offset size  field
 *   0      4     magic "MFL" + type letter (K S V A R F Q)
 *   4      2     format version (1)
 *   6      2     reserved, 0
 *   8      4     round (>= 1)
 *   12     4     sender's roster id (K S V: 1..1024; A R F Q: 0)
 *   16     4     threshold t (A R: 1..count; others 0)
 *   20     4     entry count (K: 1; F: 1..65536; others 1..1024)
 *   24     ...   count fixed-size entries (MOTE_FL_SEC_ENTRY_*)
 *   end    4|64  K S V: CRC-32 (zlib) of all preceding bytes;
 *                A R F Q: Ed25519 signature of all preceding bytes by the
 *                fleet key
 * Entries (ids 1..1024):
 *   K  96: X25519 mask public key, X25519 box public key, self-seed
 *          commitment
 *   S 122: holder id u32, crypto_box nonce 24, box 94 (round u32, sender
 *          u32, holder u32, key share 33, self-seed share 33, MAC 16)
 *   V  38: owner id u32, kind u8 (1 self-seed share, 2 key share), share 33
 *   A  48: device id, NUL-padded; roster id = position + 1
 *   R 100: id u32, then K's 96 bytes
 *   F 126: sender id u32, then S's 122 bytes
 *   Q   5: id u32, flag u8 (1: uploaded, reveal its self-seed share;
 *          0: dropped, reveal its key share) */
#define MOTE_FL_SEC_HDR 24u
#define MOTE_FL_SEC_MAX_ROSTER 1024u
#define MOTE_FL_SEC_MAX_FWD 65536u
#define MOTE_FL_SEC_NAME_LEN 48u
#define MOTE_FL_SEC_BOX_PLAIN (12u + 2u * 33u)
#define MOTE_FL_SEC_BOX_LEN (MOTE_FL_SEC_BOX_PLAIN + 16u)
#define MOTE_FL_SEC_ENTRY_K 96u
#define MOTE_FL_SEC_ENTRY_S (4u + 24u + MOTE_FL_SEC_BOX_LEN)
#define MOTE_FL_SEC_ENTRY_V 38u
#define MOTE_FL_SEC_ENTRY_A MOTE_FL_SEC_NAME_LEN
#define MOTE_FL_SEC_ENTRY_R (4u + MOTE_FL_SEC_ENTRY_K)
#define MOTE_FL_SEC_ENTRY_F (4u + MOTE_FL_SEC_ENTRY_S)
#define MOTE_FL_SEC_ENTRY_Q 5u

/* A secure-aggregation message: type is the magic's letter; entries
 * points at count entries (into the caller's bytes after decoding). */
typedef struct mote_fl_sec_msg {
    char type;
    uint32_t round, id, t, count;
    const uint8_t *entries;
} mote_fl_sec_msg_t;

/* The type letter if buf starts with the magic of a secure-aggregation
 * message (any of the seven), else 0. Says nothing about the rest. */
char mote_fl_sec_type(const uint8_t *buf, size_t len);
/* Entry size of a type, 0 for an unknown letter. */
size_t mote_fl_sec_entry_len(char type);
/* Whole message size for count entries (0 for an unknown type). */
size_t mote_fl_sec_size(char type, uint32_t count);

/* Encode m into out[0..cap); moted's types (A R F Q) are signed with the
 * 64-byte fleet key sk (ignored, may be NULL, for K S V). *written gets
 * the length. MOTE_ERR_ARG (NULL, unknown type, count or fields out of
 * range), MOTE_ERR_LIMIT (cap too small). */
mote_status_t mote_fl_sec_encode(const mote_fl_sec_msg_t *m, const uint8_t *sk, uint8_t *out, size_t cap,
                                 size_t *written);

/* Strictly decode untrusted bytes: magic, version, reserved, every header
 * field's range for its type, exact length, then the CRC (K S V) or the
 * signature by the 32-byte fleet key pk (A R F Q; pk required), then each
 * entry's ids, kinds, flags and names. Errors: MOTE_ERR_ARG,
 * MOTE_ERR_TRUNCATED, MOTE_ERR_CORRUPT, MOTE_ERR_VERSION, MOTE_ERR_VERIFY;
 * msg (may be NULL) names the message and field. */
mote_status_t mote_fl_sec_decode(const uint8_t *buf, size_t len, const uint8_t *pk, mote_fl_sec_msg_t *m,
                                 char *msg, size_t msg_size);

/* Little-endian u32 at p (entry fields). */
uint32_t mote_fl_sec_u32(const uint8_t *p);
/* Store v little-endian at p. */
void mote_fl_sec_put32(uint8_t *p, uint32_t v);

#ifdef __cplusplus
}
#endif
#endif
