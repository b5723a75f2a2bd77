from django.contrib import admin

from .forms import ChallengeForm
from .models import Challenge


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    form = ChallengeForm
    list_display = ("title", "slug", "n_classes", "test_set_size", "opens_at", "reveal_at", "proving_deadline")
    list_filter = ("opens_at", "reveal_at", "proving_deadline")
    search_fields = ("title", "slug", "description", "test_set_sha256")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("test_set_sha256", "test_set_size", "created_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
