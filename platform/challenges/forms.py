"""Challenge form, shared by the staff page and the Django admin."""
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import services
from .models import Challenge


def _datetime_field(help_text: str, initial=None) -> forms.DateTimeField:
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    return forms.DateTimeField(widget=widget, help_text=help_text, initial=initial)


class ChallengeForm(forms.ModelForm):
    # Declared explicitly so the admin uses the same single-input widgets (not its split widget).
    input_shape = forms.CharField(help_text="e.g. 64 or 8,8")
    opens_at = _datetime_field("commitments accepted from (UTC)", initial=timezone.now)
    reveal_at = _datetime_field("the test set is published at (UTC); entries committed later are late")
    proving_deadline = _datetime_field("no commitments or proofs after (UTC)")

    class Meta:
        model = Challenge
        fields = [
            "title", "slug", "description", "n_classes", "input_shape", "test_set", "calibration_set",
            "opens_at", "reveal_at", "proving_deadline", "max_submissions_per_day",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.input_shape, list):
            self.initial["input_shape"] = ",".join(str(d) for d in self.instance.input_shape)
        self._test_info = None

    RESERVED_SLUGS = {"new"}

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in self.RESERVED_SLUGS:
            raise ValidationError("This slug is reserved; choose another.")
        return slug

    def clean_input_shape(self):
        return services.parse_input_shape(self.cleaned_data["input_shape"])

    LOCKED_FIELDS = ("test_set", "n_classes", "input_shape")

    def _lock_reason(self) -> str | None:
        """Why the statement (test set, classes, input shape) can no longer change, or None."""
        inst = self.instance
        if not inst.pk:
            return None
        if inst.submissions.exists():
            return "the challenge already has entries"
        if inst.opens_at and inst.opens_at <= timezone.now():
            return "the challenge has opened"
        return None

    def _check_locks(self, cleaned) -> bool:
        """Add an error for each locked field that was changed; True if any."""
        reason = self._lock_reason()
        if reason is None:
            return False
        locked = False
        inst = self.instance
        changed = {
            "test_set": "test_set" in self.changed_data,
            "n_classes": cleaned.get("n_classes") is not None and cleaned.get("n_classes") != inst.n_classes,
            "input_shape": cleaned.get("input_shape") is not None and cleaned.get("input_shape") != inst.input_shape,
        }
        labels = {"test_set": "The test set", "n_classes": "The number of classes", "input_shape": "The input shape"}
        for name in self.LOCKED_FIELDS:
            if changed[name]:
                self.add_error(name, f"{labels[name]} cannot be changed: {reason} (entries are proved against it).")
                locked = True
        reveal = cleaned.get("reveal_at")
        if reveal and inst.reveal_at and reveal < inst.reveal_at and inst.submissions.exists():
            self.add_error("reveal_at", "The reveal can only be moved later once the challenge has entries.")
            locked = True
        return locked

    def clean(self):
        cleaned = super().clean()
        if self._check_locks(cleaned):
            return cleaned
        opens, reveal, deadline = cleaned.get("opens_at"), cleaned.get("reveal_at"), cleaned.get("proving_deadline")
        if opens and reveal and reveal < opens:
            self.add_error("reveal_at", "The reveal cannot be before the opening.")
        if reveal and deadline and deadline < reveal:
            self.add_error("proving_deadline", "The proving deadline cannot be before the reveal.")
        n_classes, shape = cleaned.get("n_classes"), cleaned.get("input_shape")
        if n_classes is not None and n_classes < 2:
            self.add_error("n_classes", "A classifier needs at least 2 classes.")
            return cleaned
        test_file = cleaned.get("test_set")
        if n_classes and shape and test_file:
            inst = self.instance
            needs_check = (
                "test_set" in self.changed_data or not inst.pk
                or inst.n_classes != n_classes or inst.input_shape != shape
            )
            data = self._read_file("test_set", "test set", test_file) if needs_check else None
            if data is not None:
                try:
                    self._test_info = services.validate_test_set(data, n_classes, shape)
                except ValidationError as exc:
                    self.add_error("test_set", exc)
        cal = cleaned.get("calibration_set")
        if cal and "calibration_set" in self.changed_data and shape:
            data = self._read_file("calibration_set", "calibration set", cal)
            if data is not None:
                try:
                    services.validate_calibration_set(data, shape)
                except ValidationError as exc:
                    self.add_error("calibration_set", exc)
        return cleaned

    def _read_file(self, name: str, what: str, upload) -> bytes | None:
        """The file's bytes, or None with a form error when its size is over MAX_TEST_SET_BYTES (checked
        before reading)."""
        if (getattr(upload, "size", 0) or 0) > settings.MAX_TEST_SET_BYTES:
            self.add_error(name, f"The {what} is larger than {settings.MAX_TEST_SET_BYTES} bytes.")
            return None
        upload.open("rb")
        upload.seek(0)
        data = upload.read()
        upload.seek(0)
        return data

    def save(self, commit: bool = True) -> Challenge:
        challenge = super().save(commit=False)
        if self._test_info is not None:
            challenge.test_set_sha256 = self._test_info.sha256
            challenge.test_set_size = self._test_info.n_samples
        if commit:
            challenge.save()
        return challenge
