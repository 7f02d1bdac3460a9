"""Views of the orders API: list, show, create, change and delete orders."""

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_yasg import openapi
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import UserTokenAuthentication
from api.errors import call_write_service
from api.schema import operation, page_size_parameter
from orders.facts import catalogue
from orders.filters import OrderFilter, filter_schemas
from orders.models import Order
from orders.pagination import OrderCursorPagination
from orders.serializers import FactSerializer, OrderChangesSerializer, OrderSerializer
from orders.services import order_create, order_delete, order_replace, order_update

logger = logging.getLogger(__name__)

WRITE_DESCRIPTION = (
    "Needs a user with the order permission (`orders.add_order`, `change_order` or "
    "`delete_order`, given in the admin): `Authorization: Token <key>` (tokens are issued "
    "with `python manage.py drf_create_token <username>`), or an admin session with its "
    "CSRF token."
)

FILTER_PARAMETERS = [
    openapi.Parameter(name, openapi.IN_QUERY, **schema)
    for name, schema in filter_schemas().items()
]


def write_operation(
    operation_id: str,
    responses: dict[int, Any],
    errors: tuple[int, ...] = (),
    description: str = "",
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document an order write, saying what it needs: a user with the order permission.

    *description*, if given, comes first in the operation's description.
    """
    return operation(
        operation_id,
        responses,
        errors,
        operation_description=" ".join(filter(None, [description, WRITE_DESCRIPTION])),
        **options,
    )


class OrderAPIView(GenericAPIView):
    """Base of the order views: open to read; writing takes a user with the model permission."""

    authentication_classes = [UserTokenAuthentication, SessionAuthentication]
    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    queryset = Order.objects.all()
    serializer_class = OrderSerializer

    def get_object(self) -> Order:
        """Return the order the URL names; its 404 says which id."""
        try:
            return super().get_object()
        except Http404:
            raise Http404(f"Order with id {self.kwargs['pk']} does not exist.") from None


class OrderListView(OrderAPIView):
    """List orders, newest first, or create one."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    pagination_class = OrderCursorPagination

    @operation(
        "orders_list",
        {},
        # An invalid filter; a cursor that names no page.
        (400, 404),
        manual_parameters=[*FILTER_PARAMETERS, page_size_parameter(OrderCursorPagination)],
    )
    def get(self, request: Request) -> Response:
        """List orders.

        Newest first, a page at a time: follow `next` and `previous` (cursor
        links). Every range filter is inclusive; an invalid filter value is a
        400, and so is a parameter given more than once.
        """
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @write_operation(
        "orders_create",
        {201: OrderSerializer},
        description=(
            "With its lines and its customer, all or nothing: an invalid line stores nothing. "
            "With lines, `items_count` may be left out: it is the sum of their quantities "
            "(another number is a 400 `inconsistent_order`). The customer is found by its `id` "
            "(its id in the shop), or created; the facts given of it update it."
        ),
        request_body=OrderSerializer,
    )
    def post(self, request: Request) -> Response:
        """Create an order, with its lines and customer."""
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = call_write_service(order_create, **serializer.validated_data)
        logger.info("order created", extra={"order_id": order.pk, "user_id": request.user.pk})
        location = reverse("orders:order-detail", args=[order.pk])
        return Response(
            OrderSerializer(order).data, status=HTTPStatus.CREATED, headers={"Location": location}
        )


class OrderDetailView(OrderAPIView):
    """Show, change or delete one order."""

    def get_queryset(self) -> QuerySet[Order]:
        """Return the orders, locked for the transaction when one is being changed.

        The lock makes a concurrent delete wait, so a change never brings a
        deleted order back nor fails half-way.
        """
        if self.request.method in ("PUT", "PATCH"):
            return Order.objects.select_for_update()
        return Order.objects.all()

    @operation("orders_read", {200: OrderSerializer}, (404,))
    def get(self, request: Request, pk: int) -> Response:
        """Show an order."""
        return Response(OrderSerializer(self.get_object()).data)

    @write_operation(
        "orders_update",
        {200: OrderSerializer},
        (404,),
        description=(
            "The body is the whole order, as for a creation: a part it leaves out (lines, "
            "customer, addresses, payment method, channel, coupons, attributes), the order no "
            "longer has; a currency left out is the default one."
        ),
        request_body=OrderSerializer,
    )
    def put(self, request: Request, pk: int) -> Response:
        """Replace an order, its lines and customer included."""
        return self._change(request, OrderSerializer, order_replace)

    @write_operation(
        "orders_partial_update",
        {200: OrderSerializer},
        (404,),
        description=(
            "Give at least one of `total` and `items_count`, or another part of the order: a "
            "body without any would change nothing, and is a 400. `lines` given replace the "
            "order's lines as a whole; with its lines kept, an `items_count` given must be the "
            "sum of their quantities (else a 400 `inconsistent_order`). `null` removes a "
            "customer, an address, a payment method or a channel."
        ),
        request_body=OrderChangesSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change some of an order's parts; the others keep their values."""
        return self._change(request, OrderChangesSerializer, order_update)

    @write_operation("orders_delete", {204: "Deleted."}, (404,))
    def delete(self, request: Request, pk: int) -> Response:
        """Delete an order."""
        order_delete(order=self.get_object())
        logger.info("order deleted", extra={"order_id": pk, "user_id": request.user.pk})
        return Response(status=HTTPStatus.NO_CONTENT)

    def _change(
        self,
        request: Request,
        serializer_class: type[OrderSerializer],
        service: Callable[..., Order],
    ) -> Response:
        """Validate the body with *serializer_class* and store it with *service*."""
        with transaction.atomic():
            order = self.get_object()
            serializer = serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            order = call_write_service(service, order=order, **serializer.validated_data)
        logger.info("order updated", extra={"order_id": order.pk, "user_id": request.user.pk})
        return Response(OrderSerializer(order).data)


class FactListView(GenericAPIView):
    """The catalogue of facts: every value a rule can read of an order."""

    @operation("facts_list", {200: FactSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """List the facts a rule can read.

        Every fact of an order and of each of its lines, in the order of their
        declaration, then the facts providers supply from other services
        (`external`, with their `provider`): its path, type, description, an
        example, whether an order may lack it and whether SQL can read it.
        Condition rules name these paths.
        """
        return Response(FactSerializer(catalogue(), many=True).data)
