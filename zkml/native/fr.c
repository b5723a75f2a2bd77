/*
 * fr.c -- vectors of elements of Fr, the scalar field of BLS12-381, for the prover's
 * sumcheck hot loops (zkml/frvec_native.py is the Python side, zkml/frvec.py:PyFrVec the
 * reference it is tested against).
 *
 * Representation
 *   An element a is stored in Montgomery form aR mod P with R = 2^256, as 4 x uint64
 *   little-endian limbs (limb 0 least significant), always fully reduced (< P).
 *   A vector of n elements is one contiguous array uint64_t[n][4]. Values cross the
 *   boundary in canonical form: signed int64, or 32-byte little-endian integers.
 *
 * Montgomery multiplication (CIOS, "coarsely integrated operand scanning")
 *   mont_mul(a, b) = a * b * R^-1 mod P, for a < P and any b < 2^256. Starting from t = 0,
 *   for each limb b[i] of b (i = 0..3):
 *     t += a * b[i]
 *     m  = t[0] * NINV mod 2^64           (NINV = -P^-1 mod 2^64, so t + m P = 0 mod 2^64)
 *     t  = (t + m * P) / 2^64             (exact: the low limb becomes zero)
 *   The two steps are interleaved limb by limb with two carry words (A for a * b[i],
 *   C for m * P), so t never needs a fifth limb: if t < 2P before a round, then after it
 *   t < (2P + (2^64 - 1) P + (2^64 - 1) P) / 2^64 < 2P, and 2P < 2^256 because P < 2^255;
 *   hence the top limb A + C cannot overflow. After the 4 rounds t = a b R^-1 (mod P) and
 *   t < 2P, so one conditional subtraction of P gives the reduced result.
 *   In Montgomery form mont_mul(aR, bR) = (ab)R; conversion in is mont_mul(R^2, x) (valid for
 *   any x < 2^256, which is thereby also reduced mod P), conversion out is mont_mul(x, 1).
 *
 * Not constant time: the conditional subtractions are branch-free, but exponentiation and
 * error checks branch on data. This is prover-side code over its own witness tables, which
 * are processed in a fixed, data-independent pattern; it must not be reused for secrets
 * that an attacker can time.
 *
 * All functions take element counts as size_t; output arrays must not overlap inputs
 * (except where noted) and are fully written.
 */
#include "limbs.h"

#define FR_ABI_VERSION 4

/* P = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001 */
static const u64 P[4] = {0xffffffff00000001ULL, 0x53bda402fffe5bfeULL,
                         0x3339d80809a1d805ULL, 0x73eda753299d7d48ULL};
/* R^2 mod P, R = 2^256 (converts into Montgomery form) */
static const u64 R2[4] = {0xc999e990f3f29c6dULL, 0x2b6cedcb87925c23ULL,
                          0x05d314967254398fULL, 0x0748d9d99f59ff11ULL};
/* R mod P: the element 1 in Montgomery form */
static const u64 ONE[4] = {0x00000001fffffffeULL, 0x5884b7fa00034802ULL,
                           0x998c4fefecbc4ff5ULL, 0x1824b159acc5056fULL};
/* -P^-1 mod 2^64 */
static const u64 NINV = 0xfffffffeffffffffULL;

/* ---- single elements ------------------------------------------------------------------ */

static inline void fr_copy(u64 r[4], const u64 a[4]) {
    r[0] = a[0]; r[1] = a[1]; r[2] = a[2]; r[3] = a[3];
}

