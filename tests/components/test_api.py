"""The Api component over the real program (both stacks) and, where a route table of our own proves the
derivation, on its own under the mock runtime."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from functools import cache
from typing import Any, get_args

import pytest

from components import pricing
from components.api import (
    ACCESS_LOG_FORMAT,
    GATEWAY_ERROR_RESPONSES,
    GATEWAY_ERROR_RESPONSES_BY_TYPE,
    Api,
    ApiArgs,
    GatewayErrorResponse,
    gateway_responses_sha256,
    route_table_sha256,
)
from components.cost import api_cost_lines, workload_lines
from components.function import baseline_statements
from components.packaging import build_lambda_zip
from components.settings import ApiCacheSizeGb, ApiSettings, SettingsError, load_settings
from lambdas.api.errors import internal_error, route_not_found
from lambdas.api.routes import ROUTES, Param, Route
from lambdas.api.settings import load_api_settings
from offline.mocks import RecordedResource
from offline.runner import REPO_ROOT, PlanResult, ProgramError
from policies.rules import apigateway_cache_keys_complete, apigateway_no_any_method, run_all
from tests.components.program import children_of, one, planned, run
from tests.components.test_settings import stack_file_config
from tests.conftest import MockRuntime

REST_API = "aws:apigateway/restApi:RestApi"
RESOURCE = "aws:apigateway/resource:Resource"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
STAGE = "aws:apigateway/stage:Stage"
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
RESPONSE = "aws:apigateway/response:Response"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
API_KEY = "aws:apigateway/apiKey:ApiKey"
DOMAIN = "aws:apigateway/domainName:DomainName"
BASE_PATH_MAPPING = "aws:apigateway/basePathMapping:BasePathMapping"
ACCOUNT = "aws:apigateway/account:Account"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CERT_ARN = "arn:aws:acm:eu-central-1:123456789012:certificate/0b5a3c1e-7f2d-4e61-9a8b-2c4d6e8f0a1b"
STACKS = ["dev", "prod"]


def api_config(stack: str, **changes: Any) -> dict[str, Any]:
    raw, _ = stack_file_config(stack)
    return {**raw["api"], **changes}


@cache
def variant() -> PlanResult:
    """The dev stack with every optional piece switched the other way (one run shared by several tests)."""
    return run(
        "dev",
        config_overrides={
            "api": api_config(
                "dev",
                smokeKey=True,
                customDomain={"domainName": "prices-api-dev.example.com", "certificateArn": CERT_ARN},
                accountCloudwatchRole="existing",
                detailedMetrics=True,
                cacheSizeGb="1.6",
                alarmClientErrorRatePct=10,
                paidPlans=[{"name": "gold", "rateLimit": 20, "burstLimit": 40}],
                freePlan={"rateLimit": 2, "burstLimit": 4},
            )
        },
    )


def component(result: PlanResult) -> RecordedResource:
    return one(result, "prices:api:Api", "api")


def routes_of(result: PlanResult) -> dict[tuple[str, str], tuple[RecordedResource, RecordedResource]]:
    """(method, path) → (Method, Integration), the path rebuilt from the recorded resource tree."""
    rest = one(result, REST_API, "api-rest")
    by_id = {r.id: r for r in result.of_type(RESOURCE)}

    def path_of(resource_id: str) -> str:
        if resource_id == rest.outputs["rootResourceId"]:
            return ""
        resource = by_id[resource_id]
        assert resource.inputs["restApi"] == rest.id
        return path_of(resource.inputs["parentId"]) + "/" + resource.inputs["pathPart"]

    integrations = {
        (i.inputs["restApi"], i.inputs["resourceId"], i.inputs["httpMethod"]): i for i in result.of_type(INTEGRATION)
    }
    found: dict[tuple[str, str], tuple[RecordedResource, RecordedResource]] = {}
    for method in result.of_type(METHOD):
        key = (method.inputs["httpMethod"], path_of(method.inputs["resourceId"]))
        assert key not in found, f"two methods for {key}"
        integration = integrations[(method.inputs["restApi"], method.inputs["resourceId"], method.inputs["httpMethod"])]
        found[key] = (method, integration)
    return found


def settings_by_path(result: PlanResult) -> dict[str, dict[str, Any]]:
    return {s.inputs["methodPath"]: s.inputs["settings"] for s in result.of_type(METHOD_SETTINGS)}


def role_policy(result: PlanResult) -> dict[str, dict[str, Any]]:
    document = json.loads(one(result, "aws:iam/rolePolicy:RolePolicy", "api-handler-policy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert len(by_sid) == len(document["Statement"]), "two statements share a Sid"
    return by_sid


# --- the resource tree, methods and THE cache-key test ------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_resource_per_path_segment_and_no_catch_all(stack: str) -> None:
    result = planned(stack)
    resources = result.of_type(RESOURCE)
    prefixes = {
        "/" + "/".join(route.path.strip("/").split("/")[: i + 1])
        for route in ROUTES
        for i in range(route.path.count("/"))
    }
    assert len(resources) == len(prefixes)
    for resource in resources:
        assert "/" not in resource.inputs["pathPart"]
        assert "+" not in resource.inputs["pathPart"], "no {proxy+} catch-all"
    assert {path for _, path in routes_of(result)} == {route.path for route in ROUTES}


@pytest.mark.parametrize("stack", STACKS)
def test_every_route_has_exactly_one_method_with_its_key_flag_parameters_and_cache_key(stack: str) -> None:
    # THE cache-key test, IaC side: every parameter a route declares (so every one the handler may read) is
    # declared on its method and is in its integration's cache key; nothing else is.
    result = planned(stack)
    found = routes_of(result)
    fn = one(result, FUNCTION, "api-handler")
    assert set(found) == {(route.method, route.path) for route in ROUTES}
    for route in ROUTES:
        method, integration = found[(route.method, route.path)]
        assert method.inputs["apiKeyRequired"] is route.api_key_required, route.key
        assert method.inputs["authorization"] == "NONE"
        assert method.inputs["operationName"] == route.operation_id
        declared = {f"method.request.path.{p.name}": True for p in route.path_params} | {
            f"method.request.querystring.{p.name}": False for p in route.query
        }
        assert method.inputs.get("requestParameters", {}) == declared, route.key
        keys = integration.inputs.get("cacheKeyParameters", [])
        assert keys == route.cache_key_parameters(), route.key
        assert sorted(keys) == sorted(declared), route.key
        assert (integration.inputs["type"], integration.inputs["integrationHttpMethod"]) == ("AWS_PROXY", "POST")
        assert integration.inputs["uri"] == fn.outputs["invokeArn"]
    assert not [m for m in result.of_type(METHOD) if m.inputs["httpMethod"] == "ANY"]


@pytest.mark.parametrize("stack", STACKS)
def test_keys_are_waived_only_where_the_route_says(stack: str) -> None:
    keyless = {path for (_, path), (m, _) in routes_of(planned(stack)).items() if not m.inputs["apiKeyRequired"]}
    assert keyless == {route.path for route in ROUTES if not route.api_key_required}
    assert keyless == {"/health", "/openapi.json"}
    assert all(route.api_key_required for route in ROUTES if route.path.startswith("/v1/"))


def test_methods_and_cache_keys_follow_a_changed_route_table(mock_runtime: MockRuntime) -> None:
    # Built from a table of our own: a new query parameter reaches the cache key with nothing else edited.
    extra = Param("currency", "string", "a parameter the real table does not have")
    price = next(r for r in ROUTES if r.operation_id == "getAssetPrice")
    table = (
        dataclasses.replace(price, query=(*price.query, extra), cache_ttl_seconds=5),
        Route("GET", "/v2/things/{thing}", "getThing", "x", path_params=(Param("thing", "string", "x"),)),
    )
    package = build_lambda_zip(
        ["lambdas"], REPO_ROOT / "lambdas" / "requirements-runtime.txt", REPO_ROOT / "build" / "lambda"
    )

    def program() -> None:
        Api(
            "api",
            ApiArgs(
                name_prefix="prices-test",
                settings=ApiSettings(cache_size_gb="0.5"),
                clickhouse_url="https://ch.example.com",
                code=package,
                mtls_secret_name="prices/test/clickhouse-mtls-api",
                mtls_secret_arn="arn:aws:secretsmanager:eu-central-1:123456789012:secret:prices/test/api-AbCdEf",
                alarm_topic_arn="arn:aws:sns:eu-central-1:123456789012:ops",
                tags={},
                routes=table,
            ),
        )

    resources = mock_runtime.collect(program)
    integrations = {i.name: i for i in resources if i.type == INTEGRATION}
    assert integrations["api-get-v1-assets-by-asset-price-integration"].inputs["cacheKeyParameters"] == [
        "method.request.path.asset",
        "method.request.querystring.min_volume_usd",
        "method.request.querystring.currency",
    ]
    assert integrations["api-get-v2-things-by-thing-integration"].inputs["cacheKeyParameters"] == [
        "method.request.path.thing"
    ]
    settings = {s.inputs["methodPath"]: s.inputs["settings"] for s in resources if s.type == METHOD_SETTINGS}
    assert settings["v1/assets/{asset}/price/GET"]["cacheTtlInSeconds"] == 5
    assert settings["v2/things/{thing}/GET"]["cachingEnabled"] is False  # ttl 0
    assert apigateway_cache_keys_complete(resources) == apigateway_no_any_method(resources) == []
    assert {r.inputs["pathPart"] for r in resources if r.type == RESOURCE} == {
        "v1",
        "assets",
        "{asset}",
        "price",
        "v2",
        "things",
        "{thing}",
    }


# --- stage, cache, throttling, deployment --------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cache_gb", "rate", "burst"), [("dev", "0", 50, 100), ("prod", "0.5", 200, 400)])
def test_stage_cache_ttls_and_throttles_come_from_the_routes_and_config(
    stack: str, cache_gb: str, rate: int, burst: int
) -> None:
    result = planned(stack)
    stage = one(result, STAGE, "api-stage")
    cached = cache_gb != "0"
    assert stage.inputs["cacheClusterEnabled"] is cached
    assert stage.inputs.get("cacheClusterSize") == (cache_gb if cached else None)
    settings = settings_by_path(result)
    assert set(settings) == {"*/*"} | {f"{r.path.lstrip('/')}/{r.method}" for r in ROUTES}
    for path, entry in settings.items():
        assert (entry["throttlingRateLimit"], entry["throttlingBurstLimit"]) == (rate, burst), path
        assert (entry["loggingLevel"], entry["metricsEnabled"], entry["dataTraceEnabled"]) == ("ERROR", False, False)
        assert entry["requireAuthorizationForCacheControl"] is True
        assert entry["unauthorizedCacheControlHeaderStrategy"] == "SUCCEED_WITH_RESPONSE_HEADER"
    assert settings["*/*"]["cachingEnabled"] is False
    for route in ROUTES:
        entry = settings[f"{route.path.lstrip('/')}/{route.method}"]
        assert entry["cacheTtlInSeconds"] == route.cache_ttl_seconds, route.key
        assert entry["cachingEnabled"] is (cached and route.cache_ttl_seconds > 0), route.key
    for resource in result.of_type(METHOD_SETTINGS):
        assert resource.inputs["stageName"] == stage.outputs["stageName"] == "live"
    if cached:
        assert settings["v1/assets/{asset}/price/GET"]["cacheTtlInSeconds"] == 10
        assert settings["v1/prices/batch/POST"]["cachingEnabled"] is False
        assert settings["health/GET"]["cachingEnabled"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_stage_traces_and_writes_json_access_logs_with_retention(stack: str) -> None:
    result = planned(stack)
    stage = one(result, STAGE, "api-stage")
    logs = one(result, LOG_GROUP, "api-access-logs")
    assert stage.inputs["xrayTracingEnabled"] is True
    assert stage.inputs["restApi"] == one(result, REST_API, "api-rest").id
    assert stage.inputs["deployment"] == one(result, DEPLOYMENT, "api-deployment").id
    assert stage.inputs["accessLogSettings"]["destinationArn"] == logs.outputs["arn"]
    assert logs.inputs["name"] == f"/aws/apigateway/prices-{stack}-api/access"
    assert logs.inputs["retentionInDays"] == {"dev": 30, "prod": 90}[stack]
    fields = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"  # the key's id, never its value
    assert {"status", "resourcePath", "responseLatencyMs", "integrationLatencyMs", "errorType"} <= set(fields)
    assert stage.inputs["accessLogSettings"]["format"] == ACCESS_LOG_FORMAT
    assert logs.urn in stage.dependencies
    rest = one(result, REST_API, "api-rest")
    assert rest.inputs["endpointConfiguration"] == {"types": "REGIONAL"}
    assert rest.inputs["apiKeySource"] == "HEADER"


@pytest.mark.parametrize("stack", STACKS)
def test_deployment_redeploys_when_the_route_table_changes(stack: str) -> None:
    result = planned(stack)
    deployment = one(result, DEPLOYMENT, "api-deployment")
    triggers = deployment.inputs["triggers"]
    assert triggers["routes"] == route_table_sha256(ROUTES)
    assert triggers["gatewayResponses"] == gateway_responses_sha256()
    assert triggers["integration"] == one(result, FUNCTION, "api-handler").outputs["invokeArn"]
    # Any change a route can carry gives a new digest, so a new deployment.
    first = ROUTES[2]
    for changed in (
        dataclasses.replace(first, cache_ttl_seconds=first.cache_ttl_seconds + 1),
        dataclasses.replace(first, api_key_required=not first.api_key_required),
        dataclasses.replace(first, query=first.query[:-1]),
    ):
        assert route_table_sha256((*ROUTES[:2], changed, *ROUTES[3:])) != triggers["routes"]
    assert route_table_sha256(tuple(ROUTES)) == triggers["routes"]  # and nothing else does
    snapshot = {r.urn for r in result.of_type(METHOD) + result.of_type(INTEGRATION) + result.of_type(RESPONSE)}
    assert snapshot <= set(deployment.dependencies)


# --- gateway responses -----------------------------------------------------------------------------------------


def rendered(template: str, gateway_message: str = "Gateway says no") -> dict[str, Any]:
    """The body API Gateway would send: `$context.error.messageString` is its message, already JSON-quoted."""
    body = json.loads(template.replace("$context.error.messageString", json.dumps(gateway_message)))
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("stack", STACKS)
def test_gateway_responses_answer_in_the_envelope_with_distinct_codes(stack: str) -> None:
    result = planned(stack)
    responses = {r.inputs["responseType"]: r.inputs for r in result.of_type(RESPONSE)}
    assert set(responses) == {r.response_type for r in GATEWAY_ERROR_RESPONSES}
    bodies = {}
    for response_type, inputs in responses.items():
        assert inputs["restApiId"] == one(result, REST_API, "api-rest").id
        assert set(inputs["responseTemplates"]) == {"application/json"}
        body = rendered(inputs["responseTemplates"]["application/json"])
        assert set(body) == {"code", "message"} and body["message"]
        bodies[response_type] = body
    status = {t: inputs.get("statusCode") for t, inputs in responses.items()}
    assert status["MISSING_AUTHENTICATION_TOKEN"] == "404"
    assert status["INVALID_API_KEY"] == "403"
    assert status["THROTTLED"] == status["QUOTA_EXCEEDED"] == "429"
    assert status["DEFAULT_4XX"] is None and status["DEFAULT_5XX"] is None  # keep each error's own status
    assert bodies["MISSING_AUTHENTICATION_TOKEN"]["code"] == "route_not_found"
    assert bodies["INVALID_API_KEY"]["code"] == "invalid_api_key"
    assert "x-api-key" in bodies["INVALID_API_KEY"]["message"]
    assert bodies["MISSING_AUTHENTICATION_TOKEN"]["message"] != bodies["INVALID_API_KEY"]["message"]
    assert (bodies["THROTTLED"]["code"], bodies["QUOTA_EXCEEDED"]["code"]) == ("throttled", "quota_exceeded")
    assert bodies["DEFAULT_5XX"] == {"code": "internal_error", "message": "Gateway says no"}
    codes = [body["code"] for body in bodies.values()]
    assert len(codes) == len(set(codes))
    for inputs in responses.values():
        assert inputs["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
    assert responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_gateway_codes_are_the_handlers_codes_for_the_same_failures() -> None:
    # An unknown route answers the same whether API Gateway or the handler (local stand-in) catches it.
    unknown = route_not_found("GET", "/nope")
    assert GATEWAY_ERROR_RESPONSES_BY_TYPE["MISSING_AUTHENTICATION_TOKEN"].status == unknown.status == 404
    assert GATEWAY_ERROR_RESPONSES_BY_TYPE["MISSING_AUTHENTICATION_TOKEN"].code == unknown.code
    assert GATEWAY_ERROR_RESPONSES_BY_TYPE["DEFAULT_5XX"].code == internal_error().code


def test_fixed_messages_cannot_smuggle_template_syntax() -> None:
    with pytest.raises(ValueError, match="template syntax"):
        GatewayErrorResponse("THROTTLED", 429, "throttled", "costs $5")
    with pytest.raises(ValueError, match="template syntax"):
        GatewayErrorResponse("THROTTLED", 429, "throttled", "#set($x = 1)")
    quoted = GatewayErrorResponse("THROTTLED", 429, "throttled", 'say "slow down"\n')
    assert rendered(quoted.template()) == {"code": "throttled", "message": 'say "slow down"\n'}


# --- usage plans, keys, custom domain -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "paid"),
    [
        ("dev", {"loadtest": (50, 100, 1_000_000)}),
        ("prod", {"basic": (10, 20, 1_000_000), "pro": (50, 100, 10_000_000)}),
    ],
)
def test_usage_plans_free_and_paid_from_config_on_the_stage(stack: str, paid: dict[str, tuple[int, int, int]]) -> None:
    result = planned(stack)
    rest, stage = one(result, REST_API, "api-rest"), one(result, STAGE, "api-stage")
    plans = {p.inputs["tags"]["plan"]: p for p in result.of_type(USAGE_PLAN)}
    expected = {"free": (1, 5, 100_000), **paid}
    assert set(plans) == set(expected)
    for tier, (rate, burst, quota) in expected.items():
        inputs = plans[tier].inputs
        assert inputs["name"] == f"prices-{stack}-{tier}"
        assert inputs["throttleSettings"] == {"rateLimit": rate, "burstLimit": burst}
        assert inputs["quotaSettings"] == {"limit": quota, "period": "MONTH"}
        assert inputs["apiStages"] == [{"apiId": rest.id, "stage": stage.outputs["stageName"]}]
    assert result.outputs["api_usage_plan_ids"] == {tier: plans[tier].id for tier in expected}
    # Keys are issued by an operator or the portal; the stack creates none and exports no key value.
    assert not result.of_type(API_KEY)
    assert not {"api_smoke_key", "api_smoke_key_id"} & set(result.outputs)


def test_paid_plans_follow_the_config() -> None:
    result = variant()
    found = {p.inputs["tags"]["plan"]: p.inputs for p in result.of_type(USAGE_PLAN)}
    assert set(found) == {"free", "gold"}
    assert found["gold"]["throttleSettings"] == {"rateLimit": 20, "burstLimit": 40}
    assert "quotaSettings" not in found["gold"]  # no quota configured: none imposed
    assert found["free"]["throttleSettings"] == {"rateLimit": 2, "burstLimit": 4}
    assert "quotaSettings" not in found["free"]


def test_the_smoke_key_value_is_only_a_secret_output() -> None:
    result = variant()
    key = one(result, API_KEY, "api-smoke-key")
    value = key.outputs["value"]
    assert len(value) == 40
    assert key.input_is_secret("value")
    assert "api_smoke_key" in result.secret_outputs and result.outputs["api_smoke_key"] == value
    assert result.outputs["api_smoke_key_id"] == key.id
    plain = json.dumps({k: v for k, v in result.outputs.items() if k not in result.secret_outputs}, default=str)
    assert value not in plain
    link = one(result, "aws:apigateway/usagePlanKey:UsagePlanKey", "api-smoke-key-plan")
    assert link.inputs["keyId"] == key.id
    assert link.inputs["usagePlanId"] == result.outputs["api_usage_plan_ids"]["free"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_custom_domain_by_default(stack: str) -> None:
    result = planned(stack)
    assert not result.of_type(DOMAIN) and not result.of_type(BASE_PATH_MAPPING)
    assert "api_custom_domain" not in result.outputs


def test_custom_domain_is_regional_tls12_and_maps_the_stage_at_the_root() -> None:
    result = variant()
    domain = one(result, DOMAIN, "api-domain")
    assert domain.inputs["domainName"] == "prices-api-dev.example.com"
    assert domain.inputs["regionalCertificateArn"] == CERT_ARN
    assert domain.inputs["endpointConfiguration"] == {"types": "REGIONAL"}
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    mapping = one(result, BASE_PATH_MAPPING, "api-domain-mapping")
    assert mapping.inputs["restApi"] == one(result, REST_API, "api-rest").id
    assert mapping.inputs["stageName"] == "live"
    assert mapping.inputs["domainName"] == "prices-api-dev.example.com"
    assert "basePath" not in mapping.inputs
    assert result.outputs["api_custom_domain"]["url"] == "https://prices-api-dev.example.com"


def test_a_certificate_from_another_region_is_refused_naming_the_key() -> None:
    arn = CERT_ARN.replace("eu-central-1", "us-east-1")
    domain = {"domainName": "prices-api.example.com", "certificateArn": arn}
    with pytest.raises(ProgramError, match=r"config key 'prices-api:api': customDomain.certificateArn is in us-east-1"):
        run("dev", config_overrides={"api": api_config("dev", customDomain=domain)})


# --- the function -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "concurrency"), [("dev", 10), ("prod", 100)])
def test_function_settings_come_from_config(stack: str, concurrency: int) -> None:
    result = planned(stack)
    fn = one(result, FUNCTION, "api-handler")
    assert fn.inputs["name"] == f"prices-{stack}-api"
    assert fn.inputs["handler"] == "lambdas.api.handler.handler"
    assert (fn.inputs["runtime"], fn.inputs["architectures"]) == ("python3.12", ["arm64"])
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (512, 10)
    assert fn.inputs["reservedConcurrentExecutions"] == concurrency
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert fn.inputs["sourceCodeHash"] == result.outputs["lambda_code_sha256"]  # the shared zip
    logs = one(result, LOG_GROUP, "api-handler-logs")
    assert (logs.inputs["name"], logs.inputs["retentionInDays"]) == (f"/aws/lambda/prices-{stack}-api", 30)
    assert logs.urn in fn.dependencies
    assert result.outputs["api_function_name"] == f"prices-{stack}-api"


@pytest.mark.parametrize("stack", STACKS)
def test_environment_is_names_only_and_what_the_handler_reads(stack: str) -> None:
    result = planned(stack)
    variables = one(result, FUNCTION, "api-handler").inputs["environment"]["variables"]
    assert variables == {
        "CLICKHOUSE_URL": result.outputs["clickhouse_endpoint"],
        "MTLS_SECRET_NAME": f"prices/{stack}/clickhouse-mtls-api",
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": "Prices/Api",
    }
    assert variables["MTLS_SECRET_NAME"] == result.outputs["mtls_secret_names"]["api"]
    # Bound to the handler, written apart from this component: its settings loader (the one `build_runtime`
    # calls at cold start) accepts what the stack deploys, and the handler string names a real callable.
    settings = load_api_settings(variables)
    assert f"prices/{stack}/clickhouse-mtls-api" == settings.MTLS_SECRET_NAME
    assert result.outputs["clickhouse_endpoint"] == settings.CLICKHOUSE_URL
    module_name, _, attribute = one(result, FUNCTION, "api-handler").inputs["handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), attribute))


@pytest.mark.parametrize("stack", STACKS)
def test_role_reads_the_reader_bundle_and_nothing_else(stack: str) -> None:
    result = planned(stack)
    log_group_arn = one(result, LOG_GROUP, "api-handler-logs").outputs["arn"]
    reader, writer = result.outputs["mtls_secret_arns"]["api"], result.outputs["mtls_secret_arns"]["ingestion"]
    statements = role_policy(result)
    # The one grant of its own; the rest is MonitoredFunction's baseline for this function, not repeated here.
    baseline = {s["Sid"]: s for s in baseline_statements(log_group_arn, "Prices/Api")}
    assert statements == {
        "ReadOwnMtlsBundle": {
            "Sid": "ReadOwnMtlsBundle",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": reader,
        },
        **baseline,
    }
    assert set(baseline) == {"WriteOwnLogs", "AnyResourceMetrics", "AnyResourceXray"}
    assert writer not in json.dumps(statements)
    role = one(result, "aws:iam/role:Role", "api-handler-role")
    assert not role.inputs.get("managedPolicyArns") and not role.inputs.get("inlinePolicies")
    attachments = result.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in attachments if a.inputs.get("role") == role.outputs.get("name")]


@pytest.mark.parametrize("stack", STACKS)
def test_api_gateway_may_invoke_the_function_only_on_each_routes_own_arn(stack: str) -> None:
    result = planned(stack)
    execution_arn = one(result, REST_API, "api-rest").outputs["executionArn"]
    permissions = [p for p in result.of_type(PERMISSION) if p.parent == component(result).urn]
    assert len(permissions) == len(ROUTES)
    arns = set()
    for permission in permissions:
        inputs = permission.inputs
        assert (inputs["action"], inputs["principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
        assert inputs["function"] == f"prices-{stack}-api"
        arns.add(inputs["sourceArn"])
    assert arns == {f"{execution_arn}/live/{r.method}{re.sub(r'{[a-z_]+}', '*', r.path)}" for r in ROUTES}
    assert f"{execution_arn}/live/GET/v1/assets/*/price" in arns


# --- alarms, the account logging role -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_alarms_report_to_the_ops_topic_with_ok_actions(stack: str) -> None:
    result = planned(stack)
    api = component(result)
    handler = one(result, "prices:function:MonitoredFunction", "api-handler")
    alarms = {a.inputs["name"]: a.inputs for a in result.of_type(ALARM) if a.parent in {api.urn, handler.urn}}
    prefix = f"prices-{stack}-api-"
    expected = {"5xx", "latency-p95", "errors", "duration-near-timeout", "no-invocations"}
    if stack == "prod":
        expected.add("4xx-rate")
    assert {name.removeprefix(prefix) for name in alarms} == expected
    topic = [result.outputs["ops_alarm_topic_arn"]]
    for alarm in alarms.values():
        assert alarm["alarmActions"] == alarm["okActions"] == topic
    dims = {"ApiName": f"prices-{stack}-api", "Stage": "live"}
    server = alarms[prefix + "5xx"]
    assert (server["namespace"], server["metricName"], server["dimensions"]) == ("AWS/ApiGateway", "5XXError", dims)
    assert (server["statistic"], server["threshold"], server["period"]) == ("Sum", 5, 300)
    latency = alarms[prefix + "latency-p95"]
    assert (latency["metricName"], latency["extendedStatistic"], latency["dimensions"]) == ("Latency", "p95", dims)
    assert latency["threshold"] == {"dev": 1500, "prod": 1000}[stack]
    assert latency["evaluationPeriods"] == latency["datapointsToAlarm"] == 3
    silence = {q["id"]: q for q in alarms[prefix + "no-invocations"]["metricQueries"]}
    assert silence["invocations"]["metric"]["period"] == {"dev": 86_400, "prod": 3600}[stack]
    if stack == "prod":
        rate = alarms[prefix + "4xx-rate"]
        queries = {q["id"]: q for q in rate["metricQueries"]}
        assert queries["errors"]["metric"]["metricName"] == "4XXError"
        assert queries["requests"]["metric"]["metricName"] == "Count"
        assert queries["rate"]["expression"] == "IF(requests >= 200, 100 * errors / requests, 0)"
        assert rate["threshold"] == 25


@pytest.mark.parametrize("stack", STACKS)
def test_the_account_logging_role_is_created_when_configured(stack: str) -> None:
    result = planned(stack)
    role = one(result, "aws:iam/role:Role", "api-cloudwatch-role")
    assert role.inputs["name"] == "prices-apigateway-cloudwatch"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attachment = one(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "api-cloudwatch-role-policy")
    assert attachment.inputs["policyArn"].endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    account = one(result, ACCOUNT, "api-account")
    assert account.inputs["cloudwatchRoleArn"] == role.outputs["arn"]
    assert account.urn in one(result, STAGE, "api-stage").dependencies
    existing = variant()
    assert not existing.of_type(ACCOUNT)
    assert not [r for r in existing.of_type("aws:iam/role:Role") if r.name == "api-cloudwatch-role"]


# --- the component, its outputs, policies, settings -----------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_api_resource_hangs_under_the_component_and_outputs_are_exported(stack: str) -> None:
    result = planned(stack)
    api = component(result)
    handler = one(result, "prices:function:MonitoredFunction", "api-handler")
    assert handler.parent == api.urn
    owned = {r.urn for r in children_of(result, api) + children_of(result, handler)}
    for type_ in (REST_API, RESOURCE, METHOD, INTEGRATION, METHOD_SETTINGS, STAGE, DEPLOYMENT, RESPONSE, USAGE_PLAN):
        assert {r.urn for r in result.of_type(type_)} <= owned, type_
    stage, rest = one(result, STAGE, "api-stage"), one(result, REST_API, "api-rest")
    assert result.outputs["api_url"] == stage.outputs["invokeUrl"]
    assert result.outputs["api_url"].endswith("/live")
    assert result.outputs["api_id"] == rest.id
    assert set(api.registered_outputs or {}) == {
        "rest_api_id",
        "invoke_url",
        "stage_name",
        "function_name",
        "function_arn",
        "usage_plan_ids",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_passes_every_policy(stack: str) -> None:
    raw, _ = stack_file_config(stack)
    assert [str(v) for v in run_all(planned(stack), raw["network"]["adminCidrs"])] == []


def test_the_variant_with_every_option_passes_every_policy() -> None:
    raw, _ = stack_file_config("dev")
    assert [str(v) for v in run_all(variant(), raw["network"]["adminCidrs"])] == []


def test_the_api_stanza_may_be_absent() -> None:
    result = run("dev", config_overrides={"api": None})
    defaults = ApiSettings()
    assert not one(result, STAGE, "api-stage").inputs["cacheClusterEnabled"]
    assert {p.inputs["tags"]["plan"] for p in result.of_type(USAGE_PLAN)} == {"free"}
    free = one(result, USAGE_PLAN, "api-plan-free").inputs
    assert free["throttleSettings"] == {"rateLimit": 1, "burstLimit": 5}
    assert free["quotaSettings"] == {"limit": 100_000, "period": "MONTH"}
    fn = one(result, FUNCTION, "api-handler").inputs
    assert (fn["memorySize"], fn["timeout"], fn["reservedConcurrentExecutions"]) == (
        defaults.memory_mb,
        defaults.timeout_seconds,
        defaults.reserved_concurrency,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timeoutSeconds": 29}, r"'prices-api:api.timeoutSeconds': at most 28 seconds: API Gateway gives up"),
        ({"cacheSizeGb": "2"}, r"'prices-api:api.cacheSizeGb': Input should be '0', '0.5'"),
        ({"cacheSizeGb": 0.5}, r"'prices-api:api.cacheSizeGb'"),
        ({"logRetentionDays": 10}, r"'prices-api:api.logRetentionDays': one of the CloudWatch Logs retention"),
        ({"accessLogRetentionDays": 2}, r"'prices-api:api.accessLogRetentionDays': one of the CloudWatch"),
        ({"loggingLevel": "DEBUG"}, r"'prices-api:api.loggingLevel'"),
        ({"reservedConcurrency": 0}, r"'prices-api:api.reservedConcurrency'"),
        ({"throttleRateLimit": 0}, r"'prices-api:api.throttleRateLimit'"),
        ({"accountCloudwatchRole": "mine"}, r"'prices-api:api.accountCloudwatchRole'"),
        ({"paidPlans": [{"name": "free", "rateLimit": 1, "burstLimit": 1}]}, r"paidPlans\[0\].name': 'free' is the"),
        ({"paidPlans": [{"name": "Gold!", "rateLimit": 1, "burstLimit": 1}]}, r"paidPlans\[0\].name': a plan name"),
        ({"paidPlans": [{"name": "x1", "rateLimit": 1}]}, r"paidPlans\[0\].burstLimit': is required"),
        (
            {"paidPlans": [{"name": "a1", "rateLimit": 1, "burstLimit": 1}] * 2},
            r"'prices-api:api.paidPlans': plan name\(s\) a1 appear more than once",
        ),
        (
            {"paidPlans": [{"name": "big", "rateLimit": 500, "burstLimit": 10}]},
            r"'prices-api:api': paidPlans\[0\].rateLimit 500 exceeds throttleRateLimit 200",
        ),
        ({"freePlan": {"rateLimit": 1, "burstLimit": 500}}, r"freePlan.burstLimit 500 exceeds throttleBurstLimit 400"),
        (
            {"freePlan": {"rateLimit": 1, "burstLimit": 5, "quotaPerMonth": 0}},
            r"'prices-api:api.freePlan.quotaPerMonth'",
        ),
        ({"customDomain": {"domainName": "x", "certificateArn": CERT_ARN}}, r"customDomain.domainName': a DNS name"),
        (
            {"customDomain": {"domainName": "a.example.com", "certificateArn": "arn:aws:acm:cert"}},
            r"customDomain.certificateArn': an ACM certificate ARN",
        ),
        ({"cacheSize": "0.5"}, r"'prices-api:api.cacheSize': is not a known setting"),
        ({"alarmClientErrorRatePct": 0}, r"'prices-api:api.alarmClientErrorRatePct'"),
    ],
)
def test_bad_api_settings_fail_naming_the_key(change: dict[str, Any], message: str) -> None:
    raw, region = stack_file_config("prod")
    raw["api"] = api_config("prod", **change)
    with pytest.raises(SettingsError, match=message):
        load_settings("prod", raw, region)


@pytest.mark.parametrize("moved", [("apiCacheSizeGb", "0.5", "cacheSizeGb"), ("apiLambdaMemoryMb", 512, "memoryMb")])
def test_api_keys_that_moved_out_of_traffic_say_where_they_went(moved: tuple[str, Any, str]) -> None:
    old, value, new = moved
    raw, region = stack_file_config("dev")
    raw["traffic"] = {**raw["traffic"], old: value}
    with pytest.raises(SettingsError, match=rf"'prices-api:traffic': {old} moved to prices-api:api.{new}"):
        load_settings("dev", raw, region)


def test_a_bad_api_setting_stops_the_program() -> None:
    with pytest.raises(ProgramError, match=r"stack 'dev': config key 'prices-api:api.cacheSizeGb'"):
        run("dev", config_overrides={"api": api_config("dev", cacheSizeGb="3")})


# --- cost -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "cache_usd"), [("dev", 0.0), ("prod", 0.020 * 730)])
def test_api_cost_lines_price_what_the_component_provisions(stack: str, cache_usd: float) -> None:
    settings = load_settings(stack, *stack_file_config(stack))
    lines = {line.item: line for line in api_cost_lines(settings)}
    cache_item = f"stage cache {settings.api.cache_size_gb} GB"
    assert set(lines) == {"REST API requests", cache_item, "api handler"}
    assert lines[cache_item].usd == pytest.approx(cache_usd)
    assert {line.category for line in lines.values()} == {"api_gateway_requests", "api_gateway_cache", "lambda"}
    assert not set(lines) & {line.item for line in workload_lines(settings)}
    exported = {line["item"]: line for line in planned(stack).outputs["monthly_cost_lines"]}
    for item, line in lines.items():
        assert exported[item]["usd"] == round(line.usd, 2)


def test_api_cost_follows_memory_cache_size_and_detailed_metrics() -> None:
    raw, region = stack_file_config("prod")
    base = {line.item: line.usd for line in api_cost_lines(load_settings("prod", raw, region))}
    raw["api"] = api_config("prod", memoryMb=1024, cacheSizeGb="6.1", detailedMetrics=True)
    changed = {line.item: line.usd for line in api_cost_lines(load_settings("prod", raw, region))}
    assert changed["api handler"] > base["api handler"]
    assert changed["REST API requests"] == base["REST API requests"]
    assert changed["stage cache 6.1 GB"] == pytest.approx(0.200 * 730)
    assert changed["API per-method metrics"] == pytest.approx(len(ROUTES) * 7 * 0.30)
    assert "API per-method metrics" not in base
    metrics = variant().outputs["monthly_cost_lines"]
    assert "API per-method metrics" in {line["item"] for line in metrics}


def test_every_cache_size_the_settings_accept_has_a_price() -> None:
    assert set(get_args(ApiCacheSizeGb)) == set(pricing.APIGW_CACHE_HOURLY_BY_GB)
    assert pricing.APIGW_CACHE_HOURLY_BY_GB["0"] == 0
