from django.contrib.auth import views as auth_views
from django.urls import path

from proofboard.ratelimit import rate_limited

from . import views

# Log-in attempts count per client IP and per username tried (a password-guessing run against one
# account from many addresses, or against many accounts from one address, both hit a limit).
login_view = rate_limited("login", account=lambda request: request.POST.get("username", "").strip())(
    auth_views.LoginView.as_view(template_name="accounts/login.html"))

app_name = "accounts"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke, name="revoke"),
]
