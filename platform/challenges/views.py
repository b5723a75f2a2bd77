"""Public challenge pages, the gated test-set download and the staff create/edit page."""
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
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


def leaderboard_html(challenge: Challenge, number: int) -> SafeString:
    """The public leaderboard section (page `number`, the chart, late and disqualified entries),
    rendered once per board version and cached: a busy challenge page costs one cache read, not a
    hundred table rows. Raises PageNotFound past the last page."""
    key = entry_selectors.board_cache_key("html", challenge, number, settings.LEADERBOARD_PAGE_SIZE)
    html = cache.get(key)
    if html is None:
        board = entry_selectors.leaderboard_page(challenge, number)
        html = render_to_string("challenges/_leaderboard.html", {
            "challenge": challenge, "board": board,
            "chart": accuracy_chart_svg(entry_selectors.cached_accuracy_history(challenge)) if number == 1 else "",
        })
        cache.set(key, html, settings.LEADERBOARD_CACHE_SECONDS)
    return mark_safe(html)


@require_safe
def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Description, test-set digest/download, one page of the leaderboard (?page=), chart and the
    user's entries."""
    challenge = get_object_or_404(Challenge, slug=slug)
    try:
        board_html = leaderboard_html(challenge, entry_selectors.page_number(request.GET.get("page")))
    except entry_selectors.PageNotFound as exc:
        raise Http404(str(exc)) from None
    context = {
        "challenge": challenge,
        "description_html": services.description_html(challenge),
        "leaderboard_html": board_html,
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
