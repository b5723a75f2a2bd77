/*
 * g1.c -- multi-scalar multiplication on BLS12-381 G1 with small signed integer scalars
 * (the prover's Pedersen row commitments) or full 256-bit scalars (its dot-product arguments) (zkml/g1_native.py is the Python side; the
 * py_arkworks_bls12381 binding's multiexp, and the pure-Python py_ecc backend, are the
 * references it is tested against). Built into the same shared library as fr.c.
 *
 * Representation
 *   An element a of Fq (q below, 381 bits) is stored in Montgomery form aR mod q with
 *   R = 2^384, as 6 x uint64 little-endian limbs (limb 0 least significant), always fully
 *   reduced (< q). Coordinates cross the boundary in canonical form as 48-byte BIG-endian
 *   integers (the ZCash/arkworks "xy" encoding: a point is x || y, 96 bytes, and the
 *   identity is 96 zero bytes).
 *   A prepared base is an affine point (x, y) in Montgomery form, 12 x uint64 (x then y);
 *   (0, 0) -- not on the curve y^2 = x^3 + 4 -- stands for the identity.
 *   Accumulators are Jacobian points (X, Y, Z) with x = X / Z^2, y = Y / Z^3; Z = 0 is the
 *   identity (whatever X and Y are).
 *
 * Montgomery multiplication (CIOS), exactly as in fr.c with 6 limbs:
 *   mont_mul(a, b) = a b R^-1 mod q for a < q, b < 2^384. Each of the 6 rounds computes
 *   t = (t + a b[i] + m q) / 2^64 with m = t[0] * NINV mod 2^64 (NINV = -q^-1 mod 2^64).
 *   If t < 2q before a round, then after it t < (2q + 2 (2^64 - 1) q) / 2^64 < 2q, and
 *   2q < 2^382, so the top limb (the sum of the two carry words) cannot overflow. One
 *   conditional subtraction of q at the end gives the reduced result. Conversion in is
 *   mont_mul(R^2, x), conversion out mont_mul(x, 1). Since q < 2^381, a + b < 2^382 for
 *   reduced a, b: additions never carry out of limb 5.
 *
 * Point formulas (short Weierstrass, a = 0; from the Explicit-Formulas Database):
 *   doubling dbl-2009-l, mixed addition madd-2007-bl, addition add-2007-bl. The generic
 *   formulas fail when both inputs are the same point (H = 0, r = 0: must double) or
 *   opposite points (H = 0, r != 0: the identity), and for identity inputs; each function
 *   below checks these cases first, so all of them are correct for every input.
 *
 * MSM (Pippenger's bucket method, signed digits)
 *   With window width c, |s| is written in digits d_w in [-2^(c-1) + 1, 2^(c-1)] (a digit
 *   above 2^(c-1) becomes d - 2^c with a carry into the next window), so each window needs
 *   only 2^(c-1) buckets; the sign of the digit times the sign of s decides whether P or -P
 *   (y negated) is added to bucket |d|. Window w's sum is sum_k k B_k (running sums from
 *   the top bucket down), and the result is sum_w 2^(c w) W_w (Horner, c doublings per
 *   window). c is chosen from the number of nonzero scalars and the largest bit length by a
 *   simple cost model; for 1-bit scalars c = 1: one bucket, i.e. plain additions.
 *
 * Not constant time (branches on scalars and on the special cases of the formulas): it
 * commits to the prover's own witness, processed once; do not reuse it for secrets that an
 * attacker can time.
 */
#include "limbs.h"
#include <stdlib.h>
#include <string.h>

#define G1_ABI_VERSION 2
#define G1_OK 0
#define G1_IDENTITY 1         /* msm: the result is the identity (output zeroed) */
#define G1_ERR_RANGE 2        /* prepare: a coordinate is >= q */
#define G1_ERR_NOT_ON_CURVE 3 /* prepare: (x, y) is not on y^2 = x^3 + 4 (and not (0, 0)) */
#define G1_ERR_SCALAR 4       /* msm: some |scalar| >= 2^62 */
#define G1_ERR_NOMEM 5
#define G1_ERR_INTERNAL 6

