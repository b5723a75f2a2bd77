"""Convolutional networks through the proof system: integer semantics against a direct
computation, prove/verify for several layer geometries, the simulator, and cheating provers
that break one convolution or pooling relation on an otherwise honest witness (real prover,
real Fiat–Shamir): the verifier must reject each, naming the failed check."""
import hashlib
import json
import random

import numpy as np
import pytest

from zkml.protocols.channel_prover import ProverChannel
from zkml.circuit import Circuit
from zkml.formats.commitment import Commitment
from zkml.formats.opening import commit, load_opening
from zkml.errors import FormatError, VerificationError
from zkml.formats.model import AvgPoolLayer, ConvLayer, DenseLayer, MaxPoolLayer, QuantizedModel, Requant
from zkml.formats.proof import Proof
from zkml.prover import _run, argmax_witness, compute_witness, prove_statement, simulate_statement
from zkml.statement import start_transcript, statement_digests
from zkml.verifier import verify_statement
from zkml_fixtures import check_proof_and_simulation, dense_logits as _dense_logits, forged_proof
from zkml_fixtures import labelled_ints as data


def cnn(seed: int, pads=(1, 1, 1, 1), stride=(1, 1), pool=((2, 2), (2, 2), (0, 0, 0, 0)),
        pads2=(1, 0, 1, 0)) -> QuantizedModel:
    """conv 3x3 1->3, max-pool, conv 3x3 3->4, dense -> 3 classes, on [1, 7, 6] inputs."""
    rng = np.random.default_rng(seed)
    c1 = ConvLayer(rng.integers(-127, 128, (3, 1, 3, 3)), rng.integers(-3000, 3000, 3), stride, pads,
                   Requant(25, 12))
    p1 = MaxPoolLayer(*pool)
    shape = p1.out_shape(c1.out_shape((1, 7, 6)))
    c2 = ConvLayer(rng.integers(-127, 128, (4, 3, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), pads2,
                   Requant(20, 12))
    flat = int(np.prod(c2.out_shape(shape)))
    d = DenseLayer(rng.integers(-127, 128, (3, flat)), rng.integers(-500, 500, 3), None)
    model = QuantizedModel((1, 7, 6), 0.1, 3, [c1, p1, c2, d], [1.0] * 4)
    model.validate()
    return model


def test_conv_and_pool_integer_semantics_match_a_direct_loop():
    model = cnn(0, pads=(0, 1, 2, 0), stride=(2, 1), pool=((3, 2), (2, 2), (1, 0, 0, 1)))
    x, _ = data(model, 4)
    a = x.reshape(4, 1, 7, 6)
    conv = model.layers[0]
    z = conv.forward(a)
    padded = np.pad(a, ((0, 0), (0, 0), (0, 2), (1, 0)))
    for o in range(3):
        for i in range(z.shape[2]):
            for j in range(z.shape[3]):
                window = padded[:, :, 2 * i:2 * i + 3, j:j + 3]
                assert np.array_equal(z[:, o, i, j], (window * conv.weight[o]).sum(axis=(1, 2, 3)) + conv.bias[o])
    act = np.clip(np.floor((25 * z + 2048) / 4096), 0, 127).astype(np.int64)
    pooled = model.layers[1].forward(act)
    ap = np.pad(act.astype(float), ((0, 0), (0, 0), (1, 0), (0, 1)), constant_values=-np.inf)
    for i in range(pooled.shape[2]):
        for j in range(pooled.shape[3]):
            assert np.array_equal(pooled[:, :, i, j], ap[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2].max(axis=(2, 3)))


GEOMETRIES = [
    {},
    {"pads": (0, 1, 2, 0), "stride": (2, 1), "pool": ((3, 2), (2, 2), (1, 0, 0, 1))},
    {"pads": (0, 0, 0, 0), "pool": ((2, 2), (1, 1), (0, 0, 0, 0)), "pads2": (0, 0, 0, 0)},
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_cnn_proof_verifies_and_counts_exactly(geometry):
    model = cnn(1, **geometry)
    x, y = data(model, 11)
    com = Commitment.from_bytes(commit(model, random.Random(1)).to_bytes())
    proof = Proof.from_bytes(prove_statement(model, x, y, rng=random.Random(2)).to_bytes())
    expected = int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))
    assert 0 < expected < len(y)
    assert proof.claimed_count == expected
    assert verify_statement(com, x, y, proof) == expected


