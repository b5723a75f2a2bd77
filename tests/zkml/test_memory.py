"""Memory planning (zkml/memory.py): the estimate grows with the lookup tree and the dataset,
the chosen shard size is the largest power of two that fits, amounts of memory parse with
clear errors, and `zkml prove --max-memory` proves in the planned shards."""
from __future__ import annotations

import numpy as np
import pytest

from zkml.errors import ZkmlError
from zkml import memory
from zkml.memory import (BASE_BYTES, MIN_SHARD, default_budget, estimated_peak_bytes, machine_memory_bytes,
                         parse_memory, plan, shard_size_for)
from zkml_fixtures import tiny_data, tiny_model


@pytest.fixture(scope="module")
def arch():
    return tiny_model().architecture()


def test_the_estimate_grows_with_the_samples_and_shards_bound_it(arch):
    sizes = [estimated_peak_bytes(arch, n) for n in (16, 256, 4096, 65536)]
    assert BASE_BYTES < sizes[0] < sizes[1] < sizes[2] < sizes[3]
    # in shards, only the dataset's part grows with N
    assert estimated_peak_bytes(arch, 65536, 256) < sizes[2]
    assert estimated_peak_bytes(arch, 65536, 256) - estimated_peak_bytes(arch, 4096, 256) == \
        16 * (65536 - 4096) * int(np.prod(arch["input_shape"]))


def test_the_shard_size_is_the_largest_power_of_two_that_fits(arch):
    n = 10000
    assert shard_size_for(arch, n, estimated_peak_bytes(arch, n)) is None          # the whole proof fits
    for size in (4096, 1024, MIN_SHARD):
        budget = estimated_peak_bytes(arch, n, size)
        assert shard_size_for(arch, n, budget) == size
        if size > MIN_SHARD:
            assert shard_size_for(arch, n, budget - 1) == size // 2
    with pytest.raises(ZkmlError, match=f"even in shards of {MIN_SHARD} samples, more than the memory allowed"):
        shard_size_for(arch, n, estimated_peak_bytes(arch, n, MIN_SHARD) - 1)
    with pytest.raises(ZkmlError, match="12 samples of this model needs about .* MiB in one proof"):
        shard_size_for(arch, 12, estimated_peak_bytes(arch, 12) - 1)          # too few samples to shard
    assert plan(arch, n, None) == (None, "no memory limit: proving in one proof")
    size, line = plan(arch, n, estimated_peak_bytes(arch, n, 1024))
    assert size == 1024 and line.startswith("memory allowed") and "shards of 1024 samples" in line


@pytest.mark.parametrize("text,value", [("8G", 8 << 30), ("6.5GiB", int(6.5 * (1 << 30))), ("512mb", 512 << 20),
                                        ("2048M", 2 << 30), ("1000", 1000), (" 3 K ", 3072), ("7B", 7),
                                        ("0", None), ("0G", None)])
def test_amounts_of_memory_parse(text, value):
    assert parse_memory(text) == value          # None: zero, no limit


@pytest.mark.parametrize("text", ["", "lots", "8X", "-1G", "1e9", "8 G B", "8iB", "1.5"])
def test_bad_amounts_of_memory_are_named(text):
    with pytest.raises(ValueError, match="not an amount of memory"):
        parse_memory(text)


def test_the_default_budget_is_three_quarters_of_the_memory_allowed_here():
    total = machine_memory_bytes()
    assert total > 256 << 20 and default_budget() == total * 3 // 4


def test_cli_proves_in_the_planned_shards(tmp_path, capsys):
    """--max-memory below the whole proof's estimate: shards of the planned size, a proof that
    verifies; a bad amount is a usage error; an impossible budget is one line, nothing written."""
    import random

    from zkml import commit
    from zkml.__main__ import main
    from zkml.formats.data import load_dataset, save_dataset
    from zkml.formats.proof import load_proof

    model = tiny_model()
    com = commit(model, random.Random(0))
    x, y = tiny_data(model, n=40)
    model.save(tmp_path / "m.zkm")
    save_dataset(tmp_path / "d.npz", (x * model.input_scale).astype(np.float32), y)
    arch = model.architecture()
    budget = estimated_peak_bytes(arch, 40, 16)
    out = tmp_path / "p.bin"
    args = ["prove", str(tmp_path / "m.zkm"), "--dataset", str(tmp_path / "d.npz"), "--out", str(out), "--quiet"]
    assert main(args + ["--max-memory", str(budget)]) == 0
    assert "proving in shards of 16 samples" in capsys.readouterr().out
    proof = load_proof(out)
    assert [s.stop - s.start for s in proof.shards] == [16, 16, 8]
    from zkml.api import verify
    assert verify(com, load_dataset(str(tmp_path / "d.npz")), proof) == proof.claimed_count
    with pytest.raises(SystemExit):
        main(args + ["--max-memory", "lots"])
    assert "not an amount of memory: 'lots'" in capsys.readouterr().err
    out.unlink()
    assert main(args + ["--max-memory", "1M"]) == 1
    assert "more than the memory allowed (1 MiB)" in capsys.readouterr().err and not out.exists()
    # no flag: three quarters of the machine's memory; a small machine (patched) gets shards too
    assert main(args) == 0 and capsys.readouterr().out.startswith("proved ")     # fits: one proof, no plan line
    assert not hasattr(load_proof(out), "shards")
    small_machine = 4 * budget // 3 + 3            # three quarters of it is the 16-sample budget
    import unittest.mock
    with unittest.mock.patch.object(memory, "machine_memory_bytes", return_value=small_machine):
        assert main(args) == 0
    assert "proving in shards of 16 samples" in capsys.readouterr().out and hasattr(load_proof(out), "shards")
    assert main(args + ["--max-memory", "0"]) == 0 and "no memory limit" in capsys.readouterr().out

