"""The verifier: checks a proof that the committed model classifies K of N public samples
correctly. Reads the prover's messages in order (protocols/channel_verifier.py) and raises
VerificationError naming the first check that fails. See docs/protocol.md for the protocol,
step by step, and for the audit path: the modules this one imports, in reading order."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from zkml.commitments import hyrax, hyrax_verifier, pedersen
from zkml.protocols import sigma_verifier
from zkml.protocols.channel_verifier import VerifierChannel
from zkml.protocols.group_checks import Combination, GroupChecks
from zkml.circuit import Circuit, linear_relations, needs_zero_check, zero_check_terms
from zkml.formats.commitment import Commitment
from zkml.arith.curve import get_backend
from zkml.arith.parallel import fork_map
from zkml.errors import VerificationError
from zkml.protocols.expr import Term, aff
from zkml.layers import step
from zkml.arith.field import P, eq_eval
from zkml.protocols.logup_verifier import verify_fraction_sum
from zkml.commitments.pedersen import TensorCommitment, layout
from zkml.errors import FormatError
from zkml.formats.proof import NARROW_ROWS, PER_SIZE, WIDE_ROWS, Proof, ShardedProof, version_problem, witness_opening
from zkml.statement import Shard, start_transcript, statement_digests
from zkml.protocols.sumcheck_verifier import verify_sumcheck


_STATEMENT_WHAT = (("context", "context (challenge and entry)"), ("architecture", "model architecture"),
                  ("commitment", "model commitment"), ("inputs", "test inputs"), ("labels", "labels"))


def _check_header(commitment: Commitment, x_int: np.ndarray, labels: np.ndarray, proof, context: str) -> dict:
    """The checks every proof's header must pass (N, 0 <= K <= N, the five statement digests);
    returns the statement's digests."""
    if proof.n_samples != len(labels):
        raise VerificationError(f"the proof is for {proof.n_samples} samples, the dataset has {len(labels)}")
    if not 0 <= proof.claimed_count <= len(labels):
        raise VerificationError(f"claimed count {proof.claimed_count} is not between 0 and {len(labels)}")
    digests = statement_digests(commitment.architecture, commitment.tensor_bytes(), x_int, labels, context)
    for part, what in _STATEMENT_WHAT:
        if proof.statement.get(part) != digests[part]:
            raise VerificationError(f"the proof was made for different {what} than the ones given")
    return digests


def verify_statement(commitment: Commitment, x_int: np.ndarray, labels: np.ndarray, proof: Proof,
                     progress=None, programmed_challenges: list[int] | None = None, context: str = "") -> int:
    """Returns the proven count K, or raises VerificationError / FormatError.
    programmed_challenges replaces Fiat–Shamir (only for the zero-knowledge simulator test)."""
    problem = version_problem(commitment.architecture, proof.version)
    if problem is not None:
        raise VerificationError(problem)
    digests = _check_header(commitment, x_int, labels, proof, context)
    count = proof.claimed_count
    checks = GroupChecks(batch=True)
    ch = VerifierChannel(start_transcript(digests, len(labels), count), proof.body, programmed_challenges, checks)
    try:
        _verify_body(ch, commitment, x_int, labels, pedersen.g_times(count), progress,
                     witness_opening(proof.version))
    except (VerificationError, FormatError):
        checks.raise_first_failure()      # an earlier check's failure is the reason to give
        raise
    checks.verify()
    return count


