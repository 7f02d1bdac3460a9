"""Views of the rules API: parse, resolve, run, serialize.

Every view validates its body with its request serializer, asks the one
resolver (``rules.models.resolver``) for the check, runs it, and answers
with the response serializer that documents the answer.
"""

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_yasg import openapi
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from api.auth import caller_may, caller_name, is_anonymous
from api.authentication import ApiKeyAuthentication, UserTokenAuthentication
from api.errors import call_write_service
from api.models import Scope
from api.negotiation import JSONOnlyNegotiation
from api.request_ids import current_request_id
from api.schema import operation, page_size_parameter, path_id_parameter, path_name_parameter
from decisions.models import Decision
from decisions.selectors import decision_get
from decisions.views import DECISION_ID, VIEW_DECISION
from rules import analysis, replays, reports
from rules.budgets import (
    check_report_bytes,
)
from rules.engine import RuleCheck, RuleSetRef, UnknownRuleSetVersionError
from rules.models import ConditionRule, RuleSet
from rules.pagination import ConditionRuleCursorPagination
from rules.resolver import resolver
from rules.serializers.analysis import (
    RuleQueryRequestSerializer,
    RuleQueryResponseSerializer,
    RuleReportRequestSerializer,
    RuleSetPreviewRequestSerializer,
    RuleSetPreviewResponseSerializer,
)
from rules.serializers.catalogue import RuleSerializer
from rules.serializers.checks import (
    RuleBatchCheckRequestSerializer,
    RuleBatchCheckResponseSerializer,
    RuleCheckRequestSerializer,
    RuleCheckResponseSerializer,
)
from rules.serializers.conditions import ConditionRuleChangeSerializer, ConditionRuleSerializer
from rules.serializers.replays import (
    DecisionReplayRequestSerializer,
    DecisionReplayResponseSerializer,
    RuleSetBacktestRequestSerializer,
    RuleSetBacktestResponseSerializer,
)
from rules.serializers.rulesets import RuleSetSerializer, RuleSetVersionSerializer
from rules.services import (
    Caller,
    RulesAsked,
    condition_rule_create,
    condition_rule_delete,
    condition_rule_replace,
    rules_check,
    rules_check_batch,
)

logger = logging.getLogger(__name__)

# The path's parameters as its URL converters read them (`slug`, `int`).
RULESET_NAME = path_name_parameter("The rule set's name.")
VERSION_NUMBER = path_id_parameter("number", "The version's number.")
# What a session needs to read stored orders, and rule sets (inactive ones too).
VIEW_ORDER = "orders.view_order"
VIEW_RULESET = "rules.view_ruleset"
VIEW_CONDITIONRULE = "rules.view_conditionrule"
CHANGE_CONDITIONRULE = "rules.change_conditionrule"
CONDITION_RULE_NAME = path_name_parameter("The condition rule's name.")
READ_DESCRIPTION = (
    "Needs an API key with the `analyze` scope, or a user allowed to view (or change) "
    "condition rules: `Authorization: Token <key>`, or an admin session of staff."
)
WRITE_DESCRIPTION = (
    "Needs a user with the condition rule permission (`rules.add_conditionrule`, "
    "`change_conditionrule` or `delete_conditionrule`, given in the admin): "
    "`Authorization: Token <key>` (tokens are issued with `python manage.py "
    "drf_create_token <username>`), or an admin session with its CSRF token. The change "
    "history records the user, as in the admin."
)
SAVE_DESCRIPTION = (
    "Validated as in the admin: the condition compiles (an unknown fact is a 400 "
    "`unknown_fact`, `detail.path` and `detail.nearest` naming it and the nearest known fact; "
    "any other invalid condition a 400 `invalid_request` under `condition`); the name is "
    "unique among all rules, code rules included (else a 400 under `name`). Saving publishes "
    "a new version of every rule set whose current version uses the rule."
)


