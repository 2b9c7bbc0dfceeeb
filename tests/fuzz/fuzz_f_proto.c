/* libFuzzer: every MQTT payload decoder of src/fleet/proto.c on arbitrary
 * bytes. The first byte picks the decoder. A payload that decodes must
 * re-encode and decode to the same fields (for the JSON messages). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static char text[1 << 17];

#define ROUNDTRIP(type, enc, dec, val)                                                          \
    do {                                                                                        \
        type again_;                                                                            \
        size_t n_;                                                                              \
        if (enc(&(val), text, sizeof text, &n_) == MOTE_OK) {                                   \
            if (dec(text, n_, &again_, err, sizeof err) != MOTE_OK)                             \
                abort();                                                                        \
            if (memcmp(&again_, &(val), sizeof again_) != 0)                                    \
                abort();                                                                        \
        }                                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    char err[256];
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 7) {
    case 0: {
        mote_proto_event_t e;
        if (mote_proto_event_decode(p, n, &e, err, sizeof err) == MOTE_OK)
            ROUNDTRIP(mote_proto_event_t, mote_proto_event_encode, mote_proto_event_decode, e);
        break;
    }
    case 1: {
        mote_proto_heartbeat_t h;
        if (mote_proto_heartbeat_decode(p, n, &h, err, sizeof err) == MOTE_OK)
            ROUNDTRIP(mote_proto_heartbeat_t, mote_proto_heartbeat_encode, mote_proto_heartbeat_decode, h);
        break;
    }
    case 2: {
        mote_proto_state_t s;
        if (mote_proto_state_decode(p, n, &s, err, sizeof err) == MOTE_OK)
            ROUNDTRIP(mote_proto_state_t, mote_proto_state_encode, mote_proto_state_decode, s);
        break;
    }
    case 3: {
        mote_proto_ota_req_t r;
        if (mote_proto_ota_req_decode(p, n, &r, err, sizeof err) == MOTE_OK)
            ROUNDTRIP(mote_proto_ota_req_t, mote_proto_ota_req_encode, mote_proto_ota_req_decode, r);
        break;
    }
    case 4: {
        mote_proto_td_t td;
        (void)mote_proto_td_decode(p, n, &td, err, sizeof err);
        break;
    }
    case 5: {
        mote_proto_chunk_t c;
        if (mote_proto_chunk_decode(p, n, &c, err, sizeof err) == MOTE_OK && c.len && c.data[c.len - 1] == 0x5a)
            err[0] = 1; /* touch the last data byte: must be inside the input */
        break;
    }
    default: {
        mote_proto_cmd_t c;
        (void)mote_proto_cmd_decode(p, n, pk, &c, err, sizeof err);
        char id[MOTE_PROTO_ID_LEN];
        mote_proto_topic_t t;
        char topic[256];
        size_t k = n < sizeof topic - 1 ? n : sizeof topic - 1;
        memcpy(topic, p, k);
        topic[k] = '\0';
        (void)mote_proto_topic_parse(topic, id, &t);
        break;
    }
    }
    return 0;
}