def test_cnn_architecture_is_public_and_checked():
    model = cnn(2)
    arch = commit(model).architecture
    assert arch["format"] == "zkml-net-v1"
    assert [l["kind"] for l in arch["layers"]] == ["conv", "maxpool", "conv", "dense"]
    assert arch["layers"][0]["kernel"] == [3, 3] and arch["layers"][0]["pads"] == [1, 1, 1, 1]
    assert arch["parameter_count"] == model.parameter_count() == 3 * 9 + 3 + 4 * 27 + 4 + 3 * 12 + 3
    doc = json.loads(commit(model).to_bytes())
    doc["architecture"]["layers"][1]["out_shape"] = [3, 2, 3]
    with pytest.raises(FormatError, match="output shape"):
        Commitment.from_bytes(json.dumps(doc).encode())
    assert QuantizedModel.from_bytes(model.to_bytes()) == model


def test_cnn_simulator_makes_accepting_transcripts_without_the_weights():
    model = cnn(3)
    x, y = data(model, 6)
    com = commit(model, random.Random(1))
    proof = prove_statement(model, x, y, rng=random.Random(2))
    sim, challenges = simulate_statement(com, x, y, 5, rng=random.Random(5))
    assert len(sim.body) == len(proof.body)
    assert verify_statement(com, x, y, sim, programmed_challenges=challenges) == 5
    with pytest.raises(VerificationError):
        verify_statement(com, x, y, sim)


@pytest.mark.parametrize("virtual_depth, chunk", [(None, None), (0, 1 << 20), (4, 1 << 12)])
def test_cnn_proof_bytes_do_not_depend_on_the_lookup_provers_memory(virtual_depth, chunk, monkeypatch):
    """A pinned test vector: the CNN proof (and commitment) bytes for fixed randomness, the
    same with the whole fraction tree stored (depth 0) and with most of it recomputed from the
    leaves in small chunks. (When logup_prover stopped materializing the leaves, its bytes were
    checked equal to the materializing prover's, main 30fb25f; the vector was re-recorded when
    the witness's row width came to follow its largest tensor, and again when the rows became
    one column variable wider (format 13), after the vectorized dot-product prover had been
    checked to give the old vector's bytes with the old rows.)"""
    from zkml.protocols import logup_prover
    if virtual_depth is not None:
        monkeypatch.setattr(logup_prover, "VIRTUAL_DEPTH", virtual_depth)
        monkeypatch.setattr(logup_prover, "CHUNK_LEAVES", chunk)
    model = cnn(1)
    x, y = data(model, 11)
    r = random.Random(7)
    com = commit(model, r)
    proof = prove_statement(model, x, y, rng=r)
    assert hashlib.sha256(com.to_bytes() + proof.to_bytes()).hexdigest() == \
        "681a3b76b4bbacd616f074be58fc32c2cfe5234ba4ea254efe112fe8cfef4805"


# -- cheating provers -------------------------------------------------------------------

@pytest.fixture(scope="module")
def case():
    model = cnn(4)
    x, y = data(model, 9)
    return model, commit(model, random.Random(1)), x, y


def _forged(model, x, y, tamper=None) -> Proof:
    """The real protocol on the honest witness changed by tamper(circuit, wit)."""
    return forged_proof(model, x, y, tamper)


def _rejects(case, tamper) -> str:
    model, com, x, y = case
    with pytest.raises(VerificationError) as err:
        verify_statement(com, x, y, _forged(model, x, y, tamper))
    return str(err.value)


