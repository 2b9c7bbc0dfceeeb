/* mote fleet: one device's side of a federated round over MQTT, on the
 * data of a `mote fed sim` configuration (device i holds slice i).
 *
 * The transport (mote-sim) hands it the verified `fl_round` command and
 * the bytes of mote/v1/fl/global; it trains, quantizes with error feedback
 * and encodes the plain `fl/up` upload (docs/federated.md, steps 3, 5-7a).
 * The data set is shared read-only by every client of a process. */
#ifndef MOTE_FED_CLIENT_H
#define MOTE_FED_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "fed_sim_int.h"
#include "mote/learn.h"
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deliberately bad behaviour for the acceptance runs. */
typedef enum mote_fed_client_attack {
    MOTE_FED_HONEST = 0,
    MOTE_FED_SATURATE = 1, /* every value 127: a huge norm */
    MOTE_FED_NAN_STEP = 2  /* a NaN quantization step */
} mote_fed_client_attack_t;

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
 * (MOTE_ERR_STATE if we do not hold it yet), quantize and encode the plain
 * upload; *out points into the client (valid until the next call).
 * MOTE_ERR_ARG for out-of-range round parameters. */
mote_status_t mote_fed_client_train(mote_fed_client_t *c, const mote_fed_client_round_t *r,
                                    const uint8_t **out, size_t *len, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
