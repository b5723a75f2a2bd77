"""Prover of the lookup argument: LogUp with a GKR proof of the fraction sum (Papini and
Haböck, "Improving logarithmic derivative lookups using GKR", 2023, §3), made zero
knowledge the Hyrax way (every round polynomial and every layer value is committed).

The leaves (circuit.columns) hold p/q = 1/(alpha - looked-up value) for every lookup
entry and -mult(t)/(alpha - T(t)) for every table row; all looked-up values are in the
table (with these multiplicities) iff the leaves sum to zero. Layer k of the tree has 2^k
fractions, layer k+1's halves added pairwise:
    p_k(x) = p_{k+1}(0, x) q_{k+1}(1, x) + p_{k+1}(1, x) q_{k+1}(0, x)
    q_k(x) = q_{k+1}(0, x) q_{k+1}(1, x)
The root p_0 must be 0 (public); q_0 stays committed. Nothing inverse is ever committed:
the cost is one sumcheck per layer instead of an MSM over every looked-up entry.

Memory (the prover's peak for big models; the proof does not depend on any of this). With
n = 2^v leaves (v = circuit.leaf_vars; the real leaves, then padding p/q = 0/1 up to 2^v)
and d = min(VIRTUAL_DEPTH, v):
  * the leaves are never materialized: LookupLeaves computes any range of them from the
    lookups' int64 keys (the padding and p = 1 are constants; a lookup's denominator is
    copied from the table's), CHUNK_LEAVES leaves at a time;
  * the leaves and the d - 1 layers above them (layers v - d + 1 .. v, together 3/4 of the
    tree for d = 2) are never stored: they are recomputed from the leaves, chunk by chunk,
    in every pass that needs them;
  * layers 0 .. v - d (2 * 2^(v-d) fractions in all) are built in one pass and stored;
    layer k + 1 goes to the sumcheck of layer k, which folds it and frees it;
  * the sumcheck of a layer k whose table (layer k + 1) is not stored computes its first s
    rounds in passes over the leaves (in each chunk the table is folded by the rounds done),
    s such that the table folded s times has 2^(v-d) fractions; that one is then kept and
    the remaining rounds fold it as usual.
Peak in field elements (32 bytes; a fraction is 2) per leaf, for d = 2: the stored layers,
1 (2^(v-1) fractions); a folded table with its next fold and eq table, ~0.8; a chunk,
O(CHUNK_LEAVES). Before (leaves and their parent layer materialized): 3. The price is
recomputation: 1 + sum_{e=1..d} (e + 1) passes over the leaves (6 for d = 2) instead of 2,
paid for by not writing (page-faulting) vectors of 2^v entries.
"""
from __future__ import annotations

import numpy as np

from zkml.commitments import pedersen_prover as pedersen   # random_scalar, commit_scalar
from zkml.circuit import Circuit
from zkml.protocols.expr import fraction_layer_terms as layer_terms
from zkml.arith.field import P, eq_eval, inv
from zkml.arith.frvec import FrVec
from zkml.protocols.sumcheck_prover import prove_final, send_round

VIRTUAL_DEPTH = 2          # the leaves and the layers less than this far above them are not stored
CHUNK_LEAVES = 1 << 16     # leaves computed at a time in a pass (2 x 2 MiB: allocations malloc reuses)

Ranges = list[tuple[int, int]]


class LeafVectors:
    """Leaves given as two whole vectors (tests, small proofs)."""

    def __init__(self, p: FrVec, q: FrVec) -> None:
        if len(p) != len(q) or len(p) & (len(p) - 1):
            raise ValueError("the leaves must be two vectors of the same power-of-two length")
        self.p, self.q = p, q
        self.n_vars = len(p).bit_length() - 1

    def ranges(self, ranges: Ranges) -> tuple[FrVec, FrVec]:
        """(p, q) of the leaves start .. stop of each range, concatenated in order."""
        return (FrVec.concat([self.p.slice(a, b) for a, b in ranges]),
                FrVec.concat([self.q.slice(a, b) for a, b in ranges]))