class RuleListView(APIView):
    """List every rule: code rules and stored condition rules."""

    @operation("rules_list", {200: RuleSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """List the rules.

        Every rule, sorted by name, with its parameters (a JSON Schema object),
        default severity and the examples it is checked against at start-up;
        stored condition rules have `stored: true` and their `condition`.
        """
        return Response(RuleSerializer(resolver.describe(), many=True).data)


class ConditionRulePermission(DjangoModelPermissions):
    """Let analysts read condition rules, and users with the model permission write them.

    Read: a key with ``analyze``, or a user allowed to view condition rules;
    write: the model permission (``add_``, ``change_``, ``delete_conditionrule``),
    as orders are written. A session is staff's (the admin's); a user with a
    token need not be staff, as for order writes. ``change`` stands for
    ``view``, as in the admin.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Return whether the caller may use *view* with the request's method."""
        if request.method in SAFE_METHODS:
            user = request.user
            return caller_may(request, Scope.ANALYZE, (VIEW_CONDITIONRULE,)) or any(
                user.has_perm(permission)
                for permission in (VIEW_CONDITIONRULE, CHANGE_CONDITIONRULE)
            )
        return super().has_permission(request, view)


class ConditionRuleAPIView(GenericAPIView):
    """Base of the condition rule views: read by analysts, written with the model permission."""

    authentication_classes = [UserTokenAuthentication, ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [ConditionRulePermission]
    # Counted at the `analyze` rate: edits and reads by operators, not checkout traffic.
    required_scope = Scope.ANALYZE
    queryset = ConditionRule.objects.all()
    serializer_class = ConditionRuleSerializer
    lookup_field = "name"


class ConditionRuleListView(ConditionRuleAPIView):
    """List condition rules, or create one."""

    pagination_class = ConditionRuleCursorPagination

    @operation(
        "condition_rules_list",
        {},
        # An invalid page size; a cursor that names no page.
        (400, 404),
        manual_parameters=[page_size_parameter(ConditionRuleCursorPagination)],
        operation_description=READ_DESCRIPTION,
    )
    def get(self, request: Request) -> Response:
        """List the stored condition rules, by name, a page at a time."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConditionRuleSerializer(page, many=True).data)

    @operation(
        "condition_rules_create",
        {201: ConditionRuleSerializer},
        request_body=ConditionRuleSerializer,
        operation_description=" ".join([SAVE_DESCRIPTION, WRITE_DESCRIPTION]),
    )
    def post(self, request: Request) -> Response:
        """Create a condition rule."""
        serializer = ConditionRuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = call_write_service(condition_rule_create, **serializer.validated_data)
        logger.info("condition rule saved", extra={"rule": rule.name, "user_id": request.user.pk})
        location = reverse("rules:condition-rule-detail", args=[rule.name])
        return Response(
            ConditionRuleSerializer(rule).data,
            status=HTTPStatus.CREATED,
            headers={"Location": location},
        )


class ConditionRuleDetailView(ConditionRuleAPIView):
    """Show, replace or delete one condition rule."""

    def get_queryset(self) -> QuerySet[ConditionRule]:
        """Return the rules, locked for the transaction when one is being written."""
        if self.request.method in SAFE_METHODS:
            return ConditionRule.objects.all()
        return ConditionRule.objects.select_for_update()

    def get_object(self) -> ConditionRule:
        """Return the rule the URL names; its 404 says which name."""
        try:
            return super().get_object()
        except Http404:
            raise Http404(f"No condition rule is named {self.kwargs['name']!r}.") from None

    @operation(
        "condition_rules_read",
        {200: ConditionRuleSerializer},
        (404,),
        manual_parameters=[CONDITION_RULE_NAME],
        operation_description=READ_DESCRIPTION,
    )
    def get(self, request: Request, name: str) -> Response:
        """Show a condition rule."""
        return Response(ConditionRuleSerializer(self.get_object()).data)

    @operation(
        "condition_rules_update",
        {200: ConditionRuleSerializer},
        (404,),
        request_body=ConditionRuleChangeSerializer,
        manual_parameters=[CONDITION_RULE_NAME],
        operation_description=" ".join(
            [
                "The body is the rule's whole content; a severity left out is `error`. The name "
                "is the rule's key: it is not in the body, and does not change.",
                SAVE_DESCRIPTION,
                WRITE_DESCRIPTION,
            ]
        ),
    )
    def put(self, request: Request, name: str) -> Response:
        """Replace a condition rule's description, severity and condition."""
        with transaction.atomic():
            rule = self.get_object()
            serializer = ConditionRuleChangeSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            call_write_service(condition_rule_replace, rule=rule, **serializer.validated_data)
        logger.info("condition rule saved", extra={"rule": rule.name, "user_id": request.user.pk})
        return Response(ConditionRuleSerializer(rule).data)

    @operation(
        "condition_rules_delete",
        {204: "Deleted."},
        (404, 409),
        manual_parameters=[CONDITION_RULE_NAME],
        operation_description=(
            "Refused with a 409 `rule_in_use`, naming the rule sets, while the current version "
            "of a rule set uses the rule: remove it there first. " + WRITE_DESCRIPTION
        ),
    )
    def delete(self, request: Request, name: str) -> Response:
        """Delete a condition rule that no rule set uses."""
        with transaction.atomic():
            condition_rule_delete(rule=self.get_object())
        logger.info("condition rule deleted", extra={"rule": name, "user_id": request.user.pk})
        return Response(status=HTTPStatus.NO_CONTENT)


class RuleBodyView(APIView):
    """A view whose JSON body names rules (`rules`) or a rule set (`ruleset`)."""

    body_serializer: type[Serializer]

    def resolve_body(
        self, request: Request
    ) -> tuple[dict[str, Any], RuleCheck, RuleSetRef | None]:
        """Return the validated body, the check it asks for, and the rule set used.

        Raises a 400 for an invalid body and whatever the resolver raises.
        """
        data = _validated(self.body_serializer, request)
        check, ruleset = resolver.resolve(
            data.get("rules"),
            ruleset=data.get("ruleset"),
            version=data.get("ruleset_version"),
            active_only=not _may_see_inactive_sets(request),
        )
        return data, check, ruleset


# The serializer that documents a check's answer writes it: one instance for
# every check, as its to_representation reads nothing of the instance and DRF
# spends about 10 us setting up each new one.
_CHECK_ANSWER = RuleCheckResponseSerializer()


class RuleCheckView(APIView):
    """Check one order, stored or given, against rules or a rule set."""

    @operation(
        "rules_check",
        {200: RuleCheckResponseSerializer},
        (404,),
        request_body=RuleCheckRequestSerializer,
    )
    def post(self, request: Request) -> Response:
        """Check an order against rules, and put the decision on the record.

        Give the order as `order_id` (stored) or `order` (checked without
        storing), and the rules as `rules` (names, or objects with `params`,
        `as` and `severity`) or `ruleset` (the name of an active rule set).
        Exactly one of `order_id` and `order`. Exactly one of `rules` and
        `ruleset` (`ruleset_version` only beside a `ruleset` that names no
        version). A body with both of a pair, or neither, is a 400: Swagger
        2.0 cannot state this in the schema.
        `passed` is true when no rule of severity `error` failed or errored;
        `details` gives each rule's verdict by key and `results` says why.
        Unknown rule names are a 400 that lists the available rules. A 200
        means the decision is stored: `decision_id` (and the `X-Decision-ID`
        header) names it, null (and no header) when `DECISION_LOG` leaves it
        out. A decision over `DECISION_LOG_MAX_BYTES` is a 413
        `request_too_large`, and nothing is stored.
        """
        data = _validated(RuleCheckRequestSerializer, request)
        answer = rules_check(
            caller=_caller(request),
            asked=_rules_asked(data),
            order=data.get("order"),
            order_id=data.get("order_id"),
            fail_fast=data["fail_fast"],
        )
        response = Response(_CHECK_ANSWER.to_representation(answer))
        if answer.checked.decision_id is not None:
            response["X-Decision-ID"] = str(answer.checked.decision_id)
        return response


class RuleBatchCheckView(APIView):
    """Check many stored orders against the same rules."""

    @operation(
        "rules_check_batch",
        {200: RuleBatchCheckResponseSerializer},
        (404,),
        request_body=RuleBatchCheckRequestSerializer,
    )
    def post(self, request: Request) -> Response:
        """Check up to 1000 stored orders against rules.

        One entry per found order, in request order, and a summary. Ids with
        no stored order are listed in `summary.missing`, not an error. Each
        entry's decision is stored, all in one statement, before the answer:
        its `decision_id`, null when `DECISION_LOG` leaves it out.
        A 413 `batch_too_large`, with nothing stored, when orders x rules is
        over `BATCH_MAX_CELLS` (`BATCH_ANONYMOUS_MAX_CELLS` without a key or
        a session), the answer over `BATCH_MAX_BYTES` or the decisions over
        `DECISION_LOG_MAX_BYTES`.
        Exactly one of `rules` and `ruleset` (`ruleset_version` only beside
        a `ruleset` that names no version): a body with both, or neither, is
        a 400. Swagger 2.0 cannot state this in the schema.
        """
        data = _validated(RuleBatchCheckRequestSerializer, request)
        answer = rules_check_batch(
            caller=_caller(request),
            asked=_rules_asked(data),
            order_ids=data["order_ids"],
            render=lambda batch: RuleBatchCheckResponseSerializer(batch).data,
            fail_fast=data["fail_fast"],
        )
        return Response(answer)


class RuleSetListView(APIView):
    """List the rule sets the caller may see."""

    @operation("rulesets_list", {200: RuleSetSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """List the rule sets, sorted by name, with their rules.

        Active sets only; keys with the `analyze` scope, and admin sessions
        of staff allowed to view rule sets, see the inactive ones too.
        """
        rulesets = _visible_sets(request).prefetch_related("items")
        return Response(RuleSetSerializer(rulesets, many=True).data)


class RuleSetDetailView(APIView):
    """Show one rule set."""

    @operation(
        "rulesets_read",
        {200: RuleSetSerializer},
        (404,),
        manual_parameters=[RULESET_NAME],
    )
    def get(self, request: Request, name: str) -> Response:
        """Show a rule set with its rules.

        An inactive set is a 404, like a missing one, except for keys with
        the `analyze` scope and admin sessions of staff allowed to view rule
        sets.
        """
        ruleset = get_object_or_404(_visible_sets(request).prefetch_related("items"), name=name)
        return Response(RuleSetSerializer(ruleset).data)


class RuleSetBacktestView(APIView):
    """Try a change to a rule set on its recorded decisions, before saving it."""

    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_RULESET,)

    @operation(
        "rulesets_backtest",
        {200: RuleSetBacktestResponseSerializer},
        (404,),
        request_body=RuleSetBacktestRequestSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        """Backtest proposed rules on a rule set's recorded decisions.

        Over the set's decisions in the window (`created_min`/`created_max`,
        default the last 7 days), how many would flip pass→fail and fail→pass
        under the proposed rules, per rule, with samples of decision ids —
        computed in the database over the decisions' order snapshots when
        every rule has a database form. Refused with 413 `report_too_large`
        above `REPORT_MAX_CELLS` decisions x rules. Nothing is saved. Needs a
        key with the `analyze` scope, or an admin session of staff allowed to
        view (or change) rule sets: the admin's "Preview impact" button.
        """
        data = _validated(RuleSetBacktestRequestSerializer, request)
        _, ruleset = resolver.resolve(ruleset=name, active_only=False)
        proposed, _ = resolver.resolve(data["rules"])
        decisions = Decision.objects.filter(
            ruleset=name, decided_at__gte=data["created_min"], decided_at__lte=data["created_max"]
        )
        backtest = replays.backtest(proposed, decisions, sample_size=data["sample_size"])
        answer = {**data, "ruleset": ruleset, "backtest": backtest}
        return Response(RuleSetBacktestResponseSerializer(answer).data)


class RuleSetVersionListView(APIView):
    """List the saved versions of one rule set."""

    @operation(
        "rulesets_versions_list",
        {200: RuleSetVersionSerializer(many=True)},
        (404,),
        manual_parameters=[RULESET_NAME],
    )
    def get(self, request: Request, name: str) -> Response:
        """List a rule set's versions, newest first, each with its complete content."""
        ruleset = get_object_or_404(_visible_sets(request), name=name)
        versions = ruleset.versions.select_related("ruleset")
        return Response(RuleSetVersionSerializer(versions, many=True).data)


class RuleSetVersionDetailView(APIView):
    """Show one saved version of a rule set."""

    @operation(
        "rulesets_versions_read",
        {200: RuleSetVersionSerializer},
        (404,),
        manual_parameters=[RULESET_NAME, VERSION_NUMBER],
    )
    def get(self, request: Request, name: str, number: int) -> Response:
        """Show one version of a rule set: its complete content, as it was saved."""
        ruleset = get_object_or_404(_visible_sets(request), name=name)
        version = ruleset.versions.filter(number=number).select_related("ruleset").first()
        if version is None:
            raise UnknownRuleSetVersionError(name, number)
        return Response(RuleSetVersionSerializer(version).data)


class RuleQueryView(RuleBodyView):
    """Find the stored orders that pass, or fail, rules or a rule set."""

    body_serializer = RuleQueryRequestSerializer
    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_ORDER,)

    @operation(
        "rules_query",
        {200: RuleQueryResponseSerializer},
        (404,),
        request_body=RuleQueryRequestSerializer,
    )
    def post(self, request: Request) -> Response:
        """Find the stored orders that pass, fail or err on rules.

        `passed`: every rule of severity `error` passes; `failed`: one of
        them fails; `error`: one of them errs (the order lacks a fact it
        reads), so it neither passes nor fails. An order may fail one rule
        and err on another.

        One SQL query when every rule has a database form (`evaluated_in:
        database`); otherwise the orders are streamed through the Python
        engine (`evaluated_in: python`). Pages are newest id first; pass
        `next` back as `cursor` for the next page. Needs a key with the
        `analyze` scope, or an admin session of staff allowed to view orders.
        Exactly one of `rules` and `ruleset` (`ruleset_version` only beside
        a `ruleset` that names no version): a body with both, or neither, is
        a 400. Swagger 2.0 cannot state this in the schema.
        """
        data, check, ruleset = self.resolve_body(request)
        page = analysis.orders_matching(
            check,
            data["filters"].qs,
            outcome=data["outcome"],
            page_size=data["page_size"],
            cursor=data.get("cursor"),
        )
        return Response(RuleQueryResponseSerializer({"ruleset": ruleset, "page": page}).data)


class RuleReportView(RuleBodyView):
    """Stream every stored order's verdict on every rule."""

    body_serializer = RuleReportRequestSerializer
    content_negotiation_class = JSONOnlyNegotiation
    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_ORDER,)

    @operation(
        "rules_report",
        {
            200: openapi.Response(
                "The columns, then one row per order: JSON lines (`application/x-ndjson`: "
                "a `columns` record, then an array per order) by default, CSV (`text/csv`) "
                "with `Accept: text/csv`.",
                schema=openapi.Schema(type="string"),
            )
        },
        (404,),
        request_body=RuleReportRequestSerializer,
        # The rows are JSON lines or CSV; an error is the JSON error body.
        produces=["application/x-ndjson", "text/csv", "application/json"],
    )
    def post(self, request: Request) -> StreamingHttpResponse:
        """Report every order x every rule, streamed.

        The columns are named once, first: `order_id`, one boolean column
        per rule key, `passed`. JSON lines by default: a header record
        `{"columns": ["order_id", "min_total_100", "passed"]}`, then an
        array per order, `[17,true,true]`; CSV with `Accept: text/csv`: a
        header row, then a row per order. Computed by one annotated SQL
        query when every rule has a database form (header
        `X-Evaluated-In`), streamed in constant memory. An error is answered
        before any row, as `application/json` in the error body, whatever
        `Accept` asks for: a 413 `report_too_large` when orders x rules is
        over `REPORT_MAX_CELLS`, or the report could be longer than
        `REPORT_MAX_BYTES`. A report cut short while it streams (past
        `REPORT_MAX_SECONDS` or `REPORT_MAX_BYTES`, or a database failure)
        ends with an error record: `{"error", "code", "request_id"}`, or in
        CSV a line starting with `#`. Needs a key with the `analyze` scope,
        or an admin session of staff allowed to view orders.
        Exactly one of `rules` and `ruleset` (`ruleset_version` only beside
        a `ruleset` that names no version): a body with both, or neither, is
        a 400. Swagger 2.0 cannot state this in the schema.
        """
        data, check, _ = self.resolve_body(request)
        rows = analysis.report_rows(check, data["filters"].qs)
        content_type = (
            reports.CSV if "text/csv" in request.headers.get("Accept", "") else reports.JSON_LINES
        )
        header = ["order_id", *(bound.key for bound in check.rules), "passed"]
        check_report_bytes(
            reports.largest_size(
                header, content_type=content_type, rows=rows.count, last_id=rows.last_id
            )
        )
        body = reports.report_lines(
            header,
            rows.batches,
            content_type=content_type,
            seconds=settings.REPORT_MAX_SECONDS,
            max_bytes=settings.REPORT_MAX_BYTES,
            request_id=current_request_id(),
        )
        response = StreamingHttpResponse(body, content_type=content_type)
        response["X-Evaluated-In"] = rows.evaluated_in
        return response


class RuleSetPreviewView(APIView):
    """Show what a change to a rule set would do to the stored orders, before saving it."""

    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_RULESET,)

    @operation(
        "rulesets_preview",
        {200: RuleSetPreviewResponseSerializer},
        (404,),
        request_body=RuleSetPreviewRequestSerializer,
        manual_parameters=[RULESET_NAME],
    )
    def post(self, request: Request, name: str) -> Response:
        """Preview the impact of changing a rule set's rules.

        How many stored orders (all, or those the optional `filters` select)
        pass the set now, how many would pass with the proposed rules, how
        many flip each way, and a sample of flipped ids — computed in the
        database when every rule has a database form. Nothing is saved.
        Needs a key with the `analyze` scope, or an admin session of staff
        allowed to view (or change) rule sets: the admin's "Preview impact"
        button.
        """
        data = _validated(RuleSetPreviewRequestSerializer, request)
        current, ruleset = resolver.resolve(ruleset=name, active_only=False)
        proposed, _ = resolver.resolve(data["rules"])
        impact = analysis.impact(
            current, proposed, data["filters"].qs, sample_size=data["sample_size"]
        )
        answer = {"ruleset": ruleset, "impact": impact}
        return Response(RuleSetPreviewResponseSerializer(answer).data)


class DecisionReplayView(APIView):
    """Run a recorded decision again, as it was decided and as it would be now."""

    required_scope = Scope.ANALYZE
    session_permissions = (VIEW_DECISION,)

    @operation(
        "decisions_replay",
        {200: DecisionReplayResponseSerializer},
        (400, 404),
        query_serializer=DecisionReplayRequestSerializer,
        manual_parameters=[DECISION_ID],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Replay a decision.

        The recorded order is checked again under the recorded rule set
        version (or the recorded listed rules, stored condition rules as
        they were): `then`, which must give the recorded results
        (`reproduced`); and under the set's current active version (or the
        same rules today): `now`. `differences` names the rules whose
        outcome changed. Facts from providers (`risk.score`) are the values
        the decision recorded; with `?refresh=true`, `now` asks the
        providers afresh and `provided_changes` lists what changed. A set
        deleted since, or no longer active, is a 404 `unknown_ruleset`; a
        rule that no longer exists, a 400 `unknown_rule`. Nothing is
        stored. Needs an API key with the `analyze` scope, or an admin
        session of staff allowed to view decisions.
        """
        asked = DecisionReplayRequestSerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        replay = replays.decision_replay(decision_get(pk), refresh=asked.validated_data["refresh"])
        return Response(DecisionReplayResponseSerializer(replay).data)


def _may_see_inactive_sets(request: Request) -> bool:
    """Return whether the caller sees inactive rule sets.

    Keys with ``analyze`` do, and sessions of staff allowed to view rule sets.
    """
    return caller_may(request, Scope.ANALYZE, (VIEW_RULESET,))


def _caller(request: Request) -> Caller:
    """Return who sent *request*, as the use cases need it."""
    return Caller(
        name=caller_name(request),
        anonymous=is_anonymous(request),
        sees_inactive_sets=_may_see_inactive_sets(request),
    )


def _rules_asked(data: dict[str, Any]) -> RulesAsked:
    """Return the rules a validated body names: `rules`, or `ruleset` and its version."""
    return RulesAsked(data.get("rules"), data.get("ruleset"), data.get("ruleset_version"))


def _visible_sets(request: Request) -> QuerySet[RuleSet]:
    """Return the rule sets the caller may see: active ones, or all for analysts."""
    return RuleSet.objects.all() if _may_see_inactive_sets(request) else RuleSet.objects.active()


def _validated(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """Return the request body validated by *serializer_class*; raise a 400 if invalid."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