#define NL 6
#define SCALAR_LIMIT ((int64_t)1 << 62)

typedef struct { u64 v[NL]; } fq;
typedef struct { fq x, y; } g1_aff;     /* prepared base; (0, 0) is the identity */
typedef struct { fq X, Y, Z; } g1_jac;  /* Z = 0 is the identity */

/* q = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab */
static const fq Q = {{0xb9feffffffffaaabULL, 0x1eabfffeb153ffffULL, 0x6730d2a0f6b0f624ULL,
                      0x64774b84f38512bfULL, 0x4b1ba7b6434bacd7ULL, 0x1a0111ea397fe69aULL}};
/* R^2 mod q, R = 2^384 */
static const fq R2 = {{0xf4df1f341c341746ULL, 0x0a76e6a609d104f1ULL, 0x8de5476c4c95b6d5ULL,
                       0x67eb88a9939d83c0ULL, 0x9a793e85b519952dULL, 0x11988fe592cae3aaULL}};
/* R mod q: 1 in Montgomery form */
static const fq ONE = {{0x760900000002fffdULL, 0xebf4000bc40c0002ULL, 0x5f48985753c758baULL,
                        0x77ce585370525745ULL, 0x5c071a97a256ec6dULL, 0x15f65ec3fa80e493ULL}};
/* 4R mod q: the curve constant b = 4 in Montgomery form */
static const fq B4 = {{0xaa270000000cfff3ULL, 0x53cc0032fc34000aULL, 0x478fe97a6b0a807fULL,
                       0xb1d37ebee6ba24d7ULL, 0x8ec9733bbf78ab2fULL, 0x09d645513d83de7eULL}};
/* -q^-1 mod 2^64 */
static const u64 NINV = 0x89f3fffcfffcfffdULL;

/* ---- Fq --------------------------------------------------------------------------------- */

static inline int fq_is_zero(const fq *a) {
    return (a->v[0] | a->v[1] | a->v[2] | a->v[3] | a->v[4] | a->v[5]) == 0;
}

static inline int fq_eq(const fq *a, const fq *b) {
    u64 d = 0;
    for (int k = 0; k < NL; k++) d |= a->v[k] ^ b->v[k];
    return d == 0;
}

/* r = t - q if t >= q else t, for t < 2q (branch-free select) */
static inline void reduce_once(fq *r, const u64 t[NL]) {
    u64 s[NL], borrow = 0;
    for (int k = 0; k < NL; k++) s[k] = sbb(t[k], Q.v[k], &borrow);
    const u64 keep_t = (u64)0 - borrow; /* all ones if t < q */
    for (int k = 0; k < NL; k++) r->v[k] = (t[k] & keep_t) | (s[k] & ~keep_t);
}

/* r = a b R^-1 mod q for a < q, b < 2^384 (see the top of the file); r may alias a or b */
static inline void fq_mul(fq *r, const fq *a, const fq *b) {
    u64 t[NL] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < NL; i++) {
        const u64 bi = b->v[i];
        u64 A = 0, C = 0, m;
        t[0] = mac(t[0], a->v[0], bi, &A);
        m = t[0] * NINV;
        mac(t[0], m, Q.v[0], &C);               /* low limb becomes 0: keep the carry */
        for (int j = 1; j < NL; j++) {
            t[j] = mac(t[j], a->v[j], bi, &A);
            t[j - 1] = mac(t[j], m, Q.v[j], &C); /* the / 2^64 shift */
        }
        t[NL - 1] = A + C;                      /* no overflow: t < 2q < 2^382 */
    }
    reduce_once(r, t);
}

static inline void fq_sqr(fq *r, const fq *a) { fq_mul(r, a, a); }

