"""Serializers of the API: input validation of the uploads and the progress report, the shape of
the challenge JSON, and the description (for the OpenAPI schema) of the JSON the selectors build.

The checks of an upload's *content* (is it a commitment, does it fit the challenge, is the proof
for this entry) stay in the services (submissions/uploads.py, checks.py): they are shared with the
web pages. Serializers check what the request itself carries: fields present, of the right type,
files within their size limit before they are read, no NUL characters.
"""
import math
from typing import Any, Optional

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from challenges.models import Challenge
from submissions import uploads
from submissions.states import ProofMode, State

from .errors import field_error

# (doubled braces: DRF formats error messages with str.format)
PROGRESS_FORMAT = 'Body must be JSON: {{"stage": "...", "percent": 0-100}}.'


# ---------------------------------------------------------------- fields

@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.Field):
    """A file (a multipart part, or the whole body: api.parsers.WholeBodyUploadParser) read into
    bytes once its declared size is within its limit (uploads.UPLOAD_LIMITS[what]): an oversized
    file is refused unread, with the domain code "bad_upload"."""

    def __init__(self, what: str, **kwargs: Any) -> None:
        self.what = what
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", f"The {what} must be sent as a file.")
        super().__init__(write_only=True, **kwargs)

    def to_internal_value(self, data: Any) -> bytes:
        if not (hasattr(data, "read") and hasattr(data, "size")):
            self.fail("invalid")
        try:
            return uploads.read_upload(self.what, data)
        except ValidationError as exc:
            raise field_error(exc)


class StrictStringField(serializers.CharField):
    """A JSON string, kept as sent (DRF's CharField would turn a number into text and trim spaces);
    NUL characters refused (PostgreSQL cannot store them)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            self.fail("nul")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    """A finite JSON number (DRF's FloatField would also take "50" and true)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:  # an integer beyond the float range
            self.fail("not_finite")
        if not math.isfinite(value):
            self.fail("not_finite")
        return value


class ReportedSecondsField(serializers.FloatField):
    """The prover's own timing, from a request header (or the form field of the same name): informational,
    so an unreadable value is dropped (None), never a reason to refuse a proof. The service drops values
    out of range."""

    def __init__(self, header: str, **kwargs: Any) -> None:
        self.header = header
        super().__init__(**kwargs)

    def get_value(self, dictionary: Any) -> Any:
        return self.context["request"].headers.get(self.header) or super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> Optional[float]:
        try:
            return float(data) if data not in (None, "") else None
        except (TypeError, ValueError):
            return None


class FormOrQueryChoiceField(serializers.ChoiceField):
    """A choice from the form, or from the query string when the body is a file with no form around it
    (a COMMIT.json sent as the JSON body); absent or blank in both means the default."""

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)
        if value in (empty, ""):
            value = self.context["request"].query_params.get(self.field_name, empty)
        return empty if value == "" else value


# ---------------------------------------------------------------- input

class ProgressReportSerializer(serializers.Serializer):
    """A self-hosted prover's progress report: {"stage": str, "percent": number}; both optional."""

    stage = StrictStringField(default="proving", error_messages={
        "invalid": f"The progress stage must be a string. {PROGRESS_FORMAT}",
        "null": f"The progress stage must be a string. {PROGRESS_FORMAT}",
        "nul": "The progress stage must not contain NUL characters."})
    percent = StrictNumberField(default=0.0, help_text="0-100; clamped", error_messages={
        "invalid": f"The progress percent must be a number. {PROGRESS_FORMAT}",
        "null": f"The progress percent must be a number. {PROGRESS_FORMAT}",
        "not_finite": f"The progress percent must be finite. {PROGRESS_FORMAT}"})


class CommitmentUploadSerializer(serializers.Serializer):
    """Commit: the COMMIT.json (the whole JSON body, or the multipart part `commitment`), and for
    hosted proving `proof_mode=hosted` with the MODEL.zkm in `model`. `proof_mode` may also be a
    query parameter (with a JSON body there is no form field to carry it)."""

    commitment = UploadField("commitment", error_messages={
        "required": "Send the commitment as multipart field 'commitment' or as the JSON body."})
    model = UploadField("model", required=False, help_text="MODEL.zkm, for hosted proving only")
    proof_mode = FormOrQueryChoiceField(choices=ProofMode.choices, default=ProofMode.SELF_HOSTED,
                                        error_messages={"invalid_choice": "Unknown proof mode."})
    label = StrictStringField(required=False, default="", help_text="shown on the leaderboard (80 characters)",
                              error_messages={"nul": "The label must not contain NUL characters."})


class ProofUploadSerializer(serializers.Serializer):
    """A self-hosted proof: the whole application/octet-stream body, or the multipart part `proof`;
    the proving time from the X-Prove-Seconds header (or the form field `prove_seconds`)."""

    proof = UploadField("proof", error_messages={
        "required": "Send the proof as multipart field 'proof' or as an application/octet-stream body."})
    prove_seconds = ReportedSecondsField("X-Prove-Seconds", required=False, allow_null=True, default=None)


# ---------------------------------------------------------------- output

class IsoDateTimeField(serializers.DateTimeField):
    """A datetime as Python's isoformat ("+00:00"), as every other time of the API is written."""

    def to_representation(self, value: Any) -> Optional[str]:
        return value.isoformat() if value else None


