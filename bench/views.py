"""The plain view: the work of a rule check with no framework on top.

It parses the JSON body, fetches the order with the ORM, makes the three
built-in comparisons in ``Decimal`` and answers with ``JsonResponse``: the
floor that ``POST /rules/check/`` is measured against. It reads no rule
names and validates nothing beyond what the work needs.
"""

import json
from decimal import Decimal

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.models import Order

MIN_TOTAL = Decimal("100.00")
MIN_ITEMS = 2
DIVISOR = Decimal("5")


@csrf_exempt
@require_POST
def plain_check(request: HttpRequest) -> JsonResponse:
    """Return the verdicts of the three built-in rules on the requested order."""
    order = get_object_or_404(Order, pk=json.loads(request.body)["order_id"])
    details = {
        "min_total_100": order.total > MIN_TOTAL,
        "min_items_2": order.items_count >= MIN_ITEMS,
        "divisible_by_5": order.total % DIVISOR == 0,
    }
    return JsonResponse({"passed": all(details.values()), "details": details})
