"""The compiled kernels -- Fr vectors (fr.c) and G1 multi-scalar multiplication (g1.c) --
built on demand into one shared library and loaded with ctypes.

    python -m zkml.native build [--force]

`build()` compiles fr.c and g1.c with ``${CC:-cc} -O3 -std=c11 -shared -fPIC`` into
``_fr.so`` next to them (or, if this directory is not writable, into a per-user cache
directory under a name keyed by the sources' hash). Output goes to a temporary name first and is moved into place
with os.replace, so concurrent builders never see a half-written library.

`load()` returns the ctypes library, or None if it cannot be built or loaded (it never
raises; `load_error()` says why). It rebuilds when the library is missing or older than
any of the sources and a compiler exists. The result is cached for the process.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

ABI_VERSION = 4  # must match FR_ABI_VERSION in fr.c
G1_ABI_VERSION = 2  # must match G1_ABI_VERSION in g1.c; return codes of g1.c:
G1_OK = 0
G1_IDENTITY = 1
G1_ERR_RANGE = 2
G1_ERR_NOT_ON_CURVE = 3
G1_ERR_SCALAR = 4
G1_ERR_NOMEM = 5
G1_ERR_INTERNAL = 6

HERE = Path(__file__).resolve().parent
SRC = HERE / "fr.c"
SOURCES = (SRC, HERE / "g1.c")  # all compiled into the one library
INPUTS = SOURCES + (HERE / "limbs.h",)  # what the library is built from (freshness, cache key)
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
    h = hashlib.sha256()
    for src in INPUTS:
        h.update(hashlib.sha256(src.read_bytes()).digest())
    digest = h.hexdigest()[:16]
    return Path(base) / "zkml-native" / f"_fr-{digest}.so"


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK)


def _sources_exist() -> bool:
    return all(src.exists() for src in INPUTS)


def _fresh(lib: Path) -> bool:
    try:
        newest = max(src.stat().st_mtime for src in INPUTS)
    except FileNotFoundError:
        return lib.exists()  # sources missing (nothing to compare with): take it as is
    try:
        return lib.stat().st_mtime >= newest
    except FileNotFoundError:
        return False


def _compile(target: Path) -> Path:
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC)")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        proc = subprocess.run([*cc, *CFLAGS, "-o", str(tmp), *map(str, SOURCES)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {', '.join(map(str, SOURCES))} failed:\n"
                               f"{proc.stderr.strip()}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def build(force: bool = False) -> Path:
    """Compile the sources unless an up-to-date library exists; returns the library's path."""
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
    if _sources_exist() and not _writable(HERE):
        cached = cache_target()
        if cached.exists():
            return cached
    if _compiler() is not None and _sources_exist():
        return build()
    if not pkg.exists() and not _sources_exist():
        raise RuntimeError("not built when zkml was installed (no C compiler then)")
    return pkg if pkg.exists() else None  # stale but nothing to rebuild with: ABI-checked below


