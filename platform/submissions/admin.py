from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from . import services
from .forms import DisqualifyForm
from .models import Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "challenge", "participant", "state", "proof_mode", "is_baseline", "late",
                    "correct_count", "total_count", "disqualified", "created_at")
    list_filter = ("state", "proof_mode", "is_baseline", "late", "disqualified", "failed_stage", "challenge")
    search_fields = ("participant__username", "challenge__slug", "challenge__title", "label",
                     "commitment_sha256", "reason")
    readonly_fields = ("commitment_sha256", "architecture", "parameter_count", "proof_size", "claimed_count",
                       "correct_count", "total_count", "verified_at", "verification_record", "created_at",
                       "updated_at", "attempts", "vault_path", "proof_uploaded_at", "prove_seconds",
                       "verify_seconds", "claimed_by", "lease_expires_at", "deadline_at", "last_dispatched_at")
    exclude = ("commitment", "proof")
    date_hierarchy = "created_at"
    actions = ["rerun_failed", "disqualify_selected"]

    @admin.action(description="Re-run failed proving/verification")
    def rerun_failed(self, request, queryset):
        count = sum(services.retry(entry) for entry in queryset)
        self.message_user(request, f"{count} entr{'y' if count == 1 else 'ies'} re-queued.")

    @admin.action(description="Disqualify with a public reason…")
    def disqualify_selected(self, request, queryset):
        form = DisqualifyForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for entry in queryset:
                services.disqualify(request.user, entry, form.cleaned_data["reason"])
            count = queryset.count()
            self.message_user(request, f"{count} entr{'y' if count == 1 else 'ies'} disqualified.", messages.WARNING)
            return None
        return TemplateResponse(request, "admin/submissions/disqualify.html", {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "form": form,
            "entries": queryset.select_related("challenge", "participant"),  # each is shown by its __str__
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "title": "Disqualify entries",
        })
