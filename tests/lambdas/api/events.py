"""API Gateway REST proxy events (payload v1) for calling the handler directly, shaped like the real ones:

* ``path`` stays percent-encoded (REST APIs do not decode it); ``pathParameters`` are keyed by the resource's
  template names (``{asset}``), as API Gateway fills them for a resource of the route table, and decoded
  (reports differ on whether REST APIs decode them; the handler accepts both, see test_handler_errors.py);
* ``queryStringParameters`` holds the LAST value of a repeated name, ``multiValueQueryStringParameters``
  all of them, both decoded;
* ``resource`` is the matched template, or ``/{proxy+}`` when no route matches.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from lambdas.api.routes import ROUTES
from local.api_gateway import ResourceTable


@dataclass
class FakeContext:
    function_name: str = "prices-api-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:prices-api-test"
    aws_request_id: str = "req-api-1"


# API Gateway's resource matching, as the local stand-in (`make run`) does it.
RESOURCES = ResourceTable(ROUTES)


def rest_event(
    method: str,
    path: str,
    query: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    base64_body: bool = False,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An event for `method` `path` (path segments are percent-encoded here, like a client would)."""
    encoded_path = "/".join(quote(seg, safe=":@!$&'()*+,;=-._~") for seg in path.split("/"))
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query or [])
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    matched = RESOURCES.match(encoded_path)
    resource, path_params = (
        (matched.resource, {name: unquote(value) for name, value in matched.path_parameters.items()})
        if matched
        else ("/{proxy+}", {"proxy": path.lstrip("/")})
    )
    # raw_body is the wire text as-is; a JSON `body` is base64-encoded when base64_body is set.
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if base64_body and raw_body is None and text is not None:
        text = base64.b64encode(text.encode()).decode()
    hdrs = {"Accept": "application/json", "x-api-key": "test-key", **(headers or {})}
    return {
        "resource": resource,
        "path": encoded_path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{encoded_path}",
            "stage": "v1",
            "requestId": "test-request",
            "identity": {"sourceIp": "127.0.0.1", "apiKey": "test-key"},
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    text: str


def answer(result: Mapping[str, Any]) -> Answer:
    """The handler's proxy result, with headers flattened (single- or multi-value) and the JSON body parsed."""
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    text = result.get("body") or ""
    if result.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return Answer(int(result["statusCode"]), headers, json.loads(text) if text else None, text)