def _declare(lib: ctypes.CDLL) -> None:
    vp, sz, cint = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    sigs = {
        "fr_abi_version": ([], cint),
        "fr_from_i64": ([vp, vp, sz], None),
        "fr_from_bytes": ([vp, ctypes.c_char_p, sz], None),
        "fr_affine_i64": ([vp, ctypes.c_char_p, vp, ctypes.c_char_p, sz, sz], None),
        "fr_to_bytes": ([vp, vp, sz], None),
        "fr_add": ([vp, vp, vp, sz], None),
        "fr_sub": ([vp, vp, vp, sz], None),
        "fr_mul": ([vp, vp, vp, sz], None),
        "fr_scale": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_add_const": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_fold": ([vp, vp, ctypes.c_char_p, sz], None),
        "fr_fold_part": ([vp, vp, ctypes.c_char_p, sz, sz, sz], None),
        "fr_fraction_parent": ([vp, vp, vp, vp, sz, sz, sz], None),
        "fr_sum": ([vp, vp, sz], None),
        "fr_dot": ([vp, vp, vp, sz], None),
        "fr_eq_table": ([vp, ctypes.c_char_p, sz], None),
        "fr_gkr_round": ([vp, vp, vp, vp, ctypes.c_char_p, sz, cint, sz, sz], None),
        "g1_abi_version": ([], cint),
        "g1_prepare": ([ctypes.c_char_p, sz, vp], cint),
        "g1_msm_small": ([vp, vp, sz, vp], cint),
        "g1_msm_full": ([vp, vp, sz, vp], cint),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res


def _self_test(lib: ctypes.CDLL) -> None:
    """(-7) * 3 and back through every conversion: catches a wrong or miscompiled library."""
    import numpy as np
    from zkml.arith.field import P

    a = np.empty((2, 4), dtype=np.uint64)
    lib.fr_from_i64(a.ctypes.data, np.array([-7, 3], dtype=np.int64).ctypes.data, 2)
    prod = np.empty((1, 4), dtype=np.uint64)
    lib.fr_mul(prod.ctypes.data, a[0:1].ctypes.data, a[1:2].ctypes.data, 1)
    out = ctypes.create_string_buffer(32)
    lib.fr_to_bytes(out, prod.ctypes.data, 1)
    if int.from_bytes(out.raw, "little") != P - 21:
        raise RuntimeError("native Fr kernel failed its self-test")
    _self_test_g1(lib)


# The standard generator G of G1 and 2G, affine x || y (48-byte big-endian each).
_G1_GEN = bytes.fromhex(
    "17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
    "08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1")
_G1_GEN_TIMES_2 = bytes.fromhex(
    "0572cbea904d67468808c8eb50a9450c9721db309128012543902d0ac358a62ae28f75bb8f1c7c42c39a8c5529bf0f4e"
    "166a9d8cabc673a322fda673779d8e3822ba3ecb8670e461f73bb9021d5fd76a4c56d9d4cd16bd1bba86881979749d28")


def _self_test_g1(lib: ctypes.CDLL) -> None:
    """2G as G + G (mixed addition hitting the doubling case) and as 2 * G (doubling), checked
    against the known value, and G - G = identity: catches a wrong or miscompiled g1.c."""
    import numpy as np

    bases = np.empty((2, 12), dtype=np.uint64)
    if lib.g1_prepare(_G1_GEN * 2, 2, bases.ctypes.data) != G1_OK:
        raise RuntimeError("native G1 kernel failed its self-test (prepare)")
    out = ctypes.create_string_buffer(96)
    for scalars, want_rc, want in (([1, 1], G1_OK, _G1_GEN_TIMES_2), ([2, 0], G1_OK, _G1_GEN_TIMES_2),
                                   ([1, -1], G1_IDENTITY, bytes(96)), ([-3, 5], G1_OK, _G1_GEN_TIMES_2)):
        s = np.array(scalars, dtype=np.int64)
        rc = lib.g1_msm_small(bases.ctypes.data, s.ctypes.data, 2, out)
        if rc != want_rc or out.raw != want:
            raise RuntimeError(f"native G1 kernel failed its self-test ({scalars})")


def _load() -> ctypes.CDLL | None:
    path = _find_or_build()
    if path is None:
        raise RuntimeError("no library and no compiler")
    lib = ctypes.CDLL(str(path))
    _declare(lib)
    if lib.fr_abi_version() != ABI_VERSION:
        raise RuntimeError(f"{path}: ABI version {lib.fr_abi_version()}, expected {ABI_VERSION}")
    if lib.g1_abi_version() != G1_ABI_VERSION:
        raise RuntimeError(f"{path}: G1 ABI version {lib.g1_abi_version()}, expected {G1_ABI_VERSION}")
    _self_test(lib)
    return lib


def load() -> ctypes.CDLL | None:
    """The kernel library, or None if it cannot be built or loaded. Never raises. When it cannot,
    says so once per process in one line on stderr (the pure-Python paths are much slower)."""
    with _lock:
        if "lib" not in _state:
            try:
                _state["lib"], _state["error"] = _load(), None
            except Exception as exc:  # noqa: BLE001 -- any failure means "use the fallback"
                _state["lib"], _state["error"] = None, f"{type(exc).__name__}: {exc}"
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                print(f"zkml: compiled kernels unavailable ({reason}); using the pure-Python paths (slower)",
                      file=sys.stderr)
        return _state["lib"]


def load_error() -> str | None:
    """Why load() returned None (None if it succeeded or was not called)."""
    return _state.get("error")
