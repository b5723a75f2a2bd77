"""Parsing of small JSON request bodies: every malformed body is a BadInput (a 400), in
time linear in its size (zkml's hardened parser: bounded depth, no huge integers)."""
import math
from dataclasses import dataclass

from submissions.errors import BadInput


def parse_json_object(body: bytes, what: str, max_depth: int = 2) -> dict:
    """A JSON object of at most `max_depth` levels, or BadInput naming `what`."""
    from zkml.errors import FormatError
    from zkml.formats.jsonutil import parse_json

    try:
        value = parse_json(body or b"{}", what, max_depth=max_depth)
    except FormatError as exc:
        raise BadInput(f"{str(exc)[:300]}.")
    if not isinstance(value, dict):
        raise BadInput(f"The {what} must be a JSON object.")
    return value


@dataclass(frozen=True)
class ProgressReport:
    """A self-hosted prover's progress report: {"stage": str, "percent": number 0-100}."""

    stage: str
    percent: float


PROGRESS_FORMAT = 'Body must be JSON: {"stage": "...", "percent": 0-100}.'


def parse_progress(body: bytes) -> ProgressReport:
    """The progress report in `body`; BadInput on wrong types, non-finite numbers or NUL."""
    payload = parse_json_object(body, "progress report", max_depth=1)
    stage, percent = payload.get("stage", "proving"), payload.get("percent", 0)
    if not isinstance(stage, str):
        raise BadInput(f"The progress stage must be a string. {PROGRESS_FORMAT}")
    if isinstance(percent, bool) or not isinstance(percent, (int, float)):
        raise BadInput(f"The progress percent must be a number. {PROGRESS_FORMAT}")
    if not math.isfinite(float(percent)):
        raise BadInput(f"The progress percent must be finite. {PROGRESS_FORMAT}")
    if "\x00" in stage:
        raise BadInput("The progress stage must not contain NUL characters.")
    return ProgressReport(stage=stage, percent=float(percent))
