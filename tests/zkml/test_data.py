"""Dataset .npz files: round trip, canonical bytes, and a clear error for each kind of bad file."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from zkml.formats.data import Dataset, dataset_bytes, load_dataset, save_dataset, sha256_file
from zkml.errors import FormatError


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_round_trip_and_digest(tmp_path, digits):
    x, y = digits[2], digits[3]
    path = tmp_path / "test.npz"
    save_dataset(path, x, y)
    ds = load_dataset(path)
    assert isinstance(ds, Dataset) and len(ds) == len(y)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64
    assert np.array_equal(ds.x, x) and np.array_equal(ds.y, y)
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    # canonical: same arrays -> same bytes, readable by plain numpy too
    save_dataset(tmp_path / "again.npz", x.astype(np.float64), y.astype(np.int32))
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()
    with np.load(path) as z:
        assert np.array_equal(z["x"], x)
    # file objects work too
    with open(path, "rb") as f:
        assert np.array_equal(load_dataset(f).y, y)


def test_accepts_numpy_written_files_with_other_dtypes(tmp_path):
    x = np.random.default_rng(0).normal(size=(5, 2, 3))  # float64, 3-D
    y = np.array([0, 1, 2, 1, 0], np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, x=x, y=y, extra=np.zeros(3))
    ds = load_dataset(io.BytesIO(buf.getvalue()))
    assert ds.x.shape == (5, 2, 3) and ds.x.dtype == np.float32 and ds.y.dtype == np.int64
    assert np.allclose(ds.x, x, atol=1e-6)


@pytest.mark.parametrize("blob, match", [
    (b"", "empty"),
    (b"hello, not a zip", "not a .npz"),
    (np.zeros(3).tobytes(), "not a .npz"),
    (_npz(x=np.zeros((2, 2), np.float32)), "missing the array"),
    (_npz(features=np.zeros((2, 2)), labels=np.zeros(2, int)), "missing the array\\(s\\) x, y"),
    (_npz(x=np.zeros((2, 2), np.int32), y=np.zeros(2, int)), "x must be a float"),
    (_npz(x=np.zeros((2, 2), np.float32), y=np.zeros(2, np.float32)), "y must be an integer"),
    (_npz(x=np.zeros((2, 2), np.float32), y=np.zeros(2, bool)), "y must be an integer"),
    (_npz(x=np.zeros((2, 2), np.float32), y=np.zeros((2, 1), int)), "1-D"),
    (_npz(x=np.zeros((3, 2), np.float32), y=np.zeros(2, int)), "3 samples but y has 2"),
    (_npz(x=np.zeros((0, 2), np.float32), y=np.zeros(0, int)), "empty"),
    (_npz(x=np.zeros(4, np.float32), y=np.zeros(4, int)), "shape \\[N, ...\\]"),
    (_npz(x=np.array([[0.0, np.nan]]), y=np.zeros(1, int)), "NaN"),
    (_npz(x=np.array([[0.0, np.inf]]), y=np.zeros(1, int)), "NaN or infinity"),
    (_npz(x=np.array([[1e300]]), y=np.zeros(1, int)), "float32"),
    (_npz(x=np.zeros((1, 2)), y=np.array([-1])), "non-negative"),
    (_npz(x=np.array([[None, 1.0]], dtype=object), y=np.zeros(1, int)), "object"),
])
def test_bad_files(blob, match):
    with pytest.raises(FormatError, match=match):
        load_dataset(io.BytesIO(blob))


def test_truncated_files(tmp_path, digits):
    data = dataset_bytes(digits[2][:100], digits[3][:100])
    for cut in (10, 100, len(data) // 2, len(data) - 30, len(data) - 1):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError):
            load_dataset(path)


def test_max_bytes_bounds_file_and_decompressed_size(tmp_path, digits):
    path = tmp_path / "d.npz"
    save_dataset(path, digits[2], digits[3])
    size = path.stat().st_size
    assert len(load_dataset(path, max_bytes=size)) == len(digits[3])
    with pytest.raises(FormatError, match="limit"):
        load_dataset(path, max_bytes=size - 1)
    with pytest.raises(FormatError, match="limit"):
        load_dataset(io.BytesIO(path.read_bytes()), max_bytes=1000)
    # a small compressed file that expands beyond the limit
    buf = io.BytesIO()
    np.savez_compressed(buf, x=np.zeros((2000, 100), np.float32), y=np.zeros(2000, int))
    assert len(buf.getvalue()) < 20_000
    with pytest.raises(FormatError, match="arrays are larger"):
        load_dataset(io.BytesIO(buf.getvalue()), max_bytes=50_000)


def test_directory_is_not_a_dataset(tmp_path):
    with pytest.raises(FormatError):
        load_dataset(tmp_path)