class LookupLeaves:
    """The lookup leaves of a circuit, computed on demand by ranges of leaf indices from
    keys[(group, lookup index)] = (value, aux, kind) int arrays (aux None: zero, a range check)
    and the multiplicities.
    Padding leaves are 0 / 1; a lookup leaf is 1 / (alpha - value - beta aux - beta^2 kind),
    a table leaf -mult / (alpha - T). A lookup entry that is a table row (always, for an honest
    witness) has that row's denominator, which is copied (FrVec.take) instead of computed."""

    def __init__(self, circuit: Circuit, keys: dict, mult: np.ndarray, alpha: int, beta: int) -> None:
        self.n_vars = circuit.leaf_vars
        table = [(circuit.table_value, P - 1), (circuit.table_aux, P - beta), (circuit.table_kind, P - beta * beta % P)]
        self.table_q = FrVec.affine_ints(alpha, table)
        self.table_aux = circuit.table_aux
        ends = sorted(circuit.kind_base.values()) + [circuit.table_real]
        self.kind_rows = {kind: (base, ends[ends.index(base) + 1] - base) for kind, base in circuit.kind_base.items()}
        self.zero_aux = {kind for kind, (base, size) in self.kind_rows.items()     # the range tables
                         if not circuit.table_aux[base:base + size].any()}
        self.blocks = []        # (start, stop, p const, p terms, q const, q terms, (value, aux, kind) or None)
        for col in sorted(circuit.columns, key=lambda c: c.offset):
            if col.group is None:
                entries = len(mult)
                block = (0, [(np.asarray(mult, dtype=np.int64), P - 1)], alpha, table, None)
            else:
                val, aux, kind = keys[(col.group, col.lookup)]
                entries = len(val)
                terms = [(val, P - 1)] + ([(aux, P - beta)] if aux is not None else [])
                block = (1, [], alpha - beta * beta * kind, terms, (val, aux, kind))
            if entries != 1 << col.n_vars:
                raise ValueError(f"lookup column {col.group}/{col.lookup}: {entries} entries, not 2^{col.n_vars}")
            self.blocks.append((col.offset, col.offset + (1 << col.n_vars)) + block)

    def ranges(self, ranges: Ranges) -> tuple[FrVec, FrVec]:
        """(p, q) of the leaves start .. stop of each range, concatenated in order."""
        ps, qs = [], []
        for start, stop in ranges:
            at = start
            for lo, hi, p_const, p_terms, q_const, q_terms, lookup in self.blocks:
                a, b = max(lo, start), min(hi, stop)
                if a >= b:
                    continue
                if a > at:
                    ps.append(FrVec.affine_ints(0, [], a - at))
                    qs.append(FrVec.affine_ints(1, [], a - at))
                ps.append(_affine_part(p_const, p_terms, a - lo, b - lo))
                rows = self._table_rows(lookup, a - lo, b - lo)
                qs.append(self.table_q.take(rows) if rows is not None else _affine_part(q_const, q_terms, a - lo, b - lo))
                at = b
            if stop > at:
                ps.append(FrVec.affine_ints(0, [], stop - at))
                qs.append(FrVec.affine_ints(1, [], stop - at))
        return FrVec.concat(ps), FrVec.concat(qs)

    def _table_rows(self, lookup: tuple | None, a: int, b: int) -> np.ndarray | None:
        """The table rows that entries a .. b of a column are (the table column: its own
        rows), or None if one of them is not a table row (a cheating prover's witness)."""
        if lookup is None:
            return np.arange(a, b)
        val, aux, kind = lookup
        base, size = self.kind_rows[kind]
        val = val[a:b]
        if val.min() < 0 or val.max() >= size:
            return None
        rows = base + val
        if aux is None:
            return rows if kind in self.zero_aux else None
        return rows if np.array_equal(self.table_aux[rows], aux[a:b]) else None


def _affine_part(const: int, terms: list, a: int, b: int) -> FrVec:
    """const + sum coef * values[a:b] (FrVec.affine_ints)."""
    return FrVec.affine_ints(const, [(v[a:b], c) for v, c in terms], b - a)


