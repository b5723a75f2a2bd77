"""URL configuration. Note: no URL serves MEDIA_ROOT, PRIVATE_DIR or the prover vault."""
from django.contrib import admin
from django.templatetags.static import static
from django.utils.functional import lazy
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="challenges:list", permanent=False), name="home"),
    # Browsers ask for /favicon.ico whatever the page links; the pages link the SVG directly.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True), name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("challenges/", include("challenges.urls")),
    path("submissions/", include("submissions.urls")),
    path("api/", include("api.urls")),
]

handler400 = "proofboard.errors.bad_request"
handler403 = "proofboard.errors.permission_denied"
handler404 = "proofboard.errors.page_not_found"
handler500 = "proofboard.errors.server_error"
