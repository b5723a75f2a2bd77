from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username",)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, initial="cli")