def _tampered_forward(monkeypatch, layer, change):
    """Make one layer's integer forward wrong at one entry; every later layer is computed
    honestly from the wrong values (so only this layer's relation is broken)."""
    honest = layer.forward

    def forward(a):
        out = honest(a).copy()
        change(out)
        return out

    monkeypatch.setattr(layer, "forward", forward)


def test_honest_witness_through_the_forging_path_verifies(case):
    model, com, x, y = case
    assert verify_statement(com, x, y, _forged(model, x, y)) == _forged(model, x, y).claimed_count


@pytest.mark.parametrize("index", [0, 2])
def test_a_wrong_convolution_output_is_rejected_by_the_conv_sumcheck(case, monkeypatch, index):
    model = case[0]

    def change(z):
        z[0, 1, 1, 0] += 4096            # one output off by 2^k: its quotient (and activation) moves by one
    _tampered_forward(monkeypatch, model.layers[index], change)
    assert f"conv{index + 1}: final evaluation" in _rejects(case, None)


def test_a_wrong_dense_output_is_rejected_by_the_matmul_sumcheck(case, monkeypatch):
    model = case[0]

    def change(z):
        z[0, 1] += 1
    _tampered_forward(monkeypatch, model.layers[3], change)
    assert "matmul4: final evaluation" in _rejects(case, None)


def _pool_entries(circuit, wit, real: bool) -> np.ndarray:
    """Indices of the pooling layer's (index 2) committed outputs that are real (a sample's
    output) or padding (a padded output position or a padded sample)."""
    valid = np.zeros((1 << circuit.s_vars, 1 << circuit.spec(2).out.n_vars), dtype=bool)
    valid[:circuit.n_samples] = circuit.spec(2).out.valid().astype(bool)
    return np.nonzero(valid.ravel() == real)[0]


def _shift_pool_output(wit, i: int, by: int) -> None:
    """A2[i] and every D2_u[i] move by `by`: A - D_u = window_u still holds."""
    for name in ["A2"] + [f"D2_{u}" for u in range(4)]:
        wit[name] = wit[name].copy()
        wit[name][i] += by


def test_a_pooled_value_below_the_max_is_rejected_by_the_range_lookup(case):
    def tamper(circuit, wit):
        i = next(i for i in _pool_entries(circuit, wit, True) if wit["A2"][i] > 0)
        _shift_pool_output(wit, i, -1)            # the zero difference becomes -1
        return int(wit["c"].sum())
    assert "lookup argument" in _rejects(case, tamper)


def test_a_pooled_value_above_the_max_is_rejected_by_the_product_zero_check(case):
    def tamper(circuit, wit):
        i = next(i for i in _pool_entries(circuit, wit, True) if wit["A2"][i] < 100)
        _shift_pool_output(wit, i, 1)             # every difference >= 1: no window value equals A
        assert all(wit[f"D2_{u}"][i] > 0 for u in range(4))
        return int(wit["c"].sum())
    assert "group/pool2: final evaluation" in _rejects(case, tamper)


def test_a_difference_not_matching_its_window_is_rejected_by_the_pool_sumcheck(case):
    def tamper(circuit, wit):
        i = next(i for i in _pool_entries(circuit, wit, True) if 0 < wit["D2_3"][i] < 100)
        wit["D2_3"] = wit["D2_3"].copy()
        wit["D2_3"][i] += 1                       # in range, the product still 0, but A - D_3 != window_3
        return int(wit["c"].sum())
    assert _rejects_window_sum(_rejects(case, tamper))