class _Tree:
    """The layers of the fraction tree (layer k: 2^k fractions; layer n_vars: the leaves),
    stored for 0 .. top (built in one pass over the leaves), read by ranges from the leaves for
    the others."""

    def __init__(self, leaves, top: int, chunk: int) -> None:
        self.leaves, self.n_vars = leaves, leaves.n_vars
        self.stored: dict[int, tuple[FrVec, FrVec]] = {}
        size = 1 << top
        p, q = FrVec.affine_ints(0, [], size), FrVec.affine_ints(0, [], size)
        step = 1 << _log2_at_most(chunk >> (self.n_vars - top), top)
        for a in range(0, size, step):
            cp, cq = self.ranges(top, [(a, a + step)])
            p.write(a, cp)
            q.write(a, cq)
        self.stored[top] = (p, q)
        for k in range(top - 1, -1, -1):
            self.stored[k] = FrVec.fraction_parent(*self.stored[k + 1])

    def ranges(self, k: int, ranges: Ranges) -> tuple[FrVec, FrVec]:
        """(p, q) of layer k on each range, concatenated in order. Entry x of layer k combines
        the leaves x + t 2^k, t < 2^(n_vars - k): gathered t-major, the pairwise parents of
        halves (FrVec.fraction_parent) n_vars - k times give the ranges of layer k."""
        depth = self.n_vars - k
        p, q = self.leaves.ranges([((t << k) + a, (t << k) + b) for t in range(1 << depth) for a, b in ranges])
        for _ in range(depth):
            p, q = FrVec.fraction_parent(p, q)
        return p, q

    def pop(self, k: int) -> tuple[FrVec, FrVec] | None:
        """Stored layer k, forgotten by the tree (None if it is not stored)."""
        return self.stored.pop(k, None)


def prove_fraction_sum(ch, leaves, label: str, rng=None, virtual_depth: int | None = None,
                       chunk: int | None = None) -> tuple[list[int], tuple[int, int], tuple[int, int]]:
    """Proves sum p/q = 0 over the leaves (LookupLeaves or LeafVectors: n_vars and ranges()).
    Returns the leaf point r and (value, blind) of the commitments to p~(r) and q~(r), which
    the caller ties to the committed tensors. virtual_depth and chunk (default: the module's
    VIRTUAL_DEPTH and CHUNK_LEAVES) set the memory (module docstring), never the proof."""
    virtual_depth = VIRTUAL_DEPTH if virtual_depth is None else virtual_depth
    chunk = CHUNK_LEAVES if chunk is None else chunk
    v = leaves.n_vars
    top = v - min(virtual_depth, v)
    tree = _Tree(leaves, top, chunk)
    q_root = int(tree.pop(0)[1].to_ints()[0])
    claim_p, claim_q = (0, 0), (q_root, pedersen.random_scalar(rng))
    ch.send_point(f"{label}/root_q", pedersen.commit_scalar(*claim_q))
    point: list[int] = []
    for k in range(v):
        lab = f"{label}/layer{k}"
        lam = ch.challenge(lab + "/lambda")
        claim = (claim_p[0] + lam * claim_q[0]) % P
        blind = (claim_p[1] + lam * claim_q[1]) % P
        table = tree.pop(k + 1)
        streamed = 0 if table is not None else min(k, k + 1 - top)
        rs, eq_done = [], 1          # eq(rho_i, r_i) over the rounds done
        for rnd in range(k):
            # s(X) = eq_done * eq(rho_rnd, X) * h(X), h of degree 2 (Gruen 2024, §3)
            rho_j = point[rnd]
            scale = eq_done * rho_j % P
            if rnd < streamed:
                h0, h1, h2 = _streamed_round(tree, k, point, rs, lam, scale == 0, chunk)
            else:
                if table is None:
                    table = _folded_table(tree, k, rs, chunk)
                h0, h1, h2 = FrVec.gkr_round(FrVec.eq_table(point[rnd + 1:]), *table, lam, want_one=scale == 0)
            if h1 is None:           # from s(0) + s(1) = claim
                h1 = (claim * inv(scale) - h0 * (1 - rho_j) * inv(rho_j)) % P
            h3 = (h0 - 3 * h1 + 3 * h2) % P
            lin = [(1 - rho_j) * (1 - x) + rho_j * x for x in (0, 2, 3)]
            evals = [eq_done * lin[0] * h0 % P, None, eq_done * lin[1] * h2 % P, eq_done * lin[2] * h3 % P]
            r, claim, blind = send_round(ch, evals, claim, blind, f"{lab}/round{rnd}", rng)
            rs.append(r)
            eq_done = eq_done * ((1 - rho_j) * (1 - r) + rho_j * r) % P
            if table is not None:
                table = (table[0].fold_halves(r), table[1].fold_halves(r))
        if table is None:
            table = _folded_table(tree, k, rs, chunk)
        p0, p1 = (int(x) for x in table[0].to_ints())
        q0, q1 = (int(x) for x in table[1].to_ints())
        del table
        evals = prove_final(ch, layer_terms(lam), {"p0": p0, "p1": p1, "q0": q0, "q1": q1},
                            {"eq": eq_done}, claim, blind, lab, rng)
        mu = ch.challenge(lab + "/mu")
        claim_p = _line(evals["p0"], evals["p1"], mu)
        claim_q = _line(evals["q0"], evals["q1"], mu)
        point = [mu] + rs
    return point, claim_p, claim_q


