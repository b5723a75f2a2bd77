"""The verifier: checks a proof that the committed model classifies K of N public samples
correctly. Reads the prover's messages in order (channel.py) and raises VerificationError
naming the first check that fails. See docs/protocol.md for the protocol, step by step."""
from __future__ import annotations

import numpy as np

from . import hyrax, pedersen, sigma
from .channel import VerifierChannel
from .circuit import Circuit, group_terms, input_eval, linear_relations, padded_inputs, pre_activation
from .commitment import Commitment
from .curve import get_backend
from .errors import VerificationError
from .expr import Term, aff
from .field import P, eq_eval, mle_eval
from .pedersen import TensorCommitment, layout
from .proof import Proof
from .statement import start_transcript, statement_digests
from .sumcheck_verifier import verify_sumcheck


def verify_statement(commitment: Commitment, x_int: np.ndarray, labels: np.ndarray, proof: Proof,
                     progress=None, programmed_challenges: list[int] | None = None, context: str = "") -> int:
    """Returns the proven count K, or raises VerificationError / FormatError.
    programmed_challenges replaces Fiat–Shamir (only for the zero-knowledge simulator test)."""
    report = progress or (lambda stage, fraction: None)
    be = get_backend()
    if proof.n_samples != len(labels):
        raise VerificationError(f"the proof is for {proof.n_samples} samples, the dataset has {len(labels)}")
    if not 0 <= proof.claimed_count <= len(labels):
        raise VerificationError(f"claimed count {proof.claimed_count} is not between 0 and {len(labels)}")
    arch = commitment.architecture
    circuit = Circuit(arch, len(labels))
    count = proof.claimed_count
    digests = statement_digests(arch, commitment.tensor_bytes(), x_int, labels, context)
    for part, what in (("context", "context (challenge and entry)"), ("architecture", "model architecture"),
                       ("commitment", "model commitment"),
                       ("inputs", "test inputs"), ("labels", "labels")):
        if proof.statement.get(part) != digests[part]:
            raise VerificationError(f"the proof was made for different {what} than the ones given")
    ch = VerifierChannel(start_transcript(digests, len(labels), count), proof.body, programmed_challenges)
    tensors: dict[str, TensorCommitment] = dict(commitment.tensors)

    def recv_tensor(name: str, prefix: str) -> None:
        n_vars = circuit.n_vars(name)
        rows = [ch.recv_point(f"{prefix}/{name}/{r}") for r in range(1 << layout(n_vars)[0])]
        tensors[name] = TensorCommitment(n_vars, rows)

    for name in circuit.witness_tensors():
        recv_tensor(name, "witness")
    alpha, beta = ch.challenge("lookup/alpha"), ch.challenge("lookup/beta")
    for name in circuit.inverse_tensors():
        recv_tensor(name, "inverse")
    report("sumcheck", 0.2)

    claims: dict[tuple[str, tuple[int, ...]], object] = {}

    def claim(name: str, point: list[int], commitment) -> None:
        """Record that `commitment` commits to tensor~(point); each is opened at the end."""
        key = (name, tuple(point))
        if key in claims:   # every point is a fresh challenge: a repeat would mean a bug
            raise VerificationError(f"internal: duplicate claim on {name}")
        claims[key] = commitment
    sums = []
    group_points, group_values = {}, {}
    for grp in circuit.groups:
        label = f"group/{grp.name}"
        gamma = ch.challenge(label + "/gamma")
        tau = ch.challenges(label + "/tau", grp.n_vars)
        s_c = ch.recv_point(label + "/sum")
        sums.append(s_c)
        claim_c = be.add(s_c, be.mul(pedersen.g(), count)) if grp.name == "samples" else s_c

        def public_eval(name, point, grp=grp, tau=tau):
            return eq_eval(tau, point) if name == "eq" else circuit.pad_mask_eval(grp.name, point)

        terms = group_terms(grp, alpha, beta, gamma)
        point, evals = verify_sumcheck(ch, grp.n_vars, terms, public_eval, claim_c, label)
        for name in grp.all_tensors():
            if name not in evals:
                evals[name] = ch.recv_point(f"{label}/extra/{name}")
            claim(name, point, evals[name])
        group_points[grp.name], group_values[grp.name] = point, evals
    report("relations", 0.5)

    row_pt = group_points["logits"][:circuit.s_vars]
    row_vals = {}
    for n in ("lab", "c"):
        row_vals[n] = ch.recv_point(f"logits/row/{n}")
        claim(n, row_pt, row_vals[n])
    for grp in circuit.groups:
        pt = group_points[grp.name]
        pub = {}
        if grp.name in ("logits", "samples"):
            pub["pad"] = circuit.pad_mask_eval(grp.name, pt)
        if grp.name == "logits":
            pub["Lt"] = circuit.label_evals(labels, pt)[1]
        for ri, (items, const) in enumerate(linear_relations(circuit, grp, pub)):
            total = be.mul(pedersen.g(), const)
            for ref, coef in items:
                c = row_vals[ref[1]] if isinstance(ref, tuple) else group_values[grp.name][ref]
                total = be.add(total, be.mul(c, coef))
            sigma.verify_zero(ch, total, f"linear/{grp.name}/{ri}",
                              f"{grp.name}: the committed values violate relation {ri} "
                              "(requantization, range decomposition or argmax margin)")

    L = circuit.n_layers
    s_pt = group_points["samples"]
    sv = group_values["samples"]
    gamma = ch.challenge("argmax/gamma")
    zl = f"Z{L}"
    terms = [Term(1, ("eqS", "Y"), (aff(zl),)), Term(gamma, ("eqS",), (aff("B"), aff(zl))),
             Term(gamma, ("eqS", "Lt"), (aff("B"),)), Term(gamma * gamma % P, ("eqS",), (aff("B"),))]
    claim_c = be.add(be.add(sv["lab"], be.mul(sv["zeta"], gamma)), be.mul(pedersen.g(), gamma * gamma))

    def argmax_public(name, point):
        if name == "eqS":
            return eq_eval(s_pt, point[:circuit.s_vars])
        y_eval, lt_eval = circuit.label_evals(labels, point)
        return y_eval if name == "Y" else lt_eval

    point, evals = verify_sumcheck(ch, circuit.s_vars + circuit.d_vars[L], terms, argmax_public,
                                   claim_c, "argmax")
    for name, c in evals.items():
        claim(name, point, c)
    report("matmul", 0.7)

    x_pad = padded_inputs(circuit, x_int)
    for l in range(L, 0, -1):
        gname = "logits" if l == L else f"hidden{l}"
        pt = group_points[gname]
        r_i, r_j = pt[:circuit.s_vars], pt[circuit.s_vars:]
        b_c = ch.recv_point(f"matmul{l}/bias")
        claim(f"b{l}", r_j, b_c)
        if l == L:
            z_c = group_values[gname][f"Z{l}"]
        else:
            items, const = pre_activation(circuit, l)
            z_c = be.mul(pedersen.g(), const)
            for n, c in items:
                z_c = be.add(z_c, be.mul(group_values[gname][n], c))
        claim_c = be.sub(z_c, b_c)
        if l == 1:
            terms = [Term(1, ("fX",), (aff("fW"),))]

            def mm_public(name, point, r_i=r_i):
                return input_eval(circuit, x_pad, r_i, point)
        else:
            terms = [Term(1, (), (aff("fA"), aff("fW")))]
            mm_public = None
        point, evals = verify_sumcheck(ch, circuit.d_vars[l - 1], terms, mm_public, claim_c, f"matmul{l}")
        claim(f"W{l}", r_j + point, evals["fW"])
        if l > 1:
            claim(f"A{l - 1}", r_i + point, evals["fA"])

    report("table", 0.8)
    t_c = ch.recv_point("table/sum")
    balance = be.neg(t_c)
    for s in sums:
        balance = be.add(balance, s)
    sigma.verify_zero(ch, balance, "table/balance",
                      "lookup argument: the looked-up values are not all in the table")
    w = circuit.table_inverses(alpha, beta)
    point, evals = verify_sumcheck(ch, circuit.t_vars, [Term(1, ("w",), (aff("mult"),))],
                                   lambda name, p: mle_eval(w, p), t_c, "table")
    claim("mult", point, evals["mult"])

    report("open", 0.9)
    by_point: dict[tuple[int, ...], list[str]] = {}
    for (name, pt) in sorted(claims, key=lambda k: (len(k[1]), k[1], k[0])):
        by_point.setdefault(pt, []).append(name)
    for i, (pt, names) in enumerate(by_point.items()):
        items = [(tensors[n], claims[(n, pt)]) for n in names]
        hyrax.verify_batch_eval(ch, items, list(pt), f"open/{i}",
                                f"opening {i} ({', '.join(names)}): the claimed evaluations do not "
                                "match the committed tensors")
    ch.finish()
    report("done", 1.0)
    return count
