from django import forms

from .models import Submission
from .templatetags.pb import inline_code


class SubmitForm(forms.Form):
    commitment = forms.FileField(help_text=inline_code("COMMIT.json from `zkml commit`"))
    label = forms.CharField(max_length=80, required=False, help_text="optional name for this entry")
    proof_mode = forms.ChoiceField(
        choices=Submission.ProofMode.choices, initial=Submission.ProofMode.SELF_HOSTED, widget=forms.RadioSelect,
        help_text="self-hosted: you prove on your machine (weights never leave it); "
                  "hosted: the platform's prover proves it and then deletes the model",
    )
    model = forms.FileField(required=False, help_text="MODEL.zkm — only for hosted proving")


class ProofForm(forms.Form):
    proof = forms.FileField(help_text=inline_code("PROOF.bin from `zkml prove`"))


class BaselineForm(forms.Form):
    onnx = forms.FileField(help_text="baseline model exported to ONNX")
    label = forms.CharField(max_length=80, initial="baseline")


class DisqualifyForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="shown publicly")