@pytest.mark.parametrize("where", ["position", "sample"])
def test_a_difference_changed_in_the_padding_is_rejected(case, where):
    """On a padded output (a padded position of a real sample, or a padded sample) every D_u is
    0: one D_u raised breaks the window relation (A - D_u = 0 there); A and every D_u raised
    together keep it but make the product nonzero."""
    def one(circuit, wit):
        i = _padding_entry(circuit, wit, where)
        wit["D2_1"] = wit["D2_1"].copy()
        wit["D2_1"][i] = 5
        return int(wit["c"].sum())

    def all_of_them(circuit, wit):
        _shift_pool_output(wit, _padding_entry(circuit, wit, where), 5)
        return int(wit["c"].sum())
    assert _rejects_window_sum(_rejects(case, one))
    assert "group/pool2: final evaluation" in _rejects(case, all_of_them)


def _rejects_window_sum(message: str) -> bool:
    """The pool2 window sum's check named (not the pool2 group's zero-check)."""
    return "pool2: final evaluation" in message and "group/pool2" not in message


def _padding_entry(circuit, wit, where: str) -> int:
    row = 1 << circuit.spec(2).out.n_vars
    pads = _pool_entries(circuit, wit, False)
    i = int(pads[pads < circuit.n_samples * row][0] if where == "position" else pads[-1])
    assert all(wit[n][i] == 0 for n in ["A2"] + [f"D2_{u}" for u in range(4)])
    return i


# -- average pooling ---------------------------------------------------------------------

def avg_cnn(seed: int, pool=((2, 2), (2, 2), (0, 0, 0, 0)), global_pool: bool = False) -> QuantizedModel:
    """conv 3x3 1->3, average pooling (or global average pooling), dense -> 3 classes."""
    rng = np.random.default_rng(seed)
    c1 = ConvLayer(rng.integers(-127, 128, (3, 1, 3, 3)), rng.integers(-3000, 3000, 3), (1, 1), (1, 1, 1, 1),
                   Requant(25, 12))
    shape = c1.out_shape((1, 7, 6))
    p = AvgPoolLayer((shape[1], shape[2]), (1, 1), (0, 0, 0, 0)) if global_pool else AvgPoolLayer(*pool)
    flat = int(np.prod(p.out_shape(shape)))
    d = DenseLayer(rng.integers(-127, 128, (3, flat)), rng.integers(-500, 500, 3), None)
    model = QuantizedModel((1, 7, 6), 0.1, 3, [c1, p, d], [1.0] * 3)
    model.validate()
    return model


@pytest.mark.parametrize("kwargs", [{}, {"pool": ((3, 2), (2, 1), (1, 0, 1, 1))}, {"global_pool": True}])
def test_average_pooling_proof_verifies(kwargs):
    model = avg_cnn(5, **kwargs)
    x, y = data(model, 10)
    com = commit(model, random.Random(1))
    proof = Proof.from_bytes(prove_statement(model, x, y, rng=random.Random(2)).to_bytes())
    assert verify_statement(com, x, y, proof) == int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))


def test_average_pooling_rounds_half_up_over_the_window():
    pool = AvgPoolLayer((3, 2), (2, 1), (1, 0, 1, 1))
    a = np.random.default_rng(0).integers(0, 128, (2, 3, 7, 6))
    out = pool.forward(a)
    padded = np.pad(a, ((0, 0), (0, 0), (1, 1), (0, 1)))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            s = padded[:, :, 2 * i:2 * i + 3, j:j + 2].sum(axis=(2, 3))
            assert np.array_equal(out[:, :, i, j], np.floor(s / 6 + 0.5).astype(np.int64))


def _relogits(circuit, wit, y) -> int:
    """Logits (layer 3, dense) recomputed from a changed A2, then the argmax witness."""
    wit["Z3"] = _dense_logits(circuit, wit, 3)
    return argmax_witness(circuit, wit, y)


