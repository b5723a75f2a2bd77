"""Build hooks for `pip install .` (the metadata is in pyproject.toml).

The compiled kernels (zkml/native: fr.c, g1.c) are a ctypes library, not a CPython extension,
so they are built here rather than as an `Extension`: with the same compiler and flags as
`python -m zkml.native build` (CC, default `cc`), into `zkml/native/_fr.so` of the wheel (or of
the checkout, for an editable install). Where no C compiler exists, or it fails, the install
goes on without the library and zkml uses its pure-Python paths (it says so in one line when it
first needs them). The wheel carries the library but not the C sources (the sdist has both):
an installed zkml then never tries to rebuild itself in site-packages.

The server-side Celery app of prover_worker (celery_app.py, which imports the Django project)
is left out of the wheel: `pip install .` installs only the participant's tools.
"""
import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
SERVER_ONLY = {("prover_worker", "celery_app")}


def _native_builder():
    """zkml/native/__init__.py loaded on its own (importing the zkml package would need numpy)."""
    spec = importlib.util.spec_from_file_location("_zkml_native_build", ROOT / "zkml" / "native" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithKernels(build_py):
    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        if getattr(self, "editable_mode", False):
            return modules
        return [m for m in modules if (m[0], m[1]) not in SERVER_ONLY]

    def run(self):
        super().run()
        native = _native_builder()
        if getattr(self, "editable_mode", False):
            target = native.package_target()                    # the checkout's zkml/native/_fr.so
        else:
            target = Path(self.build_lib) / "zkml" / "native" / native.LIB_NAME
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not (getattr(self, "editable_mode", False) and native._fresh(target)):
                native._compile(target)
            print(f"zkml: compiled kernels built: {target}")
        except Exception as exc:  # noqa: BLE001 -- no compiler: install without the kernels
            print(f"zkml: compiled kernels not built ({exc}); zkml will use its pure-Python paths",
                  file=sys.stderr)

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        lib = Path(self.build_lib) / "zkml" / "native" / "_fr.so"
        if lib.exists() and not getattr(self, "editable_mode", False):
            outputs.append(str(lib))
        return outputs


class BinaryDistribution(Distribution):
    """A wheel holding a compiled library is platform-specific (not py3-none-any)."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithKernels}, distclass=BinaryDistribution)
