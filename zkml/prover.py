"""The prover: computes the witness of the whole-batch integer inference and runs the
protocol of docs/protocol.md. Mirrors verifier.py message for message."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from zkml.commitments import hyrax, hyrax_prover, pedersen, pedersen_prover
from zkml.protocols.channel_prover import ProverChannel
from zkml.protocols import logup_prover
from zkml.circuit import (LIMB_BITS, Q_OFFSET, Circuit, linear_relations, needs_zero_check,
                      padded_inputs, zero_check_terms)
from zkml.formats.opening import load_opening, padded_model_tensors, zero_model_of
from zkml.errors import ZkmlError
from zkml.protocols.expr import Term, aff
from zkml.arith.field import P, eq_table
from zkml.arith.frvec import FrVec, evaluate_tensor, evaluate_tensors
from zkml.layers import avgpool, maxpool, step
from zkml.formats.model import QuantizedModel
from zkml.arith.curve import get_backend
from zkml.formats.proof import Proof, ShardedProof, ShardPart, file_version, sharded_file_version
from zkml.protocols.sigma_prover import prove_zero
from zkml.statement import Shard, start_transcript, statement_digests
from zkml.protocols.sumcheck_prover import prove_sumcheck
from zkml.protocols.reduction_prover import prove_witness_reduction


def compute_witness(circuit: Circuit, model: QuantizedModel, x_int: np.ndarray,
                    labels: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    """All committed tensors (flattened int64, in their padded layouts) and the correct count K.
    Padded samples run through the model like real ones (zero inputs)."""
    wit = dict(padded_model_tensors(model))
    npad = 1 << circuit.s_vars
    x_full = np.zeros((npad, x_int.shape[1]), dtype=np.int64)
    x_full[:len(x_int)] = x_int
    prev = padded_inputs(circuit, x_int)
    hidden = model.hidden_int(x_full)
    for s, (z, a) in zip(circuit.specs, hidden):
        i = s.index
        if s.kind == "maxpool":
            wit.update(maxpool.witness(s, prev, a))
        if s.kind == "avgpool":
            wit.update(avgpool.witness(s, prev))
            assert np.array_equal(wit[f"A{i}"].reshape(npad, -1), s.out.pad(a)), "average pooling witness"
        if s.is_pool:
            prev = wit[f"A{i}"].reshape(npad, -1)
            continue
        z = s.out.pad(z)
        if s.is_last:
            wit[f"Z{i}"] = z.ravel()
            break
        k = int(s.desc["requant"]["shift"])
        t = s.multiplier_table() * z + (1 << (k - 1))
        res = s.desc["requant"].get("residual")
        if res is not None:
            t = t + int(res["multiplier"]) * wit[f"A{res['from']}"].reshape(t.shape)
        if s.proj is not None:      # m_p ⊙ Z_p: not committed, the proof's proj<i> steps read it
            proj = model.layers[i - 1].requant.projection
            wit[f"P{i}"] = s.out.pad(proj.scaled(hidden[proj.source - 1][1]))
            t = t + wit[f"P{i}"]
        q = t >> k
        if q.min() < -Q_OFFSET or q.max() >= Q_OFFSET:
            raise ZkmlError(f"layer {i}: a requantization quotient leaves [-2^15, 2^15); "
                            "the model's scales are outside what the proof supports")
        prev = np.clip(q, 0, 127)
        wit[f"Q{i}"], wit[f"A{i}"], wit[f"R{i}"] = q.ravel(), prev.ravel(), (t - (q << k)).ravel()
    return wit, argmax_witness(circuit, wit, labels)


def argmax_witness(circuit: Circuit, wit: dict[str, np.ndarray], labels: np.ndarray) -> int:
    """From the logits wit["Z<L>"]: the argmax tensors, every range check's limbs (added to
    wit) and the correct count K."""
    L = circuit.n_layers
    npad = 1 << circuit.s_vars
    dL = 1 << circuit.class_vars
    z = wit[f"Z{L}"].reshape(npad, dL)
    y = np.zeros(npad, dtype=np.int64)
    y[:circuit.n_samples] = labels
    valid = circuit.sample_valid()
    pred = np.argmax(z[:, :circuit.n_classes], axis=1)          # numpy: first maximum wins
    c = ((pred == y) & (valid == 1)).astype(np.int64)
    rows = np.arange(npad)
    lab = z[rows, y]
    zeta = z[rows, pred] + (pred < y)
    lt = (np.arange(dL)[None, :] < y[:, None]).astype(np.int64)
    pad_class = (np.arange(dL) >= circuit.n_classes).astype(np.int64)
    lam = circuit.big_m
    g = lab[:, None] - z - lt + lam * (1 - c)[:, None] + lam * pad_class[None, :]
    h = zeta - lab - 1 + lam * c + lam * (1 - valid)
    for name, v in (("G", g), ("H", h)):
        if v.min() < 0 or v.max() >= 1 << circuit.margin_bits:
            raise ZkmlError(f"argmax margin {name} out of range: logits exceed the supported bound")
    b = np.zeros((npad, dL), dtype=np.int64)
    b[rows, pred] = 1
    wit.update({"B": b.ravel(), "G": g.ravel(), "c": c, "lab": lab, "zeta": zeta, "H": h})
    for grp in circuit.groups:
        for rc in grp.ranges:
            v = wit[rc.tensor] + rc.offset
            if v.min() < 0 or v.max() >= 1 << rc.bits:
                raise ZkmlError(f"{rc.tensor} is outside its proved range [0, 2^{rc.bits})")
            for j, (name, width) in enumerate(rc.limbs()):
                wit[name] = (v >> (LIMB_BITS * j)) & ((1 << width) - 1)
    return int(c.sum())


def _int_combination(wit: dict, a) -> np.ndarray:
    """const + sum c T over the witness's int64 tensors; a lone tensor is a read-only view of
    the tensor (not a copy: the lookup stage is the prover's memory peak)."""
    if len(a.parts) == 1 and a.parts[0][1] == 1 and a.const == 0:
        view = wit[a.parts[0][0]].view()
        view.flags.writeable = False
        return view
    return sum(wit[n] * c for n, c in a.parts) + a.const


def _lookup_keys(circuit: Circuit, wit: dict) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray | None, int]]:
    """(value, aux, kind) of every lookup, keyed by (group, lookup index): integer arrays, aux
    None for a range check (its table's aux column is zero)."""
    out = {}
    for grp in circuit.groups:
        for u, lk in enumerate(grp.lookups()):
            aux = _int_combination(wit, lk.aux) if lk.aux is not None else None
            out[(grp.name, u)] = (_int_combination(wit, lk.value), aux, lk.kind)
    return out


