"""Issue 10, item 2: the generated OpenAPI document (drf-spectacular) is a valid OpenAPI 3
document, agrees with docs/api.md's endpoint table and with the JSON the API really sends, and
its Swagger UI page loads under the site's Content-Security-Policy."""
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from openapi_spec_validator import validate

from submissions.models import Submission

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(client) -> dict:
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def properties(schema: dict, name: str) -> set[str]:
    return set(schema["components"]["schemas"][name]["properties"])


def test_the_schema_is_valid_openapi_3(schema):
    validate(schema)  # raises on any violation of the OpenAPI 3.0 specification
    assert schema["openapi"].startswith("3.0") and schema["servers"] == [{"url": "/api"}]
    assert schema["components"]["securitySchemes"]["token"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "`Token <key>`: create keys on /accounts/tokens/ (shown once, revocable)."}


def test_every_view_is_annotated(tmp_path):
    """drf-spectacular has nothing to guess: no warning (an unknown field type, an unresolved
    parameter) while generating the document."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/submissions/{id}/proof" in (tmp_path / "schema.yaml").read_text()


def test_a_broken_schema_is_refused_by_the_validator(schema):
    """The validator is not a no-op: the same document with a response lacking its description fails."""
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    del schema["paths"]["/challenges"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(schema)


def test_operations_describe_bodies_errors_and_security(schema):
    paths = schema["paths"]
    commit = paths["/challenges/{slug}/submissions"]["post"]
    assert set(commit["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert set(commit["responses"]) == {"201", "400", "401", "404", "413", "415", "429"}
    assert commit["security"] == [{"token": []}]
    proof = paths["/submissions/{id}/proof"]["post"]
    assert set(proof["requestBody"]["content"]) == {"application/octet-stream", "multipart/form-data"}
    assert {"202", "409", "429", "503"} <= set(proof["responses"])
    for path, operations in paths.items():
        for method, operation in operations.items():
            errors = [s for s in operation["responses"] if s >= "400"]
            assert errors, (method, path)
            for status in errors:
                ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, status)
    assert paths["/challenges"]["get"]["security"] == [{}]  # public
    leaderboard = {p["name"] for p in paths["/challenges/{slug}/leaderboard"]["get"]["parameters"]}
    assert {"page", "per_page", "slug"} == leaderboard
    assert properties(schema, "Error") == {"code", "detail", "error"}


def documented_endpoints() -> set[tuple[str, str]]:
    """(METHOD, path) of every row of docs/api.md's endpoint table."""
    text = (REPO / "docs" / "api.md").read_text()
    table = text.split("## Endpoints", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", table, flags=re.M)
    assert len(rows) == len([line for line in table.splitlines() if line.startswith("|")]) - 2
    return set(rows)


def test_docs_endpoint_table_matches_the_schema(schema):
    generated = {(method.upper(), "/api" + path) for path, ops in schema["paths"].items() for method in ops
                 if method in METHODS}
    assert documented_endpoints() == generated


def test_docs_list_every_error_code():
    """Each code of the one table (api/errors.py) has its row in docs/api.md's error table, with the
    table's status."""
    from api.errors import ANSWERS

    text = (REPO / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", text, flags=re.M))
    assert {(str(status), code) for status, code in ANSWERS.values()} <= documented
    assert {("429", "throttled"), ("405", "method_not_allowed"), ("413", "payload_too_large"),
            ("401", "not_authenticated"), ("500", "server_error")} <= documented


def test_the_schema_describes_what_the_api_sends(client, users, challenge, zk, token_for, schema):
    """The status and leaderboard bodies are built by the selectors (shared with the pages, cached);
    the serializers that describe them must name exactly their fields."""
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    created = client.post(reverse("api:create_submission", args=[challenge.slug]), zk.commitment_bytes,
                          content_type="application/json", **auth).json()
    assert set(created) == properties(schema, "CreatedSubmission")
    status = client.get(reverse("api:submission", args=[created["id"]]), **auth).json()
    assert set(status) == properties(schema, "SubmissionStatus") and set(status["progress"]) == {"stage", "percent"}
    Submission.objects.filter(pk=created["id"]).update(state="verified", correct_count=150, total_count=200)
    board = client.get(reverse("api:leaderboard", args=[challenge.slug])).json()
    assert set(board) == properties(schema, "Leaderboard")
    assert set(board["counts"]) == properties(schema, "SectionCounts")
    assert set(board["late"][0]) == properties(schema, "LeaderboardEntry")
    detail = client.get(reverse("api:challenge", args=[challenge.slug])).json()
    assert set(detail) == properties(schema, "Challenge")
    listing = client.get(reverse("api:challenges")).json()
    assert set(listing) == properties(schema, "PaginatedChallengeList")


def test_the_docs_page_loads_under_the_sites_csp(client, settings):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    html = response.content.decode()
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # nothing inline
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert len(sources) >= 5
    script_url = None
    for url in sources:
        assert not urlparse(url).netloc, url                                      # same origin only
        if url.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL):
            assert finders.find(url.split("/static/", 1)[1]), url                 # served from our files
        else:
            script_url = url.replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert reverse("api:openapi") in script.content.decode()