def verify_sharded(commitment: Commitment, x_int: np.ndarray, labels: np.ndarray, proof: ShardedProof,
                   progress=None, context: str = "", programmed_challenges: list[list[int]] | None = None) -> int:
    """Returns the proven count K of a sharded proof: the shards tile the samples in order, each
    shard's proof verifies for its range with its count commitment C_s, and K with the blinds'
    sum opens the product of the C_s (docs/protocol.md §6a). programmed_challenges: one list
    per shard, for the simulator test only."""
    be = get_backend()
    report = progress or (lambda stage, fraction: None)
    problem = version_problem(commitment.architecture, proof.version, sharded=True)
    if problem is not None:
        raise VerificationError(problem)
    digests = _check_header(commitment, x_int, labels, proof, context)
    n, k = len(labels), len(proof.shards)
    expected_start = 0
    for i, part in enumerate(proof.shards):       # the tiling first: cheap, and the clearest reason
        if part.start != expected_start or not part.start < part.stop <= n:
            raise VerificationError(f"shard {i + 1} of {k} (samples {part.start}..{part.stop - 1}): the shards "
                                    f"must cover samples 0..{n - 1} in order, without gaps or overlaps (this "
                                    f"shard should start at sample {expected_start})")
        expected_start = part.stop
    if expected_start != n:
        raise VerificationError(f"the shards cover samples 0..{expected_start - 1}, the dataset has {n}")
    def verify_range(bounds: tuple[int, int]) -> tuple[str, str] | None:
        """Shards lo..hi-1 in order, with one batch of group equations: None, or the first
        failure as (exception class name, message)."""
        try:
            _verify_shards(commitment, x_int, labels, proof, digests, bounds, report, programmed_challenges)
        except (VerificationError, FormatError) as exc:
            return type(exc).__name__, str(exc.reason if isinstance(exc, VerificationError) else exc)
        return None

    # Two halves of the shards in two processes when there are cores to spare (the first
    # half's failure is reported first, as if the shards were checked in order).
    halves = [(0, k)] if k < 4 else [(0, k // 2), (k // 2, k)]
    run = fork_map if len(halves) > 1 and progress is None else (lambda fn, xs: [fn(x) for x in xs])
    for failure in run(verify_range, halves):
        if failure is not None:
            kind, message = failure
            raise (FormatError if kind == "FormatError" else VerificationError)(message)
    checks = GroupChecks()
    checks.require_zero([(be.from_bytes(part.count_commitment), 1) for part in proof.shards]
                        + [(pedersen.g(), -proof.claimed_count), (pedersen.h(), -proof.blind)],
                        f"the shards' hidden counts do not add up to the claimed count {proof.claimed_count}")
    return proof.claimed_count


def _verify_shards(commitment: Commitment, x_int: np.ndarray, labels: np.ndarray, proof: ShardedProof,
                   digests: dict, bounds: tuple[int, int], report, programmed_challenges) -> None:
    """Every check of the shards in range(*bounds), their group equations in one batch."""
    be = get_backend()
    n, k = len(labels), len(proof.shards)
    checks = GroupChecks(batch=True)
    for i in range(*bounds):
        part = proof.shards[i]
        where = f"shard {i + 1} of {k} (samples {part.start}..{part.stop - 1})"
        checks.prefix = f"{where}: "

        def shard_report(stage, fraction, i=i):
            report(stage, (i + fraction) / k)
        try:
            try:
                c_s = be.from_bytes(part.count_commitment)
            except ValueError as exc:
                raise VerificationError(f"its count commitment is not a valid curve point ({exc})") from None
            shard = Shard(i, k, part.start, part.stop)
            ch = VerifierChannel(start_transcript(digests, n, None, shard, part.count_commitment), part.body,
                                 programmed_challenges[i] if programmed_challenges else None, checks)
            _verify_body(ch, commitment, x_int[part.start:part.stop], labels[part.start:part.stop], c_s,
                         shard_report, witness_opening(proof.version, sharded=True))
        except VerificationError as exc:
            checks.raise_first_failure()      # an earlier check's failure is the reason to give
            raise VerificationError(f"{where}: {exc.reason}") from None
        except FormatError as exc:
            checks.raise_first_failure()
            raise FormatError(f"{where}: {exc}") from None
    checks.verify()


def _verify_body(ch: VerifierChannel, commitment: Commitment, x_int: np.ndarray, labels: np.ndarray,
                 count_commitment, progress, opening: str = WIDE_ROWS) -> None:
    """Every check of one proof's messages; count_commitment opens to the samples' correct count
    (g^K for a whole proof, a shard's hidden C_s). opening: how the file's version commits and
    opens the proof's own tensors (formats/proof.py, witness_opening: PER_SIZE, the model's
    layout opened per size; NARROW_ROWS, version 11 / sharded 4; WIDE_ROWS, the current rows)."""
    report = progress or (lambda stage, fraction: None)
    be = get_backend()
    circuit = Circuit(commitment.architecture, len(labels))
    tensors: dict[str, TensorCommitment] = dict(commitment.tensors)

    def recv_tensor(name: str, prefix: str) -> None:
        n_vars = circuit.n_vars(name)
        rows = [ch.recv_point(f"{prefix}/{name}/{r}") for r in range(1 << layout(n_vars, columns)[0])]
        tensors[name] = TensorCommitment(n_vars, rows, columns)

    legacy = opening == PER_SIZE                                         # the model's layout, per size
    columns = None if legacy else circuit.witness_columns(narrow=opening == NARROW_ROWS)
    for name in circuit.witness_tensors():
        recv_tensor(name, "witness")
    alpha, beta = ch.challenge("lookup/alpha"), ch.challenge("lookup/beta")
    leaf_pt, p_c, q_c = verify_fraction_sum(ch, circuit.leaf_vars, "lookup")
    report("relations", 0.4)

    claims: dict[tuple[str, tuple[int, ...]], object] = {}

    def claim(name: str, point: list[int], label: str | None = None, commitment=None):
        """The commitment to tensor~(point): read from the proof under `label` the first
        time, or given (from a sumcheck); every claim is opened at the end."""
        key = (name, tuple(point))
        if key not in claims:
            claims[key] = commitment if commitment is not None else ch.recv_point(label)
        elif commitment is not None:      # every sumcheck point is fresh: a repeat is a bug
            raise VerificationError(f"internal: duplicate claim on {name}")
        return claims[key]

    group_points, group_values = {}, {}
    for grp in circuit.groups:
        pt = group_points[grp.name] = circuit.group_leaf_point(grp.name, leaf_pt)
        group_values[grp.name] = {n: claim(n, pt, f"group/{grp.name}/value/{n}") for n in grp.point_tensors()}
    mult_c = claim("mult", circuit.table_leaf_point(leaf_pt), "lookup/mult")
    for which, claimed, (items, const) in zip("pq", (p_c, q_c), circuit.leaf_relations(alpha, beta, leaf_pt)):
        points = [pedersen.g()] + [mult_c if g == "table" else group_values[g][n] for (g, n), _ in items]
        total = Combination(points + claimed.points, [(-const) % P] + [(-c) % P for _, c in items] + claimed.scalars)
        sigma_verifier.verify_zero(ch, total, f"lookup/leaves/{which}",
                                   "lookup argument: a looked-up value (a range, the requantization clamp or "
                                   "ReLU) is not in the table")

    for grp in circuit.groups:
        if not needs_zero_check(grp):
            continue
        label = f"group/{grp.name}"
        gamma = ch.challenge(label + "/gamma")
        tau = ch.challenges(label + "/tau", grp.n_vars)
        claim_c = count_commitment if grp.name == "samples" else be.identity()

        def public_eval(name, point, grp=grp, tau=tau):
            return eq_eval(tau, point) if name == "eq" else circuit.pad_mask_eval(grp.name, point)

        point, evals = verify_sumcheck(ch, grp.n_vars, zero_check_terms(grp, gamma), public_eval, claim_c, label)
        for name, c in evals.items():
            claim(name, point, commitment=c)
    report("relations", 0.5)

    row_pt = group_points["logits"][:circuit.s_vars]
    row_vals = {}
    for n in ("lab", "c"):
        row_vals[n] = claim(n, row_pt, f"logits/row/{n}")
    for grp in circuit.groups:
        pt = group_points[grp.name]
        pub = {}
        if grp.name in ("logits", "samples"):
            pub["pad"] = circuit.pad_mask_eval(grp.name, pt)
        if grp.name == "logits":
            pub["Lt"] = circuit.label_evals(labels, pt)[1]
        for ri, (items, const) in enumerate(linear_relations(circuit, grp, pub)):
            points = [row_vals[ref[1]] if isinstance(ref, tuple) else group_values[grp.name][ref]
                      for ref, _ in items]
            total = Combination([pedersen.g()] + points, [const % P] + [c % P for _, c in items])
            sigma_verifier.verify_zero(ch, total, f"linear/{grp.name}/{ri}",
                                       f"{grp.name}: the committed values violate relation {ri} "
                                       "(requantization, range decomposition or argmax margin)")

    L = circuit.n_layers
    s_pt = group_points["samples"]
    sv = group_values["samples"]
    gamma = ch.challenge("argmax/gamma")
    zl = f"Z{L}"
    terms = [Term(1, ("eqS", "Y"), (aff(zl),)), Term(gamma, ("eqS",), (aff("B"), aff(zl))),
             Term(gamma, ("eqS", "Lt"), (aff("B"),)), Term(gamma * gamma % P, ("eqS",), (aff("B"),))]
    claim_c = be.add(be.add(sv["lab"], be.mul(sv["zeta"], gamma)), pedersen.g_times(gamma * gamma))

    def argmax_public(name, point):
        if name == "eqS":
            return eq_eval(s_pt, point[:circuit.s_vars])
        y_eval, lt_eval = circuit.label_evals(labels, point)
        return y_eval if name == "Y" else lt_eval

    point, evals = verify_sumcheck(ch, circuit.s_vars + circuit.class_vars, terms, argmax_public,
                                   claim_c, "argmax")
    for name, c in evals.items():
        claim(name, point, commitment=c)
    report("layers", 0.7)

    ctx = SimpleNamespace(ch=ch, circuit=circuit, points=group_points, values=group_values,
                          claim=claim, x_int=x_int)
    for spec in reversed(circuit.specs):
        step(spec.kind).verify(ctx, spec)

    report("open", 0.9)
    # The model's tensors, opened per size in their layout; then the proof's own, all at once
    # (a legacy proof opened every tensor per size, in the model's layout).
    witness = set() if legacy else set(circuit.witness_tensors())
    for n, points in hyrax.claims_by_size([key for key in claims if key[0] not in witness]).items():
        if len(points) == 1:
            (pt, names), = points.items()
            opened = {name: claims[(name, pt)] for name in names}
        else:
            rho = ch.challenge(f"reduce/{n}/rho")
            terms, coefs = hyrax.reduction_terms(points, rho)
            claim_c = Combination([claims[key] for key in coefs], list(coefs.values()))
            zs = [list(z) for z in points]
            point, opened = verify_sumcheck(ch, n, terms, lambda name, p: eq_eval(zs[int(name[2:])], p),
                                            claim_c, f"reduce/{n}")
            pt = tuple(point)
        names = sorted(opened)
        hyrax_verifier.verify_batch_eval(ch, [(tensors[name], opened[name]) for name in names], list(pt),
                                         f"open/{n}", f"opening of {', '.join(names)} ({n} variables): "
                                         "the claimed evaluations do not match the committed tensors")
    if not legacy:
        _verify_witness_opening(ch, circuit, claims, tensors, columns)
    ch.finish()
    report("done", 1.0)


def _verify_witness_opening(ch: VerifierChannel, circuit: Circuit, claims: dict, tensors: dict, columns: int) -> None:
    """The proof's own tensors' claims, reduced to one point and opened there by one argument
    (commitments/hyrax.py, "one opening for the witness")."""
    witness = set(circuit.witness_tensors())
    points = hyrax.claims_by_point([key for key in claims if key[0] in witness])
    rho = ch.challenge("reduce/witness/rho")
    terms, coefs = hyrax.reduction_terms(points, rho)
    zs = [list(z) for z in points]
    pt, opened = verify_sumcheck(ch, hyrax.witness_point_vars(points), terms,
                                 lambda name, p: hyrax.embedded_eq(zs[int(name[2:])], p),
                                 Combination([claims[key] for key in coefs], list(coefs.values())), "reduce/witness")
    names = sorted(opened)
    hyrax_verifier.verify_batch_eval(ch, [(tensors[name], opened[name]) for name in names], pt, "open/witness",
                                     f"opening of the proof's committed tensors ({', '.join(names)}): the claimed "
                                     "evaluations do not match them", columns)
