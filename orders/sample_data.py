"""What realistic seeded orders are made of: articles, countries, customers, payment, coupons.

Plain data, read by ``orders.seeding``. The catalogue is built from a
compact table: each category lists a few products and the variants they
come in, and every product in every variant is an article (12 categories
of 6 products in 3 variants: 216 articles). Prices are in the catalogue's
currency, EUR; ``RATES`` converts them for the countries that pay in their
own currency. Weights are relative shares, not percentages.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Article:
    """One article of the catalogue: what a line names, and its price in EUR."""

    sku: str
    name: str
    category: str
    unit_price: Decimal
    weight: float


@dataclass(frozen=True, slots=True)
class Category:
    """A category: its slug, the prefix of its SKUs, its share of lines and its products.

    ``products`` are ``(name, price)``; ``variants`` are ``(suffix, price
    factor)``, the same for every product of the category.
    """

    slug: str
    prefix: str
    weight: float
    products: tuple[tuple[str, str], ...]
    variants: tuple[tuple[str, str], ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "groceries",
        "GRO",
        20,
        (
            ("Espresso Beans", "8.90"),
            ("Olive Oil", "9.50"),
            ("Basmati Rice", "3.20"),
            ("Dark Chocolate", "2.40"),
            ("Pasta Fusilli", "1.60"),
            ("Honey", "6.80"),
        ),
        (("", "1"), ("Organic", "1.4"), ("Family Pack", "2.6")),
    ),
    Category(
        "clothing",
        "CLO",
        14,
        (
            ("T-Shirt", "14.90"),
            ("Hoodie", "39.90"),
            ("Jeans", "59.00"),
            ("Rain Jacket", "89.00"),
            ("Wool Sweater", "69.00"),
            ("Socks 3-Pack", "9.90"),
        ),
        (("S", "1"), ("M", "1"), ("XL", "1.1")),
    ),
    Category(
        "beauty",
        "BEA",
        10,
        (
            ("Face Cream", "18.50"),
            ("Shampoo", "5.90"),
            ("Sunscreen SPF 50", "12.90"),
            ("Lipstick", "14.00"),
            ("Perfume", "54.00"),
            ("Hand Soap", "3.50"),
        ),
        (("", "1"), ("Travel Size", "0.45"), ("Refill", "0.8")),
    ),
    Category(
        "books",
        "BOO",
        9,
        (
            ("Cookbook", "24.00"),
            ("Crime Novel", "12.00"),
            ("Atlas", "35.00"),
            ("Children's Book", "9.50"),
            ("Poetry", "16.00"),
            ("Travel Guide", "19.90"),
        ),
        (("Paperback", "1"), ("Hardcover", "1.8"), ("Audiobook", "1.2")),
    ),
    Category(
        "home",
        "HOM",
        9,
        (
            ("Bath Towel", "12.90"),
            ("Scented Candle", "14.50"),
            ("Bed Linen", "49.00"),
            ("Cast Iron Pan", "45.00"),
            ("Coffee Mug", "7.90"),
            ("Table Lamp", "39.00"),
        ),
        (("White", "1"), ("Grey", "1"), ("Premium", "1.7")),
    ),
    Category(
        "beverages",
        "BEV",
        8,
        (
            ("Sparkling Water", "0.90"),
            ("Orange Juice", "2.60"),
            ("Green Tea", "4.50"),
            ("Cola", "1.50"),
            ("Oat Drink", "2.20"),
            ("Cold Brew", "3.40"),
        ),
        (("", "1"), ("6-Pack", "5.2"), ("Crate of 12", "9.5")),
    ),
    Category(
        "electronics",
        "ELE",
        7,
        (
            ("Headphones", "79.00"),
            ("USB-C Charger", "24.90"),
            ("Smart Speaker", "99.00"),
            ("E-Reader", "129.00"),
            ("Power Bank", "34.90"),
            ("Webcam", "59.00"),
        ),
        (("", "1"), ("Pro", "1.8"), ("Refurbished", "0.7")),
    ),
    Category(
        "toys",
        "TOY",
        6,
        (
            ("Building Blocks", "29.90"),
            ("Puzzle 1000", "17.90"),
            ("Plush Bear", "19.90"),
            ("Board Game", "34.90"),
            ("Toy Car", "9.90"),
            ("Kite", "24.00"),
        ),
        (("", "1"), ("Deluxe", "1.9"), ("Mini", "0.5")),
    ),
    Category(
        "sports",
        "SPO",
        6,
        (
            ("Yoga Mat", "29.00"),
            ("Running Shoes", "99.00"),
            ("Water Bottle", "14.90"),
            ("Tennis Balls", "6.90"),
            ("Bike Light", "24.90"),
            ("Resistance Band", "12.00"),
        ),
        (("", "1"), ("Pro", "1.6"), ("Kids", "0.7")),
    ),
    Category(
        "alcohol",
        "ALC",
        5,
        (
            ("Rioja Crianza", "12.90"),
            ("Chianti Classico", "15.50"),
            ("Riesling Kabinett", "9.90"),
            ("Pale Ale", "2.40"),
            ("Single Malt Whisky", "42.00"),
            ("London Dry Gin", "27.50"),
        ),
        (("", "1"), ("Magnum", "2.1"), ("Case of 6", "5.6")),
    ),
    Category(
        "shoes",
        "SHO",
        4,
        (
            ("Sneakers", "79.00"),
            ("Leather Boots", "149.00"),
            ("Sandals", "39.00"),
            ("Slippers", "24.00"),
            ("Loafers", "99.00"),
            ("Hiking Boots", "139.00"),
        ),
        (("38", "1"), ("42", "1"), ("45", "1.05")),
    ),
    Category(
        "garden",
        "GAR",
        3,
        (
            ("Seed Mix", "3.90"),
            ("Garden Hose", "29.90"),
            ("Pruning Shears", "19.90"),
            ("Plant Pot", "12.50"),
            ("Potting Soil", "8.90"),
            ("Bird Feeder", "22.00"),
        ),
        (("", "1"), ("Large", "1.6"), ("Set of 3", "2.7")),
    ),
)


def _articles() -> tuple[Article, ...]:
    """Return every product of every category in every variant, with its price and weight.

    Within a category the first products sell most (a product's share falls
    as 1 / rank), and a variant's price is the product's times its factor,
    ending in .90 or .x9 as shop prices do.
    """
    articles = []
    for category in CATEGORIES:
        ranks = [
            (product, variant)
            for product in range(len(category.products))
            for variant in range(len(category.variants))
        ]
        shares = [1 / (rank + 1) for rank in range(len(ranks))]
        scale = category.weight / sum(shares)
        for (product, variant), share in zip(ranks, shares, strict=True):
            name, price = category.products[product]
            suffix, factor = category.variants[variant]
            articles.append(
                Article(
                    sku=f"{category.prefix}-{product + 1:02d}{variant + 1}",
                    name=f"{name} {suffix}".strip(),
                    category=category.slug,
                    unit_price=_shop_price(Decimal(price) * Decimal(factor)),
                    weight=share * scale,
                )
            )
    return tuple(articles)


def _shop_price(amount: Decimal) -> Decimal:
    """Return *amount* in whole tens of cents, as a shop prices it."""
    return amount.quantize(Decimal("0.10"), rounding=ROUND_HALF_UP).quantize(CENT)


ARTICLES: tuple[Article, ...] = _articles()
ARTICLE_WEIGHTS: tuple[float, ...] = tuple(accumulate(article.weight for article in ARTICLES))


@dataclass(frozen=True, slots=True)
class Country:
    """A country orders ship to: its share of customers, currency, postal codes, regions.

    ``currency`` ``None``: it pays in the service's ``DEFAULT_CURRENCY``.
    ``postal_code`` is a pattern: ``9`` a digit, ``A`` a capital letter.
    ``tax`` is the sales tax added at checkout, in percent (European
    prices include VAT).
    """

    code: str
    weight: float
    currency: str | None
    postal_code: str
    regions: tuple[str, ...] = ()
    tax: int = 0


# A few big markets, then a long tail; Norway is among them, outside the EU.
COUNTRIES: tuple[Country, ...] = (
    Country("DE", 22, "EUR", "99999", ("Bayern", "Berlin", "Hessen", "Nordrhein-Westfalen")),
    Country("FR", 12, "EUR", "99999"),
    Country("GB", 11, "GBP", "AA9 9AA"),
    Country("NL", 7, "EUR", "9999 AA"),
    Country("IT", 6, "EUR", "99999"),
    Country("ES", 6, "EUR", "99999"),
    Country("US", 6, "USD", "99999", ("CA", "FL", "IL", "NY", "TX", "WA"), tax=8),
    Country("AT", 3.5, "EUR", "9999"),
    Country("BE", 3, "EUR", "9999"),
    Country("CH", 3, "CHF", "9999"),
    Country("SE", 2.5, "SEK", "999 99"),
    Country("PL", 2.5, "PLN", "99-999"),
    Country("NO", 2, "NOK", "9999", ("Oslo", "Vestland", "Viken")),
    Country("DK", 1.8, "DKK", "9999"),
    Country("FI", 1.2, "EUR", "99999"),
    Country("IE", 1.1, "EUR", "A99 AA99"),
    Country("PT", 1, "EUR", "9999-999"),
    Country("CZ", 0.9, "CZK", "999 99"),
    Country("CA", 0.9, "CAD", "A9A 9A9", ("BC", "ON", "QC"), tax=13),
    Country("AU", 0.7, "AUD", "9999", ("NSW", "QLD", "VIC")),
    Country("HU", 0.5, None, "9999"),
    Country("GR", 0.5, "EUR", "999 99"),
    Country("RO", 0.5, None, "999999"),
    Country("LU", 0.4, "EUR", "9999"),
    Country("JP", 0.3, None, "999-9999"),
    Country("SK", 0.3, "EUR", "999 99"),
    Country("SI", 0.3, "EUR", "9999"),
    Country("HR", 0.3, "EUR", "99999"),
    Country("EE", 0.2, "EUR", "99999"),
    Country("LV", 0.2, "EUR", "LV-9999"),
    Country("LT", 0.2, "EUR", "LT-99999"),
    Country("SG", 0.2, None, "999999"),
    Country("NZ", 0.2, None, "9999"),
    Country("IS", 0.15, None, "999"),
    Country("IL", 0.15, None, "9999999"),
    Country("AE", 0.15, None, ""),
    Country("BR", 0.1, None, "99999-999"),
    Country("MX", 0.1, None, "99999"),
    Country("ZA", 0.1, None, "9999"),
    Country("KR", 0.1, None, "99999"),
    Country("IN", 0.1, None, "999999"),
)
COUNTRY_WEIGHTS: tuple[float, ...] = tuple(accumulate(country.weight for country in COUNTRIES))

# Units of each currency per euro, fixed: sample data, not a price feed.
RATES: dict[str, Decimal] = {
    "EUR": Decimal("1"),
    "GBP": Decimal("0.85"),
    "USD": Decimal("1.08"),
    "CHF": Decimal("0.95"),
    "SEK": Decimal("11.40"),
    "PLN": Decimal("4.30"),
    "NOK": Decimal("11.70"),
    "DKK": Decimal("7.46"),
    "CZK": Decimal("25.00"),
    "CAD": Decimal("1.47"),
    "AUD": Decimal("1.65"),
}

# The slug and share of each customer segment, payment method and channel.
SEGMENTS: tuple[tuple[str, float], ...] = (
    ("retail", 80),
    ("vip", 8),
    ("wholesale", 6),
    ("employee", 2),
    ("new", 4),
)
PAYMENT_METHODS: tuple[tuple[str, float], ...] = (
    ("card", 48),
    ("paypal", 22),
    ("invoice", 10),
    ("apple_pay", 8),
    ("cash_on_delivery", 6),
    ("bank_transfer", 6),
)
CHANNELS: tuple[tuple[str, float], ...] = (("web", 62), ("app", 28), ("store", 10))

# Lines per order: 1 to 8, as many of each (4.5 lines on average); units per
# line: mostly one or two.
LINES_PER_ORDER = range(1, 9)
QUANTITIES: tuple[tuple[int, float], ...] = (
    (1, 58),
    (2, 22),
    (3, 9),
    (4, 5),
    (5, 2),
    (6, 2),
    (10, 1),
    (12, 1),
)


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon code and what it takes off: a percentage, an amount in EUR, or the shipping."""

    code: str
    percent: int = 0
    amount: Decimal = Decimal("0.00")
    free_shipping: bool = False


COUPONS: tuple[Coupon, ...] = (
    Coupon("WELCOME10", percent=10),
    Coupon("SPRING15", percent=15),
    Coupon("VIP20", percent=20),
    Coupon("SAVE5", amount=Decimal("5.00")),
    Coupon("SAVE10", amount=Decimal("10.00")),
    Coupon("FREESHIP", free_shipping=True),
)
# About one order in ten has a coupon; one in ten of those two.
COUPON_SHARE = 0.10
SECOND_COUPON_SHARE = 0.10

# Shipping costs this much in EUR, free from an order's subtotal of FREE_SHIPPING.
SHIPPING_FEE = Decimal("4.90")
FREE_SHIPPING = Decimal("50.00")

# Most orders ship where the customer lives, and are billed where they ship.
HOME_SHIPPING_SHARE = 0.92
BILLING_IS_SHIPPING_SHARE = 0.95
# Orders with the shop's own fact ``gift_wrap``.
GIFT_WRAP_SHARE = 0.04
