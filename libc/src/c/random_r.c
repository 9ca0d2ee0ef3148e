/*
 * glibc's reentrant BSD random: random_r, srandom_r, initstate_r, setstate_r
 * over glibc's `struct random_data`, with glibc's generator (the additive
 * feedback generator of degree 7, 15, 31 or 63, seeded through the
 * Park-Miller step and warmed up by ten rounds per word, or the plain linear
 * congruential TYPE_0 below 32 bytes of state), so a seed gives the sequence
 * it gives under glibc; the host's random() is another generator.
 *
 * Owns these four functions only.
 */

#include "shims.h"

typedef int int32_;

struct random_data_ {
    int32_ *fptr;
    int32_ *rptr;
    int32_ *state;
    int rand_type;
    int rand_deg;
    int rand_sep;
    int32_ *end_ptr;
};
_Static_assert(sizeof(struct random_data_) == 48, "glibc ABI");

#define MAX_TYPES 5
static const int degrees[MAX_TYPES] = {0, 7, 15, 31, 63};
static const int seps[MAX_TYPES] = {0, 3, 1, 3, 1};

int staticdl_random_r(struct random_data_ *buf, int32_ *result)
{
    if (!buf || !result) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    int32_ *state = buf->state;
    if (buf->rand_type == 0) {
        int32_ v = (int32_)(((unsigned)state[0] * 1103515245U + 12345U) & 0x7fffffff);
        state[0] = v;
        *result = v;
        return 0;
    }
    int32_ *fptr = buf->fptr, *rptr = buf->rptr, *end = buf->end_ptr;
    unsigned v = (unsigned)*fptr + (unsigned)*rptr;
    *fptr = (int32_)v;
    *result = (int32_)(v >> 1);
    ++fptr;
    if (fptr >= end) {
        fptr = state;
        ++rptr;
    } else if (++rptr >= end) {
        rptr = state;
    }
    buf->fptr = fptr;
    buf->rptr = rptr;
    return 0;
}

int staticdl_srandom_r(unsigned seed, struct random_data_ *buf)
{
    if (!buf || (unsigned)buf->rand_type >= MAX_TYPES) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    int32_ *state = buf->state;
    if (seed == 0)
        seed = 1;
    state[0] = (int32_)seed;
    if (buf->rand_type == 0)
        return 0;
    int kc = buf->rand_deg;
    int32_ word = (int32_)seed; /* a 32-bit signed word, as glibc keeps it */
    for (int i = 1; i < kc; ++i) {
        /* 16807 * word % 2147483647, without overflow (Schrage) */
        long hi = word / 127773, lo = word % 127773;
        word = (int32_)(16807 * lo - 2836 * hi);
        if (word < 0)
            word += 2147483647;
        state[i] = word;
    }
    buf->fptr = &state[buf->rand_sep];
    buf->rptr = &state[0];
    int32_ discard;
    for (kc *= 10; --kc >= 0;)
        staticdl_random_r(buf, &discard);
    return 0;
}

int staticdl_initstate_r(unsigned seed, char *arg_state, size_t n, struct random_data_ *buf)
{
    if (!buf) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    int32_ *old = buf->state;
    if (old) {
        if (buf->rand_type == 0)
            old[-1] = 0;
        else
            old[-1] = (int32_)(MAX_TYPES * (buf->rptr - old) + buf->rand_type);
    }
    int type;
    if (n >= 128)
        type = n < 256 ? 3 : 4;
    else if (n >= 32)
        type = n < 64 ? 1 : 2;
    else if (n >= 8)
        type = 0;
    else {
        *__errno_location() = EINVAL_;
        return -1;
    }
    buf->rand_type = type;
    buf->rand_sep = seps[type];
    int degree = buf->rand_deg = degrees[type];
    int32_ *state = &((int32_ *)arg_state)[1];
    buf->end_ptr = &state[degree];
    buf->state = state;
    staticdl_srandom_r(seed, buf);
    state[-1] = 0;
    if (type != 0)
        state[-1] = (int32_)((buf->rptr - state) * MAX_TYPES + type);
    return 0;
}

int staticdl_setstate_r(char *arg_state, struct random_data_ *buf)
{
    if (!arg_state || !buf) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    int32_ *new_state = 1 + (int32_ *)arg_state;
    int32_ *old = buf->state;
    if (old) {
        if (buf->rand_type == 0)
            old[-1] = 0;
        else
            old[-1] = (int32_)(MAX_TYPES * (buf->rptr - old) + buf->rand_type);
    }
    int type = new_state[-1] % MAX_TYPES;
    if (type < 0 || type >= MAX_TYPES) {
        *__errno_location() = EINVAL_;
        return -1;
    }
    int degree = degrees[type], sep = seps[type];
    buf->rand_deg = degree;
    buf->rand_sep = sep;
    buf->rand_type = type;
    if (type != 0) {
        int rear = new_state[-1] / MAX_TYPES;
        buf->rptr = &new_state[rear];
        buf->fptr = &new_state[(rear + sep) % degree];
    }
    buf->state = new_state;
    buf->end_ptr = &new_state[degree];
    return 0;
}
