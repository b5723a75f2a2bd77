"""The JSON REST API (Django REST Framework): thin views over the challenge and submission services.

Each view reads the request through a serializer, calls one service or selector, and answers with
its JSON. Refusals are raised, never answered here: api.errors.api_exception_handler turns each
into its status and code (docs/api.md, "Errors").
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from challenges.models import Challenge
from challenges.views import test_set_response
from proofboard import ratelimit
from proofboard.errors import api_error
from submissions import errors, selectors, services
from submissions.models import Submission

from .errors import NotRevealed, TooManyRequests, WithFields
from .pagination import ChallengePagination, LeaderboardPagination
from .parsers import FlatJSONParser, JSONBodyUploadParser, WholeBodyUploadParser
from .schema import error_responses, upload_schema
from .serializers import (
    ChallengeSerializer, CommitmentUploadSerializer, CreatedSubmissionSerializer, LeaderboardSerializer,
    ProgressReportSerializer, ProofUploadSerializer, SubmissionStatusSerializer,
)
from .throttling import ScopedWindowThrottle


class ApiView(APIView):
    """Base of the API's views: token authentication and its permission (settings.REST_FRAMEWORK),
    the pages' wording for 405 and 429."""

    throttle_scope = ""

    def http_method_not_allowed(self, request: Request, *args, **kwargs) -> Response:
        allowed = ", ".join(self.allowed_methods)
        raise exceptions.MethodNotAllowed(request.method,
                                          detail=f"Method {request.method} not allowed; allowed: {allowed}.")

    def throttled(self, request: Request, wait: float) -> None:
        raise TooManyRequests(int(wait), ratelimit.describe(self.throttle_scope))


