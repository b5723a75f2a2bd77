"""The verifier stands alone: verifying a proof loads no prover module and no ONNX library,
and runs on the pure-Python field and curve code (the compiled kernels and the arkworks
backend are optional speed-ups whose results are byte-identical, tested elsewhere). The
modules it does load are the audit path that docs/protocol.md lists."""
import ast
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from zkml.formats.opening import commit
from zkml.formats.data import save_dataset
from zkml.formats.model import ConvLayer, DenseLayer, MaxPoolLayer, QuantizedModel, Requant
from zkml.prover import prove_statement

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(name: str) -> Path | None:
    """The source file of a zkml module (None for anything outside zkml or not a module)."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if name.split(".")[0] == "zkml" and path.is_file():
            return path
    return None


# The prover's modules: every *_prover half, the prover, the committing side of COMMIT.json,
# and the ONNX front end.
PROVER_MODULES = {module_name(p) for p in (ROOT / "zkml").rglob("*.py")
                  if p.stem.endswith("_prover") or p.stem == "prover" or "frontend" in p.parts} \
    | {"zkml.formats.opening"}
PROVER_SIDE = PROVER_MODULES | {"onnx", "onnxruntime", "sklearn"}
# The compiled kernels: optional speed-ups (byte-identical to the pure path, tested elsewhere),
# so neither loaded by a pure-Python verification nor on the auditor's reading list.
COMPILED = {"zkml.arith.frvec_native", "zkml.arith.g1_native", "zkml.native", "py_arkworks_bls12381"}

VERIFY = """
import json, sys
import zkml
from zkml.formats.data import load_dataset
commitment = zkml.Commitment.load(sys.argv[1])
proof = zkml.Proof.load(sys.argv[3])
count = zkml.verify(commitment, load_dataset(sys.argv[2]), proof)
print(json.dumps({"count": count, "modules": sorted(sys.modules)}))
"""


def test_verification_loads_no_prover_module_and_no_compiled_code(tmp_path):
    rng = np.random.default_rng(0)
    model = QuantizedModel((1, 4, 4), 0.1, 3, [
        ConvLayer(rng.integers(-127, 128, (2, 1, 3, 3)), rng.integers(-500, 500, 2), (1, 1), (1, 1, 1, 1),
                  Requant(40, 12)),
        MaxPoolLayer((2, 2), (2, 2), (0, 0, 0, 0)),
        DenseLayer(rng.integers(-127, 128, (3, 8)), rng.integers(-100, 100, 3), None)], [1.0] * 3)
    x = rng.random((4, 1, 4, 4), dtype=np.float32) * 12
    y = model.predict(x)
    commitment = commit(model, random.Random(1))
    proof = prove_statement(model, model.quantize_input(x), y, rng=random.Random(2))
    commitment.save(tmp_path / "c.json")
    (tmp_path / "p.bin").write_bytes(proof.to_bytes())
    save_dataset(tmp_path / "d.npz", x, y)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ZKML_FRVEC="python", ZKML_BACKEND="py_ecc")
    out = subprocess.run([sys.executable, "-c", VERIFY, str(tmp_path / "c.json"), str(tmp_path / "d.npz"),
                          str(tmp_path / "p.bin")], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] == int(np.sum(model.predict(x) == y)) == 4
    loaded = set(result["modules"])
    assert {"zkml.verifier", "zkml.layers.conv", "zkml.protocols.sigma_verifier", "zkml.commitments.ipa_verifier",
            "zkml.commitments.hyrax_verifier", "zkml.protocols.channel_verifier"} <= loaded
    assert not loaded & PROVER_SIDE, loaded & PROVER_SIDE
    assert not loaded & COMPILED, loaded & COMPILED
    # the private model format is not needed to verify (only the public input quantization)
    assert "zkml.formats.model" not in loaded and "zkml.formats.inputs" in loaded


# Functions of verifier-path modules that are the prover's steps: each layer module keeps its
# prove/verify pair, so prove* functions (and this helper of theirs) may import prover halves
# inside their bodies; nothing else on the verifier's path may.
PROVER_STEPS = {("zkml.layers.common", "send_channel_bias")}


def imports_of(name: str) -> set[str]:
    """The zkml modules that `name` imports, at module level or inside any function that is
    not a prover step, and the layer modules that zkml.layers.step loads by name."""
    path = module_path(name)
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                    child.name.startswith("prove") or (name, child.name) in PROVER_STEPS):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:      # relative: the package, up level - 1 steps
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - child.level + 1] + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names if module_path(f"{base}.{a.name}"))
            elif (name == "zkml.layers" and isinstance(child, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "KINDS" for t in child.targets)):
                found.update(f"zkml.layers.{kind}" for kind in ast.literal_eval(child.value))
            visit(child)
    visit(tree)
    return {m for m in found if module_path(m)}


def verifier_closure() -> dict[str, set[str]]:
    """{module: the zkml modules it imports} over everything zkml.verifier reaches (the
    compiled kernels' wrappers aside), with the packages each module's import runs first."""
    graph: dict[str, set[str]] = {}
    todo = ["zkml.verifier"]
    while todo:
        name = todo.pop()
        if name in graph or name in COMPILED:
            continue
        parents = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
        graph[name] = imports_of(name) | parents
        todo.extend(graph[name])
    return graph


def audit_path_table() -> list[tuple[str, int]]:
    """(module, line count) rows of the audit path section of docs/protocol.md, in order."""
    doc = (ROOT / "docs" / "protocol.md").read_text()
    section = doc.split("### The verifier's audit path", 1)[1].split("\n#", 1)[0]
    return [(module_name(ROOT / "zkml" / path), int(lines))
            for path, lines in re.findall(r"^\| \d+ \| `([\w/]+\.py)` \| (\d+) \|", section, re.M)]


def test_verifier_import_closure_holds_no_prover_module_and_matches_the_audit_path():
    graph = verifier_closure()
    assert {"zkml.verifier", "zkml.protocols.sumcheck_verifier", "zkml.commitments.ipa_verifier",
            "zkml.layers.conv", "zkml.formats.commitment"} <= set(graph)
    edges = sorted((m, i) for m, imported in graph.items() for i in imported if i in PROVER_MODULES)
    assert not edges, f"a module on the verifier's path imports a prover module: {edges}"
    assert {"zkml.protocols.sigma_prover", "zkml.commitments.pedersen_prover", "zkml.commitments.ipa_prover",
            "zkml.commitments.hyrax_prover", "zkml.protocols.channel_prover"} <= PROVER_MODULES
    # every module an auditor must read (package files that are only a docstring aside) is
    # listed, once, with its current length give or take a few lines
    needed = {m for m in graph if len(module_path(m).read_text().splitlines()) > 1}
    table = audit_path_table()
    listed = [m for m, _ in table]
    assert len(listed) == len(set(listed)) and set(listed) == needed, (
        f"docs/protocol.md's audit path lists {sorted(set(listed) - needed)} too many and "
        f"misses {sorted(needed - set(listed))}")
    for m, lines in table:
        actual = len(module_path(m).read_text().splitlines())
        assert abs(actual - lines) <= max(15, actual // 10), (
            f"docs/protocol.md's audit path gives {m} {lines} lines; it has {actual}: update the table")


def test_each_layer_kind_keeps_its_prove_verify_pair_and_the_prover_steps_exist():
    """The closure above skips only prove* functions and PROVER_STEPS, so verify() and every
    other function of a layer module import verifier halves only; the pairs and the exempted
    helpers must exist for that to mean anything."""
    from zkml.layers import KINDS
    assert {f"zkml.layers.{kind}" for kind in KINDS} <= set(verifier_closure())
    for kind in KINDS:
        tree = ast.parse((ROOT / "zkml" / "layers" / f"{kind}.py").read_text())
        assert {"prove", "verify"} <= {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}, kind
    for module, func in PROVER_STEPS:
        tree = ast.parse(module_path(module).read_text())
        assert func in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}, (module, func)
