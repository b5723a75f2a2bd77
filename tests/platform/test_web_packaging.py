"""Packaging: the participant package (`pip install .`) re-verifies a downloaded proof bundle.

What a participant or an outside auditor does, for real: the project is built into a wheel and
installed into a fresh virtual environment that holds *only* the participant package and the
dependencies its wheel declares (no Django, no Celery, no checkout on sys.path); a verified
entry's proof bundle is downloaded and unzipped into an empty folder, the test set is downloaded
next to it under the name the bundle's README gives, and the command the README prints is run
there, from that folder. It must print the proven count and exit 0.

To stay fast and offline the wheel is built without build isolation (`--no-build-isolation`,
the test venv's setuptools) and installed with `--no-deps`; the declared dependencies are not
downloaded but linked in from the test venv: the closure of the wheel's own `Requires-Dist`
(without extras), walked through the installed distributions' metadata. A dependency the code
needs but the wheel does not declare (Django, say) is therefore missing, and the test fails.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from django.urls import reverse
from packaging.requirements import Requirement

from submissions import services

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "zkml", "prover_worker")


def _build_wheel(work: Path, env: dict | None = None) -> Path:
    """The wheel of a clean copy of the project's package sources (the checkout stays untouched)."""
    src = work / "src"
    src.mkdir()
    for name in PROJECT_FILES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.tmp"))
        else:
            shutil.copy2(path, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(work / "dist"), str(src)], check=True, capture_output=True, env=env)
    (wheel,) = (work / "dist").glob("proofboard-*.whl")
    return wheel


