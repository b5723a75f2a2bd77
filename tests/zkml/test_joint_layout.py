"""The joint activation layout (docs/protocol.md §3): every activation's per-sample index is
padded once (3×5×7 = 105 entries -> 128, not 4×8×8 = 256). Its public tables against direct
definitions, a network whose every layer needs the re-indexing (3×5×7, 3×4×6, 4×4×6, 4×2×3
activations), and cheating provers that change only a padding value or a re-indexed claim:
the verifier must reject each, naming the check."""
import random

import numpy as np
import pytest

from zkml.arith.field import P, eq_table, mle_eval
from zkml.circuit import Circuit
from zkml.errors import VerificationError
from zkml.formats.commitment import Commitment
from zkml.formats.opening import commit
from zkml.formats.model import AvgPoolLayer, ConvLayer, DenseLayer, MaxPoolLayer, QuantizedModel, Requant
from zkml.formats.proof import Proof
from zkml.layers import common, conv
from zkml.layers.spec import Layout, prefix_eval, prefix_indicator
from zkml.prover import prove_statement, simulate_statement
from zkml.verifier import verify_statement

from zkml_fixtures import forged_proof as _forged, tiny_data, tiny_model


def _point(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(P) for _ in range(n)]


@pytest.mark.parametrize("real,n", [(0, 3), (1, 3), (5, 3), (8, 3), (105, 7), (96, 7)])
def test_prefix_eval_is_the_mle_of_the_prefix_indicator(real, n):
    p = _point(n, real)
    assert prefix_eval(real, p) == mle_eval(prefix_indicator(real, n).astype(object), p)


def test_joint_layout_pads_once_and_reindexes_to_the_grid():
    lay = Layout.of((3, 5, 7))
    assert (lay.n_vars, lay.size, lay.grid.size) == (7, 128, 256)
    assert not lay.same_as_grid() and Layout.of((6, 8, 8)).same_as_grid() and not Layout.of((4, 1, 1)).same_as_grid()
    a = np.random.default_rng(0).integers(-127, 128, (1, 3, 5, 7))
    joint, grid = lay.pad(a)[0], lay.grid.pad(a)[0]
    assert np.array_equal(grid[lay.grid.index()], a.ravel()) and not joint[105:].any()
    g_pt, j_pt = _point(8, 1), _point(7, 2)
    # the grid MLE at a grid point is the joint tensor weighted by the re-indexing table
    e = lay.reindex_table(g_pt)
    assert mle_eval(grid.astype(object), g_pt) == int(np.dot(e, joint.astype(object))) % P
    assert lay.reindex_eval(g_pt, j_pt) == mle_eval(e, j_pt)
    # and conversely (what the conv's re-indexing sumcheck uses, E over the grid)
    assert mle_eval(joint.astype(object), j_pt) == int(np.dot(lay.to_grid(eq_table(j_pt)), grid.astype(object))) % P
    assert lay.reindex_eval(g_pt, j_pt) == mle_eval(lay.to_grid(eq_table(j_pt)), g_pt)


def odd_cnn(seed: int) -> QuantizedModel:
    """[1, 5, 7] -> conv 3x3 (pad 1) 3×5×7 -> max-pool 2/1 3×4×6 -> conv 3x3 (pad 1) 4×4×6
    -> average pool 2/2 4×2×3 -> dense -> 3 classes: no activation is a power of two in H, W."""
    rng = np.random.default_rng(seed)
    c1 = ConvLayer(rng.integers(-127, 128, (3, 1, 3, 3)), rng.integers(-3000, 3000, 3), (1, 1), (1, 1, 1, 1),
                   Requant(25, 12))
    p1 = MaxPoolLayer((2, 2), (1, 1), (0, 0, 0, 0))
    c2 = ConvLayer(rng.integers(-127, 128, (4, 3, 3, 3)), rng.integers(-3000, 3000, 4), (1, 1), (1, 1, 1, 1),
                   Requant(20, 12))
    p2 = AvgPoolLayer((2, 2), (2, 2), (0, 0, 0, 0))
    d = DenseLayer(rng.integers(-127, 128, (3, 24)), rng.integers(-500, 500, 3), None)
    model = QuantizedModel((1, 5, 7), 0.1, 3, [c1, p1, c2, p2, d], [1.0] * 5)
    model.validate()
    return model


