"""Public challenge pages, the gated test-set download and the staff create/edit page."""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from proofboard.middleware import accepts_uploads
from submissions import selectors as entry_selectors
from submissions import services as entry_services
from submissions.chart import accuracy_chart_svg

from . import services
from .forms import ChallengeForm
from .models import Challenge


@require_safe
def challenge_list(request: HttpRequest) -> HttpResponse:
    """All challenges."""
    return render(request, "challenges/list.html", {"challenges": Challenge.objects.all()})


@require_safe
def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Description, test-set digest/download, leaderboard, chart and the user's entries."""
    challenge = get_object_or_404(Challenge, slug=slug)
    context = {
        "challenge": challenge,
        "description_html": services.render_markdown(challenge.description),
        "board": entry_selectors.leaderboard(challenge),
        "chart": accuracy_chart_svg(entry_selectors.accuracy_history(challenge)),
        "revealed": challenge.is_revealed(),
    }
    if request.user.is_authenticated:
        context["my_entries"] = entry_selectors.user_entries(request.user, challenge)[:20]
        context["remaining"] = entry_services.remaining_today(request.user, challenge)
        context["resets_at"] = entry_services.limit_resets_at()
    return render(request, "challenges/detail.html", context)


def test_set_response(challenge: Challenge) -> FileResponse:
    """Stream the (revealed) test set as an attachment."""
    response = FileResponse(challenge.test_set.open("rb"), as_attachment=True,
                            filename=challenge.test_set_filename, content_type="application/octet-stream")
    response["X-Test-Set-SHA256"] = challenge.test_set_sha256
    return response


@require_safe
def download_test_set(request: HttpRequest, slug: str) -> HttpResponse:
    """The test set, only after the reveal (403 before; only the digest is public)."""
    challenge = get_object_or_404(Challenge, slug=slug)
    if not challenge.is_revealed():
        return render(request, "403.html", {"message": "The test set is not revealed yet."}, status=403)
    return test_set_response(challenge)


@accepts_uploads
@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def challenge_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Staff: create or edit a challenge."""
    challenge = get_object_or_404(Challenge, slug=slug) if slug else None
    form = ChallengeForm(request.POST or None, request.FILES or None, instance=challenge)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        if obj.created_by_id is None:
            obj.created_by = request.user
        obj.save()
        messages.success(request, f"Challenge “{obj.title}” saved.")
        return redirect(obj)
    return render(request, "challenges/edit.html", {"form": form, "challenge": challenge})