def _bound_ranges(tree: _Tree, k: int, rs: list[int], free_vars: int, a: int, m: int) -> tuple[FrVec, FrVec]:
    """Entries a .. a + m of the last variables of layer k + 1's table with the variables
    after the child bit bound to rs, for every value of the child bit and of the free_vars
    variables after those (in index order): one chunk of the folded table."""
    rest = k - len(rs) - free_vars         # variables of the table after the free ones
    p, q = tree.ranges(k + 1, [((i << rest) + a, (i << rest) + a + m)
                               for i in range(1 << (1 + len(rs) + free_vars))])
    for r in rs:
        p, q = p.fold_halves(r), q.fold_halves(r)
    return p, q


def _chunk_len(tree: _Tree, k: int, tables: int, rest_vars: int, chunk: int) -> int:
    """Entries per range when tables ranges of layer k + 1 are read at a time: about chunk
    leaves in all, a power of two dividing 2^rest_vars."""
    return 1 << _log2_at_most(chunk // (tables << (tree.n_vars - k - 1)), rest_vars)


def _log2_at_most(x: int, cap: int) -> int:
    """The largest e <= cap with 2^e <= max(x, 1)."""
    return max(0, min(cap, x.bit_length() - 1))


def _streamed_round(tree: _Tree, k: int, point: list[int], rs: list[int], lam: int, want_one: bool,
                    chunk: int) -> tuple[int, int | None, int]:
    """FrVec.gkr_round of round len(rs) of layer k, the table (layer k + 1, not stored) read
    in chunks and folded by the rounds done; the eq table is made per chunk from the weight
    of the chunk's top variables."""
    rnd = len(rs)
    rest_vars = k - 1 - rnd
    m = _chunk_len(tree, k, 1 << (rnd + 2), rest_vars, chunk)
    low = FrVec.eq_table(point[len(point) - (m.bit_length() - 1):])
    high = point[rnd + 1:len(point) - (m.bit_length() - 1)]
    sums = [0, 0, 0]
    for a in range(0, 1 << rest_vars, m):
        bits = [(a // m >> (len(high) - 1 - j)) & 1 for j in range(len(high))]
        p, q = _bound_ranges(tree, k, rs, 1, a, m)
        h = FrVec.gkr_round(low.scale(eq_eval(high, bits)), p, q, lam, want_one=want_one)
        sums = [(s + (x or 0)) % P for s, x in zip(sums, h)]
    return sums[0], sums[1] if want_one else None, sums[2]


def _folded_table(tree: _Tree, k: int, rs: list[int], chunk: int) -> tuple[FrVec, FrVec]:
    """Layer k + 1's table (not stored) with the variables after the child bit bound to rs,
    built in chunks."""
    rest_vars = k - len(rs)
    half = 1 << rest_vars
    m = _chunk_len(tree, k, 1 << (len(rs) + 1), rest_vars, chunk)
    p, q = FrVec.affine_ints(0, [], 2 * half), FrVec.affine_ints(0, [], 2 * half)
    for a in range(0, half, m):
        cp, cq = _bound_ranges(tree, k, rs, 0, a, m)
        for out, part in ((p, cp), (q, cq)):
            out.write(a, part.slice(0, m))
            out.write(half + a, part.slice(m, 2 * m))
    return p, q


def _line(at0: tuple[int, int], at1: tuple[int, int], mu: int) -> tuple[int, int]:
    """(value, blind) of f(mu) = (1 - mu) f(0) + mu f(1) for a committed pair."""
    return tuple(((1 - mu) * a + mu * b) % P for a, b in zip(at0, at1))
