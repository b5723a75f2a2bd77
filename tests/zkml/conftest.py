"""pytest setup for tests/zkml: exposes fixtures.py as the module ``zkml_fixtures``.

tests/zkml has no __init__.py (a package named ``zkml`` here would shadow the real one),
so the helper module is loaded under a unique name instead of the generic ``fixtures``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

if "zkml_fixtures" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "zkml_fixtures", Path(__file__).with_name("fixtures.py"))
    assert _spec is not None and _spec.loader is not None
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["zkml_fixtures"] = _mod
    _spec.loader.exec_module(_mod)

import zkml_fixtures  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """(x_train, y_train, x_test, y_test) of sklearn's digits."""
    return zkml_fixtures.digits_split()


@pytest.fixture(scope="session")
def digits_onnx() -> bytes:
    """skl2onnx export of MLPClassifier(hidden_layer_sizes=(32,), random_state=0)."""
    return zkml_fixtures.digits_mlp_onnx((32,))


@pytest.fixture(scope="session")
def digits_qmodel(digits_onnx, digits):
    """The quantized (32,) digits model, calibrated on the training part."""
    from zkml.frontend.quantize import quantize

    return quantize(digits_onnx, digits[0])
