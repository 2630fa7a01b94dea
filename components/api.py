"""The public API: API Gateway REST API → the API Lambda, every route-specific piece derived from the route table.

`lambdas/api/routes.py` (`ROUTES`) is the only place a route is defined. From it this component builds one API
Gateway resource per path segment and one method per route (never a `{proxy+}` catch-all, never `ANY`), each
method's API-key flag and declared request parameters, the integration's **cache key parameters**
(`Route.cache_key_parameters()`: every path and query parameter the handler may read, so an undeclared
parameter can never poison the cache — reference-system.md §13.11), each method's cache TTL, the Lambda
permission per route, and the deployment trigger (a digest of the table: change a route, the API redeploys).

Also here: the stage (throttling, cache cluster, access logs in JSON, X-Ray), gateway responses that answer in
the handler's `{code, message}` envelope with distinct codes for an unknown route, a missing/bad key and
throttling (the reference answered 403 to all three — §13.12), the free and paid usage plans, an optional
smoke-test key, an optional custom domain, and the API Gateway alarms. The function and its three standard
alarms are a `MonitoredFunction`; its role may read the reader's mTLS bundle and nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.function import FunctionAlarmSettings, MonitoredFunction, MonitoredFunctionArgs, ops_alarm
from components.packaging import BuiltPackage
from components.settings import ApiSettings
from lambdas.api.routes import ROUTES, Route
from lambdas.api.settings import METRICS_NAMESPACE, SERVICE

HANDLER = "lambdas.api.handler.handler"
STAGE_NAME = "live"
FREE_PLAN = "free"
# The role API Gateway writes logs with is one per account and region, so its name carries no environment:
# a second stack in the same account that also tries to create it fails loudly (set it to "existing" there).
ACCOUNT_CLOUDWATCH_ROLE_NAME = "prices-apigateway-cloudwatch"
PUSH_TO_CLOUDWATCH_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
ALARM_PERIOD_SECONDS = 300
ALLOW_ANY_ORIGIN = ("Access-Control-Allow-Origin", "*")

# One JSON object per request. The caller is identified by its API key's id, never the key's value.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTimeEpoch",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "apiKeyId": "$context.identity.apiKeyId",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integration.latency",
        "integrationStatus": "$context.integration.status",
        "errorType": "$context.error.responseType",
        "errorMessage": "$context.error.message",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


# ---------------------------------------------------------------------------------------------------------
# Gateway responses: what API Gateway itself answers, in the handler's envelope
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayErrorResponse:
    """A response API Gateway sends without calling the function, as `{"code", "message"}`."""

    response_type: str
    status: int | None  # None: keep API Gateway's own status for the type (the DEFAULT_4XX/5XX families)
    code: str
    message: str | None  # None: API Gateway's own message for the error ($context.error.messageString)
    # Like every answer of the handler, so a browser may read the error whatever its origin.
    headers: tuple[tuple[str, str], ...] = (ALLOW_ANY_ORIGIN,)

    def __post_init__(self) -> None:
        # The template is Velocity: a literal `$` or `#` in a fixed text would be evaluated, not sent.
        for text in (self.code, self.message or ""):
            if "$" in text or "#" in text:
                raise ValueError(f"{self.response_type}: '$' and '#' are template syntax, not text: {text!r}")

    def template(self) -> str:
        message = "$context.error.messageString" if self.message is None else json.dumps(self.message)
        return '{"code":' + json.dumps(self.code) + ',"message":' + message + "}"

    def response_parameters(self) -> dict[str, str]:
        return {f"gatewayresponse.header.{name}": f"'{value}'" for name, value in self.headers}


# For a REST API without IAM authorisation, API Gateway reports an unknown path AND a known path with a method
# it does not have as MISSING_AUTHENTICATION_TOKEN: it cannot tell 405 from 404 before any integration runs,
# so both are the 404 the handler also uses for an unknown route (`lambdas.api.errors.route_not_found`).
# A missing key and a wrong key are both INVALID_API_KEY: one code, a message that says which header to send.
GATEWAY_ERROR_RESPONSES: tuple[GatewayErrorResponse, ...] = (
    GatewayErrorResponse(
        "MISSING_AUTHENTICATION_TOKEN",
        404,
        "route_not_found",
        "No such route: this API has no such path, or the path does not take this method; see /openapi.json",
    ),
    GatewayErrorResponse(
        "INVALID_API_KEY",
        403,
        "invalid_api_key",
        "Missing or invalid API key: send a key of an active plan of this API in the x-api-key header",
    ),
    GatewayErrorResponse(
        "THROTTLED",
        429,
        "throttled",
        "Too many requests: slow down to your plan's rate and retry",
        headers=(ALLOW_ANY_ORIGIN, ("Retry-After", "1")),
    ),
    GatewayErrorResponse(
        "QUOTA_EXCEEDED", 429, "quota_exceeded", "Your plan's monthly request quota is used up; it resets monthly"
    ),
    GatewayErrorResponse("REQUEST_TOO_LARGE", 413, "request_too_large", "Request larger than API Gateway's 10 MB"),
    GatewayErrorResponse("INTEGRATION_TIMEOUT", 504, "upstream_timeout", "The API did not answer in time; retry"),
    GatewayErrorResponse("DEFAULT_4XX", None, "gateway_rejected", None),
    GatewayErrorResponse("DEFAULT_5XX", None, "internal_error", None),
)
GATEWAY_ERROR_RESPONSES_BY_TYPE = {r.response_type: r for r in GATEWAY_ERROR_RESPONSES}


# ---------------------------------------------------------------------------------------------------------
# Route table → API Gateway
# ---------------------------------------------------------------------------------------------------------


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=list)


def route_table_sha256(routes: Sequence[Route]) -> str:
    """Digest of everything a route declares: any change to the table redeploys the API."""
    return hashlib.sha256(_canonical_json([dataclasses.asdict(r) for r in routes]).encode()).hexdigest()


def gateway_responses_sha256(responses: Sequence[GatewayErrorResponse] = GATEWAY_ERROR_RESPONSES) -> str:
    return hashlib.sha256(_canonical_json([dataclasses.asdict(r) for r in responses]).encode()).hexdigest()


def method_request_parameters(route: Route) -> dict[str, bool]:
    """The method's declared request parameters (True = required): exactly the route's cache key parameters."""
    required = {f"method.request.path.{p.name}" for p in route.path_params}
    return {name: name in required for name in route.cache_key_parameters()}


def method_path(route: Route) -> str:
    """A method's key in the stage's MethodSettings: the resource path without its leading slash, then the verb."""
    return f"{route.path.lstrip('/')}/{route.method}"


def source_arn_path(route: Route) -> str:
    """The route as it appears in an execute-api ARN: each path parameter becomes `*`."""
    return "/".join("*" if part.startswith("{") else part for part in route.path.split("/"))


def path_slug(path: str) -> str:
    """A resource-name fragment for a path: `/v1/assets/{asset}/price` → `v1-assets-by-asset-price`."""
    parts = [f"by-{part[1:-1]}" if part.startswith("{") else part for part in path.strip("/").split("/")]
    return "-".join(parts)


def resource_paths(routes: Sequence[Route]) -> list[str]:
    """Every path API Gateway needs a resource for (each route's path and all its prefixes), parents first."""
    paths: set[str] = set()
    for route in routes:
        parts = route.path.strip("/").split("/")
        paths.update("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
    ordered = sorted(paths, key=lambda p: (p.count("/"), p))
    slugs = [path_slug(p) for p in ordered]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"two paths of the route table map to one resource name: {sorted(slugs)}")
    return ordered


def handler_statements(secret_arn: str) -> list[dict[str, object]]:
    """The API function's own grant (its logs, X-Ray and metrics are the MonitoredFunction baseline)."""
    return [
        {
            "Sid": "ReadOwnMtlsBundle",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        }
    ]


def api_gateway_trust_policy() -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


@dataclass(frozen=True)
class ApiArgs:
    name_prefix: str
    settings: ApiSettings
    clickhouse_url: str
    code: BuiltPackage
    # The reader ("api") identity's bundle: the function may read that secret and no other.
    mtls_secret_name: str
    mtls_secret_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    tags: dict[str, str]
    routes: tuple[Route, ...] = ROUTES


class Api(pulumi.ComponentResource):
    api_name: str  # the REST API's and the function's name; the API Gateway metrics' ApiName dimension
    rest_api_id: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    alarm_names: tuple[str, ...]
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    usage_plan_ids: dict[str, pulumi.Output[str]]
    smoke_key_id: pulumi.Output[str] | None
    smoke_key_value: pulumi.Output[str] | None  # secret
    custom_domain: dict[str, pulumi.Input[str]] | None

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:api:Api", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._api_name = self.api_name = f"{args.name_prefix}-api"

        handler = self._function()
        rest_api, deployed = self._rest_api(handler)
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=rest_api.id,
            description="Redeployed when the route table, the gateway responses or the integration change",
            triggers={
                "routes": route_table_sha256(args.routes),
                "gatewayResponses": gateway_responses_sha256(),
                "integration": handler.invoke_arn,
            },
            # Pulumi replaces create-before-delete: the stage moves to the new deployment, then the old one goes.
            opts=pulumi.ResourceOptions(parent=self, depends_on=deployed),
        )
        stage = self._stage(rest_api, deployment)
        plans = self._usage_plans(rest_api, stage)
        self._smoke_key(plans[FREE_PLAN])
        self._custom_domain(rest_api, stage)
        self.alarm_names = (*handler.alarm_names, *self._alarms())

        self.rest_api_id = rest_api.id
        self.execution_arn = rest_api.execution_arn
        self.invoke_url = stage.invoke_url
        self.stage_name = stage.stage_name
        self.function_name = handler.function_name
        self.function_arn = handler.function_arn
        self.usage_plan_ids = {tier: plan.id for tier, plan in plans.items()}
        self.register_outputs(
            {
                "rest_api_id": self.rest_api_id,
                "invoke_url": self.invoke_url,
                "stage_name": self.stage_name,
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "usage_plan_ids": self.usage_plan_ids,
            }
        )

    # -- the function, its role and its three standard alarms ----------------------------------------------

    def _function(self) -> MonitoredFunction:
        args, s = self._args, self._args.settings
        return MonitoredFunction(
            f"{self._name}-handler",
            MonitoredFunctionArgs(
                function_name=self._api_name,
                description="The public prices API (API Gateway REST proxy); reads ClickHouse as the reader",
                handler=HANDLER,
                code=args.code,
                memory_mb=s.memory_mb,
                timeout_seconds=s.timeout_seconds,
                log_retention_days=s.log_retention_days,
                environment={
                    "CLICKHOUSE_URL": args.clickhouse_url,
                    "MTLS_SECRET_NAME": args.mtls_secret_name,
                    "POWERTOOLS_SERVICE_NAME": SERVICE,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                statements=pulumi.Output.from_input(args.mtls_secret_arn).apply(handler_statements),
                metrics_namespace=METRICS_NAMESPACE,
                alarm_topic_arn=args.alarm_topic_arn,
                alarms=FunctionAlarmSettings(
                    no_invocations_period_seconds=s.alarm_no_invocations_minutes * 60,
                    duration_pct_of_timeout=s.alarm_duration_pct_of_timeout,
                ),
                tags=args.tags,
                reserved_concurrency=s.reserved_concurrency,
            ),
            opts=self._child,
        )

    # -- the REST API: one resource per path segment, one method per route ---------------------------------

    def _rest_api(self, handler: MonitoredFunction) -> tuple[aws.apigateway.RestApi, list[pulumi.Resource]]:
        """The API, its resources, methods, integrations, invoke permissions and gateway responses; returns
        the API and what a deployment must snapshot."""
        name, routes, child = self._name, self._args.routes, self._child
        rest_api = aws.apigateway.RestApi(
            f"{name}-rest",
            name=self._api_name,
            description="Stellar Prices API (routes from lambdas/api/routes.py)",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            api_key_source="HEADER",
            tags=self._args.tags,
            opts=child,
        )
        resource_ids: dict[str, pulumi.Output[str]] = {"/": rest_api.root_resource_id}
        for path in resource_paths(routes):
            parent_path, _, part = path.rpartition("/")
            resource = aws.apigateway.Resource(
                f"{name}-path-{path_slug(path)}",
                rest_api=rest_api.id,
                parent_id=resource_ids[parent_path or "/"],
                path_part=part,
                opts=child,
            )
            resource_ids[path] = resource.id

        deployed: list[pulumi.Resource] = []
        for route in routes:
            base = f"{name}-{route.method.lower()}-{path_slug(route.path)}"
            method = aws.apigateway.Method(
                base,
                rest_api=rest_api.id,
                resource_id=resource_ids[route.path],
                http_method=route.method,
                authorization="NONE",
                api_key_required=route.api_key_required,
                operation_name=route.operation_id,
                request_parameters=method_request_parameters(route),
                opts=child,
            )
            integration = aws.apigateway.Integration(
                f"{base}-integration",
                rest_api=rest_api.id,
                resource_id=resource_ids[route.path],
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=handler.invoke_arn,
                cache_key_parameters=route.cache_key_parameters(),
                opts=child,
            )
            deployed += [method, integration]
            aws.lambda_.Permission(
                f"{base}-invoke",
                statement_id=f"apigateway-{route.operation_id}",
                action="lambda:InvokeFunction",
                function=handler.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(
                    rest_api.execution_arn, f"/{STAGE_NAME}/{route.method}{source_arn_path(route)}"
                ),
                opts=child,
            )

        for response in GATEWAY_ERROR_RESPONSES:
            deployed.append(
                aws.apigateway.Response(
                    f"{name}-response-{response.response_type.lower().replace('_', '-')}",
                    rest_api_id=rest_api.id,
                    response_type=response.response_type,
                    status_code=None if response.status is None else str(response.status),
                    response_templates={"application/json": response.template()},
                    response_parameters=response.response_parameters(),
                    opts=child,
                )
            )
        return rest_api, deployed

    # -- the stage: logs, tracing, cache, throttling -------------------------------------------------------

    def _account_logging_role(self) -> list[pulumi.Resource]:
        """API Gateway's account-wide CloudWatch role, when this stack owns it (what the stage must wait for)."""
        if self._args.settings.account_cloudwatch_role != "create":
            return []
        name = self._name
        role = aws.iam.Role(
            f"{name}-cloudwatch-role",
            name=ACCOUNT_CLOUDWATCH_ROLE_NAME,
            description="API Gateway writes execution and access logs of every API in this region with it",
            assume_role_policy=json.dumps(api_gateway_trust_policy()),
            tags=self._args.tags,
            opts=self._child,
        )
        # AWS's managed policy rather than a narrower inline one: the role serves every API of the account in
        # this region (the partner's too), whose log groups we cannot enumerate.
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cloudwatch-role-policy",
            role=role.name,
            policy_arn=PUSH_TO_CLOUDWATCH_POLICY_ARN,
            opts=self._child,
        )
        account = aws.apigateway.Account(
            f"{name}-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        return [account]

    def _stage(self, rest_api: aws.apigateway.RestApi, deployment: aws.apigateway.Deployment) -> aws.apigateway.Stage:
        name, s, tags = self._name, self._args.settings, self._args.tags
        cache_enabled = s.cache_size_gb != "0"
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{self._api_name}/access",
            retention_in_days=s.access_log_retention_days,
            tags=tags,
            opts=self._child,
        )
        stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=rest_api.id,
            deployment=deployment.id,
            stage_name=STAGE_NAME,
            description=f"{self._api_name}: " + (f"cache {s.cache_size_gb} GB" if cache_enabled else "no stage cache"),
            cache_cluster_enabled=cache_enabled,
            cache_cluster_size=s.cache_size_gb if cache_enabled else None,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_logs, *self._account_logging_role()]),
        )

        def settings(*, caching: bool, ttl: int) -> aws.apigateway.MethodSettingsSettingsArgs:
            # Every entry carries the stage-wide values too: a per-method entry replaces the `*/*` defaults for
            # its method, and a throttle left unset there would mean "no throttle" for that method.
            return aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=s.detailed_metrics,
                logging_level=s.logging_level,
                data_trace_enabled=False,  # full request logging would write callers' API keys to the logs
                throttling_rate_limit=s.throttle_rate_limit,
                throttling_burst_limit=s.throttle_burst_limit,
                caching_enabled=caching,
                cache_ttl_in_seconds=ttl,
                cache_data_encrypted=True,
                # A caller's `Cache-Control: max-age=0` must not bypass the cache and reach ClickHouse.
                require_authorization_for_cache_control=True,
                unauthorized_cache_control_header_strategy="SUCCEED_WITH_RESPONSE_HEADER",
            )

        aws.apigateway.MethodSettings(
            f"{name}-settings-all",
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=settings(caching=False, ttl=0),
            opts=self._child,
        )
        for route in self._args.routes:
            aws.apigateway.MethodSettings(
                f"{name}-{route.method.lower()}-{path_slug(route.path)}-settings",
                rest_api=rest_api.id,
                stage_name=stage.stage_name,
                method_path=method_path(route),
                settings=settings(caching=cache_enabled and route.cache_ttl_seconds > 0, ttl=route.cache_ttl_seconds),
                opts=self._child,
            )
        return stage

    # -- usage plans, the optional smoke key, the optional custom domain -----------------------------------

    def _usage_plans(
        self, rest_api: aws.apigateway.RestApi, stage: aws.apigateway.Stage
    ) -> dict[str, aws.apigateway.UsagePlan]:
        """The free plan and every paid tier. Keys are issued by an operator or a portal, never here."""
        s = self._args.settings
        tiers = [(FREE_PLAN, s.free_plan)] + [(plan.name, plan) for plan in s.paid_plans]
        plans: dict[str, aws.apigateway.UsagePlan] = {}
        for tier, plan in tiers:
            quota = f"{plan.quota_per_month:,} requests/month" if plan.quota_per_month else "no monthly quota"
            plans[tier] = aws.apigateway.UsagePlan(
                f"{self._name}-plan-{tier}",
                name=f"{self._args.name_prefix}-{tier}",
                description=f"{tier}: {plan.rate_limit:g} req/s, burst {plan.burst_limit}, {quota}",
                api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=rest_api.id, stage=stage.stage_name)],
                throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                    rate_limit=plan.rate_limit, burst_limit=plan.burst_limit
                ),
                quota_settings=(
                    aws.apigateway.UsagePlanQuotaSettingsArgs(limit=plan.quota_per_month, period="MONTH")
                    if plan.quota_per_month
                    else None
                ),
                tags={**self._args.tags, "plan": tier},
                opts=self._child,
            )
        return plans

    def _smoke_key(self, free_plan: aws.apigateway.UsagePlan) -> None:
        self.smoke_key_id = None
        self.smoke_key_value = None
        if not self._args.settings.smoke_key:
            return
        name = self._name
        value = random.RandomPassword(f"{name}-smoke-key-value", length=40, special=False, opts=self._child)
        key = aws.apigateway.ApiKey(
            f"{name}-smoke-key",
            name=f"{self._args.name_prefix}-smoke",
            description="Post-deploy smoke tests (free plan); its value is only a secret stack output",
            value=value.result,
            enabled=True,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["value"]),
        )
        aws.apigateway.UsagePlanKey(
            f"{name}-smoke-key-plan",
            key_id=key.id,
            key_type="API_KEY",
            usage_plan_id=free_plan.id,
            opts=self._child,
        )
        self.smoke_key_id = key.id
        self.smoke_key_value = pulumi.Output.secret(key.value)

    def _custom_domain(self, rest_api: aws.apigateway.RestApi, stage: aws.apigateway.Stage) -> None:
        self.custom_domain = None
        domain_settings = self._args.settings.custom_domain
        if domain_settings is None:
            return
        domain = aws.apigateway.DomainName(
            f"{self._name}-domain",
            domain_name=domain_settings.domain_name,
            regional_certificate_arn=domain_settings.certificate_arn,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            security_policy="TLS_1_2",
            tags=self._args.tags,
            opts=self._child,
        )
        # The whole API at the domain's root: the handler sees the same paths as through the stage URL.
        aws.apigateway.BasePathMapping(
            f"{self._name}-domain-mapping",
            domain_name=domain.domain_name,
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            opts=self._child,
        )
        # DNS stays with the zone's owner: an ALIAS (or CNAME) for the name pointing at the regional target.
        self.custom_domain = {
            "url": f"https://{domain_settings.domain_name}",
            "regional_domain_name": domain.regional_domain_name,
            "regional_zone_id": domain.regional_zone_id,
        }

    # -- API Gateway alarms (the function's three come with MonitoredFunction) ----------------------------

    def _alarms(self) -> list[str]:
        """The API Gateway alarms (the function's three are MonitoredFunction's); returns their names."""
        s, api_name = self._args.settings, self._api_name
        dimensions = {"ApiName": api_name, "Stage": STAGE_NAME}
        names: list[str] = []

        def alarm(suffix: str, description: str, **kwargs: Any) -> None:
            names.append(f"{api_name}-{suffix}")
            ops_alarm(
                f"{self._name}-{suffix}",
                alarm_name=f"{api_name}-{suffix}",
                description=description,
                topic_arn=self._args.alarm_topic_arn,
                tags=self._args.tags,
                opts=self._child,
                treat_missing_data="notBreaching",
                **kwargs,
            )

        alarm(
            "5xx",
            f"{api_name}: {s.alarm_server_errors}+ 5XX responses in 5 minutes (function errors or timeouts, function "
            "throttled); see errorType in the access logs and the function's own logs",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions=dimensions,
            statistic="Sum",
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=s.alarm_server_errors,
        )
        alarm(
            "latency-p95",
            f"{api_name}: p95 latency above {s.alarm_latency_p95_ms} ms for {s.alarm_latency_periods} x 5 minutes",
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions=dimensions,
            extended_statistic="p95",
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=s.alarm_latency_periods,
            datapoints_to_alarm=s.alarm_latency_periods,
            comparison_operator="GreaterThanThreshold",
            threshold=s.alarm_latency_p95_ms,
        )
        if s.alarm_client_error_rate_pct is None:
            return names

        def metric(query_id: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/ApiGateway",
                    metric_name=metric_name,
                    dimensions=dimensions,
                    stat="Sum",
                    period=ALARM_PERIOD_SECONDS,
                ),
                return_data=False,
            )

        alarm(
            "4xx-rate",
            f"{api_name}: more than {s.alarm_client_error_rate_pct:g} % of requests answered 4XX (judged from "
            f"{s.alarm_client_error_min_requests} requests in 5 minutes): a broken client, key or route",
            metric_queries=[
                metric("errors", "4XXError"),
                metric("requests", "Count"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate",
                    # Below the minimum volume a handful of typos would be a high rate: judge nothing then.
                    expression=f"IF(requests >= {s.alarm_client_error_min_requests}, 100 * errors / requests, 0)",
                    label="4XX share of requests (%)",
                    return_data=True,
                ),
            ],
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=s.alarm_client_error_rate_pct,
        )
        return names
