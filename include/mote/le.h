/* Little-endian byte order for mote's binary formats (DSP configs, model
 * state blobs, bundles, queues, wire messages): one definition instead of
 * one per codec. static inline, freestanding, no alignment needed: p may
 * point anywhere in a byte buffer. Every function reads or writes exactly
 * the bytes its name says; values wider than the field are truncated. */
#ifndef MOTE_LE_H
#define MOTE_LE_H

#include <stdint.h>

static inline void mote_le_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void mote_le_put32(uint8_t *p, uint32_t v)
{
    mote_le_put16(p, v);
    mote_le_put16(p + 2, v >> 16);
}

static inline void mote_le_put64(uint8_t *p, uint64_t v)
{
    mote_le_put32(p, (uint32_t)v);
    mote_le_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t mote_le_get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t mote_le_get32(const uint8_t *p)
{
    return mote_le_get16(p) | mote_le_get16(p + 2) << 16;
}

static inline uint64_t mote_le_get64(const uint8_t *p)
{
    return (uint64_t)mote_le_get32(p) | (uint64_t)mote_le_get32(p + 4) << 32;
}

/* `bytes` (1..8) least significant bytes of v, lowest first. */
static inline void mote_le_put(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* An unsigned value of `bytes` (1..8) bytes, lowest first. */
static inline uint64_t mote_le_get(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
