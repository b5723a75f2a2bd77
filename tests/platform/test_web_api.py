"""The JSON REST API with token auth, and the OpenAPI document."""
import pytest
from django.urls import reverse

from submissions.models import Submission

pytestmark = pytest.mark.django_db


def test_challenge_endpoints(client, challenge, make_challenge):
    make_challenge("hidden", revealed=False)
    data = client.get("/api/challenges").json()
    by_slug = {c["slug"]: c for c in data["challenges"]}
    assert by_slug["digits"]["revealed"] and by_slug["digits"]["test_set_url"].endswith("/api/challenges/digits/test-set")
    assert by_slug["hidden"]["test_set_url"] is None and by_slug["hidden"]["test_set_sha256"]
    detail = client.get("/api/challenges/digits").json()
    assert detail["input_shape"] == [64] and detail["n_classes"] == 10
    assert client.get("/api/challenges/nope").status_code == 404
    assert client.get("/api/challenges/digits/test-set").status_code == 200
    assert client.get("/api/challenges/hidden/test-set").status_code == 403


def test_submission_flow_over_api(client, users, challenge, zk, zk_proof, token_for, prove_for):
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    response = client.post(f"/api/challenges/{challenge.slug}/submissions", zk.commitment_bytes,
                           content_type="application/json", **auth)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "committed" and body["remaining_today"] == 4
    sid = body["id"]
    response = client.post(f"/api/submissions/{sid}/progress", {"stage": "sumcheck", "percent": 42},
                           content_type="application/json", **auth)
    assert response.json()["state"] == "proving" and response.json()["progress"]["percent"] == 42
    response = client.post(f"/api/submissions/{sid}/proof", b"bad", content_type="application/octet-stream", **auth)
    assert response.status_code == 400 and "Not a valid proof" in response.json()["error"]
    proof = prove_for(Submission.objects.get(pk=sid))
    response = client.post(f"/api/submissions/{sid}/proof", proof,
                           content_type="application/octet-stream", HTTP_X_PROVE_SECONDS="2.5", **auth)
    assert response.status_code == 202 and response.json()["state"] == "proof_received"
    response = client.post(f"/api/submissions/{sid}/proof", proof,
                           content_type="application/octet-stream", **auth)
    assert response.status_code == 409  # already has a proof
    status = client.get(f"/api/submissions/{sid}", **auth).json()
    assert status["state"] == "proof_received" and status["claimed_count"] == zk_proof.claimed_count
    assert Submission.objects.get(pk=sid).prove_seconds == 2.5


def test_api_validation_errors(client, users, challenge, token_for):
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    response = client.post(f"/api/challenges/{challenge.slug}/submissions", b"{}", content_type="application/json",
                           **auth)
    assert response.status_code == 400 and "Not a valid commitment" in response.json()["error"]
    response = client.post(f"/api/challenges/{challenge.slug}/submissions", {}, **auth)
    assert response.status_code == 400
    assert not Submission.objects.exists()


def test_openapi_document(client):
    doc = client.get(reverse("api:openapi")).json()
    assert doc["openapi"].startswith("3.")
    for path in ("/challenges", "/challenges/{slug}", "/challenges/{slug}/test-set", "/challenges/{slug}/leaderboard",
                 "/challenges/{slug}/submissions", "/submissions/{id}", "/submissions/{id}/proof"):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["token"]["name"] == "Authorization"