class PublicApiView(ApiView):
    """A public read: no token needed, and none looked at."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class UploadApiView(ApiView):
    """A token-authenticated upload: the file as the whole body (`upload_field`) or a multipart part,
    counted against the "upload" rate limit (PROOFBOARD_RATE_UPLOAD), up to MAX_REQUEST_BYTES."""

    upload_field = ""
    accepts_uploads = True  # RequestSizeLimitMiddleware: up to MAX_REQUEST_BYTES, not MAX_FORM_BYTES
    throttle_scope = "upload"
    throttle_classes = (ScopedWindowThrottle,)
    parser_classes = (JSONBodyUploadParser, WholeBodyUploadParser, MultiPartParser)


def find_challenge(slug: str) -> Challenge:
    """The challenge, or a 404."""
    challenge = Challenge.objects.filter(slug=slug).first()
    if challenge is None:
        raise exceptions.NotFound("No such challenge.")
    return challenge


def find_entry(request: Request, pk: int, staff_may_read: bool = True) -> Submission:
    """The user's own entry (or any entry for staff, when `staff_may_read`); someone else's is
    answered like a missing one (NotYourEntry, a 404), so entry ids reveal nothing."""
    entry = Submission.objects.select_related("challenge").filter(pk=pk).first()
    user = request.user
    if entry is None or not (entry.participant_id == user.pk or (staff_may_read and user.is_staff)):
        raise errors.NotYourEntry("No such submission.")
    return entry


# ---------------------------------------------------------------- challenges (public)

@extend_schema(summary="List challenges", tags=["challenges"], responses={
    200: ChallengeSerializer(many=True), **error_responses(404, s404="No such page")})
class ChallengeList(PublicApiView, generics.ListAPIView):
    """GET /api/challenges: every challenge, newest first, a page at a time."""

    serializer_class = ChallengeSerializer
    pagination_class = ChallengePagination
    queryset = Challenge.objects.order_by("-opens_at", "title", "pk")


class ChallengeDetail(PublicApiView):
    """GET /api/challenges/<slug>"""

    @extend_schema(summary="One challenge", tags=["challenges"],
                   responses={200: ChallengeSerializer, **error_responses(404)})
    def get(self, request: Request, slug: str) -> Response:
        return Response(ChallengeSerializer(find_challenge(slug), context={"request": request}).data)


class TestSetDownload(PublicApiView):
    """GET /api/challenges/<slug>/test-set: the .npz, only once revealed (before: 403 with the digest)."""

    @extend_schema(summary="Download the revealed test set (.npz with x, y)", tags=["challenges"], responses={
        (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="the .npz file"),
        **error_responses(403, 404, s403="Not revealed yet (`not_revealed`, with `reveal_at` and "
                                         "`test_set_sha256`)")})
    def get(self, request: Request, slug: str) -> HttpResponse:
        challenge = find_challenge(slug)
        if not challenge.is_revealed():
            raise WithFields(NotRevealed("The test set is not revealed yet."),
                             reveal_at=challenge.reveal_at.isoformat(), test_set_sha256=challenge.test_set_sha256)
        return test_set_response(challenge)


class Leaderboard(PublicApiView):
    """GET /api/challenges/<slug>/leaderboard?page=N&per_page=M: public, paginated, cached."""

    pagination_class = LeaderboardPagination

    @extend_schema(summary="Public leaderboard: one page of each section (follow `next`)", tags=["challenges"],
                   parameters=LeaderboardPagination.schema_parameters(),
                   responses={200: LeaderboardSerializer, **error_responses(404, s404="No such challenge or page")})
    def get(self, request: Request, slug: str) -> Response:
        paginator = self.pagination_class()
        return paginator.get_paginated_response(paginator.paginate_board(find_challenge(slug), request))


# ---------------------------------------------------------------- entries (token)

class CommitmentUpload(UploadApiView):
    """POST /api/challenges/<slug>/submissions: commit to a model (a new entry)."""

    upload_field = "commitment"

    @upload_schema(
        "Commit: upload COMMIT.json (and MODEL.zkm for hosted proving)",
        whole_body=("application/json", OpenApiTypes.OBJECT), form=CommitmentUploadSerializer,
        success=(201, CreatedSubmissionSerializer), errors=(400, 401, 404, 413, 415, 429),
        refused="Invalid commitment, too large, already used by another participant (`commitment_in_use`), the "
                "daily limit used (`quota_exceeded`), or the challenge closed; with `remaining_today`")
    def post(self, request: Request, slug: str) -> Response:
        challenge = find_challenge(slug)
        upload = CommitmentUploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        try:
            entry = services.create_submission(request.user, challenge, upload.validated_data["commitment"],
                                               proof_mode=upload.validated_data["proof_mode"],
                                               model_bytes=upload.validated_data.get("model"),
                                               label=upload.validated_data["label"])
        except (ValidationError, PermissionDenied) as exc:
            raise WithFields(exc, remaining_today=services.remaining_today(request.user, challenge)) from exc
        body = selectors.status_json(entry)
        body["remaining_today"] = services.remaining_today(request.user, challenge)
        body["url"] = request.build_absolute_uri(entry.get_absolute_url())
        return Response(body, status=201)


class SubmissionStatus(ApiView):
    """GET /api/submissions/<id>: one of your entries (staff: any)."""

    @extend_schema(summary="Status of one of your entries", tags=["entries"],
                   responses={200: SubmissionStatusSerializer, **error_responses(401, 404)})
    def get(self, request: Request, id: int) -> Response:
        return Response(selectors.status_json(find_entry(request, id)))


class SubmissionCommitment(ApiView):
    """GET /api/submissions/<id>/commitment: the entry's COMMIT.json as uploaded (owner or staff);
    `proofboard-prover run` checks the local MODEL.zkm against it before proving."""

    @extend_schema(summary="The entry's COMMIT.json, as uploaded", tags=["entries"], responses={
        (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="COMMIT.json"),
        **error_responses(401, 404)})
    def get(self, request: Request, id: int) -> HttpResponse:
        entry = find_entry(request, id)
        if not entry.commitment:
            raise errors.NotYourEntry("No such submission.")
        return HttpResponse(bytes(entry.commitment), content_type="application/json")


class ProofUpload(UploadApiView):
    """POST /api/submissions/<id>/proof: a self-hosted entry's PROOF.bin; verification is queued."""

    upload_field = "proof"

    @upload_schema(
        "Upload a self-hosted proof",
        whole_body=("application/octet-stream", OpenApiTypes.BINARY), form=ProofUploadSerializer,
        success=(202, SubmissionStatusSerializer), errors=(400, 401, 404, 409, 413, 415, 429, 503),
        refused="Not a whole proof, or made for another statement than this entry's (`upload_mismatch`: the "
                "message names what differs and the command that makes the right proof; the entry stays open)")
    def post(self, request: Request, id: int) -> Response:
        entry = find_entry(request, id, staff_may_read=False)
        upload = ProofUploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        entry = services.upload_proof(request.user, entry, upload.validated_data["proof"],
                                      prove_seconds=upload.validated_data["prove_seconds"])
        return Response(selectors.status_json(entry), status=202)


class ProgressReport(ApiView):
    """POST /api/submissions/<id>/progress: a self-hosted prover's progress (committed → proving)."""

    parser_classes = (FlatJSONParser,)
    body_name = "progress report"

    @extend_schema(summary="Report self-hosted proving progress", tags=["entries"],
                   request=ProgressReportSerializer,
                   responses={200: SubmissionStatusSerializer, **error_responses(
                       400, 401, 404, 409, 413, 415,
                       s400="Malformed body, wrong types or NUL characters; a hosted entry; outside the "
                            "proving window")})
    def post(self, request: Request, id: int) -> Response:
        entry = find_entry(request, id, staff_may_read=False)
        report = ProgressReportSerializer(data=request.data)
        report.is_valid(raise_exception=True)
        entry = services.report_progress(request.user, entry, report.validated_data["stage"],
                                         report.validated_data["percent"])
        return Response(selectors.status_json(entry))


def unknown_endpoint(request: HttpRequest, rest: str = "") -> JsonResponse:
    """A JSON 404 for any other path under /api/, whatever the method (a plain Django view: not
    CSRF-exempt, so a session-cookie POST here fails the CSRF check, with a JSON 403)."""
    return api_error(404, "not_found", "Unknown API endpoint; see /api/openapi.json and /api/docs/.")