/* r = a + b mod q (a + b < 2q < 2^384: no carry out of limb 5); r may alias */
static inline void fq_add(fq *r, const fq *a, const fq *b) {
    u64 t[NL], c = 0;
    for (int k = 0; k < NL; k++) t[k] = adc(a->v[k], b->v[k], &c);
    reduce_once(r, t);
}

/* r = a - b mod q: subtract, add q back if it borrowed (branch-free); r may alias */
static inline void fq_sub(fq *r, const fq *a, const fq *b) {
    u64 t[NL], borrow = 0, c = 0;
    for (int k = 0; k < NL; k++) t[k] = sbb(a->v[k], b->v[k], &borrow);
    const u64 mask = (u64)0 - borrow;
    for (int k = 0; k < NL; k++) r->v[k] = adc(t[k], Q.v[k] & mask, &c);
}

static inline void fq_dbl(fq *r, const fq *a) { fq_add(r, a, a); }

static inline void fq_neg(fq *r, const fq *a) {
    static const fq zero = {{0, 0, 0, 0, 0, 0}};
    fq_sub(r, &zero, a);
}

/* a^-1 = a^(q-2) (Fermat); the inverse of 0 comes out as 0 */
static void fq_inv(fq *r, const fq *a) {
    fq e = Q, acc = ONE;
    e.v[0] -= 2; /* Q.v[0] >= 2: no borrow */
    for (int i = 64 * NL - 1; i >= 0; i--) {
        fq_sqr(&acc, &acc);
        if ((e.v[i / 64] >> (i % 64)) & 1) fq_mul(&acc, &acc, a);
    }
    *r = acc;
}

/* 48-byte big-endian integer -> Montgomery form; returns 0 (r untouched) if it is >= q */
static int fq_from_be(fq *r, const uint8_t *b) {
    fq x;
    for (int k = 0; k < NL; k++) {
        u64 v = 0;
        const uint8_t *p = b + 8 * (NL - 1 - k); /* limb k = bytes [40 - 8k, 48 - 8k) */
        for (int j = 0; j < 8; j++) v = (v << 8) | p[j];
        x.v[k] = v;
    }
    u64 borrow = 0;
    for (int k = 0; k < NL; k++) sbb(x.v[k], Q.v[k], &borrow);
    if (!borrow) return 0; /* x - q did not borrow: x >= q */
    fq_mul(r, &R2, &x);
    return 1;
}

static void fq_to_be(uint8_t *b, const fq *a) {
    static const fq one_canonical = {{1, 0, 0, 0, 0, 0}};
    fq x;
    fq_mul(&x, a, &one_canonical);
    for (int k = 0; k < NL; k++) {
        uint8_t *p = b + 8 * (NL - 1 - k);
        for (int j = 0; j < 8; j++) p[j] = (uint8_t)(x.v[k] >> (56 - 8 * j));
    }
}

/* ---- points ------------------------------------------------------------------------------ */

static inline int jac_is_identity(const g1_jac *p) { return fq_is_zero(&p->Z); }
static inline int aff_is_identity(const g1_aff *a) { return fq_is_zero(&a->x) && fq_is_zero(&a->y); }

static inline void jac_set_identity(g1_jac *p) { memset(p, 0, sizeof *p); }

static inline void jac_from_aff(g1_jac *r, const g1_aff *a) {
    if (aff_is_identity(a)) { jac_set_identity(r); return; }
    r->X = a->x; r->Y = a->y; r->Z = ONE;
}

