"""The JSON REST API: thin views over the challenge and submission services."""
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from challenges.models import Challenge
from challenges.views import test_set_response
from proofboard.middleware import accepts_uploads
from proofboard.ratelimit import rate_limited
from submissions import selectors, services
from submissions.models import Submission

from .auth import error, token_required
from .errors import error_response
from .openapi import openapi_document
from .payloads import parse_progress


def _challenge_json(request: HttpRequest, c: Challenge) -> dict:
    revealed = c.is_revealed()
    return {
        "slug": c.slug,
        "title": c.title,
        "status": c.status,
        "n_classes": c.n_classes,
        "input_shape": c.input_shape,
        "test_set_sha256": c.test_set_sha256,
        "test_set_size": c.test_set_size,
        "opens_at": c.opens_at.isoformat(),
        "reveal_at": c.reveal_at.isoformat(),
        "proving_deadline": c.proving_deadline.isoformat(),
        "max_submissions_per_day": c.max_submissions_per_day,
        "revealed": revealed,
        "test_set_url": request.build_absolute_uri(reverse("api:test_set", args=[c.slug])) if revealed else None,
        "url": request.build_absolute_uri(c.get_absolute_url()),
    }


def _get_challenge(slug: str) -> Challenge | None:
    return Challenge.objects.filter(slug=slug).first()


def _own_entry(request: HttpRequest, pk: int, staff_may_read: bool = True) -> Submission | None:
    """The entry if it is the user's own (or, when `staff_may_read`, the user is staff); else None."""
    entry = Submission.objects.select_related("challenge").filter(pk=pk).first()
    if entry is None or not (entry.participant_id == request.user.pk or (staff_may_read and request.user.is_staff)):
        return None
    return entry


@require_safe
def challenges(request: HttpRequest) -> JsonResponse:
    """GET /api/challenges"""
    return JsonResponse({"challenges": [_challenge_json(request, c) for c in Challenge.objects.all()]})


