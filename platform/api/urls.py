from django.urls import path, re_path

from . import docs, views

app_name = "api"
urlpatterns = [
    path("openapi.json", docs.OpenApiDocument.as_view(), name="openapi"),
    path("docs/", docs.ApiDocsPage.as_view(), name="docs"),
    path("challenges", views.ChallengeList.as_view(), name="challenges"),
    path("challenges/<slug:slug>", views.ChallengeDetail.as_view(), name="challenge"),
    path("challenges/<slug:slug>/test-set", views.TestSetDownload.as_view(), name="test_set"),
    path("challenges/<slug:slug>/leaderboard", views.Leaderboard.as_view(), name="leaderboard"),
    path("challenges/<slug:slug>/submissions", views.CommitmentUpload.as_view(), name="create_submission"),
    path("submissions/<int:id>", views.SubmissionStatus.as_view(), name="submission"),
    path("submissions/<int:id>/commitment", views.SubmissionCommitment.as_view(), name="submission_commitment"),
    path("submissions/<int:id>/proof", views.ProofUpload.as_view(), name="upload_proof"),
    path("submissions/<int:id>/progress", views.ProgressReport.as_view(), name="progress"),
    re_path(r"^(?P<rest>.*)$", views.unknown_endpoint),
]
