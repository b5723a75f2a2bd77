"""The hand-written OpenAPI 3 document served at /api/openapi.json."""
from submissions.states import State

ERROR = {"$ref": "#/components/schemas/Error"}
STATUS = {"$ref": "#/components/schemas/SubmissionStatus"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _slug() -> dict:
    return {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}


def _id() -> dict:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def openapi_document(server_url: str) -> dict:
    """The OpenAPI 3.0 description of the Proofboard API."""
    secured = [{"token": []}]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Proofboard API",
            "version": "1.0.0",
            "description": "Zero-knowledge ML evaluation competitions. Authenticate with "
                           "`Authorization: Token <key>` (create keys on /accounts/tokens/).",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                                          "description": "`Token <key>`"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Challenge": {"type": "object", "properties": {
                    "slug": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "string", "enum": ["upcoming", "open", "revealed", "closed"]},
                    "n_classes": {"type": "integer"}, "input_shape": {"type": "array", "items": {"type": "integer"}},
                    "test_set_sha256": {"type": "string"}, "test_set_size": {"type": "integer"},
                    "opens_at": {"type": "string", "format": "date-time"},
                    "reveal_at": {"type": "string", "format": "date-time"},
                    "proving_deadline": {"type": "string", "format": "date-time"},
                    "max_submissions_per_day": {"type": "integer"}, "revealed": {"type": "boolean"},
                    "test_set_url": {"type": "string", "nullable": True}, "url": {"type": "string"}}},
                "SubmissionStatus": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "challenge": {"type": "string"},
                    "state": {"type": "string", "enum": list(State.values)},
                    "proof_mode": {"type": "string", "enum": ["self_hosted", "hosted"]},
                    "late": {"type": "boolean"}, "baseline": {"type": "boolean"},
                    "progress": {"type": "object", "properties": {"stage": {"type": "string"},
                                                                  "percent": {"type": "integer"}}},
                    "reason": {"type": "string", "nullable": True},
                    "correct_count": {"type": "integer", "nullable": True},
                    "total_count": {"type": "integer", "nullable": True},
                    "accuracy": {"type": "number", "nullable": True}, "final": {"type": "boolean"},
                    "accepts_proof": {"type": "boolean"}, "counts_against_limit": {"type": "boolean"},
                    "context": {"type": "string"}}},
                "LeaderboardEntry": {"type": "object", "properties": {
                    "rank": {"type": "integer"}, "submission": {"type": "integer"},
                    "participant": {"type": "string"}, "correct_count": {"type": "integer"},
                    "total_count": {"type": "integer"}, "accuracy": {"type": "number"},
                    "architecture": {"type": "string"}, "parameter_count": {"type": "integer"},
                    "proof_mode": {"type": "string"}, "proof_size": {"type": "integer"},
                    "prove_seconds": {"type": "number", "nullable": True},
                    "verify_seconds": {"type": "number", "nullable": True},
                    "baseline": {"type": "boolean"}, "late": {"type": "boolean"},
                    "committed_at": {"type": "string", "format": "date-time"},
                    "disqualified_reason": {"type": "string", "nullable": True}}},
                "Leaderboard": {"type": "object", "properties": {
                    "challenge": {"type": "string"}, "test_set_sha256": {"type": "string"},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"}, "pages": {"type": "integer"},
                    "counts": {"type": "object", "properties": {
                        "ranking": {"type": "integer"}, "late": {"type": "integer"},
                        "disqualified": {"type": "integer"}}},
                    "next": {"type": "string", "nullable": True, "description": "URL of the next page"},
                    "previous": {"type": "string", "nullable": True, "description": "URL of the previous page"},
                    "ranking": {"type": "array", "items": {"$ref": "#/components/schemas/LeaderboardEntry"}},
                    "late": {"type": "array", "items": {"$ref": "#/components/schemas/LeaderboardEntry"}},
                    "disqualified": {"type": "array",
                                     "items": {"$ref": "#/components/schemas/LeaderboardEntry"}}}},
            },
        },
        "paths": {
            "/challenges": {"get": {"summary": "List challenges", "responses": {"200": _json(
                {"type": "object", "properties": {"challenges": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Challenge"}}}})}}},
            "/challenges/{slug}": {"get": {"summary": "Challenge detail", "parameters": [_slug()], "responses": {
                "200": _json({"$ref": "#/components/schemas/Challenge"}), "404": _json(ERROR, "Not found")}}},
            "/challenges/{slug}/test-set": {"get": {
                "summary": "Download the revealed test set (.npz with x, y)", "parameters": [_slug()],
                "responses": {"200": {"description": "the .npz file",
                                      "content": {"application/octet-stream": {"schema": {
                                          "type": "string", "format": "binary"}}}},
                              "403": _json(ERROR, "Not revealed yet"), "404": _json(ERROR, "Not found")}}},
            "/challenges/{slug}/leaderboard": {"get": {
                "summary": "Public leaderboard, one page of each section (follow `next`)",
                "parameters": [_slug(),
                               {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                               {"name": "per_page", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/Leaderboard"}),
                              "404": _json(ERROR, "No such challenge or page")}}},
            "/challenges/{slug}/submissions": {"post": {
                "summary": "Commit: upload COMMIT.json (and MODEL.zkm for hosted proving)",
                "security": secured, "parameters": [_slug()],
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "required": ["commitment"], "properties": {
                        "commitment": {"type": "string", "format": "binary"},
                        "proof_mode": {"type": "string", "enum": ["self_hosted", "hosted"]},
                        "model": {"type": "string", "format": "binary"}, "label": {"type": "string"}}}},
                    "application/json": {"schema": {"type": "object", "description": "the COMMIT.json itself"}}}},
                "responses": {"201": _json(STATUS, "Created"),
                              "400": _json(ERROR, "Invalid commitment, too large, already used by another "
                                                  "participant, or the daily limit is used"),
                              "401": _json(ERROR, "No token"),
                              "413": _json(ERROR, "Request too large"),
                              "429": _json(ERROR, "Too many uploads (per IP and per account; see Retry-After)")}}},
            "/submissions/{id}": {"get": {"summary": "Status of one of your submissions", "security": secured,
                                          "parameters": [_id()],
                                          "responses": {"200": _json(STATUS), "404": _json(ERROR, "Not found")}}},
            "/submissions/{id}/commitment": {"get": {
                "summary": "The entry's COMMIT.json as uploaded (owner or staff)", "security": secured,
                "parameters": [_id()],
                "responses": {"200": {"description": "COMMIT.json", "content": {"application/json": {}}},
                              "404": _json(ERROR, "Not found")}}},
            "/submissions/{id}/proof": {"post": {
                "summary": "Upload a self-hosted proof", "security": secured, "parameters": [_id()],
                "requestBody": {"required": True, "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {
                        "proof": {"type": "string", "format": "binary"}}}}}},
                "responses": {"202": _json(STATUS, "Accepted; verification queued"),
                              "400": _json(ERROR, "Invalid or too large proof, or a proof made for another "
                                                  "entry, model or dataset (the message names the fix; the "
                                                  "entry stays open)"),
                              "409": _json(ERROR, "Wrong state"), "413": _json(ERROR, "Request too large"),
                              "429": _json(ERROR, "Too many uploads (per IP and per account; see Retry-After)"),
                              "503": _json(ERROR, "The platform cannot check proofs right now; try again")}}},
            "/submissions/{id}/progress": {"post": {
                "summary": "Report self-hosted proving progress", "security": secured, "parameters": [_id()],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"stage": {"type": "string"}, "percent": {"type": "number"}}}}}},
                "responses": {"200": _json(STATUS), "400": _json(ERROR, "Malformed body, wrong types or NUL "
                                                                         "characters; a hosted entry; outside "
                                                                         "the proving window"),
                              "404": _json(ERROR, "Not your entry"), "409": _json(ERROR, "Wrong state"), "413": _json(ERROR, "Body over 64 KiB")}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}},
        },
    }
