/* mote fleet: moted's side of a secure-aggregation round over MQTT
 * (docs/federated.md, "Over MQTT", secure rounds): collects the devices'
 * keys (MFLK), encrypted shares (MFLS) and revealed shares (MFLV), builds
 * the signed broadcasts (MFLA announce, MFLR roster, MFLF forwarded
 * shares, MFLQ reveal request), and removes the masks through
 * mote_fed_round_unmask_self / mote_fed_round_recover.
 *
 * Devices are known by their roster index i (id i + 1) in the announce.
 * Phases: KEYS (waiting for MFLK) -> SHARES (roster out, waiting for
 * MFLS) -> TRAIN (shares forwarded; the masked round runs in the
 * mote_fed_server_t begun with mote_fl_sec_forward's peers) -> REVEAL
 * (request out, waiting for MFLV) -> unmask. moted holds only boxes it
 * cannot open and, per device, shares of one secret: never both. */
#ifndef MOTE_FL_SECURE_H
#define MOTE_FL_SECURE_H

#include <stddef.h>
#include <stdint.h>
#include "fed.h"
#include "fed_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mote_fl_sec_phase {
    MOTE_FL_SEC_OFF = 0,
    MOTE_FL_SEC_KEYS = 1,
    MOTE_FL_SEC_SHARES = 2,
    MOTE_FL_SEC_TRAIN = 3,
    MOTE_FL_SEC_REVEAL = 4
} mote_fl_sec_phase_t;

typedef struct mote_fl_sec {
    uint32_t round, n, t;        /* announced roster size, threshold */
    mote_fl_sec_phase_t phase;
    uint8_t (*keys)[MOTE_FL_SEC_ENTRY_K];
    uint8_t *has_keys, *in_r, *has_shares, *answered, *flag; /* per roster index */
    uint8_t *fwd;                /* [sender][holder] S entries' last 122 bytes */
    uint8_t *rev;                /* [owner][holder] revealed share, 33 bytes */
    uint8_t *rev_have;           /* [owner][holder] */
    uint32_t n_r, n_u2;
} mote_fl_sec_t;

/* Start round `round` for n announced devices with threshold t (1..n).
 * MOTE_ERR_ARG, MOTE_ERR_NOMEM. Frees what an earlier round held. */
mote_status_t mote_fl_sec_begin(mote_fl_sec_t *s, uint32_t round, uint32_t n, uint32_t t);
/* Release everything (a zeroed s is fine). */
void mote_fl_sec_free(mote_fl_sec_t *s);

/* The signed MFLA naming the n devices (ids of up to 48 bytes, stride
 * name_stride bytes); *out is malloc'd, the caller frees it. */
mote_status_t mote_fl_sec_announce(const mote_fl_sec_t *s, const char *names, size_t name_stride,
                                   const uint8_t sk[64], uint8_t **out, size_t *len);

/* A device message (untrusted bytes) from roster index idx: strictly
 * decoded, then checked against the phase, the sender and the roster.
 * Redelivered copies are ignored (MOTE_OK). Errors: the decoder's,
 * MOTE_ERR_STATE (wrong phase, round or sender id), MOTE_ERR_CORRUPT
 * (ids or kinds that do not match the roster or the request); msg says
 * what. */
mote_status_t mote_fl_sec_take(mote_fl_sec_t *s, uint32_t idx, const uint8_t *buf, size_t len, char *msg,
                               size_t msg_size);

/* Devices still awaited in the current phase (KEYS, SHARES, REVEAL). */
uint32_t mote_fl_sec_pending(const mote_fl_sec_t *s);

/* End KEYS: the signed MFLR of every device that sent keys (*out
 * malloc'd). MOTE_ERR_LIMIT when fewer than t did (the round fails). */
mote_status_t mote_fl_sec_roster(mote_fl_sec_t *s, const uint8_t sk[64], uint8_t **out, size_t *len);

/* End SHARES: the signed MFLF of every box between devices that sent
 * their shares (*out malloc'd), and those devices as the masked round's
 * roster (*peers malloc'd, *n_peers of them). MOTE_ERR_LIMIT when fewer
 * than t did. */
mote_status_t mote_fl_sec_forward(mote_fl_sec_t *s, const uint8_t sk[64], uint8_t **out, size_t *len,
                                  mote_secagg_peer_t **peers, uint32_t *n_peers);

/* After mote_fed_round_close on srv (begun with the forward's peers): the
 * signed MFLQ flagging each masker uploaded (reveal its self-seed shares)
 * or not (reveal its key shares); *out malloc'd. */
mote_status_t mote_fl_sec_request(mote_fl_sec_t *s, const mote_fed_server_t *srv, const uint8_t sk[64],
                                  uint8_t **out, size_t *len);

/* End REVEAL: remove each survivor's self mask and each dropped masker's
 * pair masks from srv's sum with t revealed shares. *recovered gets the
 * dropped maskers recovered. Errors: MOTE_ERR_LIMIT (fewer than t shares
 * for some device; the round cannot finish), the server's; msg says which
 * device. */
mote_status_t mote_fl_sec_unmask(mote_fl_sec_t *s, mote_fed_server_t *srv, uint32_t *recovered, char *msg,
                                 size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
