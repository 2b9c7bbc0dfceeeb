/* mote learn: one stochastic-gradient step of the head, and the schedule.
 *
 * Softmax cross-entropy and squared error share one update: both have the
 * gradient g (x, 1) per row, with g = p - onehot(label) or y - target, so
 * only the computation of g differs. Inputs are checked for finiteness
 * first because a single NaN would poison every weight for good, and
 * on-device learning has nobody watching. */
#include "learn/learn_internal.h"

/* gamma^k by squaring: O(log k) and the same bits on every target. */
static float pow_u32(float g, uint32_t k)
{
    float r = 1.0f;
    for (; k; k >>= 1) {
        if (k & 1u)
            r *= g;
        g *= g;
    }
    return r;
}

float mote_learn_lr(const mote_learn_head_t *h)
{
    const mote_learn_config_t *c = &h->cfg;
    switch (c->schedule) {
    case MOTE_LEARN_LR_INVTIME:
        return c->lr / (1.0f + c->decay * (float)h->steps);
    case MOTE_LEARN_LR_STEP:
        return c->lr * pow_u32(c->gamma, h->steps / c->step_every);
    default:
        return c->lr;
    }
}

mote_status_t mote_learn_set_lr(mote_learn_head_t *h, float lr)
{
    /* the same range mote_learn_config_validate accepts */
    if (!h || !learn_finite(lr) || !(lr > 0.0f) || !(lr <= 1e3f))
        return MOTE_ERR_ARG;
    h->cfg.lr = lr;
    return MOTE_OK;
}

void mote_learn_schedule_restart(mote_learn_head_t *h)
{
    h->steps = 0;
}

static int all_finite(const float *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!learn_finite(v[i]))
            return 0;
    return 1;
}

/* Plain SGD, with L2 folded into a per-step shrink factor. */
static void step_plain(mote_learn_head_t *h, const float *x, const float *g, float lr)
{
    uint32_t nf = h->cfg.n_features;
    float keep = 1.0f - lr * h->cfg.l2;
    for (uint32_t c = 0; c < h->cfg.n_classes; c++) {
        float a = lr * g[c];
        float *w = h->w + (size_t)c * nf;
        if (a == 0.0f && keep == 1.0f)
            continue; /* nothing would change */
        for (uint32_t j = 0; j < nf; j++)
            w[j] = w[j] * keep - a * x[j];
        h->b[c] -= a;
    }
}

/* Heavy-ball momentum (as torch.optim.SGD): v = mu v + grad, w -= lr v. */
static void step_momentum(mote_learn_head_t *h, const float *x, const float *g, float lr)
{
    uint32_t nf = h->cfg.n_features;
    float mu = h->cfg.momentum, l2 = h->cfg.l2;
    for (uint32_t c = 0; c < h->cfg.n_classes; c++) {
        float *w = h->w + (size_t)c * nf, *v = h->vw + (size_t)c * nf;
        for (uint32_t j = 0; j < nf; j++) {
            v[j] = mu * v[j] + (g[c] * x[j] + l2 * w[j]);
            w[j] -= lr * v[j];
        }
        h->vb[c] = mu * h->vb[c] + g[c];
        h->b[c] -= lr * h->vb[c];
    }
}

static void apply_gradient(mote_learn_head_t *h, const float *x, const float *g)
{
    float lr = mote_learn_lr(h);
    if (h->vw)
        step_momentum(h, x, g, lr);
    else
        step_plain(h, x, g, lr);
    if (h->steps != UINT32_MAX)
        h->steps++;
}

mote_status_t mote_learn_update(mote_learn_head_t *h, const float *x, uint32_t label)
{
    float g[MOTE_LEARN_MAX_CLASSES];
    if (!h || !x)
        return MOTE_ERR_ARG;
    if (h->cfg.kind != MOTE_LEARN_SOFTMAX)
        return MOTE_ERR_STATE;
    if (label >= h->cfg.n_classes || !all_finite(x, h->cfg.n_features))
        return MOTE_ERR_ARG;
    learn_logits(h, x, g);
    learn_softmax(g, h->cfg.n_classes);
    g[label] -= 1.0f;
    apply_gradient(h, x, g);
    return MOTE_OK;
}

mote_status_t mote_learn_update_target(mote_learn_head_t *h, const float *x,
                                       const float *target)
{
    float g[MOTE_LEARN_MAX_CLASSES];
    if (!h || !x || !target)
        return MOTE_ERR_ARG;
    if (h->cfg.kind != MOTE_LEARN_LINEAR)
        return MOTE_ERR_STATE;
    uint32_t n = h->cfg.n_classes;
    if (!all_finite(x, h->cfg.n_features) || !all_finite(target, n))
        return MOTE_ERR_ARG;
    learn_logits(h, x, g);
    for (uint32_t c = 0; c < n; c++)
        g[c] -= target[c];
    apply_gradient(h, x, g);
    return MOTE_OK;
}
