"""Sign up, log in/out (Django auth views) and the API tokens page."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from proofboard.ratelimit import rate_limited

from . import services
from .forms import SignUpForm, TokenForm

NEW_TOKEN_KEY = "accounts.new_token"


@rate_limited("signup")
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and log in."""
    if request.user.is_authenticated:
        return redirect("challenges:list")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}!")
        return redirect("challenges:list")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@rate_limited("token")
@require_http_methods(["GET", "HEAD", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List, create (shown once) and revoke API tokens."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, token = services.create_token(request.user, form.cleaned_data["name"])
        # Post/redirect/get: a refresh must not create a second token. The new key is kept in the
        # session only until the next page view shows it (once).
        request.session[NEW_TOKEN_KEY] = token
        return redirect("accounts:tokens")
    new_token = request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "new_token": new_token, "tokens": request.user.api_tokens.all()},
    )


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's tokens."""
    if services.revoke_token(request.user, token_id):
        messages.success(request, "Token revoked.")
    else:
        messages.error(request, "No such active token.")
    return redirect("accounts:tokens")
