/*
 * Multi-precision helpers shared by fr.c (4 limbs) and g1.c (6 limbs): 64-bit words,
 * carry and borrow chains, and the multiply-accumulate of Montgomery multiplication.
 * Written without 128-bit additions, which GCC 12 compiles into stack round trips; the
 * 64 x 64 -> 128-bit product is the only __int128 use.
 */
#ifndef ZKML_LIMBS_H
#define ZKML_LIMBS_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t u64;
__extension__ typedef unsigned __int128 u128; /* GCC/Clang extension */

/* a + b + carry, carry out in *carry */
static inline u64 adc(u64 a, u64 b, u64 *carry) {
    u64 s, c1 = __builtin_add_overflow(a, b, &s);
    u64 c2 = __builtin_add_overflow(s, *carry, &s);
    *carry = c1 | c2;
    return s;
}

/* a - b - borrow, borrow out in *borrow */
static inline u64 sbb(u64 a, u64 b, u64 *borrow) {
    u64 d, b1 = __builtin_sub_overflow(a, b, &d);
    u64 b2 = __builtin_sub_overflow(d, *borrow, &d);
    *borrow = b1 | b2;
    return d;
}

/* t + a * b + carry: low word returned, high word into *carry (never overflows 128 bits) */
static inline u64 mac(u64 t, u64 a, u64 b, u64 *carry) {
    u128 p = (u128)a * b;
    u64 lo = (u64)p, hi = (u64)(p >> 64);
    lo += t;      hi += lo < t;
    lo += *carry; hi += lo < *carry;
    *carry = hi;
    return lo;
}

#endif