def _multiplicities(circuit: Circuit, keys: dict) -> np.ndarray:
    counts = np.zeros(1 << circuit.t_vars, dtype=np.int64)
    for val, _aux, kind in keys.values():
        # Every table kind lists its values 0..size-1 in order, so the index is base + value.
        counts += np.bincount(circuit.kind_base[kind] + val, minlength=len(counts))
    return counts


class _Claims:
    """Committed evaluation claims (tensor, point) -> (value, blind), opened at the end."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, tuple[int, ...]], tuple[int, int]] = {}

    def add(self, name: str, point: list[int], value: int, blind: int) -> None:
        key = (name, tuple(point))
        assert key not in self.items, f"duplicate claim on {name}"
        self.items[key] = (value, blind)

    def send_new(self, ch, name: str, point: list[int], value: int, label: str, rng) -> tuple[int, int]:
        """Commit to tensor~(point) = value, unless that claim exists (then nothing is sent)."""
        if (name, tuple(point)) in self.items:
            return self.items[(name, tuple(point))]
        blind = pedersen_prover.random_scalar(rng)
        ch.send_point(label, pedersen.commit_scalar(value, blind))
        self.add(name, point, value, blind)
        return value, blind


def prove_statement(model: QuantizedModel, x_int: np.ndarray, labels: np.ndarray,
                    progress=None, rng=None, context: str = "") -> Proof:
    """Prove that the committed model classifies exactly K of the samples correctly."""
    report = progress or (lambda stage, fraction: None)
    arch = model.architecture()
    circuit = Circuit(arch, len(labels))
    blinds, commitment_bytes = load_opening(model)
    report("witness", 0.0)
    wit, count = compute_witness(circuit, model, x_int, labels)
    digests = statement_digests(arch, commitment_bytes, x_int, labels, context)
    ch = ProverChannel(start_transcript(digests, len(labels), count))
    body = _run(ch, circuit, wit, (count, 0), dict(blinds), {}, x_int, labels, report, rng)
    return Proof(count, len(labels), body, digests, file_version(arch))


def shard_ranges(n_samples: int, shard_size: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges of at most shard_size samples covering 0 .. n_samples."""
    if shard_size < 1:
        raise ValueError("the shard size must be at least 1 sample")
    return [(a, min(n_samples, a + shard_size)) for a in range(0, n_samples, shard_size)]