/* r = 2 p (dbl-2009-l); r may alias p. The identity stays the identity (Z3 = 2 Y Z = 0). */
static void jac_dbl(g1_jac *r, const g1_jac *p) {
    if (jac_is_identity(p)) { jac_set_identity(r); return; }
    fq A, B, C, D, E, F, t;
    fq_sqr(&A, &p->X);            /* A = X^2 */
    fq_sqr(&B, &p->Y);            /* B = Y^2 */
    fq_sqr(&C, &B);               /* C = B^2 */
    fq_add(&t, &p->X, &B);
    fq_sqr(&t, &t);
    fq_sub(&t, &t, &A);
    fq_sub(&t, &t, &C);
    fq_dbl(&D, &t);               /* D = 2 ((X + B)^2 - A - C) */
    fq_dbl(&E, &A);
    fq_add(&E, &E, &A);           /* E = 3 A */
    fq_sqr(&F, &E);               /* F = E^2 */
    fq Z3;
    fq_mul(&Z3, &p->Y, &p->Z);
    fq_dbl(&Z3, &Z3);             /* Z3 = 2 Y Z (before Y is overwritten) */
    fq X3;
    fq_dbl(&t, &D);
    fq_sub(&X3, &F, &t);          /* X3 = F - 2 D */
    fq Y3;
    fq_sub(&t, &D, &X3);
    fq_mul(&Y3, &E, &t);
    fq_dbl(&C, &C);
    fq_dbl(&C, &C);
    fq_dbl(&C, &C);               /* 8 C */
    fq_sub(&Y3, &Y3, &C);         /* Y3 = E (D - X3) - 8 C */
    r->X = X3; r->Y = Y3; r->Z = Z3;
}

/* r = p + a, a affine (madd-2007-bl); r may alias p. All cases. */
static void jac_add_aff(g1_jac *r, const g1_jac *p, const g1_aff *a) {
    if (aff_is_identity(a)) { if (r != p) *r = *p; return; }
    if (jac_is_identity(p)) { jac_from_aff(r, a); return; }
    fq Z1Z1, U2, S2, H, HH, I, J, rr, V, t;
    fq_sqr(&Z1Z1, &p->Z);
    fq_mul(&U2, &a->x, &Z1Z1);    /* U2 = x2 Z1^2 */
    fq_mul(&S2, &a->y, &p->Z);
    fq_mul(&S2, &S2, &Z1Z1);      /* S2 = y2 Z1^3 */
    fq_sub(&H, &U2, &p->X);       /* H = U2 - X1 */
    fq_sub(&rr, &S2, &p->Y);      /* r / 2 = S2 - Y1 */
    if (fq_is_zero(&H)) {
        if (fq_is_zero(&rr)) { jac_dbl(r, p); return; }  /* p == a */
        jac_set_identity(r); return;                      /* p == -a */
    }
    fq_dbl(&rr, &rr);             /* r = 2 (S2 - Y1) */
    fq_sqr(&HH, &H);
    fq_dbl(&I, &HH);
    fq_dbl(&I, &I);               /* I = 4 HH */
    fq_mul(&J, &H, &I);           /* J = H I */
    fq_mul(&V, &p->X, &I);        /* V = X1 I */
    fq X3, Y3, Z3;
    fq_sqr(&X3, &rr);
    fq_sub(&X3, &X3, &J);
    fq_dbl(&t, &V);
    fq_sub(&X3, &X3, &t);         /* X3 = r^2 - J - 2 V */
    fq_sub(&t, &V, &X3);
    fq_mul(&Y3, &rr, &t);
    fq_mul(&t, &p->Y, &J);
    fq_dbl(&t, &t);
    fq_sub(&Y3, &Y3, &t);         /* Y3 = r (V - X3) - 2 Y1 J */
    fq_add(&Z3, &p->Z, &H);
    fq_sqr(&Z3, &Z3);
    fq_sub(&Z3, &Z3, &Z1Z1);
    fq_sub(&Z3, &Z3, &HH);        /* Z3 = (Z1 + H)^2 - Z1Z1 - HH = 2 Z1 H */
    r->X = X3; r->Y = Y3; r->Z = Z3;
}

