"""Request-body parsers of the API.

DRF's JSONParser trusts `json.load`: deep nesting is a RecursionError (a 500), a 5,000-digit
number costs quadratic time. The API's small JSON bodies go through zkml's hardened parser
instead (bounded depth, bounded numbers, linear time). Uploads sent as the whole body are not
parsed at all: the view's serializer gets them as one file, whose size it checks before reading.
"""
from typing import Any, Optional

from django.core.files.uploadedfile import UploadedFile
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from proofboard.middleware import content_length


def parse_json_object(body: bytes, what: str, max_depth: int) -> dict:
    """A JSON object of at most `max_depth` levels, or a ParseError naming `what` and the fault."""
    from zkml.errors import FormatError
    from zkml.formats.jsonutil import parse_json

    try:
        value = parse_json(body or b"{}", what, max_depth=max_depth)
    except FormatError as exc:
        raise ParseError(f"{str(exc)[:300]}.")
    if not isinstance(value, dict):
        raise ParseError(f"The {what} must be a JSON object.")
    return value


class FlatJSONParser(BaseParser):
    """A flat JSON object (no nested objects or arrays), such as a progress report. The body is at
    most MAX_FORM_BYTES (RequestSizeLimitMiddleware refuses larger ones before they are read)."""

    media_type = "application/json"

    def parse(self, stream, media_type: Optional[str] = None, parser_context: Optional[dict] = None) -> dict:
        view = (parser_context or {}).get("view")
        return parse_json_object(stream.read(), getattr(view, "body_name", "request body"), max_depth=1)


class WholeBodyUploadParser(BaseParser):
    """The whole body is one file for the view's `upload_field` (`{"commitment": <file>}`): not read
    here, so the serializer can refuse it by its declared size (Content-Length) before reading it."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type: Optional[str] = None, parser_context: Optional[dict] = None) -> dict[str, Any]:
        context = parser_context or {}
        field = context["view"].upload_field
        size = content_length(context["request"])
        return {field: UploadedFile(stream, name=field, content_type=media_type, size=size)}


class JSONBodyUploadParser(WholeBodyUploadParser):
    """A JSON file sent as the body (a COMMIT.json): kept as the bytes that were sent, never re-encoded."""

    media_type = "application/json"
