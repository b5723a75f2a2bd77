"""Accounts: sign up, log in/out, API tokens (shown once, revocable, owner-only)."""
import pytest
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import hash_token

pytestmark = pytest.mark.django_db


def test_signup_login_logout(client, django_user_model):
    response = client.post(reverse("accounts:signup"), {
        "username": "carol", "password1": "a-Long-passw0rd", "password2": "a-Long-passw0rd"})
    assert response.status_code == 302
    assert django_user_model.objects.filter(username="carol").exists()
    assert client.get(reverse("accounts:tokens")).status_code == 200  # logged in
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:tokens")).status_code == 302  # logged out → login page
    response = client.post(reverse("accounts:login"), {"username": "carol", "password": "a-Long-passw0rd"})
    assert response.status_code == 302
    response = client.post(reverse("accounts:login"), {"username": "carol", "password": "wrong"})
    assert response.status_code == 200 and b"correct username and password" in response.content


def test_signup_rejects_mismatched_passwords(client, django_user_model):
    response = client.post(reverse("accounts:signup"), {
        "username": "dave", "password1": "a-Long-passw0rd", "password2": "other-passw0rd"})
    assert response.status_code == 200
    assert not django_user_model.objects.filter(username="dave").exists()


def test_token_shown_once_and_hashed(client, users):
    client.force_login(users.alice)
    response = client.post(reverse("accounts:tokens"), {"name": "laptop"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:tokens")  # PRG
    response = client.get(response["Location"])
    raw = response.context["new_token"]
    assert raw.startswith("pb_") and raw.encode() in response.content
    token = ApiToken.objects.get(user=users.alice)
    assert token.key_hash == hash_token(raw) and raw not in (token.key_hash, token.prefix)
    assert raw.encode() not in client.get(reverse("accounts:tokens")).content  # never shown again
    assert ApiToken.objects.filter(user=users.alice).count() == 1  # a refresh (GET) creates nothing


def test_token_auth_and_revoke(client, users, token_for):
    raw = token_for(users.alice)
    url = reverse("api:submission", args=[999999])
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {raw}").status_code == 404  # authenticated, no such entry
    assert client.get(url, HTTP_AUTHORIZATION="Token nope").status_code == 401
    token = ApiToken.objects.get(user=users.alice)
    client.force_login(users.bob)  # bob cannot revoke alice's token
    client.post(reverse("accounts:revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.is_active
    client.force_login(users.alice)
    client.post(reverse("accounts:revoke", args=[token.pk]))
    token.refresh_from_db()
    assert not token.is_active
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401