def prove_sharded(model: QuantizedModel, x_int: np.ndarray, labels: np.ndarray, shard_size: int,
                  progress=None, rng=None, context: str = "") -> ShardedProof:
    """Prove the count K over the whole dataset as one proof per range of shard_size samples,
    one after the other (the prover's memory is one shard's). Each shard proof binds the whole
    statement and its range and hides its count K_s in C_s = g^K_s h^b_s; K and sum b_s open
    the product of the C_s (docs/protocol.md, "Shards")."""
    report = progress or (lambda stage, fraction: None)
    arch = model.architecture()
    blinds, commitment_bytes = load_opening(model)
    digests = statement_digests(arch, commitment_bytes, x_int, labels, context)
    ranges = shard_ranges(len(labels), shard_size)
    parts, total, blind_sum = [], 0, 0
    for i, (start, stop) in enumerate(ranges):
        def shard_report(stage, fraction, i=i):
            report(stage, (i + fraction) / len(ranges))
        circuit = Circuit(arch, stop - start)
        shard_report("witness", 0.0)
        wit, count = compute_witness(circuit, model, x_int[start:stop], labels[start:stop])
        blind = pedersen_prover.random_scalar(rng)
        point = get_backend().to_bytes(pedersen.commit_scalar(count, blind))
        ch = ProverChannel(start_transcript(digests, len(labels), None, Shard(i, len(ranges), start, stop), point))
        body = _run(ch, circuit, wit, (count, blind), dict(blinds), {}, x_int[start:stop], labels[start:stop],
                    shard_report, rng)
        parts.append(ShardPart(start, stop, point, body))
        total, blind_sum = total + count, (blind_sum + blind) % P
        del wit, circuit
    return ShardedProof(total, len(labels), blind_sum, digests, parts, sharded_file_version(arch))


def simulate_statement(commitment, x_int: np.ndarray, labels: np.ndarray, claimed_count: int,
                       rng=None, context: str = "") -> tuple[Proof, list[int]]:
    """Honest-verifier zero-knowledge simulator: an accepting proof of `claimed_count` for
    any commitment, made WITHOUT the weights, by choosing the challenges (returned, to be
    programmed into the verifier). Its witness is an all-zero model's, its sigma protocols
    are simulated; every message it sends is distributed as in a real proof."""
    digests = statement_digests(commitment.architecture, commitment.tensor_bytes(), x_int, labels, context)
    ch = ProverChannel(start_transcript(digests, len(labels), claimed_count), simulate=True, rng=rng)
    body = _simulate(ch, commitment, x_int, labels, (claimed_count, 0), rng)
    return Proof(claimed_count, len(labels), body, digests, file_version(commitment.architecture)), ch.challenge_log


def simulate_sharded(commitment, x_int: np.ndarray, labels: np.ndarray, claimed_count: int, shard_size: int,
                     rng=None, context: str = "") -> tuple[ShardedProof, list[list[int]]]:
    """The simulator of a sharded proof (docs/protocol.md §6a): each shard's count commitment
    commits to an arbitrary split of K (hiding: distributed as the real ones), each shard's
    proof is simulated as in simulate_statement; returns the challenges of every shard."""
    digests = statement_digests(commitment.architecture, commitment.tensor_bytes(), x_int, labels, context)
    ranges = shard_ranges(len(labels), shard_size)
    parts, logs, blind_sum = [], [], 0
    for i, (start, stop) in enumerate(ranges):
        count = (claimed_count if i == 0 else 0, pedersen_prover.random_scalar(rng))
        point = get_backend().to_bytes(pedersen.commit_scalar(*count))
        transcript = start_transcript(digests, len(labels), None, Shard(i, len(ranges), start, stop), point)
        ch = ProverChannel(transcript, simulate=True, rng=rng)
        parts.append(ShardPart(start, stop, point, _simulate(ch, commitment, x_int[start:stop],
                                                             labels[start:stop], count, rng)))
        logs.append(ch.challenge_log)
        blind_sum = (blind_sum + count[1]) % P
    return (ShardedProof(claimed_count, len(labels), blind_sum, digests, parts,
                         sharded_file_version(commitment.architecture)), logs)


