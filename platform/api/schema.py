"""OpenAPI pieces the views share (drf-spectacular): the token security scheme and the error
responses. The document itself is generated from the views (served at /api/openapi.json)."""
from typing import Any, Callable

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema

from .serializers import ErrorSerializer

ERROR_MEANING = {
    400: "Invalid input; `code` says which kind (bad_input, bad_upload, upload_mismatch, …), `detail` the fix",
    401: "No valid API token (`Authorization: Token pb_…`)",
    403: "Not allowed",
    404: "No such resource (someone else's entry is not found either)",
    409: "The entry's state does not allow this (`wrong_state`)",
    413: "The request body is over its limit (`payload_too_large`)",
    415: "Unsupported Content-Type",
    429: "Too many uploads, per IP and per account (`throttled`; see Retry-After)",
    503: "The platform cannot check uploads right now; nothing was stored, try again (`unavailable`)",
}


def error_responses(*statuses: int, **meanings: str) -> dict[int, OpenApiResponse]:
    """The error responses of an operation, each the Error body; `meanings` overrides a description
    by status (`s404="No such challenge"`)."""
    return {status: OpenApiResponse(ErrorSerializer, description=meanings.get(f"s{status}", ERROR_MEANING[status]))
            for status in statuses}


def upload_schema(summary: str, *, whole_body: tuple[str, Any], form: type, success: tuple[int, Any],
                  errors: tuple[int, ...], refused: str) -> Callable:
    """extend_schema of an upload: the file as the whole body (its content type and schema) or a
    multipart form (`form`), the success answer, and the error answers (`refused`: what a 400 means)."""
    content_type, body = whole_body
    status, answer = success
    return extend_schema(summary=summary, tags=["entries"], request={content_type: body, "multipart/form-data": form},
                         responses={status: answer, **error_responses(*errors, s400=refused)})


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """api.authentication.ApiTokenAuthentication in the schema: an API key in the Authorization header."""

    target_class = "api.authentication.ApiTokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>`: create keys on /accounts/tokens/ (shown once, revocable)."}
