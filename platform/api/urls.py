from django.urls import path, re_path

from . import views

app_name = "api"
urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("challenges", views.challenges, name="challenges"),
    path("challenges/<slug:slug>", views.challenge, name="challenge"),
    path("challenges/<slug:slug>/test-set", views.test_set, name="test_set"),
    path("challenges/<slug:slug>/leaderboard", views.leaderboard, name="leaderboard"),
    path("challenges/<slug:slug>/submissions", views.create_submission, name="create_submission"),
    path("submissions/<int:pk>", views.submission, name="submission"),
    path("submissions/<int:pk>/commitment", views.submission_commitment, name="submission_commitment"),
    path("submissions/<int:pk>/proof", views.upload_proof, name="upload_proof"),
    path("submissions/<int:pk>/progress", views.progress, name="progress"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
