"""Hostile JSON is refused with a FormatError, in time linear in its size (issue 9, item 1)."""
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

import zkml.formats.jsonutil as jsonutil
from zkml.errors import FormatError
from zkml.formats.jsonutil import MAX_JSON_DEPTH, nesting_depth, parse_json

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20


def _depth(value) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _random_value(rng: random.Random, levels: int):
    if levels == 0:
        return rng.choice(['a\\', '[\\"{', 1, '\\\\', ']]', '"', 2.5, None, "\u00e9[\u4e2d"])
    if rng.random() < 0.5:
        return [_random_value(rng, levels - 1) for _ in range(rng.randint(0, 3))]
    return {f'{i}\\"[': _random_value(rng, levels - 1) for i in range(rng.randint(0, 3))}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_depth_matches_the_parsed_value(monkeypatch, chunk):
    """Brackets inside strings (with escaped quotes and backslash runs) do not count, across chunk edges."""
    monkeypatch.setattr(jsonutil, "_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(120):
        value = _random_value(rng, rng.randint(0, 6))
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
            assert nesting_depth(text) == _depth(value), text
            assert nesting_depth(text.encode()) == _depth(value), text


@pytest.mark.parametrize("name, text, message", [
    ("escaped quotes", '["' + '\\"' * (MIB // 2 - 1), "Unterminated string"),
    ("escaped quotes, closed", '["' + '\\"' * (MIB // 2 - 2) + '"', "Expecting"),
    ("deep", "[" * MIB, f"nested deeper than {MAX_JSON_DEPTH} levels"),
    ("deep objects", '{"a":' * (MIB // 5), f"nested deeper than {MAX_JSON_DEPTH} levels"),
    ("deep after a string", '["' + "x" * (MIB // 2) + '",' + "[" * (MIB // 2), "nested deeper"),
    ("huge integer", '{"a": ' + "9" * (MIB - 10) + "}", "more than 64 digits"),
    ("5000-digit integer", '{"a": -' + "9" * 5000 + "}", "more than 64 digits"),
    ("huge float", '{"a": 1' + "0" * 400 + ".0}", "out of range"),
    ("NaN", '{"a": NaN}', "NaN is not a JSON number"),
    ("not UTF-8", b'{"a": "\xff\xfe"}', "not valid JSON"),
])
def test_hostile_json_is_refused_fast(name, text, message):
    """1 MiB of the old regex's worst case took about an hour; now every case takes well under a second."""
    data = text if isinstance(text, bytes) else text.encode()
    start = time.perf_counter()
    with pytest.raises(FormatError) as info:
        parse_json(data, "commitment")
    elapsed = time.perf_counter() - start
    assert str(info.value).startswith("commitment is not valid JSON")
    assert message in str(info.value)
    assert elapsed < 1.0, f"{name}: {elapsed:.2f} s"


def test_scan_time_is_linear():
    """Doubling the hostile input doubles the time (a quadratic scan would quadruple it)."""
    def timed(n: int) -> float:
        text = ('["' + '\\"' * (n // 2)).encode()
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            nesting_depth(text)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = timed(1 * MIB), timed(8 * MIB)
    assert large < 8 * small * 2.5 + 0.05, (small, large)


def test_ordinary_json_still_parses():
    assert parse_json(b'{"a": [1, -2, 3.5, "x]"], "b": {"c": null}}', "x") == \
        {"a": [1, -2, 3.5, "x]"], "b": {"c": None}}
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert _depth(parse_json(deep, "x")) == MAX_JSON_DEPTH
    with pytest.raises(FormatError):
        parse_json("[" + deep + "]", "x")
    assert parse_json('{"n": ' + "9" * 64 + "}", "x") == {"n": int("9" * 64)}


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("ZKML_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", "zkml", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("content", [
    '{"format": "proofboard-zkml-commitment", "version": ' + "9" * 5000 + "}",
    '{"format": "proofboard-zkml-commitment", "x": ["' + '\\"' * 200_000,
    "[" * 100_000,
    '{"format": "proofboard-zkml-commitment", "version": 1, "architecture": {"layers": '
    '[{"in": 1e999, "out": 2}]}}',
])
def test_cli_refuses_hostile_commitments_without_a_traceback(tmp_path, content):
    (tmp_path / "c.json").write_text(content)
    start = time.perf_counter()
    out = _cli("verify", "--commitment", "c.json", "--dataset", "d.npz", "--proof", "p.bin", cwd=tmp_path)
    assert time.perf_counter() - start < 30
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    assert "commitment" in out.stderr
