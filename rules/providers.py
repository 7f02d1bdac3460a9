"""The providers this app ships: the risk-scoring service (``RISK_SERVICE_URL``)."""

from orders.facts import (
    BILLING_COUNTRY,
    CURRENCY,
    CUSTOMER_AGE_DAYS,
    CUSTOMER_ID,
    ITEMS_COUNT,
    PAYMENT_METHOD,
    SHIPPING_COUNTRY,
    TOTAL,
    Fact,
    FactType,
)
from rules.engine.providers import Provider

RISK_SCORE = Fact(
    "risk.score",
    FactType.COUNT,
    "The order's fraud risk from the risk service, 0 (none) to 100 (certain).",
    42,
    minimum=0,
    maximum=100,
    provider="risk",
)


class RiskServiceProvider(Provider):
    """A fraud-scoring service: it is sent the order's amount, customer and addresses.

    It answers ``{"score": <0..100>}`` to a POST of its inputs as JSON, with
    ``Authorization: Bearer <RISK_SERVICE_TOKEN>`` when a token is set.
    """

    name = "risk"
    description = "Fraud risk score of the order, from the risk service at RISK_SERVICE_URL."
    provides = (RISK_SCORE,)
    reads = (
        TOTAL,
        CURRENCY,
        ITEMS_COUNT,
        CUSTOMER_ID,
        CUSTOMER_AGE_DAYS,
        SHIPPING_COUNTRY,
        BILLING_COUNTRY,
        PAYMENT_METHOD,
    )
    timeout = 0.3
    cache_ttl = 300
    url_setting = "RISK_SERVICE_URL"
    token_setting = "RISK_SERVICE_TOKEN"  # noqa: S105  # nosec B105 (a setting's name)