/* r = p + s (add-2007-bl); r may alias p or s. All cases. */
static void jac_add(g1_jac *r, const g1_jac *p, const g1_jac *s) {
    if (jac_is_identity(s)) { if (r != p) *r = *p; return; }
    if (jac_is_identity(p)) { if (r != s) *r = *s; return; }
    fq Z1Z1, Z2Z2, U1, U2, S1, S2, H, I, J, rr, V, t;
    fq_sqr(&Z1Z1, &p->Z);
    fq_sqr(&Z2Z2, &s->Z);
    fq_mul(&U1, &p->X, &Z2Z2);
    fq_mul(&U2, &s->X, &Z1Z1);
    fq_mul(&S1, &p->Y, &s->Z);
    fq_mul(&S1, &S1, &Z2Z2);      /* S1 = Y1 Z2^3 */
    fq_mul(&S2, &s->Y, &p->Z);
    fq_mul(&S2, &S2, &Z1Z1);      /* S2 = Y2 Z1^3 */
    fq_sub(&H, &U2, &U1);
    fq_sub(&rr, &S2, &S1);
    if (fq_is_zero(&H)) {
        if (fq_is_zero(&rr)) { jac_dbl(r, p); return; }  /* p == s */
        jac_set_identity(r); return;                      /* p == -s */
    }
    fq_dbl(&rr, &rr);             /* r = 2 (S2 - S1) */
    fq_dbl(&I, &H);
    fq_sqr(&I, &I);               /* I = (2 H)^2 */
    fq_mul(&J, &H, &I);
    fq_mul(&V, &U1, &I);
    fq X3, Y3, Z3;
    fq_sqr(&X3, &rr);
    fq_sub(&X3, &X3, &J);
    fq_dbl(&t, &V);
    fq_sub(&X3, &X3, &t);         /* X3 = r^2 - J - 2 V */
    fq_sub(&t, &V, &X3);
    fq_mul(&Y3, &rr, &t);
    fq_mul(&t, &S1, &J);
    fq_dbl(&t, &t);
    fq_sub(&Y3, &Y3, &t);         /* Y3 = r (V - X3) - 2 S1 J */
    fq_add(&Z3, &p->Z, &s->Z);
    fq_sqr(&Z3, &Z3);
    fq_sub(&Z3, &Z3, &Z1Z1);
    fq_sub(&Z3, &Z3, &Z2Z2);
    fq_mul(&Z3, &Z3, &H);         /* Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H = 2 Z1 Z2 H */
    r->X = X3; r->Y = Y3; r->Z = Z3;
}

/* affine coordinates of p (Montgomery form); returns 0 for the identity (a zeroed) */
static int jac_to_aff(g1_aff *a, const g1_jac *p) {
    if (jac_is_identity(p)) { memset(a, 0, sizeof *a); return 0; }
    fq zi, zi2, zi3;
    fq_inv(&zi, &p->Z);
    fq_sqr(&zi2, &zi);
    fq_mul(&zi3, &zi2, &zi);
    fq_mul(&a->x, &p->X, &zi2);
    fq_mul(&a->y, &p->Y, &zi3);
    return 1;
}

/* ---- MSM ------------------------------------------------------------------------------- */

/* windows needed for bits-bit magnitudes with width c: c = 1 never carries (plain binary);
 * otherwise the carry out of the top bit needs room: ceil((bits + 1) / c) */
static int n_windows(int bits, int c) {
    return c == 1 ? bits : (bits + c) / c;
}

/* window width minimising a rough operation count: per window, one mixed addition per
 * nonzero scalar and two Jacobian additions (~1.4 mixed ones each) per bucket, plus the
 * doublings between windows (~0.7) */
static int choose_window(size_t nnz, int bits) {
    int best_c = 1;
    double best = -1.0;
    for (int c = 1; c <= 16; c++) {
        double w = n_windows(bits, c);
        double buckets = (double)((u64)1 << (c - 1));
        double cost = w * ((double)nnz + 2.8 * (buckets - 1)) + 0.7 * w * c;
        if (best < 0 || cost < best) { best = cost; best_c = c; }
    }
    return best_c;
}

int g1_abi_version(void) { return G1_ABI_VERSION; }

