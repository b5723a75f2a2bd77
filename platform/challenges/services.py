"""Challenge services: test-set validation, digesting and Markdown rendering."""
import hashlib
import io
import math
import zipfile
from dataclasses import dataclass

import markdown as md
import nh3
import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.safestring import SafeString, mark_safe


def leaderboard_changed(challenge_id: int | None = None, submission_id: int | None = None) -> None:
    """Bump the challenge's board_version (given directly or as the challenge of a submission): the
    leaderboard cache keys carry it (submissions.selectors), so every cached page goes stale at once.
    Called when an entry becomes verified, is disqualified, or a verified entry is saved or deleted."""
    from .models import Challenge

    if challenge_id is not None:
        rows = Challenge.objects.filter(pk=challenge_id)
    else:
        rows = Challenge.objects.filter(submissions__pk=submission_id)
    rows.update(board_version=F("board_version") + 1)


@dataclass(frozen=True)
class TestSetInfo:
    sha256: str
    n_samples: int


def description_html(challenge) -> SafeString:
    """The challenge's rendered description, cached until the challenge is edited (updated_at)."""
    from django.core.cache import cache

    stamp = int(challenge.updated_at.timestamp() * 1e6) if challenge.updated_at else 0
    key = f"challenge:description:{challenge.pk}:{stamp}"
    html = cache.get(key)
    if html is None:
        html = str(render_markdown(challenge.description))
        cache.set(key, html, settings.LEADERBOARD_CACHE_SECONDS)
    return mark_safe(html)


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, sanitised with nh3 (no scripts, styles or event handlers)."""
    html = md.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    return mark_safe(nh3.clean(html))


def parse_input_shape(value) -> list[int]:
    """Accept [8, 8], "8,8", "8x8" or "64"; return a list of positive ints."""
    if isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [p for p in str(value).replace("x", ",").replace("[", "").replace("]", "").split(",") if p.strip()]
    try:
        shape = [int(str(p).strip()) for p in parts]
    except ValueError:
        raise ValidationError("Input shape must be a list of positive integers, e.g. 64 or 8,8.")
    if not shape or any(d <= 0 for d in shape) or len(shape) > 4:
        raise ValidationError("Input shape must be 1 to 4 positive integers, e.g. 64 or 8,8.")
    return shape


def _load_npz(data: bytes) -> dict:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValidationError("The file is not a .npz archive.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > 4 * settings.MAX_TEST_SET_BYTES:
            raise ValidationError("The .npz archive expands to too many bytes.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except Exception:
        raise ValidationError("The .npz archive could not be read (object arrays are not allowed).")


def validate_test_set(data: bytes, n_classes: int, input_shape: list[int]) -> TestSetInfo:
    """Check a test set .npz (x float32 [N, *input_shape], y integer labels in [0, n_classes))."""
    if len(data) > settings.MAX_TEST_SET_BYTES:
        raise ValidationError(f"The test set is larger than {settings.MAX_TEST_SET_BYTES} bytes.")
    arrays = _load_npz(data)
    if "x" not in arrays or "y" not in arrays:
        raise ValidationError("The test set must contain arrays named 'x' and 'y'.")
    x, y = arrays["x"], arrays["y"]
    if x.dtype != np.float32:
        raise ValidationError(f"x must be float32, got {x.dtype}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValidationError(f"y must hold integer labels, got {y.dtype}.")
    if y.ndim != 1 or x.ndim < 2 or x.shape[0] != y.shape[0] or y.shape[0] == 0:
        raise ValidationError(f"x must be [N, ...] and y [N] with N > 0; got x {list(x.shape)} and y {list(y.shape)}.")
    if list(x.shape[1:]) != list(input_shape) and math.prod(x.shape[1:]) != math.prod(input_shape):
        raise ValidationError(f"Samples have shape {list(x.shape[1:])}, the challenge expects {list(input_shape)}.")
    if not np.all(np.isfinite(x)):
        raise ValidationError("x contains NaN or infinite values.")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValidationError(f"Labels must be in [0, {n_classes}); found {int(y.min())}..{int(y.max())}.")
    return TestSetInfo(sha256=hashlib.sha256(data).hexdigest(), n_samples=int(y.shape[0]))


def validate_calibration_set(data: bytes, input_shape: list[int]) -> None:
    """Check a calibration .npz (x float32 [N, *input_shape])."""
    if len(data) > settings.MAX_TEST_SET_BYTES:
        raise ValidationError("The calibration set is too large.")
    arrays = _load_npz(data)
    x = arrays.get("x")
    if x is None or x.dtype != np.float32 or x.ndim < 2 or math.prod(x.shape[1:]) != math.prod(input_shape):
        raise ValidationError("The calibration set must hold x: float32 [N, *input_shape].")
