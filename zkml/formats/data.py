"""Dataset files: ``.npz`` archives holding ``x`` (float, [N, ...]) and ``y`` (int labels, [N]).

:func:`load_dataset` never unpickles, bounds memory with ``max_bytes`` and turns every
problem into a :class:`~zkml.errors.FormatError` with a message fit for an end user.
:func:`save_dataset` writes canonical bytes (fixed member order and timestamps), so the
same arrays always give the same file and the same SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from typing import BinaryIO, Union

import numpy as np

from zkml.errors import FormatError

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class Dataset:
    """A labelled dataset: x float32 [N, ...], y int64 [N]."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


def _read_all(src: PathOrFile, max_bytes: int | None) -> bytes:
    if hasattr(src, "read"):
        data = src.read() if max_bytes is None else src.read(max_bytes + 1)  # type: ignore
    else:
        path = os.fspath(src)  # type: ignore[arg-type]
        try:
            if max_bytes is not None and os.path.getsize(path) > max_bytes:
                raise FormatError(f"dataset file is larger than the limit of {max_bytes} bytes")
            with open(path, "rb") as f:
                data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        except IsADirectoryError:
            raise FormatError(f"{path} is a directory, not a dataset file") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise FormatError(f"dataset file is larger than the limit of {max_bytes} bytes")
    return bytes(data)


def validate_arrays(x: np.ndarray, y: np.ndarray) -> Dataset:
    """Check and normalise arrays: x any float dtype -> float32, y any integer dtype -> int64."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype.kind != "f":
        raise FormatError(f"x must be a float array (got dtype {x.dtype})")
    if y.dtype.kind not in "iu":
        raise FormatError(f"y must be an integer array of class labels (got dtype {y.dtype})")
    if x.ndim < 2:
        raise FormatError(f"x must have shape [N, ...] with at least one feature axis "
                          f"(got shape {list(x.shape)})")
    if y.ndim != 1:
        raise FormatError(f"y must be 1-D (got shape {list(y.shape)})")
    if x.shape[0] == 0:
        raise FormatError("dataset is empty (N = 0)")
    if any(d == 0 for d in x.shape[1:]):
        raise FormatError(f"x has an empty feature axis (shape {list(x.shape)})")
    if y.shape[0] != x.shape[0]:
        raise FormatError(f"x has {x.shape[0]} samples but y has {y.shape[0]} labels")
    if not np.all(np.isfinite(x)):
        raise FormatError("x contains NaN or infinity")
    if float(np.abs(x).max()) > float(np.finfo(np.float32).max):
        raise FormatError("x has values too large for float32")
    x32 = x.astype(np.float32)
    if y.dtype.kind == "u" and y.size and int(y.max()) > np.iinfo(np.int64).max:
        raise FormatError("labels do not fit in int64")
    y64 = y.astype(np.int64)
    if y64.size and int(y64.min()) < 0:
        raise FormatError("labels must be non-negative class indices")
    return Dataset(x=np.ascontiguousarray(x32), y=np.ascontiguousarray(y64))


def load_dataset(path_or_fileobj: PathOrFile, max_bytes: int | None = None) -> Dataset:
    """Read and check a dataset ``.npz``.

    ``max_bytes`` (optional) bounds both the file size and the total uncompressed size of
    its members, so a small compressed upload cannot expand into huge arrays.
    """
    data = _read_all(path_or_fileobj, max_bytes)
    if not data:
        raise FormatError("dataset file is empty")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise FormatError("not a .npz dataset (not a zip archive, or truncated)") from None
    names = {i.filename for i in infos}
    missing = [k for k in ("x", "y") if f"{k}.npy" not in names]
    if missing:
        raise FormatError(f"dataset .npz is missing the array(s) {', '.join(missing)} "
                          f"(it has {sorted(n.removesuffix('.npy') for n in names) or 'none'})")
    if max_bytes is not None and sum(i.file_size for i in infos) > max_bytes:
        raise FormatError(f"dataset arrays are larger than the limit of {max_bytes} bytes")
    arrays = {}
    for key in ("x", "y"):
        try:
            with zf.open(f"{key}.npy") as f:
                raw = f.read()
            arrays[key] = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        except ValueError as e:
            msg = str(e)
            if "pickle" in msg.lower() or "object" in msg.lower():
                raise FormatError(f"array '{key}' has an object dtype (pickles are refused)") \
                    from None
            raise FormatError(f"array '{key}' is malformed or truncated: {msg}") from None
        except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
            raise FormatError(f"array '{key}' is truncated or corrupted ({e})") from None
    return validate_arrays(arrays["x"], arrays["y"])


def dataset_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    """Canonical ``.npz`` bytes of a dataset (x float32, y int64, stored uncompressed)."""
    ds = validate_arrays(x, y)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in (("x", ds.x), ("y", ds.y)):
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def save_dataset(path: str | os.PathLike, x: np.ndarray, y: np.ndarray) -> None:
    """Write a dataset ``.npz`` readable by :func:`load_dataset` and by ``np.load``."""
    data = dataset_bytes(x, y)
    with open(os.fspath(path), "wb") as f:
        f.write(data)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (the dataset digest a challenge publishes)."""
    h = hashlib.sha256()
    with open(os.fspath(path), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