static inline int fr_is_zero(const u64 a[4]) {
    return (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* r = t - P if t >= P else t, for t = (t3:t2:t1:t0) < 2P. Branch-free select. */
static inline void reduce_once(u64 r[4], u64 t0, u64 t1, u64 t2, u64 t3) {
    u64 borrow = 0;
    u64 s0 = sbb(t0, P[0], &borrow);
    u64 s1 = sbb(t1, P[1], &borrow);
    u64 s2 = sbb(t2, P[2], &borrow);
    u64 s3 = sbb(t3, P[3], &borrow);
    u64 keep_t = (u64)0 - borrow;         /* all ones if t < P */
    r[0] = (t0 & keep_t) | (s0 & ~keep_t);
    r[1] = (t1 & keep_t) | (s1 & ~keep_t);
    r[2] = (t2 & keep_t) | (s2 & ~keep_t);
    r[3] = (t3 & keep_t) | (s3 & ~keep_t);
}

/* r = a b R^-1 mod P for a < P, b < 2^256 (see the top of the file); r may alias a or b */
static inline void mont_mul(u64 r[4], const u64 a[4], const u64 b[4]) {
    const u64 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (int i = 0; i < 4; i++) {
        const u64 bi = b[i];
        u64 A = 0, C = 0, m;
        t0 = mac(t0, a0, bi, &A);       /* limb 0 of t + a b[i] */
        m = t0 * NINV;
        mac(t0, m, P[0], &C);           /* limb 0 of t + a b[i] + m P: zero, keep the carry */
        t1 = mac(t1, a1, bi, &A);       /* limb j of t + a b[i] ...                        */
        t0 = mac(t1, m, P[1], &C);      /* ... plus m P[j] lands in limb j - 1 (the / 2^64) */
        t2 = mac(t2, a2, bi, &A);
        t1 = mac(t2, m, P[2], &C);
        t3 = mac(t3, a3, bi, &A);
        t2 = mac(t3, m, P[3], &C);
        t3 = A + C;                     /* no overflow: t < 2P < 2^256 */
    }
    reduce_once(r, t0, t1, t2, t3);
}

/* r = a + b mod P (a, b < P, so a + b < 2P < 2^256: no carry out of limb 3) */
static inline void fr_add1(u64 r[4], const u64 a[4], const u64 b[4]) {
    u64 c = 0;
    u64 s0 = adc(a[0], b[0], &c);
    u64 s1 = adc(a[1], b[1], &c);
    u64 s2 = adc(a[2], b[2], &c);
    u64 s3 = adc(a[3], b[3], &c);     /* c = 0 */
    reduce_once(r, s0, s1, s2, s3);
}

/* r = a - b mod P: subtract, then add P back if it borrowed (branch-free) */
static inline void fr_sub1(u64 r[4], const u64 a[4], const u64 b[4]) {
    u64 borrow = 0, c = 0;
    u64 s0 = sbb(a[0], b[0], &borrow);
    u64 s1 = sbb(a[1], b[1], &borrow);
    u64 s2 = sbb(a[2], b[2], &borrow);
    u64 s3 = sbb(a[3], b[3], &borrow);
    const u64 mask = (u64)0 - borrow;
    r[0] = adc(s0, P[0] & mask, &c);
    r[1] = adc(s1, P[1] & mask, &c);
    r[2] = adc(s2, P[2] & mask, &c);
    r[3] = adc(s3, P[3] & mask, &c);
}

/* a^e for a 256-bit exponent e (little-endian limbs), left-to-right square and multiply */
static void fr_pow1(u64 r[4], const u64 a[4], const u64 e[4]) {
    u64 acc[4];
    fr_copy(acc, ONE);
    for (int i = 255; i >= 0; i--) {
        mont_mul(acc, acc, acc);
        if ((e[i / 64] >> (i % 64)) & 1) mont_mul(acc, acc, a);
    }
    fr_copy(r, acc);
}

/* a^-1 = a^(P-2) (Fermat); a must be nonzero */
static void fr_inv1(u64 r[4], const u64 a[4]) {
    u64 e[4] = {P[0] - 2, P[1], P[2], P[3]}; /* P[0] >= 2: no borrow */
    fr_pow1(r, a, e);
}

static inline void load_le(u64 x[4], const unsigned char *b) {
    for (int k = 0; k < 4; k++) {
        u64 v = 0;
        for (int j = 7; j >= 0; j--) v = (v << 8) | b[8 * k + j];
        x[k] = v;
    }
}

static inline void store_le(unsigned char *b, const u64 x[4]) {
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 8; j++) b[8 * k + j] = (unsigned char)(x[k] >> (8 * j));
}

/* canonical 32-byte little-endian integer (any value < 2^256) -> Montgomery form mod P */
static inline void from_bytes1(u64 r[4], const unsigned char *b) {
    u64 x[4];
    load_le(x, b);
    mont_mul(r, R2, x); /* R2 < P and x < 2^256: x R mod P */
}

static inline void to_bytes1(unsigned char *b, const u64 a[4]) {
    static const u64 one_canonical[4] = {1, 0, 0, 0};
    u64 x[4];
    mont_mul(x, a, one_canonical); /* a R^-1: out of Montgomery form, < P */
    store_le(b, x);
}

/* ---- exported API --------------------------------------------------------------------- */

int fr_abi_version(void) { return FR_ABI_VERSION; }

/* out[i] = in[i] mod P (signed) */
void fr_from_i64(u64 (*out)[4], const int64_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t v = in[i];
        u64 x[4] = {v < 0 ? (u64)0 - (u64)v : (u64)v, 0, 0, 0}; /* |v|, also for INT64_MIN */
        mont_mul(out[i], R2, x);
        if (v < 0) {
            static const u64 zero[4] = {0, 0, 0, 0};
            fr_sub1(out[i], zero, out[i]);
        }
    }
}

