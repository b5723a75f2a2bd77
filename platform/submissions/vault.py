"""The prover vault: hosted models, outside MEDIA/STATIC, never served by any URL (0700 directory,
0600 files named `<id>-<random>.zkm`), read and emptied by prove workers."""
import os
import secrets
from pathlib import Path

from django.conf import settings


def vault_dir() -> Path:
    """The prover vault: outside MEDIA_ROOT, never served, mode 0700."""
    path = Path(settings.VAULT_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_vault_file(submission_id: int, data: bytes, suffix: str) -> str:
    name = f"{submission_id}-{secrets.token_hex(8)}{suffix}"
    path = vault_dir() / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return name


def delete_vault_file(name: str) -> None:
    """Remove a model from the vault (after proving)."""
    if name:
        try:
            (vault_dir() / Path(name).name).unlink()
        except FileNotFoundError:
            pass
