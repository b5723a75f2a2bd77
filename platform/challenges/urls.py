from django.urls import path

from submissions import views as submission_views

from . import views

app_name = "challenges"
urlpatterns = [
    path("", views.challenge_list, name="list"),
    path("new/", views.challenge_edit, name="create"),
    path("<slug:slug>/", views.challenge_detail, name="detail"),
    path("<slug:slug>/edit/", views.challenge_edit, name="edit"),
    path("<slug:slug>/test-set.npz", views.download_test_set, name="test_set"),
    path("<slug:slug>/submit/", submission_views.submit, name="submit"),
    path("<slug:slug>/baseline/", submission_views.baseline, name="baseline"),
]
