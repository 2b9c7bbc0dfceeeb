/* mote fleet: the binary wire format of one federated update (the payload
 * of topic mote/v1/d/<id>/fl/up, docs/federated.md).
 *
 * Little-endian, version 1:
 *   offset size  field
 *   0      4     magic "MFLU"
 *   4      2     format version (MOTE_FEDUP_VERSION = 1)
 *   6      1     encoding: 1 = int8 quantized delta (plain upload),
 *                          2 = uint32 words mod 2^32 (masked upload)
 *   7      1     flags: bit0 masked (secure aggregation, needs encoding 2),
 *                       bit1 keyed MAC present; other bits 0
 *   8      4     round (>= 1)
 *   12     4     device id (the round roster's 32-bit id)
 *   16     4     sample count n (>= 1, <= MOTE_FEDUP_MAX_SAMPLES): the
 *                FedAvg weight
 *   20     4     parameter count P (1..MOTE_FEDUP_MAX_PARAMS)
 *   24     4     f32 quantization step s (finite, > 0): a parameter delta
 *                is q * s
 *   28     4     reserved, 0
 *   32     8     base version: the global model version trained from
 *   40     P or 4P   payload: int8 q[P] in [-127, 127] (encoding 1), or
 *                u32 y[P] = n * q + masks mod 2^32 (encoding 2)
 *   then   16    (flag bit1) BLAKE2b-128 keyed with the device's 32-byte
 *                key over all preceding bytes
 *   end-4  4     CRC-32 (IEEE, as zlib.crc32) of all preceding bytes
 *
 * The decoder is strict: the length must be exactly what the header
 * implies, and every field must be in range. */
#ifndef MOTE_FEDUPDATE_H
#define MOTE_FEDUPDATE_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_FEDUP_MAGIC "MFLU"
#define MOTE_FEDUP_VERSION 1u
#define MOTE_FEDUP_HEADER 40u
#define MOTE_FEDUP_MAC_LEN 16u
#define MOTE_FEDUP_KEY_LEN 32u
#define MOTE_FEDUP_MAX_PARAMS (1u << 20)
/* Bounds the integer sum so that 127 * (sum of n) stays below 2^31. */
#define MOTE_FEDUP_MAX_SAMPLES (1u << 24)
#define MOTE_FEDUP_MSG_LEN 128

typedef enum mote_fedup_encoding {
    MOTE_FEDUP_I8 = 1,
    MOTE_FEDUP_U32 = 2,
} mote_fedup_encoding_t;

#define MOTE_FEDUP_F_MASKED 0x1u
#define MOTE_FEDUP_F_MAC 0x2u

/* A decoded (or to-be-encoded) update. The payload points into the
 * caller's bytes (decode) or is read from (encode): int8 for I8, uint32
 * host-order words for U32 (encode), little-endian bytes (decode). */
typedef struct mote_fedup {
    uint8_t encoding, flags;
    uint32_t round, device, samples, n_params;
    float step;
    uint64_t base_version;
    const void *payload;
} mote_fedup_t;

/* Bytes of the encoded update for this encoding, flag set and P; 0 when
 * out of range. */
size_t mote_fedup_size(uint8_t encoding, uint8_t flags, uint32_t n_params);

/* Encode u into out[0..cap); *written gets the length. key (32 bytes) is
 * required exactly when u->flags has MOTE_FEDUP_F_MAC. Errors:
 * MOTE_ERR_ARG (a field out of the ranges above, an I8 value of -128,
 * key missing or given wrongly), MOTE_ERR_LIMIT (cap too small). */
mote_status_t mote_fedup_encode(const mote_fedup_t *u, const uint8_t *key, uint8_t *out,
                                size_t cap, size_t *written);

/* Strictly decode untrusted bytes. key (32 bytes) is needed to accept an
 * update carrying a MAC; with key NULL such an update is refused
 * (MOTE_ERR_VERIFY), so a MAC can never be skipped by accident. On success
 * u->payload points into buf (I8: int8 values; U32: little-endian words,
 * read with mote_fedup_word). Errors, in order: MOTE_ERR_ARG (NULL),
 * MOTE_ERR_TRUNCATED (shorter than header + CRC or than the stated size),
 * MOTE_ERR_CORRUPT (magic, encoding, flags, reserved, counts, step,
 * length, an int8 of -128), MOTE_ERR_VERSION, MOTE_ERR_VERIFY (CRC, MAC).
 * msg (may be NULL) receives a message naming the field. */
mote_status_t mote_fedup_decode(const uint8_t *buf, size_t len, const uint8_t *key,
                                mote_fedup_t *u, char *msg, size_t msg_size);

/* Word k of a decoded U32 payload. */
uint32_t mote_fedup_word(const mote_fedup_t *u, uint32_t k);

#ifdef __cplusplus
}
#endif
#endif