def _requires(dist_metadata) -> list[Requirement]:
    reqs = [Requirement(r) for r in dist_metadata.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def _dependency_closure(wheel: Path) -> list[metadata.Distribution]:
    """The installed distributions the wheel needs: its Requires-Dist, recursively, no extras."""
    with zipfile.ZipFile(wheel) as zf:
        (meta_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        import email
        todo = _requires(email.message_from_bytes(zf.read(meta_name)))
    seen: dict[str, metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        if key in seen:
            continue
        dist = metadata.distribution(req.name)  # PackageNotFoundError: the test venv lacks it
        seen[key] = dist
        todo.extend(_requires(dist.metadata))
    return list(seen.values())


def _link_dependencies(dists: list[metadata.Distribution], target: Path) -> None:
    """Symlink each distribution's top-level files and folders (and its .dist-info) into target."""
    target.mkdir()
    for dist in dists:
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            source = Path(dist.locate_file(top))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)


def _participant_venv(work: Path, build_env: dict | None = None) -> dict:
    wheel = _build_wheel(work, build_env)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    _link_dependencies(_dependency_closure(wheel), work / "deps")
    (site / "_participant_deps.pth").write_text(f"{work / 'deps'}\n")
    return {"venv": venv, "wheel": wheel, "site": site}


@pytest.fixture(scope="module")
def participant_venv(tmp_path_factory):
    """A fresh venv with the participant wheel installed and its declared dependencies linked in."""
    return _participant_venv(tmp_path_factory.mktemp("pkg"))


def _env(venv: Path) -> dict:
    """The environment of a participant's shell: the fresh venv first on PATH, nothing of the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_participant_wheel_holds_the_tools_and_no_server(participant_venv):
    """The wheel: zkml (with the compiled kernels where a compiler exists) and the client, and
    nothing of the server stack; both console scripts run from any folder."""
    names = zipfile.ZipFile(participant_venv["wheel"]).namelist()
    assert "zkml/__init__.py" in names and "prover_worker/cli.py" in names
    assert "zkml/pedersen_generators.bin" in names
    assert not [n for n in names if n.startswith(("platform/", "proofboard/", "tests/", "templates/"))]
    assert "prover_worker/celery_app.py" not in names  # the hosted worker imports the Django project
    if shutil.which(os.environ.get("CC") or "cc"):
        assert "zkml/native/_fr.so" in names
        assert not [n for n in names if n.endswith((".c", ".h"))]  # installed zkml never rebuilds itself
    bin_dir = participant_venv["venv"] / "bin"
    env = _env(participant_venv["venv"])
    for script, words in (("zkml", "quantize"), ("proofboard-prover", "submit")):
        out = subprocess.run([str(bin_dir / script), "--help"], cwd=participant_venv["site"].parent, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and words in out.stdout, out.stderr
    probe = subprocess.run(
        [str(bin_dir / "python"), "-c",
         "import importlib.util as u, zkml, zkml.native as n; "
         "print(zkml.__file__); print(n.load() is not None); print(u.find_spec('django') is None)"],
        cwd="/", env=env, capture_output=True, text=True, timeout=120)
    zkml_file, native_loaded, no_django = probe.stdout.split()
    assert zkml_file.startswith(str(participant_venv["site"]))  # the installed copy, not the checkout
    assert no_django == "True"  # the server stack is not a dependency
    if shutil.which(os.environ.get("CC") or "cc"):
        assert native_loaded == "True", probe.stderr


@pytest.mark.django_db
def test_bundle_readme_command_reverifies_in_the_unzipped_bundle(client, users, challenge, zk, prove_for,
                                                                   participant_venv, tmp_path):
    """A verified entry's bundle, unzipped with `unzip` into an empty folder, plus the test set
    downloaded under the README's name: the README's command verifies there (exit 0, count printed)."""
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    entry = services.upload_proof(users.alice, entry, prove_for(entry))
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()

    folder = tmp_path / "bundle"
    folder.mkdir()
    (tmp_path / "bundle.zip").write_bytes(client.get(reverse("submissions:bundle", args=[entry.pk])).content)
    if shutil.which("unzip"):
        subprocess.run(["unzip", "-q", str(tmp_path / "bundle.zip"), "-d", str(folder)], check=True)
        for member in folder.iterdir():  # readable by everyone, as any downloaded file
            assert member.stat().st_mode & 0o777 == 0o644, member
    else:
        zipfile.ZipFile(tmp_path / "bundle.zip").extractall(folder)
    readme = (folder / "README.txt").read_text()
    filename = re.search(r"into this folder\s+as (\S+),", readme).group(1)
    assert filename == "digits-test.npz"
    download = client.get(reverse("challenges:test_set", args=[challenge.slug]))
    assert f'filename="{filename}"' in download["Content-Disposition"]  # one name everywhere
    (folder / filename).write_bytes(b"".join(download.streaming_content))

    env = _env(participant_venv["venv"])
    commands = [line.strip() for line in readme.splitlines() if line.startswith("    ")]
    assert commands[0] == "pip install ." and commands[1] == "sha256sum -c dataset-sha256.txt"
    if shutil.which("sha256sum"):
        subprocess.run(commands[1], shell=True, cwd=folder, env=env, check=True, capture_output=True)
    verify = commands[2]
    assert verify.startswith("zkml verify ") and f"--context proofboard/digits/{entry.pk}" in verify
    result = subprocess.run(verify, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{entry.correct_count}/{entry.total_count} correct" in result.stdout

    # and it can fail: a flipped byte of the proof is refused with exit 1
    proof = bytearray((folder / "proof.bin").read_bytes())
    proof[-40] ^= 1
    (folder / "proof.bin").write_bytes(bytes(proof))
    result = subprocess.run(verify, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1 and "correct" not in result.stdout


def test_without_a_c_compiler_install_works_and_says_pure_python_once(tmp_path):
    """Built where no C compiler exists (CC names none): the wheel installs without the kernels,
    and zkml runs on its pure-Python paths after one line that says so."""
    installed = _participant_venv(tmp_path, {**os.environ, "CC": str(tmp_path / "no-such-cc")})
    assert "zkml/native/_fr.so" not in zipfile.ZipFile(installed["wheel"]).namelist()
    env = _env(installed["venv"])
    probe = subprocess.run(
        [str(installed["venv"] / "bin" / "python"), "-c",
         "import zkml.arith.frvec as f, zkml.arith.g1_native as g; print(f.FrVec.__name__, g.available())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0 and probe.stdout.split() == ["PyFrVec", "False"], probe.stderr
    notice = probe.stderr.strip().splitlines()
    assert len(notice) == 1 and notice[0].startswith("zkml: compiled kernels unavailable (")
    assert "using the pure-Python paths" in notice[0]