@pytest.mark.parametrize("global_pool", [False, True])
def test_an_average_off_by_one_is_rejected(global_pool):
    """A + 1 with R - K keeps K A + R = S + K/2, but R leaves [0, K): the range lookup fails;
    A + 1 alone breaks the window sum."""
    model = avg_cnn(6, global_pool=global_pool)
    x, y = data(model, 8)
    com = commit(model, random.Random(1))
    k = model.layers[1].count

    def shifted_remainder(circuit, wit):
        wit["A2"], wit["R2"] = wit["A2"] + 0, wit["R2"] + 0
        wit["A2"][0] += 1
        count = _relogits(circuit, wit, y)
        wit["R2"][0] -= k
        if "Rc2" in wit:
            wit["Rc2"] = wit["Rc2"] + 0
            wit["Rc2"][0] += k
        return count

    def plus_one(circuit, wit):
        wit["A2"] = wit["A2"] + 0
        wit["A2"][0] += 1
        return _relogits(circuit, wit, y)

    for tamper, reason in ((shifted_remainder, "lookup argument"), (plus_one, "avg2: final evaluation")):
        with pytest.raises(VerificationError, match=reason):
            verify_statement(com, x, y, _forged(model, x, y, tamper))


# -- per-channel requantization ------------------------------------------------------------

def per_channel_cnn(seed: int) -> QuantizedModel:
    """cnn() with one multiplier per output channel in every hidden conv and dense layer."""
    rng = np.random.default_rng(seed)
    c1 = ConvLayer(rng.integers(-127, 128, (3, 1, 3, 3)), rng.integers(-3000, 3000, 3), (1, 1), (1, 1, 1, 1),
                   Requant((25, 9, 40), 12))
    p1 = MaxPoolLayer((2, 2), (2, 2), (0, 0, 0, 0))
    c2 = ConvLayer(rng.integers(-127, 128, (4, 3, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), (1, 1, 1, 1),
                   Requant((20, 7, 30, 11), 12))
    d1 = DenseLayer(rng.integers(-127, 128, (5, 36)), rng.integers(-500, 500, 5), Requant((3, 5, 8, 2, 6), 12))
    d2 = DenseLayer(rng.integers(-127, 128, (3, 5)), rng.integers(-500, 500, 3), None)
    model = QuantizedModel((1, 7, 6), 0.1, 3, [c1, p1, c2, d1, d2], [1.0] * 5)
    model.validate()
    return model


def test_per_channel_multipliers_requantize_each_channel():
    model = per_channel_cnn(7)
    x, _ = data(model, 3)
    z, a = model.hidden_int(x)[0]
    for o, m in enumerate((25, 9, 40)):
        assert np.array_equal(a[:, o], np.clip((m * z[:, o] + 2048) >> 12, 0, 127))
    arch = model.architecture()
    assert arch["layers"][0]["requant"]["multiplier"] == [25, 9, 40]
    assert QuantizedModel.from_bytes(model.to_bytes()) == model


def test_per_channel_proof_verifies_and_a_wrong_channel_output_is_rejected(monkeypatch):
    model = per_channel_cnn(8)
    x, y = data(model, 9)
    com = Commitment.from_bytes(commit(model, random.Random(1)).to_bytes())
    proof = Proof.from_bytes(prove_statement(model, x, y, rng=random.Random(2)).to_bytes())
    assert verify_statement(com, x, y, proof) == int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))
    sim, challenges = simulate_statement(com, x, y, 4, rng=random.Random(3))
    assert verify_statement(com, x, y, sim, programmed_challenges=challenges) == 4
    for index, label in ((2, "conv3"), (3, "matmul4")):
        with monkeypatch.context() as patch:
            _tampered_forward(patch, model.layers[index],
                              lambda z: z.__setitem__((0, 1) + (0,) * (z.ndim - 2), z[(0, 1) + (0,) * (z.ndim - 2)] + 4096))
            with pytest.raises(VerificationError, match=f"{label}: final evaluation"):
                verify_statement(com, x, y, _forged(model, x, y))


