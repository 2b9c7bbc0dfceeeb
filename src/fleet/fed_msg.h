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

#ifdef __cplusplus
}
#endif
#endif
