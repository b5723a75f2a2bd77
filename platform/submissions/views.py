"""Submission pages: submit, entry page (+ live status JSON), proof upload, bundle, staff tools."""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from challenges.models import Challenge
from proofboard.middleware import accepts_uploads
from proofboard.ratelimit import rate_limited

from . import selectors, services
from .bundle import build_bundle
from .forms import BaselineForm, DisqualifyForm, ProofForm, SubmitForm
from .models import Submission


def _visible_entry(request: HttpRequest, pk: int) -> Submission:
    entry = get_object_or_404(Submission.objects.select_related("challenge", "participant"), pk=pk)
    if not selectors.can_view(request.user, entry):
        raise Http404("No such submission.")
    return entry


@accepts_uploads
@login_required
@rate_limited("upload")
@require_http_methods(["GET", "HEAD", "POST"])
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a commitment (and, for hosted proving, the model)."""
    challenge = get_object_or_404(Challenge, slug=slug)
    form = SubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        model = form.cleaned_data.get("model")
        try:
            commitment_bytes = services.read_upload("commitment", form.cleaned_data["commitment"])
            model_bytes = services.read_upload("model", model) if model else None
            entry = services.create_submission(
                request.user, challenge, commitment_bytes,
                proof_mode=form.cleaned_data["proof_mode"], model_bytes=model_bytes,
                label=form.cleaned_data.get("label", ""),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Commitment #{entry.pk} recorded.")
            return redirect(entry)
    return render(request, "submissions/submit.html", {
        "challenge": challenge, "form": form, "remaining": services.remaining_today(request.user, challenge),
        "resets_at": services.limit_resets_at(),
    })


@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An entry's page: state, live progress, proof upload for the owner."""
    entry = _visible_entry(request, pk)
    is_owner = request.user.is_authenticated and entry.participant_id == request.user.pk
    can_upload = is_owner and entry.accepts_proof  # states.accepts_proof
    return render(request, "submissions/detail.html", {
        "entry": entry, "is_owner": is_owner, "can_upload": can_upload, "proof_form": ProofForm(),
        "disqualify_form": DisqualifyForm() if request.user.is_staff else None,
    })


@require_safe
def status(request: HttpRequest, pk: int) -> JsonResponse:
    """JSON polled by the entry page."""
    return JsonResponse(selectors.status_json(_visible_entry(request, pk)))


@accepts_uploads
@login_required
@rate_limited("upload")
@require_POST
def upload_proof(request: HttpRequest, pk: int) -> HttpResponse:
    """Web form for a self-hosted proof."""
    entry = get_object_or_404(Submission.objects.select_related("challenge"), pk=pk)
    if entry.participant_id != request.user.pk:
        raise Http404("No such submission.")
    form = ProofForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a proof file.")
        return redirect(entry)
    try:
        services.upload_proof(request.user, entry, services.read_upload("proof", form.cleaned_data["proof"]))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Proof received; verification queued.")
    return redirect(entry)


@require_safe
def bundle(request: HttpRequest, pk: int) -> HttpResponse:
    """Public proof bundle of a verified entry."""
    entry = get_object_or_404(Submission.objects.select_related("challenge"), pk=pk, state=Submission.State.VERIFIED)
    response = HttpResponse(build_bundle(entry), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="proofboard-{entry.challenge.slug}-{entry.pk}.zip"'
    return response


@login_required
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    """The user's own entries."""
    return render(request, "submissions/mine.html", {"entries": selectors.user_entries(request.user)})


@staff_member_required
@require_POST
def disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff: disqualify an entry with a public reason."""
    entry = get_object_or_404(Submission, pk=pk)
    form = DisqualifyForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("A public reason is required.")
        services.disqualify(request.user, entry, form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Entry #{entry.pk} disqualified.")
    return redirect(entry)


@staff_member_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff: re-run a failed job."""
    entry = get_object_or_404(Submission, pk=pk)
    if services.retry(entry):
        messages.success(request, f"Entry #{entry.pk} re-queued.")
    else:
        messages.error(request, "Only failed entries can be re-run.")
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = entry.get_absolute_url()
    return redirect(target)


@staff_member_required
@require_safe
def failures(request: HttpRequest) -> HttpResponse:
    """Staff: recent worker failures and rejections."""
    return render(request, "submissions/failures.html", {"entries": selectors.recent_failures()})


@accepts_uploads
@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def baseline(request: HttpRequest, slug: str) -> HttpResponse:
    """Staff: upload a baseline ONNX model that the platform quantizes, commits, proves and verifies."""
    challenge = get_object_or_404(Challenge, slug=slug)
    form = BaselineForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.create_baseline(request.user, challenge,
                                             services.read_upload("model", form.cleaned_data["onnx"]),
                                             form.cleaned_data["label"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Baseline #{entry.pk} queued for proving.")
            return redirect(entry)
    return render(request, "submissions/baseline.html", {"challenge": challenge, "form": form})