def test_flipped_bytes_in_a_cnn_proof_are_rejected():
    model = per_channel_cnn(9)
    x, y = data(model, 5)
    com = commit(model, random.Random(1))
    raw = prove_statement(model, x, y, rng=random.Random(2)).to_bytes()
    rng = random.Random(99)
    reasons = set()
    for pos in sorted(rng.sample(range(146, len(raw)), 40)) + [len(raw) - 1]:
        tampered = bytearray(raw)
        tampered[pos] ^= 1 << rng.randrange(8)
        with pytest.raises((VerificationError, FormatError)) as err:
            verify_statement(com, x, y, Proof.from_bytes(bytes(tampered)))
        reasons.add(str(err.value).split(":")[0])
    assert len(reasons) >= 3, reasons


# -- residual blocks -------------------------------------------------------------------------

def residual_cnn(seed: int, per_channel: bool = False, pool: bool = True) -> QuantizedModel:
    """conv 3x3 1->4, a residual block (conv 3x3 4->4 added to the first conv's output),
    max-pool (or none), dense -> 3 classes."""
    rng = np.random.default_rng(seed)
    c1 = ConvLayer(rng.integers(-127, 128, (4, 1, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), (1, 1, 1, 1),
                   Requant(25, 12))
    m2 = (12, 7, 9, 15) if per_channel else 12
    c2 = ConvLayer(rng.integers(-60, 61, (4, 4, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), (1, 1, 1, 1),
                   Requant(m2, 12, residual=(1, 2048)))
    middle = [MaxPoolLayer((2, 2), (2, 2), (0, 0, 0, 0))] if pool else []
    d = DenseLayer(rng.integers(-127, 128, (3, 36 if pool else 168)), rng.integers(-500, 500, 3), None)
    model = QuantizedModel((1, 7, 6), 0.1, 3, [c1, c2] + middle + [d], [1.0] * (3 + len(middle)))
    model.validate()
    return model


def test_residual_branch_adds_the_scaled_skip_before_requantization():
    model = residual_cnn(10)
    x, _ = data(model, 4)
    (z1, a1), (z2, a2) = model.hidden_int(x)[:2]
    assert np.array_equal(a2, np.clip((12 * z2 + 2048 * a1 + 2048) >> 12, 0, 127))
    arch = model.architecture()
    assert arch["layers"][1]["requant"]["residual"] == {"from": 1, "multiplier": 2048}
    assert QuantizedModel.from_bytes(model.to_bytes()) == model
    bad = json.loads(commit(model).to_bytes())
    bad["architecture"]["layers"][1]["requant"]["residual"]["from"] = 3
    with pytest.raises(FormatError, match="residual"):
        Commitment.from_bytes(json.dumps(bad).encode())


@pytest.mark.parametrize("per_channel", [False, True])
def test_residual_proof_verifies(per_channel):
    model = residual_cnn(11, per_channel)
    x, y = data(model, 9)
    check_proof_and_simulation(model, x, y, 2)


def test_a_residual_sum_off_by_one_is_rejected_by_the_block_conv_sumcheck():
    """The block's sum computed with the skip value one off at one entry (its Q, R, A and the
    logits after it consistent with that): the conv relation of the block fails."""
    model = residual_cnn(12, pool=False)
    x, y = data(model, 9)
    com = commit(model, random.Random(1))

    def skip_off_by_one(circuit, wit):
        k = 12
        t = (wit["Q2"] << k) + wit["R2"]               # m Z + m_s A1 + 2^(k-1), entry by entry
        e = int(np.nonzero((wit["A2"] > 0) & (wit["A2"] < 120))[0][0])
        t[e] += 2048                                    # as if A1 were one larger there
        wit["Q2"], wit["R2"] = t >> k, t - ((t >> k) << k)
        wit["A2"] = np.clip(wit["Q2"], 0, 127)
        wit["Z3"] = _dense_logits(circuit, wit, 3)
        return argmax_witness(circuit, wit, y)

    with pytest.raises(VerificationError, match="conv2: final evaluation"):
        verify_statement(com, x, y, _forged(model, x, y, skip_off_by_one))