def _data(model, n: int):
    rng = np.random.default_rng(1)
    x = rng.integers(-127, 128, (n, model.input_dim))
    y = np.argmax(model.forward_int(x), axis=1)
    y[::3] = (y[::3] + 1) % model.n_classes
    return x, y


@pytest.fixture(scope="module")
def odd():
    model = odd_cnn(3)
    x, y = _data(model, 9)
    return model, commit(model, random.Random(1)), x, y


def test_odd_geometry_commits_joint_activations_and_verifies(odd):
    model, com, x, y = odd
    circuit = Circuit(model.architecture(), len(y))
    sv = circuit.s_vars
    # committed per-sample entries: 128, 128, 128, 32 (the grid would need 256, 128, 128, 32)
    assert [circuit.n_vars(f"A{i}") - sv for i in (1, 2, 3, 4)] == [7, 7, 7, 5]
    assert [s.inp.same_as_grid() for s in circuit.specs[1:]] == [False] * 4
    proof = Proof.from_bytes(prove_statement(model, x, y, rng=random.Random(2)).to_bytes())
    assert proof.version == 13
    expected = int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))
    assert 0 < expected < len(y)
    assert verify_statement(Commitment.from_bytes(com.to_bytes()), x, y, proof) == expected
    sim, challenges = simulate_statement(com, x, y, 2, rng=random.Random(3))     # without the weights
    assert sim.version == 13 and len(sim.body) == len(proof.body)
    assert verify_statement(com, x, y, sim, programmed_challenges=challenges) == 2
    old = Proof.from_bytes(proof.to_bytes(version=4))        # the same messages in a version-4 file
    with pytest.raises(VerificationError, match="made by an older zkml, which laid out a convolutional"):
        verify_statement(com, x, y, old)
    selectors = Proof.from_bytes(proof.to_bytes(version=7))  # the layout that committed pooling selectors
    with pytest.raises(VerificationError, match="made by an older zkml, which committed selector bits "
                                                "for max-pooling.*format version 8.*prove again"):
        verify_statement(com, x, y, selectors)


def _rejects(case, tamper=None) -> str:
    model, com, x, y = case
    with pytest.raises(VerificationError) as err:
        verify_statement(com, x, y, _forged(model, x, y, tamper))
    return str(err.value)


def _padding_entry(circuit, name: str) -> int:
    """The flat index of the first padded entry of sample 0 of a joint activation."""
    spec = circuit.spec(int(name[1:]))
    return spec.out.real_size


def test_a_conv_output_nonzero_in_the_joint_padding_is_rejected_by_the_reindexing(odd):
    """Q = A = 5 on a padded position of conv 1 (the clamp lookup holds there): the group's
    claim then includes a padded entry that no convolution output matches."""
    def tamper(circuit, wit):
        e = _padding_entry(circuit, "A1")
        for name in ("Q1", "A1"):
            wit[name] = wit[name].copy()
            wit[name][e] = 5
        return int(wit["c"].sum())
    assert "conv1/joint: final evaluation" in _rejects(odd, tamper)


def test_a_pooled_value_in_the_joint_padding_is_rejected_by_the_pool_sumcheck(odd):
    def tamper(circuit, wit):
        e = _padding_entry(circuit, "A2")
        wit["A2"] = wit["A2"].copy()
        wit["A2"][e] = 1                          # D_0 stays 0 and selected: A - D_0 = 1, no window reads 1
        return int(wit["c"].sum())
    assert "pool2: final evaluation" in _rejects(odd, tamper)


def _bump(layout, v: np.ndarray, where: str) -> np.ndarray:
    """v (a grid vector of layout) with one entry + 1: a real grid position or a padded one."""
    real = layout.grid.index()
    pos = int(real[1]) if where == "real" else min(set(range(layout.grid.size)) - set(real.tolist()))
    out = np.array(v, dtype=object)
    out[pos] = (out[pos] + 1) % P
    return out


@pytest.mark.parametrize("where,check", [("real", "conv1/joint"), ("padding", "conv1")])
def test_a_wrong_reindexed_conv_output_is_rejected(odd, monkeypatch, where, check):
    """The re-indexing table of conv 1 off at one grid entry: on a real position its own
    sumcheck fails; in the grid's padding (E = 0 there, so it passes) the claim it hands to
    the convolution is wrong, and the conv sumcheck fails."""
    honest = conv._grid_output

    def grid_output(ctx, s, r_n):
        out = honest(ctx, s, r_n)
        return _bump(s.out, out, where) if s.index == 1 else out

    monkeypatch.setattr(conv, "_grid_output", grid_output)
    assert f"{check}: final evaluation" in _rejects(odd)


