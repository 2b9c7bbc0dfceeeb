/* mote fleet: one device's side of a federated round over MQTT, on the
 * data of a `mote fed sim` configuration (device i holds slice i).
 *
 * The transport (mote-sim) hands it the verified `fl_round` command and
 * the bytes of mote/v1/fl/global; it trains, quantizes with error feedback
 * and encodes the `fl/up` upload (docs/federated.md, steps 3, 5-7a), and
 * in secure rounds answers moted's relayed set-up and reveal messages
 * (steps 4, 7b, 10; fed_msg.h).
 * The data set is shared read-only by every client of a process. */
#ifndef MOTE_FED_CLIENT_H
#define MOTE_FED_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "fed_msg.h"
#include "fed_sim_int.h"
#include "mote/learn.h"
#include "mote/status.h"
#include "secagg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deliberately bad behaviour for the acceptance runs. */
typedef enum mote_fed_client_attack {
    MOTE_FED_HONEST = 0,
    MOTE_FED_SATURATE = 1, /* every value 127: a huge norm */
    MOTE_FED_NAN_STEP = 2  /* a NaN quantization step */
} mote_fed_client_attack_t;

/* One secure round as a device sees it (docs/federated.md, "Over MQTT"):
 * stage 1 keys sent (after A), 2 shares sent (after R), 3 shares of the
 * others held (after F: ready to mask), 4 revealed (after Q: once). */
typedef struct mote_fed_client_sec {
    uint32_t round, id, t, n, cap;     /* n: roster R entries; cap: allocated (A's count) */
    int stage;
    mote_secagg_keys_t keys;
    uint8_t box_pk[32], box_sk[32];
    mote_secagg_peer_t *peers;         /* R, then compacted to the maskers */
    uint8_t (*box)[32];                /* box public keys, as peers */
    uint8_t (*held)[66];               /* per R entry: its key share, self-seed share */
    uint8_t *has;                      /* per R entry: share held (it masked) */
    uint32_t n_mask;                   /* peers[0..n_mask) after F */
} mote_fed_client_sec_t;

typedef struct mote_fed_client {
    const fsim_t *data;        /* not owned */
    uint32_t slice;            /* index into data->dev */
    mote_fed_client_attack_t attack;
    mote_learn_head_t h;
    void *hbuf;
    float *g, *w, *resid;      /* global, local, error-feedback residual */
    int8_t *q;
    uint8_t *wire;
    size_t wire_cap;
    uint64_t version;          /* global version held */
    int has_global;
    size_t pos;                /* next local sample */
    mote_fed_client_sec_t sec;
    uint32_t *words;           /* masked upload */
    uint8_t *out;              /* secure messages we send */
    size_t out_cap;
} mote_fed_client_t;

/* The round parameters of a verified fl_round command. */
typedef struct mote_fed_client_round {
    uint32_t round, id, steps;
    uint64_t version;
    float mu, step;
} mote_fed_client_round_t;

/* Set up device `slice` (< data->cfg.devices) with a zero global.
 * MOTE_ERR_ARG, MOTE_ERR_NOMEM. Release with _free. */
mote_status_t mote_fed_client_init(mote_fed_client_t *c, const fsim_t *data, uint32_t slice);
/* Release what init allocated (NULL or a zeroed c is fine). */
void mote_fed_client_free(mote_fed_client_t *c);

/* Take a global head message (untrusted bytes): signature by pk (32 bytes),
 * then a head of our shape. Older or equal versions are ignored (MOTE_OK).
 * Errors: the decoder's, mote_learn_restore's; msg explains. */
mote_status_t mote_fed_client_global(mote_fed_client_t *c, const uint8_t pk[32], const uint8_t *buf,
                                     size_t len, char *msg, size_t msg_size);

/* Train r->steps local samples from the global of version r->version
 * (MOTE_ERR_STATE if we do not hold it yet), quantize and encode the
 * upload: masked (encoding 2, weighed by the sample count) when the secure
 * round r->round reached stage 3, else plain; *out points into the client
 * (valid until the next call).
 * MOTE_ERR_ARG for out-of-range round parameters. */
mote_status_t mote_fed_client_train(mote_fed_client_t *c, const mote_fed_client_round_t *r,
                                    const uint8_t **out, size_t *len, char *msg, size_t msg_size);

/* Secure rounds. Each takes a decoded, signature-checked moted message
 * (fed_msg.h) and, when there is something to send, points *out at the
 * device's answer (valid until the next call; *len 0: nothing to send).
 * Messages of another round than the one in progress are ignored, except
 * that an announce of a later round starts a new one (one of this or an
 * earlier round is refused: MOTE_ERR_STATE).
 *   _announce (A): find `name` in the roster (not there: *len 0), draw a
 *     fresh mask key pair, box key pair and self seed; answer K.
 *   _roster (R): split the key and the self seed t-of-n among R, box each
 *     holder's pair of shares to it; answer S.
 *   _forward (F): open the boxes addressed to us; who sent them are the
 *     peers we mask with (stage 3, then _train sends a masked upload).
 *   _reveal (Q): once per round, for each masker, its self-seed share if
 *     flagged uploaded, else its key share; answer V.
 * Errors: MOTE_ERR_STATE (out of order), MOTE_ERR_VERIFY (a box that does
 * not open or is not ours), MOTE_ERR_CORRUPT (ids that do not match the
 * roster), MOTE_ERR_NOMEM; msg explains. */
mote_status_t mote_fed_client_announce(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const char *name,
                                       const uint8_t **out, size_t *len, char *msg, size_t msg_size);
mote_status_t mote_fed_client_roster(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const uint8_t **out,
                                     size_t *len, char *msg, size_t msg_size);
mote_status_t mote_fed_client_forward(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, char *msg,
                                      size_t msg_size);
mote_status_t mote_fed_client_reveal(mote_fed_client_t *c, const mote_fl_sec_msg_t *m, const uint8_t **out,
                                     size_t *len, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
