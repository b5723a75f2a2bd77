from django.urls import path

from . import views

app_name = "submissions"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status.json", views.status, name="status"),
    path("<int:pk>/proof/", views.upload_proof, name="upload_proof"),
    path("<int:pk>/bundle.zip", views.bundle, name="bundle"),
    path("<int:pk>/disqualify/", views.disqualify, name="disqualify"),
    path("<int:pk>/retry/", views.retry, name="retry"),
    path("staff/failures/", views.failures, name="failures"),
]