def test_a_wrong_reindexed_dense_input_is_rejected_by_the_joint_window_sum(odd, monkeypatch):
    """The dense layer's input on its grid off at a padded grid position, where W's column is
    0: the matrix product still holds, and the claim moved to the committed A is wrong."""
    target = Circuit(odd[0].architecture(), len(odd[3])).spec(5).inp
    honest = Layout.to_grid

    def to_grid(self, v):            # the dense layer is the only user of its input's to_grid
        out = honest(self, v)
        return _bump(self, out, "padding") if self == target else out

    monkeypatch.setattr(Layout, "to_grid", to_grid)
    assert "matmul5/joint: final evaluation" in _rejects(odd)


def test_pool_window_table_matches_the_window_sums():
    """M over the joint input, at a random output point, against the window sums computed
    directly: sum_y A(y) M(y) = sum_x eq(r, x) sum_u w_u window_u(A)(x)."""
    model = odd_cnn(4)
    circuit = Circuit(model.architecture(), 4)
    s = circuit.spec(2)
    a = np.random.default_rng(5).integers(0, 128, (1,) + s.inp.real)
    r = _point(s.out.n_vars, 6)
    wh, ww = [3, 5], [7, 11]
    m = common.window_table(s, eq_table(r)[:s.out.real_size], wh, ww)
    lhs = int(np.dot(m, s.inp.pad(a)[0].astype(object))) % P
    out = np.zeros(s.out.real, dtype=object)
    for u in range(2):
        for v in range(2):
            out += a[0, :, u:u + 4, v:v + 6].astype(object) * wh[u] * ww[v]
    assert lhs == mle_eval(s.out.pad(out.reshape(1, -1).astype(np.int64))[0].astype(object), r)


def test_a_dense_only_proof_in_the_cnn_file_version_is_refused():
    """Each architecture reads only its own file versions (a flipped version bit is refused)."""
    model = tiny_model()
    x, y = tiny_data(model)
    com = commit(model, random.Random(1))
    proof = prove_statement(model, x, y, rng=random.Random(2))
    assert proof.version == 13 and verify_statement(com, x, y, Proof.from_bytes(proof.to_bytes())) == 4
    for version in (7, 8):
        with pytest.raises(VerificationError, match="is for a network with convolution or pooling layers"):
            verify_statement(com, x, y, Proof.from_bytes(proof.to_bytes(version=version)))


def test_odd_geometry_proves_in_shards(odd):
    """The joint layout in a sharded proof (docs/protocol.md §6a): shards of 4, 4 and 1 samples
    (the last one padded to one sample) verify with the whole count; a raised shard count is
    rejected by that shard's proof; the file is version 9, and version 2 (pooling selectors) is
    refused by name."""
    import dataclasses

    from zkml.arith.curve import get_backend
    from zkml.commitments import pedersen
    from zkml.formats.proof import read_proof
    from zkml.prover import prove_sharded
    from zkml.verifier import verify_sharded

    model, com, x, y = odd
    expected = int(np.sum(np.argmax(model.forward_int(x), axis=1) == y))
    sharded = read_proof(prove_sharded(model, x, y, 4, rng=random.Random(4)).to_bytes())
    assert [(s.start, s.stop) for s in sharded.shards] == [(0, 4), (4, 8), (8, 9)]
    assert sharded.version == 9 and verify_sharded(com, x, y, sharded) == expected
    old = read_proof(dataclasses.replace(sharded, version=2).to_bytes())   # made when pooling had selectors
    with pytest.raises(VerificationError, match="made by an older zkml, which committed selector bits "
                                                "for max-pooling.*sharded format version 3.*prove again"):
        verify_sharded(com, x, y, old)
    be = get_backend()
    a, b, c = sharded.shards
    raised = be.to_bytes(be.add(be.from_bytes(c.count_commitment), pedersen.g()))
    cheat = dataclasses.replace(sharded, claimed_count=expected + 1,
                                shards=[a, b, dataclasses.replace(c, count_commitment=raised)])
    with pytest.raises(VerificationError, match="shard 3 of 3"):
        verify_sharded(com, x, y, cheat)
