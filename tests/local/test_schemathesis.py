"""schemathesis against the API's own /openapi.json, served by the local API Gateway stand-in in front of the
real handler, reading the real engine (mainnet fixtures ingested) through the mTLS edge.

Every operation gets valid (positive) and invalid (negative) inputs, a bounded number of each. For every
response: no 5xx, the status code is one the document declares for the operation, the Content-Type is a
declared one, the body validates against the declared schema, and declared headers are present and valid.

The cases are generated from the document the handler builds (`build_document`), loaded at collection:
schemathesis 4.32's fixture-based loader (`from_fixture`) fails under pytest 9 (`Function` has no
`_nodeid`). The first test proves the served /openapi.json is that same document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lambdas.api.openapi import build_document
from local.api_gateway import fixture_stack

pytestmark = [
    pytest.mark.edge,
    pytest.mark.slow,
    # Powertools warns on every invocation that publishes no metric; hundreds of cases, one message.
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

# Per operation, positive and negative cases together (operations without parameters have fewer to
# generate): 9 operations take a few seconds here.
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fixture_stack(Path(tmp_path_factory.mktemp("schemathesis"))) as (_, api):
        yield api.url


schema = schemathesis.openapi.from_dict(build_document())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES)


def test_the_served_document_is_the_one_the_cases_come_from(api_url: str) -> None:
    response = requests.get(f"{api_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == build_document()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a red run can be replayed
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_openapi_document_says(case: Any, api_url: str) -> None:
    case.call_and_validate(base_url=api_url, checks=CHECKS)