def _simulate(ch, commitment, x_int: np.ndarray, labels: np.ndarray, count: tuple[int, int], rng) -> bytes:
    """The message flow of one proof run by the simulator: an all-zero model's witness, fresh
    blinds for the commitment's rows (the simulator has no opening)."""
    arch = commitment.architecture
    circuit = Circuit(arch, len(labels))
    wit, _ = compute_witness(circuit, zero_model_of(arch), x_int, labels)
    row_blinds = {n: [pedersen_prover.random_scalar(rng) for _ in tc.rows] for n, tc in commitment.tensors.items()}
    return _run(ch, circuit, wit, count, row_blinds, dict(commitment.tensors), x_int, labels,
                lambda stage, fraction: None, rng)


def _run(ch, circuit: Circuit, wit: dict, count: tuple[int, int], row_blinds: dict, tensor_commitments: dict,
         x_int: np.ndarray, labels: np.ndarray, report, rng) -> bytes:
    """The protocol's message flow (docs/protocol.md), shared by the prover and the simulator.
    count is (K, blind): the count's commitment g^K h^blind starts the samples' zero-check
    (blind 0 for a whole proof, whose K is public)."""
    keys = _lookup_keys(circuit, wit)
    wit["mult"] = _multiplicities(circuit, keys)

    report("commit", 0.05)
    names = circuit.witness_tensors()
    columns = circuit.witness_columns()          # the witness's row width (pedersen.layout)
    for i, name in enumerate(names):
        tc, row_blinds[name] = pedersen_prover.commit_tensor(wit[name], circuit.n_vars(name), rng, columns)
        tensor_commitments[name] = tc
        for r, row in enumerate(tc.rows):
            ch.send_point(f"witness/{name}/{r}", row)
        report("commit", 0.05 + 0.25 * (i + 1) / len(names))

    alpha, beta = ch.challenge("lookup/alpha"), ch.challenge("lookup/beta")
    report("lookup", 0.3)
    leaf_pt, p_claim, q_claim = logup_prover.prove_fraction_sum(
        ch, logup_prover.LookupLeaves(circuit, keys, wit["mult"], alpha, beta), "lookup", rng)
    del keys
    report("relations", 0.55)

    # Every group's tensors at the group's part of the leaf point, and mult at the table's.
    claims = _Claims()
    group_points: dict[str, list[int]] = {}
    group_values: dict[str, dict[str, tuple[int, int]]] = {}
    for grp in circuit.groups:
        pt = group_points[grp.name] = circuit.group_leaf_point(grp.name, leaf_pt)
        names = grp.point_tensors()
        values = evaluate_tensors([wit[n] for n in names], pt)
        group_values[grp.name] = {n: claims.send_new(ch, n, pt, v, f"group/{grp.name}/value/{n}", rng)
                                  for n, v in zip(names, values)}
    t_pt = circuit.table_leaf_point(leaf_pt)
    mult = claims.send_new(ch, "mult", t_pt, evaluate_tensor(wit["mult"], t_pt), "lookup/mult", rng)
    for which, claimed, (items, const) in zip("pq", (p_claim, q_claim),
                                              circuit.leaf_relations(alpha, beta, leaf_pt)):
        value, blind = const, 0
        for (g, n), coef in items:
            val = mult if g == "table" else group_values[g][n]
            value, blind = value + coef * val[0], blind + coef * val[1]
        prove_zero(ch, (claimed[0] - value) % P, (claimed[1] - blind) % P, f"lookup/leaves/{which}", rng)

    # Zero-checks: padding entries are zero, B and c are bits; sum_x c(x) = K.
    for grp in circuit.groups:
        if not needs_zero_check(grp):
            continue
        label = f"group/{grp.name}"
        gamma = ch.challenge(label + "/gamma")
        tau = ch.challenges(label + "/tau", grp.n_vars)
        terms = zero_check_terms(grp, gamma)
        public = {"eq": FrVec.eq_table(tau)}
        if any("pad" in t.public for t in terms):
            public["pad"] = circuit.pad_mask(grp.name)
        claim = count if grp.name == "samples" else (0, 0)
        point, evals = prove_sumcheck(ch, grp.n_vars, terms, wit, public, *claim, label, rng)
        for name, (v, bl) in evals.items():
            claims.add(name, point, v, bl)
    report("relations", 0.65)

    # Per-sample values at the logits group's sample coordinates, for the G relation.
    lp = group_points["logits"]
    row_pt = lp[:circuit.s_vars]
    row_vals = {n: claims.send_new(ch, n, row_pt, evaluate_tensor(wit[n], row_pt), f"logits/row/{n}", rng)
                for n in ("lab", "c")}
    y_tab, lt_tab = circuit.label_tables(labels)
    for grp in circuit.groups:
        pt = group_points[grp.name]
        pub = {}
        if grp.name in ("logits", "samples"):
            pub["pad"] = int(evaluate_tensor(circuit.pad_mask(grp.name), pt))
        if grp.name == "logits":
            pub["Lt"] = circuit.label_evals(labels, pt)[1]
        for ri, (items, const) in enumerate(linear_relations(circuit, grp, pub)):
            value, blind = const, 0
            for ref, coef in items:
                val = row_vals[ref[1]] if isinstance(ref, tuple) else group_values[grp.name][ref]
                value, blind = value + coef * val[0], blind + coef * val[1]
            prove_zero(ch, value % P, blind % P, f"linear/{grp.name}/{ri}", rng)

    # lab_i = Z_L[i, y_i], zeta_i = Z_L[i, j_B] + [j_B < y_i], rows of B sum to 1.
    L = circuit.n_layers
    s_pt = group_points["samples"]
    sv = group_values["samples"]
    gamma = ch.challenge("argmax/gamma")
    d_l = 1 << circuit.class_vars
    eq_s = np.repeat(eq_table(s_pt), d_l)
    zl = f"Z{L}"
    terms = [Term(1, ("eqS", "Y"), (aff(zl),)), Term(gamma, ("eqS",), (aff("B"), aff(zl))),
             Term(gamma, ("eqS", "Lt"), (aff("B"),)), Term(gamma * gamma % P, ("eqS",), (aff("B"),))]
    claim = (sv["lab"][0] + gamma * sv["zeta"][0] + gamma * gamma) % P
    claim_blind = (sv["lab"][1] + gamma * sv["zeta"][1]) % P
    point, evals = prove_sumcheck(ch, circuit.s_vars + circuit.class_vars, terms, wit,
                                  {"eqS": eq_s, "Y": y_tab, "Lt": lt_tab}, claim, claim_blind,
                                  "argmax", rng)
    for name, (v, bl) in evals.items():
        claims.add(name, point, v, bl)

    # Layer by layer, last first: each step reduces the claim on its output to claims on
    # its weights and its input (zkml/layers).
    report("layers", 0.8)
    ctx = SimpleNamespace(ch=ch, circuit=circuit, wit=wit, points=group_points, values=group_values,
                          claims=claims, x_pad=padded_inputs(circuit, x_int), rng=rng)
    for spec in reversed(circuit.specs):
        step(spec.kind).prove(ctx, spec)

    report("open", 0.92)
    # The model's tensors, opened per size in their layout; then the proof's own, all at once.
    witness = set(circuit.witness_tensors())
    model_claims = [key for key in claims.items if key[0] not in witness]
    for n, points in hyrax.claims_by_size(model_claims).items():
        if len(points) == 1:
            (pt, names), = points.items()
            opened = {name: claims.items[(name, pt)] for name in names}
        else:
            rho = ch.challenge(f"reduce/{n}/rho")
            terms, coefs = hyrax.reduction_terms(points, rho)
            claim = sum(c * claims.items[key][0] for key, c in coefs.items()) % P
            blind = sum(c * claims.items[key][1] for key, c in coefs.items()) % P
            public = {f"eq{i}": FrVec.eq_table(list(z)) for i, z in enumerate(points)}
            point, opened = prove_sumcheck(ch, n, terms, wit, public, claim, blind, f"reduce/{n}", rng)
            pt = tuple(point)
        items = [(wit[name], row_blinds[name], *opened[name], tensor_commitments.get(name)) for name in sorted(opened)]
        hyrax_prover.prove_batch_eval(ch, items, list(pt), f"open/{n}", rng)
    points = hyrax.claims_by_point([key for key in claims.items if key[0] in witness])
    pt, opened = prove_witness_reduction(ch, points, claims.items, wit, "reduce/witness", rng)
    items = [(wit[name], row_blinds[name], *opened[name], tensor_commitments.get(name)) for name in sorted(opened)]
    hyrax_prover.prove_batch_eval(ch, items, pt, "open/witness", rng, columns)
    report("done", 1.0)
    return ch.bytes()
