/* mote fleet: Ed25519 key files and hex helpers (libsodium).
 *
 * The fleet key signs bundles, commands and ledger entries. `mote key gen
 * --out PREFIX` writes two text files:
 *
 *   PREFIX.pk   64 lowercase hex digits (the 32-byte public key) and "\n"
 *   PREFIX.sk   128 lowercase hex digits (libsodium's 64-byte secret key:
 *               seed || public key) and "\n", mode 0600
 *
 * The loaders also accept the raw binary form (exactly 32 or 64 bytes) and
 * hex in either case with surrounding whitespace. A secret key is checked
 * against its own public half, so a damaged file is refused instead of
 * signing with a key nobody can verify.
 *
 * Errors: negative mote_status_t and a message saying what is wrong in
 * `err` (NUL-terminated, at most errsz bytes; err may be NULL). The message
 * does not repeat the path, which the caller has. */
#ifndef MOTE_KEYS_H
#define MOTE_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_KEY_PK_LEN crypto_sign_PUBLICKEYBYTES /* 32 */
#define MOTE_KEY_SK_LEN crypto_sign_SECRETKEYBYTES /* 64 */
#define MOTE_KEY_ID_LEN 8 /* first bytes of SHA-256(pk), as in bundles */

/* Lowercase hex of n bytes into out, which must hold 2n+1 bytes
 * (NUL-terminated). Returns out. */
char *mote_hex_encode(const uint8_t *in, size_t n, char *out);

/* Decode exactly 2n hex digits (lowercase only when strict != 0, else
 * either case) from s into out[n]. Returns MOTE_OK or MOTE_ERR_FORMAT. A
 * strict decoder gives every byte string exactly one spelling, which the
 * ledger needs so that no edit of a stored hash goes unnoticed. */
mote_status_t mote_hex_decode(const char *s, size_t n, uint8_t *out, int strict);

/* Key id of a public key: the first 8 bytes of its SHA-256. */
void mote_key_id(const uint8_t pk[MOTE_KEY_PK_LEN], uint8_t id[MOTE_KEY_ID_LEN]);

/* New random key pair written to PREFIX.sk (mode 0600, created with
 * O_EXCL so an existing key is never overwritten unless `force`) and
 * PREFIX.pk (0644). The public key is copied to pk_out when not NULL.
 * Errors: MOTE_ERR_ARG (prefix too long), MOTE_ERR_IO (file exists, or
 * cannot be written; a half-written pair is removed). */
mote_status_t mote_key_generate(const char *prefix, int force, uint8_t pk_out[MOTE_KEY_PK_LEN], char *err,
                                size_t errsz);

/* Load a public key file (hex or 32 raw bytes). MOTE_ERR_IO when it
 * cannot be read, MOTE_ERR_FORMAT when it is not a key. */
mote_status_t mote_key_load_pk(const char *path, uint8_t pk[MOTE_KEY_PK_LEN], char *err, size_t errsz);

/* Load a secret key file (hex or 64 raw bytes); MOTE_ERR_VERIFY when its
 * public half does not match its seed. The caller should sodium_memzero
 * the key when done. */
mote_status_t mote_key_load_sk(const char *path, uint8_t sk[MOTE_KEY_SK_LEN], char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