class ChallengeSerializer(serializers.ModelSerializer):
    """A challenge: what a participant's model must take and output, its schedule, and (once
    revealed) where to download the test set."""

    status = serializers.ChoiceField(choices=["upcoming", "open", "revealed", "closed"], read_only=True)
    input_shape = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    opens_at = IsoDateTimeField(read_only=True)
    reveal_at = IsoDateTimeField(read_only=True)
    proving_deadline = IsoDateTimeField(read_only=True)
    revealed = serializers.SerializerMethodField()
    test_set_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Challenge
        fields = ["slug", "title", "status", "n_classes", "input_shape", "test_set_sha256", "test_set_size",
                  "opens_at", "reveal_at", "proving_deadline", "max_submissions_per_day", "revealed",
                  "test_set_url", "url"]
        read_only_fields = fields

    def get_revealed(self, challenge: Challenge) -> bool:
        return challenge.is_revealed()

    def get_test_set_url(self, challenge: Challenge) -> Optional[str]:
        """The API's download URL, once the test set is public."""
        if not challenge.is_revealed():
            return None
        return self.context["request"].build_absolute_uri(reverse("api:test_set", args=[challenge.slug]))

    def get_url(self, challenge: Challenge) -> str:
        """The challenge's web page."""
        return self.context["request"].build_absolute_uri(challenge.get_absolute_url())


# The two bodies below are built by submissions.selectors (status_json is shared with the entry
# page's polling; the leaderboard page is cached whole under the board version). These serializers
# describe them to the schema; tests/platform/test_api_schema.py checks the two never drift apart.

class StatusProgressSerializer(serializers.Serializer):
    stage = serializers.CharField()
    percent = serializers.IntegerField(min_value=0, max_value=100)


class SubmissionStatusSerializer(serializers.Serializer):
    """One entry's status, and the platform's rules as they apply to it (submissions/states.py)."""

    id = serializers.IntegerField()
    challenge = serializers.SlugField(help_text="the challenge's slug")
    state = serializers.ChoiceField(choices=State.choices)
    state_display = serializers.CharField()
    proof_mode = serializers.ChoiceField(choices=ProofMode.choices)
    late = serializers.BooleanField(help_text="committed after the test set was revealed: ranked apart")
    baseline = serializers.BooleanField()
    progress = StatusProgressSerializer()
    reason = serializers.CharField(allow_null=True, help_text="why it was rejected or failed")
    failed_stage = serializers.CharField(allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)
    claimed_count = serializers.IntegerField(allow_null=True)
    correct_count = serializers.IntegerField(allow_null=True)
    total_count = serializers.IntegerField(allow_null=True)
    accuracy = serializers.FloatField(allow_null=True, help_text="percent, 2 decimals")
    proof_size = serializers.IntegerField()
    committed_at = serializers.DateTimeField()
    disqualified = serializers.BooleanField()
    disqualified_reason = serializers.CharField(allow_null=True)
    context = serializers.CharField(help_text="the --context its proof must be made with")
    final = serializers.BooleanField(help_text="the entry will not change any more")
    accepts_proof = serializers.BooleanField(help_text="a proof or a progress report is accepted now")
    counts_against_limit = serializers.BooleanField()


class CreatedSubmissionSerializer(SubmissionStatusSerializer):
    """The status of a new entry, with the day's remaining commitments and its page."""

    remaining_today = serializers.IntegerField()
    url = serializers.URLField()


class LeaderboardEntrySerializer(serializers.Serializer):
    """One verified entry on the public board."""

    rank = serializers.IntegerField(allow_null=True, help_text="global (page 2 goes on from page 1); "
                                                               "null for disqualified entries")
    submission = serializers.IntegerField()
    participant = serializers.CharField()
    label = serializers.CharField()
    correct_count = serializers.IntegerField()
    total_count = serializers.IntegerField()
    accuracy = serializers.FloatField()
    architecture = serializers.CharField()
    layers = serializers.IntegerField()
    parameter_count = serializers.IntegerField()
    proof_mode = serializers.ChoiceField(choices=ProofMode.choices)
    proof_size = serializers.IntegerField()
    prove_seconds = serializers.FloatField(allow_null=True)
    verify_seconds = serializers.FloatField(allow_null=True)
    baseline = serializers.BooleanField()
    late = serializers.BooleanField()
    committed_at = serializers.DateTimeField()
    verified_at = serializers.DateTimeField(allow_null=True)
    disqualified = serializers.BooleanField()
    disqualified_reason = serializers.CharField(allow_null=True)


class SectionCountsSerializer(serializers.Serializer):
    ranking = serializers.IntegerField()
    late = serializers.IntegerField()
    disqualified = serializers.IntegerField()


class LeaderboardSerializer(serializers.Serializer):
    """One page of each of the three sections of a challenge's board."""

    challenge = serializers.SlugField()
    test_set_sha256 = serializers.CharField()
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    pages = serializers.IntegerField()
    counts = SectionCountsSerializer()
    next = serializers.URLField(allow_null=True, help_text="the next page, null on the last")
    previous = serializers.URLField(allow_null=True, help_text="the previous page, null on the first")
    ranking = LeaderboardEntrySerializer(many=True, help_text="on-time entries, by proven correct count")
    late = LeaderboardEntrySerializer(many=True, help_text="entries committed after the reveal, ranked apart")
    disqualified = LeaderboardEntrySerializer(many=True, help_text="with their public reasons")


class ErrorSerializer(serializers.Serializer):
    """Every error of the API (docs/api.md, "Errors")."""

    code = serializers.CharField(help_text="stable machine code, e.g. not_found, wrong_state, throttled")
    detail = serializers.CharField(help_text="what went wrong, and the fix when there is one")
    error = serializers.CharField(help_text="the same text as detail (for older clients)")