/*
 * Converts n affine points (96 bytes each: x || y, 48-byte big-endian) to prepared bases
 * (n x 12 uint64: x, y in Montgomery form). 96 zero bytes is the identity. Returns G1_OK,
 * or G1_ERR_RANGE if some coordinate is >= q, or G1_ERR_NOT_ON_CURVE (out is then
 * partially written). Subgroup membership is not checked: the caller vouches for it.
 */
int g1_prepare(const uint8_t *xy_be, size_t n, u64 *out) {
    g1_aff *o = (g1_aff *)out;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = xy_be + 96 * i;
        g1_aff a;
        if (!fq_from_be(&a.x, p) || !fq_from_be(&a.y, p + 48)) return G1_ERR_RANGE;
        if (!aff_is_identity(&a)) {
            fq lhs, rhs;
            fq_sqr(&lhs, &a.y);
            fq_sqr(&rhs, &a.x);
            fq_mul(&rhs, &rhs, &a.x);
            fq_add(&rhs, &rhs, &B4);
            if (!fq_eq(&lhs, &rhs)) return G1_ERR_NOT_ON_CURVE;
        }
        o[i] = a;
    }
    return G1_OK;
}

/* Magnitudes of up to 256 bits as 4 little-endian 64-bit limbs. */
#define ML 4
typedef struct { u64 v[ML]; } mag256;

/* bits [shift, shift + c) of m, c <= 16 */
static inline u64 mag_window(const mag256 *m, int shift, int c) {
    const int limb = shift >> 6, off = shift & 63;
    if (limb >= ML) return 0;
    u64 v = m->v[limb] >> off;
    if (off + c > 64 && limb + 1 < ML) v |= m->v[limb + 1] << (64 - off);
    return v & (((u64)1 << c) - 1);
}

/*
 * The bucket method over nnz nonzero magnitudes mag[k] (at most `bits` bits) of the bases
 * idx[k], each negated when neg[k]; writes the affine result to out_xy_be (zeroed first).
 */
static int msm_core(const g1_aff *bases, const size_t *idx, const mag256 *mag, const unsigned char *neg,
                    size_t nnz, int bits, uint8_t *out_xy_be) {
    memset(out_xy_be, 0, 96);
    if (nnz == 0) return G1_IDENTITY;
    const int c = choose_window(nnz, bits);
    const int nwin = n_windows(bits, c);
    const size_t nbuckets = (size_t)1 << (c - 1);
    const int64_t half = (int64_t)1 << (c - 1), full = (int64_t)1 << c;
    unsigned char *carry = calloc(nnz, 1);
    g1_jac *buckets = malloc(nbuckets * sizeof *buckets);
    g1_jac *wsum = malloc((size_t)nwin * sizeof *wsum);
    int rc = G1_OK;
    if (!carry || !buckets || !wsum) { rc = G1_ERR_NOMEM; goto done; }
    for (int w = 0; w < nwin; w++) {
        const int shift = c * w;
        for (size_t b = 0; b < nbuckets; b++) jac_set_identity(&buckets[b]);
        for (size_t k = 0; k < nnz; k++) {
            int64_t d = (int64_t)mag_window(&mag[k], shift, c) + carry[k];
            if (d > half) { d -= full; carry[k] = 1; } else carry[k] = 0;
            if (d == 0) continue;
            const size_t i = idx[k];
            g1_jac *bk = &buckets[(d < 0 ? -d : d) - 1];
            if ((d < 0) != (neg[k] != 0)) {
                g1_aff m;
                m.x = bases[i].x;
                fq_neg(&m.y, &bases[i].y);
                jac_add_aff(bk, bk, &m);
            } else {
                jac_add_aff(bk, bk, &bases[i]);
            }
        }
        /* wsum[w] = sum_b (b + 1) buckets[b]: running sums from the top bucket down */
        g1_jac running, total;
        jac_set_identity(&running);
        jac_set_identity(&total);
        for (size_t b = nbuckets; b-- > 0;) {
            jac_add(&running, &running, &buckets[b]);
            jac_add(&total, &total, &running);
        }
        wsum[w] = total;
    }
    for (size_t k = 0; k < nnz; k++)
        if (carry[k]) { rc = G1_ERR_INTERNAL; goto done; } /* cannot happen: see n_windows */
    {
        g1_jac acc = wsum[nwin - 1];
        for (int w = nwin - 2; w >= 0; w--) {
            for (int j = 0; j < c; j++) jac_dbl(&acc, &acc);
            jac_add(&acc, &acc, &wsum[w]);
        }
        g1_aff a;
        if (!jac_to_aff(&a, &acc)) {
            rc = G1_IDENTITY;
        } else {
            fq_to_be(out_xy_be, &a.x);
            fq_to_be(out_xy_be + 48, &a.y);
        }
    }
done:
    free(carry); free(buckets); free(wsum);
    return rc;
}

