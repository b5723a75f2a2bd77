"""How much memory proving needs, and the shard size that keeps it under a budget (the prover's
side: the verifier never imports this). The estimate is linear in what the prover holds at its
peak, the lookup tree's stage: about 64 bytes per leaf of the LogUp fraction tree (the leaves
themselves are never stored: the tree's top quarter, the witness's int64 tensors and the
lookup keys), plus the dataset (its float inputs and their quantized int64 copy) and a fixed
base for the interpreter and libraries. Fitted on measured peaks (docs/benchmarks.md, "Memory
planning"), it over-estimates them by 3-59%: planning errs on the safe side.
"""
from __future__ import annotations

import argparse
import math
import os
import re

from zkml.errors import ZkmlError

BASE_BYTES = 256 << 20          # the interpreter, numpy, the curve library, the generators
BYTES_PER_LEAF = 64             # the lookup stage's peak per leaf of the fraction tree
BYTES_PER_INPUT = 16            # a float32 input and its int64 quantized copy, rounded up
MIN_SHARD = 16                  # the smallest shard planned (smaller ones repeat a proof's fixed parts too often)
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def estimated_peak_bytes(arch: dict, n_samples: int, shard_size: int | None = None) -> int:
    """The prover's peak resident memory for n_samples, whole or in shards of shard_size."""
    from zkml.circuit import Circuit    # imported when planning: the CLI loads this module at start-up

    per_proof = min(n_samples, shard_size) if shard_size else n_samples
    leaves = Circuit(arch, per_proof).leaf_count
    inputs = n_samples * math.prod(int(d) for d in arch["input_shape"])
    return BASE_BYTES + BYTES_PER_LEAF * leaves + BYTES_PER_INPUT * inputs


def shard_size_for(arch: dict, n_samples: int, budget_bytes: int) -> int | None:
    """None when the whole proof fits the budget; else the largest power of two (a shard's
    samples are padded to one anyway) whose shards fit it. Raises ZkmlError when even shards
    of MIN_SHARD samples would not."""
    if budget_bytes < 1:
        raise ValueError(f"the memory allowed must be positive, not {budget_bytes}")
    if estimated_peak_bytes(arch, n_samples) <= budget_bytes:
        return None
    size = 1 << max(0, (n_samples - 1).bit_length() - 1)        # the largest power of two below n
    while size >= MIN_SHARD:
        if estimated_peak_bytes(arch, n_samples, size) <= budget_bytes:
            return size
        size //= 2
    smallest = min(n_samples, MIN_SHARD)
    how = "in one proof" if n_samples <= MIN_SHARD else f"even in shards of {MIN_SHARD} samples"
    raise ZkmlError(f"proving {n_samples} samples of this model needs about "
                    f"{estimated_peak_bytes(arch, n_samples, smallest) >> 20} MiB {how}, more than the memory "
                    f"allowed ({budget_bytes >> 20} MiB)")


def plan(arch: dict, n_samples: int, budget_bytes: int | None) -> tuple[int | None, str]:
    """(shard size or None for one proof, a line saying so) for a budget (None: no limit)."""
    if budget_bytes is None:
        return None, "no memory limit: proving in one proof"
    size = shard_size_for(arch, n_samples, budget_bytes)
    what = "one proof" if size is None else f"shards of {size} samples"
    return size, (f"memory allowed {budget_bytes >> 20} MiB: proving in {what} (estimated peak "
                  f"{estimated_peak_bytes(arch, n_samples, size) >> 20} MiB)")


def parse_memory(text: str) -> int | None:
    """Bytes from "8G", "512M", "6.5GiB", "2048MB" or a whole number of bytes (binary units);
    None for any zero amount ("0", "0G"), which means no limit."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?\s*", str(text), re.IGNORECASE)
    if not m or (m.group(2) is None and "." in m.group(1)):
        raise ValueError(f"not an amount of memory: {text!r} (say e.g. 8G, 512M or 6.5GiB; 0 for no limit)")
    value = int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()])
    return value or None


def memory_argument(text: str) -> int:
    """parse_memory for argparse (--max-memory): a bad amount is a usage error naming it; no
    limit is 0."""
    try:
        return parse_memory(text) or 0
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def machine_memory_bytes() -> int | None:
    """The memory this process may use: the machine's physical memory, or the container's
    limit (cgroup v2 memory.max, v1 memory.limit_in_bytes) when that is lower; None where the
    OS does not say."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 1 << 60:      # "max" or a huge v1 value: no limit
            limits.append(int(text))
    return min(limits) if limits else None


def default_budget() -> int | None:
    """Three quarters of machine_memory_bytes() (None: unknown), the budget when none is given."""
    total = machine_memory_bytes()
    return total * 3 // 4 if total else None
