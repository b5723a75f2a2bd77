"""The compiled Fr vector kernel (fr.c), built on demand and loaded with ctypes.

    python -m zkml.native build [--force]

`build()` compiles fr.c with ``${CC:-cc} -O3 -std=c11 -shared -fPIC`` into ``_fr.so`` next
to it (or, if this directory is not writable, into a per-user cache directory under a name
keyed by the source's hash). Output goes to a temporary name first and is moved into place
with os.replace, so concurrent builders never see a half-written library.

`load()` returns the ctypes library, or None if it cannot be built or loaded (it never
raises; `load_error()` says why). It rebuilds when the library is missing or older than
fr.c and a compiler exists. The result is cached for the process.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

ABI_VERSION = 1  # must match FR_ABI_VERSION in fr.c
FR_OK = 0
FR_ERR_ZERO = 1

HERE = Path(__file__).resolve().parent
SRC = HERE / "fr.c"
LIB_NAME = "_fr.so"
CFLAGS = ("-O3", "-std=c11", "-shared", "-fPIC")

_lock = threading.Lock()
_state: dict = {}


def _compiler() -> list[str] | None:
    cmd = shlex.split(os.environ.get("CC") or "cc")
    return cmd if cmd and shutil.which(cmd[0]) else None


def package_target() -> Path:
    return HERE / LIB_NAME


def cache_target() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(SRC.read_bytes()).hexdigest()[:16]
    return Path(base) / "zkml-native" / f"_fr-{digest}.so"


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK)


def _fresh(lib: Path) -> bool:
    try:
        return lib.stat().st_mtime >= SRC.stat().st_mtime
    except FileNotFoundError:
        return lib.exists()  # no source next to it (nothing to compare with): take it as is


def _compile(target: Path) -> Path:
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC)")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        proc = subprocess.run([*cc, *CFLAGS, "-o", str(tmp), str(SRC)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {SRC} failed:\n{proc.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def build(force: bool = False) -> Path:
    """Compile fr.c unless an up-to-date library exists; returns the library's path."""
    pkg = package_target()
    if not force and _fresh(pkg):
        return pkg
    if _writable(HERE):
        return _compile(pkg)
    cached = cache_target()  # package directory read-only: per-user cache, keyed by source
    if not force and cached.exists():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    return _compile(cached)


def _find_or_build() -> Path | None:
    pkg = package_target()
    if _fresh(pkg):
        return pkg
    if SRC.exists() and not _writable(HERE):
        cached = cache_target()
        if cached.exists():
            return cached
    if _compiler() is not None and SRC.exists():
        return build()
    return pkg if pkg.exists() else None  # stale but nothing to rebuild with: ABI-checked below


def _declare(lib: ctypes.CDLL) -> None:
    vp, sz, cint = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    sigs = {
        "fr_abi_version": ([], cint),
        "fr_from_i64": ([vp, vp, sz], None),
        "fr_from_bytes": ([vp, ctypes.c_char_p, sz], None),
        "fr_to_bytes": ([vp, vp, sz], None),
        "fr_add": ([vp, vp, vp, sz], None),
        "fr_sub": ([vp, vp, vp, sz], None),
        "fr_mul": ([vp, vp, vp, sz], None),
        "fr_scale": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_add_const": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_fold": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_fold_halves": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_sum": ([vp, vp, sz], None),
        "fr_dot": ([vp, vp, vp, sz], None),
        "fr_eq_table": ([vp, ctypes.c_char_p, sz], None),
        "fr_batch_inverse": ([vp, vp, sz, ctypes.POINTER(sz)], cint),
        "fr_gkr_round": ([vp, vp, vp, vp, ctypes.c_char_p, sz], None),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res


def _self_test(lib: ctypes.CDLL) -> None:
    """(-7) * 3 and back through every conversion: catches a wrong or miscompiled library."""
    import numpy as np
    from ..field import P

    a = np.empty((2, 4), dtype=np.uint64)
    lib.fr_from_i64(a.ctypes.data, np.array([-7, 3], dtype=np.int64).ctypes.data, 2)
    prod = np.empty((1, 4), dtype=np.uint64)
    lib.fr_mul(prod.ctypes.data, a[0:1].ctypes.data, a[1:2].ctypes.data, 1)
    out = ctypes.create_string_buffer(32)
    lib.fr_to_bytes(out, prod.ctypes.data, 1)
    if int.from_bytes(out.raw, "little") != P - 21:
        raise RuntimeError("native Fr kernel failed its self-test")


def _load() -> ctypes.CDLL | None:
    path = _find_or_build()
    if path is None:
        raise RuntimeError("no library and no compiler")
    lib = ctypes.CDLL(str(path))
    _declare(lib)
    if lib.fr_abi_version() != ABI_VERSION:
        raise RuntimeError(f"{path}: ABI version {lib.fr_abi_version()}, expected {ABI_VERSION}")
    _self_test(lib)
    return lib


def load() -> ctypes.CDLL | None:
    """The kernel library, or None if it cannot be built or loaded. Never raises."""
    with _lock:
        if "lib" not in _state:
            try:
                _state["lib"], _state["error"] = _load(), None
            except Exception as exc:  # noqa: BLE001 -- any failure means "use the fallback"
                _state["lib"], _state["error"] = None, f"{type(exc).__name__}: {exc}"
        return _state["lib"]


def load_error() -> str | None:
    """Why load() returned None (None if it succeeded or was not called)."""
    return _state.get("error")