/* out[i] = c + sum_t coef_t arrays[t][i] for signed int64 arrays, any number t of terms: one
 * pass per block of AFFINE_BLOCK terms (one pass in all for the lookup leaves' few columns).
 * coef_t |v| is one Montgomery product: mont_mul(coef_t R^2, |v|) = coef_t |v| R, the
 * Montgomery form of coef_t |v| (|v| < 2^64 < P). */
#define AFFINE_BLOCK 8
void fr_affine_i64(u64 (*out)[4], const unsigned char *c, const int64_t *const *arrays,
                   const unsigned char *coefs, size_t t, size_t n) {
    u64 cm[4], km[AFFINE_BLOCK][4], x[4] = {0, 0, 0, 0}, term[4];
    from_bytes1(cm, c);
    for (size_t k0 = 0; k0 == 0 || k0 < t; k0 += AFFINE_BLOCK) {
        size_t tb = t - k0 < AFFINE_BLOCK ? t - k0 : AFFINE_BLOCK;
        for (size_t k = 0; k < tb; k++) {
            from_bytes1(term, coefs + 32 * (k0 + k));  /* coef R */
            mont_mul(km[k], term, R2);                 /* coef R^2 */
        }
        for (size_t i = 0; i < n; i++) {
            u64 acc[4];
            fr_copy(acc, k0 == 0 ? cm : out[i]);
            for (size_t k = 0; k < tb; k++) {
                int64_t v = arrays[k0 + k][i];
                if (v == 0) continue;
                x[0] = v < 0 ? (u64)0 - (u64)v : (u64)v;
                mont_mul(term, km[k], x);
                if (v < 0) fr_sub1(acc, acc, term); else fr_add1(acc, acc, term);
            }
            fr_copy(out[i], acc);
        }
    }
}

/* out[i] = (32-byte little-endian integer i) mod P; inputs may be any value < 2^256 */
void fr_from_bytes(u64 (*out)[4], const unsigned char *in, size_t n) {
    for (size_t i = 0; i < n; i++) from_bytes1(out[i], in + 32 * i);
}

/* canonical 32-byte little-endian encodings, each < P */
void fr_to_bytes(unsigned char *out, const u64 (*a)[4], size_t n) {
    for (size_t i = 0; i < n; i++) to_bytes1(out + 32 * i, a[i]);
}