@require_safe
def challenge(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/challenges/<slug>"""
    c = _get_challenge(slug)
    if c is None:
        return error(404, "No such challenge.")
    return JsonResponse(_challenge_json(request, c))


@require_safe
def test_set(request: HttpRequest, slug: str):
    """GET /api/challenges/<slug>/test-set (403 before the reveal)."""
    c = _get_challenge(slug)
    if c is None:
        return error(404, "No such challenge.")
    if not c.is_revealed():
        return error(403, "The test set is not revealed yet.", reveal_at=c.reveal_at.isoformat(),
                     test_set_sha256=c.test_set_sha256)
    return test_set_response(c)


@require_safe
def leaderboard(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/challenges/<slug>/leaderboard?page=N&per_page=M (public, paginated, cached)."""
    c = _get_challenge(slug)
    if c is None:
        return error(404, "No such challenge.")
    try:
        number = selectors.page_number(request.GET.get("page"))
        per_page = selectors.page_size(request.GET.get("per_page"))
        body = dict(selectors.leaderboard_page_json(c, number, per_page))
    except selectors.PageNotFound as exc:
        return error_response(exc)
    base = request.build_absolute_uri(reverse("api:leaderboard", args=[c.slug]))
    body["next"] = f"{base}?page={number + 1}&per_page={per_page}" if number < body["pages"] else None
    body["previous"] = f"{base}?page={number - 1}&per_page={per_page}" if number > 1 else None
    return JsonResponse(body)


def _upload(request: HttpRequest, field: str) -> bytes | None:
    """The upload from multipart field `field` or the raw body; its size is checked before it is read
    (services.check_upload_size raises ValidationError)."""
    if request.content_type in ("application/json", "application/octet-stream"):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        services.check_upload_size(field, length)
        return request.body or None
    if field in request.FILES:
        return services.read_upload(field, request.FILES[field])
    return None


@accepts_uploads
@csrf_exempt
@require_POST
@token_required
@rate_limited("upload")
def create_submission(request: HttpRequest, slug: str) -> JsonResponse:
    """POST /api/challenges/<slug>/submissions: multipart `commitment` (+ `model`, `proof_mode`) or a JSON body."""
    c = _get_challenge(slug)
    if c is None:
        return error(404, "No such challenge.")
    try:
        commitment = _upload(request, "commitment")
        if commitment is None:
            return error(400, "Send the commitment as multipart field 'commitment' or as the JSON body.")
        model = services.read_upload("model", request.FILES["model"]) if "model" in request.FILES else None
    except ValidationError as exc:
        return error_response(exc)
    mode = request.POST.get("proof_mode") or request.GET.get("proof_mode") or Submission.ProofMode.SELF_HOSTED
    try:
        entry = services.create_submission(request.user, c, commitment, proof_mode=mode, model_bytes=model,
                                           label=request.POST.get("label", ""))
    except (ValidationError, PermissionDenied) as exc:
        return error_response(exc, remaining_today=services.remaining_today(request.user, c))
    body = selectors.status_json(entry)
    body["remaining_today"] = services.remaining_today(request.user, c)
    body["url"] = request.build_absolute_uri(entry.get_absolute_url())
    return JsonResponse(body, status=201)


@require_safe
@token_required
def submission(request: HttpRequest, pk: int) -> JsonResponse:
    """GET /api/submissions/<id>: status of one of your entries."""
    entry = _own_entry(request, pk)
    if entry is None:
        return error(404, "No such submission.")
    return JsonResponse(selectors.status_json(entry))


@accepts_uploads
@csrf_exempt
@require_POST
@token_required
@rate_limited("upload")
def upload_proof(request: HttpRequest, pk: int) -> JsonResponse:
    """POST /api/submissions/<id>/proof: multipart `proof` or an application/octet-stream body."""
    entry = _own_entry(request, pk, staff_may_read=False)
    if entry is None:
        return error(404, "No such submission.")
    try:
        proof = _upload(request, "proof")
    except ValidationError as exc:
        return error_response(exc)
    if proof is None:
        return error(400, "Send the proof as multipart field 'proof' or as an application/octet-stream body.")
    seconds = request.headers.get("X-Prove-Seconds") or request.POST.get("prove_seconds")
    try:
        seconds_f = float(seconds) if seconds else None
    except ValueError:
        seconds_f = None
    try:
        entry = services.upload_proof(request.user, entry, proof, prove_seconds=seconds_f)
    except (ValidationError, PermissionDenied) as exc:
        return error_response(exc)
    return JsonResponse(selectors.status_json(entry), status=202)


@require_safe
@token_required
def submission_commitment(request: HttpRequest, pk: int) -> HttpResponse:
    """GET /api/submissions/<id>/commitment: the entry's COMMIT.json, as uploaded (owner or staff);
    `prover_worker run` checks the local MODEL.zkm against it before proving."""
    entry = _own_entry(request, pk)
    if entry is None or not entry.commitment:
        return error(404, "No such submission.")
    return HttpResponse(bytes(entry.commitment), content_type="application/json")


@csrf_exempt
@require_POST
@token_required
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    """POST /api/submissions/<id>/progress {"stage": str, "percent": number}: self-hosted prover progress."""
    entry = _own_entry(request, pk, staff_may_read=False)
    if entry is None:
        return error(404, "No such submission.")
    try:
        report = parse_progress(request.body)
        entry = services.report_progress(request.user, entry, report.stage, report.percent)
    except (ValidationError, PermissionDenied) as exc:
        return error_response(exc)
    return JsonResponse(selectors.status_json(entry))


@require_safe
def openapi(request: HttpRequest) -> JsonResponse:
    """GET /api/openapi.json"""
    return JsonResponse(openapi_document(request.build_absolute_uri("/api")))


@require_safe
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """JSON 404 for unknown API paths."""
    return error(404, "Unknown API endpoint; see /api/openapi.json.")
