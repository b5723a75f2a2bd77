"""Memory planning (zkml/memory.py): the estimate grows with the lookup tree and the dataset,
the chosen shard size is the largest power of two that fits, amounts of memory parse with
clear errors, and `zkml prove --max-memory` proves in the planned shards."""
from __future__ import annotations

import numpy as np
import pytest

from zkml.errors import ZkmlError
from zkml.memory import (BASE_BYTES, MIN_SHARD, estimated_peak_bytes, parse_memory, physical_memory_bytes,
                         shard_size_for)
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


@pytest.mark.parametrize("text,value", [("8G", 8 << 30), ("6.5GiB", int(6.5 * (1 << 30))), ("512mb", 512 << 20),
                                        ("2048M", 2 << 30), ("1000", 1000), (" 3 K ", 3072)])
def test_amounts_of_memory_parse(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["", "lots", "8X", "-1G", "0", "1e9", "8 G B"])
def test_bad_amounts_of_memory_are_named(text):
    with pytest.raises(ValueError, match="memory"):
        parse_memory(text)


def test_physical_memory_is_known_here():
    assert physical_memory_bytes() > 256 << 20


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

