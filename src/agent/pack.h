/* mote agent: host-side helpers around signed bundles and commands, for
 * provisioning devices and for the `mote-agent bundle|cmd|serve` tools
 * (a manager such as moted can call the same functions). */
#ifndef MOTE_PACK_H
#define MOTE_PACK_H

#include <stddef.h>
#include <stdint.h>
#include "agent.h"
#include "bundle.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_PACK_MSG_LEN 512

/* Read a whole file into a malloc'ed buffer (*buf owned by the caller).
 * MOTE_ERR_IO with the reason in msg; MOTE_ERR_LIMIT above max bytes. */
mote_status_t mote_pack_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, char *msg,
                                  size_t msg_size);

/* Write a buffer to path (created or replaced). */
mote_status_t mote_pack_write_file(const char *path, const void *buf, size_t len, char *msg,
                                   size_t msg_size);

/* Pack files into a signed bundle: payload names are the files' base
 * names. name: model name; target: device class; version > 0. *out is
 * malloc'ed (caller frees). Errors: those of mote_bundle_build and
 * MOTE_ERR_IO, with msg naming the file. */
mote_status_t mote_pack_bundle(const uint8_t sk[crypto_sign_SECRETKEYBYTES], const char *name,
                               uint64_t version, const char *target, const char *const *files,
                               size_t n_files, uint8_t **out, size_t *out_len, char *msg, size_t msg_size);

/* SHA-256 of a bundle (what deploy commands and chunks name). */
void mote_pack_sha256(const void *buf, size_t len, uint8_t out[32]);

/* Install a whole bundle into an agent's empty or older store as a
 * factory image would be: verify, write, commit, health check, confirm,
 * then load the model. MOTE_ERR_VERSION when it is not newer than the
 * installed one; other errors from the slots, message in a->msg. */
mote_status_t mote_agent_provision(mote_agent_t *a, const uint8_t *bundle, size_t len);

#ifdef __cplusplus
}
#endif
#endif
