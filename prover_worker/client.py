"""A small HTTP client for the Proofboard REST API (standard library only)."""
import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional


class ApiError(Exception):
    """An HTTP error answered by the platform: its status, its machine `code` (docs/api.md, "Errors";
    "" when the answer had none) and its human message."""

    def __init__(self, status: int, message: str, code: str = ""):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.code = code


def error_of(status: int, body: bytes) -> ApiError:
    """The ApiError of an error answer: `detail` (or `error`, from platforms before `detail`) and
    `code` from its JSON body, or the start of a non-JSON body."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return ApiError(status, body.decode("utf-8", "replace")[:500])
    message = payload.get("detail") or payload.get("error") or body.decode("utf-8", "replace")[:500]
    return ApiError(status, str(message), str(payload.get("code") or ""))


class PlatformClient:
    """Token-authenticated calls to /api/..."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, data: Optional[bytes] = None,
                 headers: Optional[dict] = None) -> tuple[bytes, dict]:
        url = f"{self.base_url}/api/{path.lstrip('/')}"
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Token {self.token}")
        req.add_header("Accept", "application/json")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raise error_of(exc.code, exc.read()) from None

    def get_json(self, path: str) -> Any:
        """GET a JSON resource."""
        body, _ = self._request("GET", path)
        return json.loads(body)

    def get_bytes(self, path: str) -> bytes:
        """GET a resource's raw bytes (e.g. a submission's COMMIT.json)."""
        body, _ = self._request("GET", path)
        return body

    def post_json(self, path: str, payload: Any) -> Any:
        """POST a JSON body, return the JSON answer."""
        body, _ = self._request("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        return json.loads(body)

    def post_bytes(self, path: str, data: bytes, content_type: str, headers: Optional[dict] = None) -> Any:
        """POST a raw body, return the JSON answer."""
        body, _ = self._request("POST", path, data, {"Content-Type": content_type, **(headers or {})})
        return json.loads(body)

    def download_test_set(self, slug: str, dest: Path, expected_sha256: str) -> Path:
        """Download a revealed test set and check it against the published digest."""
        body, _ = self._request("GET", f"challenges/{slug}/test-set")
        digest = hashlib.sha256(body).hexdigest()
        if digest != expected_sha256:
            raise ApiError(0, f"test set digest mismatch: got {digest}, the challenge published {expected_sha256}")
        dest.write_bytes(body)
        return dest

    def submit_commitment(self, slug: str, commitment: bytes) -> Any:
        """Create a self-hosted submission from COMMIT.json bytes."""
        return self.post_bytes(f"challenges/{slug}/submissions", commitment, "application/json")

    def upload_proof(self, submission_id: int, proof: bytes, prove_seconds: Optional[float] = None) -> Any:
        """Upload PROOF.bin for a self-hosted submission."""
        headers = {"X-Prove-Seconds": f"{prove_seconds:.3f}"} if prove_seconds is not None else {}
        return self.post_bytes(f"submissions/{submission_id}/proof", proof, "application/octet-stream", headers)

    def report_progress(self, submission_id: int, stage: str, percent: float) -> Any:
        """Tell the platform how far proving is (shown live on the entry page)."""
        return self.post_json(f"submissions/{submission_id}/progress", {"stage": stage, "percent": percent})