static int bit_length(const mag256 *m) {
    for (int l = ML - 1; l >= 0; l--)
        if (m->v[l]) return 64 * l + 64 - __builtin_clzll(m->v[l]);
    return 0;
}

/*
 * out = sum scalars[i] P_i over n prepared bases, |scalars[i]| < 2^62. Writes the affine
 * result (96 bytes, x || y big-endian) and returns G1_OK, or zeroes out and returns
 * G1_IDENTITY; G1_ERR_SCALAR / G1_ERR_NOMEM / G1_ERR_INTERNAL (out zeroed) on failure.
 */
int g1_msm_small(const u64 *prepared, const int64_t *scalars, size_t n, uint8_t *out_xy_be) {
    const g1_aff *bases = (const g1_aff *)prepared;
    memset(out_xy_be, 0, 96);
    for (size_t i = 0; i < n; i++)
        if (scalars[i] >= SCALAR_LIMIT || scalars[i] <= -SCALAR_LIMIT) return G1_ERR_SCALAR;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    mag256 *mag = malloc((n ? n : 1) * sizeof *mag);
    unsigned char *neg = malloc(n ? n : 1);
    if (!idx || !mag || !neg) { free(idx); free(mag); free(neg); return G1_ERR_NOMEM; }
    size_t nnz = 0;
    u64 all = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t s = scalars[i];
        if (s == 0 || aff_is_identity(&bases[i])) continue;
        idx[nnz] = i;
        memset(&mag[nnz], 0, sizeof mag[nnz]);
        mag[nnz].v[0] = (u64)(s < 0 ? -s : s);
        neg[nnz] = s < 0;
        all |= mag[nnz].v[0];
        nnz++;
    }
    const int rc = msm_core(bases, idx, mag, neg, nnz, all ? 64 - __builtin_clzll(all) : 0, out_xy_be);
    free(idx); free(mag); free(neg);
    return rc;
}

/*
 * out = sum scalars[i] P_i for nonnegative scalars of up to 256 bits, each given as 4 uint64
 * limbs, least significant first (scalars: n x 4). Same output and return codes as
 * g1_msm_small (G1_ERR_SCALAR is never returned).
 */
int g1_msm_full(const u64 *prepared, const u64 *scalars, size_t n, uint8_t *out_xy_be) {
    const g1_aff *bases = (const g1_aff *)prepared;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    mag256 *mag = malloc((n ? n : 1) * sizeof *mag);
    unsigned char *neg = calloc(n ? n : 1, 1);
    if (!idx || !mag || !neg) { free(idx); free(mag); free(neg); memset(out_xy_be, 0, 96); return G1_ERR_NOMEM; }
    size_t nnz = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const mag256 *m = (const mag256 *)(scalars + ML * i);
        const int b = bit_length(m);
        if (b == 0 || aff_is_identity(&bases[i])) continue;
        idx[nnz] = i;
        mag[nnz] = *m;
        if (b > bits) bits = b;
        nnz++;
    }
    const int rc = msm_core(bases, idx, mag, neg, nnz, bits, out_xy_be);
    free(idx); free(mag); free(neg);
    return rc;
}