/* elementwise; out may alias a or b */
void fr_add(u64 (*out)[4], const u64 (*a)[4], const u64 (*b)[4], size_t n) {
    for (size_t i = 0; i < n; i++) fr_add1(out[i], a[i], b[i]);
}

void fr_sub(u64 (*out)[4], const u64 (*a)[4], const u64 (*b)[4], size_t n) {
    for (size_t i = 0; i < n; i++) fr_sub1(out[i], a[i], b[i]);
}

void fr_mul(u64 (*out)[4], const u64 (*a)[4], const u64 (*b)[4], size_t n) {
    for (size_t i = 0; i < n; i++) mont_mul(out[i], a[i], b[i]);
}

/* out[i] = c a[i]; c is a canonical 32-byte little-endian integer */
void fr_scale(u64 (*out)[4], const u64 (*a)[4], const unsigned char *c, size_t n) {
    u64 cm[4];
    from_bytes1(cm, c);
    for (size_t i = 0; i < n; i++) mont_mul(out[i], a[i], cm);
}

/* out[i] = a[i] + c */
void fr_add_const(u64 (*out)[4], const u64 (*a)[4], const unsigned char *c, size_t n) {
    u64 cm[4];
    from_bytes1(cm, c);
    for (size_t i = 0; i < n; i++) fr_add1(out[i], a[i], cm);
}

/* out[i] = lo[i] + r (hi[i] - lo[i]) for lo = a[0..half), hi = a[half..2 half) */
/* out[i] = a[i] + r (a[half + i] - a[i]) for i in [start, end): a part of a fold, so that
 * several threads can share one */
void fr_fold_part(u64 (*out)[4], const u64 (*a)[4], const unsigned char *r, size_t half,
                  size_t start, size_t end) {
    u64 rm[4], d[4];
    from_bytes1(rm, r);
    for (size_t i = start; i < end; i++) {
        fr_sub1(d, a[half + i], a[i]);
        mont_mul(d, d, rm);
        fr_add1(out[i], a[i], d);
    }
}
void fr_fold(u64 (*out)[4], const u64 (*a)[4], const unsigned char *r, size_t half) {
    fr_fold_part(out, a, r, half, 0, half);
}

/* folds each half of a (n = 4 quarter entries) separately */

/* The fraction tree's layer above (logup_prover.py), for i in [start, end), h = half:
 *   outp[i] = p[i] q[h + i] + p[h + i] q[i],   outq[i] = q[i] q[h + i]
 * (three products per parent instead of four passes over temporary vectors) */
void fr_fraction_parent(u64 (*outp)[4], u64 (*outq)[4], const u64 (*p)[4], const u64 (*q)[4],
                        size_t half, size_t start, size_t end) {
    u64 a[4], b[4];
    for (size_t i = start; i < end; i++) {
        mont_mul(a, p[i], q[half + i]);
        mont_mul(b, p[half + i], q[i]);
        fr_add1(outp[i], a, b);
        mont_mul(outq[i], q[i], q[half + i]);
    }
}

/* *out = sum a[i], canonical 32 bytes */
void fr_sum(unsigned char *out, const u64 (*a)[4], size_t n) {
    u64 acc[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) fr_add1(acc, acc, a[i]);
    to_bytes1(out, acc);
}

/* *out = sum a[i] b[i], canonical 32 bytes */
void fr_dot(unsigned char *out, const u64 (*a)[4], const u64 (*b)[4], size_t n) {
    u64 acc[4] = {0, 0, 0, 0}, t[4];
    for (size_t i = 0; i < n; i++) {
        mont_mul(t, a[i], b[i]);
        fr_add1(acc, acc, t);
    }
    to_bytes1(out, acc);
}

/*
 * out[b] = eq(point, b) = prod_j (point_j b_j + (1 - point_j)(1 - b_j)) for b in {0,1}^nvars,
 * where point_j (canonical 32 bytes each) is the j-th most significant bit of the index b
 * (big-endian, as zkml.field.eq_table). out has 2^nvars entries. Built in place: after
 * binding j coordinates the first 2^j entries hold the table of those; entry i splits into
 * 2i (coordinate 0: v (1 - r) = v - v r) and 2i + 1 (coordinate 1: v r), walking i downward
 * so that no entry is overwritten before it is read.
 */
void fr_eq_table(u64 (*out)[4], const unsigned char *point, size_t nvars) {
    fr_copy(out[0], ONE);
    for (size_t j = 0; j < nvars; j++) {
        u64 r[4], v[4];
        from_bytes1(r, point + 32 * j);
        size_t size = (size_t)1 << j;
        for (size_t i = size; i-- > 0;) {
            fr_copy(v, out[i]);
            mont_mul(out[2 * i + 1], v, r);
            fr_sub1(out[2 * i], v, out[2 * i + 1]);
        }
    }
}

/*
 * One round of the fraction-layer sumcheck (PyFrVec.gkr_round), with the eq factor of the
 * round's own variable taken out (Gruen 2024, "Some improvements for the PIOP for ZeroCheck",
 * §3): E holds eq(rho_rest, x) for the h remaining entries x, p and q have 4 h entries.
 * Halves p0 = p[0, 2h), p1 = p[2h, 4h) (same for q); in each half the round's variable X is
 * the top bit, so the value at X of entry x < h is lo + X (hi - lo), lo = t[x], hi = t[h + x].
 * Writes 3 canonical 32-byte sums  h(X) = sum_x E[x] [p0 q1 + p1 q0 + lam q0 q1](X, x)  for
 * X = 0, 1, 2 (X = 1 only if want_one, else zero), computed as p0 q1 + q0 (p1 + lam q1),
 * over the entries x in [start, end).
 */
static inline void gkr_term(u64 acc[4], const u64 e[4], const u64 p0[4], const u64 p1[4],
                            const u64 q0[4], const u64 q1[4], const u64 lm[4]) {
    u64 t[4], u[4];
    mont_mul(t, lm, q1);
    fr_add1(t, t, p1);           /* p1 + lam q1 */
    mont_mul(t, t, q0);          /* q0 (p1 + lam q1) */
    mont_mul(u, p0, q1);
    fr_add1(t, t, u);
    mont_mul(t, t, e);
    fr_add1(acc, acc, t);
}

void fr_gkr_round(unsigned char *out, const u64 (*E)[4], const u64 (*p)[4],
                  const u64 (*q)[4], const unsigned char *lam, size_t h, int want_one,
                  size_t start, size_t end) {
    /* the sums over x in [start, end) only: threads share a round by ranges of x */
    const size_t half = 2 * h;
    u64 lm[4];
    u64 acc[3][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    from_bytes1(lm, lam);
    for (size_t x = start; x < end; x++) {
        /* p0, p1, q0, q1 at X = 0 (lo), 1 (hi) and 2 (2 hi - lo) */
        const u64 *lo[4] = {p[x], p[half + x], q[x], q[half + x]};
        const u64 *hi[4] = {p[h + x], p[half + h + x], q[h + x], q[half + h + x]};
        u64 two[4][4], d[4];
        for (int k = 0; k < 4; k++) {
            fr_sub1(d, hi[k], lo[k]);
            fr_add1(two[k], hi[k], d);
        }
        gkr_term(acc[0], E[x], lo[0], lo[1], lo[2], lo[3], lm);
        gkr_term(acc[2], E[x], two[0], two[1], two[2], two[3], lm);
        if (want_one) gkr_term(acc[1], E[x], hi[0], hi[1], hi[2], hi[3], lm);
    }
    for (int s = 0; s < 3; s++) to_bytes1(out + 32 * s, acc[s]);
}
