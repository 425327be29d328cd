"""Generate the demo's raw e-commerce data deterministically: the same inputs always give the same rows.

Customers and products are fixed sets; orders and order items are generated per day from a seed made of the
table name and the date, so re-running a partition reproduces it exactly. The raw data is slightly messy on
purpose (mixed-case statuses, emails and country codes, stray spaces) so the dbt staging models have work to do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

CUSTOMER_COUNT = 200
PRODUCT_COUNT = 50
ORDERS_PER_DAY = (40, 80)
ITEMS_PER_ORDER = (1, 4)

COUNTRIES = ("US", "GB", "FR", "DE", "ES", "JP", "BR", "AU")
CATEGORIES = ("books", "electronics", "garden", "home", "toys")
ORDER_STATUSES = ("placed", "shipped", "completed", "returned", "cancelled")
_STATUS_WEIGHTS = (10, 15, 65, 5, 5)

_FIRST_NAMES = (
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Guido", "Hedy",
    "Ivan", "John", "Ken", "Leslie", "Linus", "Margaret", "Niklaus", "Radia", "Shafi", "Tim",
)  # fmt: skip
_LAST_NAMES = (
    "Allen", "Backus", "Codd", "Dijkstra", "Engelbart", "Floyd", "Goldberg", "Hopper", "Iverson", "Kay",
    "Knuth", "Lamport", "Liskov", "McCarthy", "Perlman", "Ritchie", "Shannon", "Thompson", "Turing", "Wirth",
)  # fmt: skip
_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Handmade", "Smart", "Vintage", "Wireless", "Premium", "Mini")
_NOUNS = {
    "books": ("Novel", "Cookbook", "Atlas", "Field Guide"),
    "electronics": ("Headphones", "Speaker", "Charger", "Keyboard"),
    "garden": ("Trowel", "Planter", "Hose", "Seed Kit"),
    "home": ("Lamp", "Blanket", "Mug", "Clock"),
    "toys": ("Puzzle", "Kite", "Robot", "Board Game"),
}


@dataclass(frozen=True)
class Column:
    """One column of a raw table: its name, DuckDB type and description."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class RawTable:
    """A raw (bronze) table: its name in the ``bronze`` schema and its columns in order."""

    name: str
    columns: tuple[Column, ...]
    description: str

    @property
    def qualified_name(self) -> str:
        """``bronze.<name>``."""
        return f"bronze.{self.name}"


RAW_CUSTOMERS = RawTable(
    "raw_customers",
    (
        Column("customer_id", "INTEGER", "Customer identifier."),
        Column("first_name", "VARCHAR", "First name, sometimes with stray spaces."),
        Column("last_name", "VARCHAR", "Last name."),
        Column("email", "VARCHAR", "Email address in mixed case."),
        Column("country", "VARCHAR", "ISO 3166 alpha-2 country code in mixed case."),
        Column("signed_up_at", "DATE", "Day the customer signed up."),
    ),
    "Customers as exported from the shop's user database.",
)
RAW_PRODUCTS = RawTable(
    "raw_products",
    (
        Column("product_id", "INTEGER", "Product identifier."),
        Column("product_name", "VARCHAR", "Product name."),
        Column("category", "VARCHAR", "Product category in mixed case."),
        Column("unit_price", "DECIMAL(10,2)", "List price."),
    ),
    "The product catalogue.",
)
RAW_ORDERS = RawTable(
    "raw_orders",
    (
        Column("order_id", "BIGINT", "Order identifier: YYYYMMDD * 1000 + sequence number of the day."),
        Column("customer_id", "INTEGER", "Customer who placed the order."),
        Column("order_date", "DATE", "Day the order was placed; the partition column."),
        Column("ordered_at", "TIMESTAMP", "When the order was placed (UTC)."),
        Column("status", "VARCHAR", "Order status in mixed case."),
    ),
    "Orders, one daily partition per order_date.",
)
RAW_ORDER_ITEMS = RawTable(
    "raw_order_items",
    (
        Column("order_item_id", "BIGINT", "Order line identifier: order_id * 10 + line number."),
        Column("order_id", "BIGINT", "Order the line belongs to."),
        Column("product_id", "INTEGER", "Product ordered."),
        Column("quantity", "INTEGER", "Units ordered."),
        Column("unit_price", "DECIMAL(10,2)", "Price per unit when ordered."),
        Column("order_date", "DATE", "Day of the order; the partition column."),
    ),
    "Order lines, partitioned like raw_orders.",
)

CustomerRow = tuple[int, str, str, str, str, date]
ProductRow = tuple[int, str, str, Decimal]
OrderRow = tuple[int, int, date, datetime, str]
OrderItemRow = tuple[int, int, int, int, Decimal, date]


def _messy_case(rng: random.Random, value: str) -> str:
    """Return ``value`` as is, upper-cased or title-cased, as source systems do."""
    return rng.choice((value, value.upper(), value.title()))


def customers() -> list[CustomerRow]:
    """Return the fixed set of customers, rows in ``RAW_CUSTOMERS`` column order."""
    rng = random.Random("raw_customers")
    signup_start = date(2022, 1, 1)
    rows: list[CustomerRow] = []
    for customer_id in range(1, CUSTOMER_COUNT + 1):
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        email = f"{first}.{last}.{customer_id}@example.com"
        rows.append(
            (
                customer_id,
                f" {first}" if rng.random() < 0.1 else first,
                last,
                _messy_case(rng, email.lower()),
                _messy_case(rng, rng.choice(COUNTRIES).lower()),
                signup_start + timedelta(days=rng.randrange(730)),
            )
        )
    return rows


def products() -> list[ProductRow]:
    """Return the fixed product catalogue, rows in ``RAW_PRODUCTS`` column order."""
    rng = random.Random("raw_products")
    rows: list[ProductRow] = []
    for product_id in range(1, PRODUCT_COUNT + 1):
        category = CATEGORIES[(product_id - 1) % len(CATEGORIES)]
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS[category])} {product_id}"
        price = Decimal(rng.randrange(299, 19999)) / 100
        rows.append((product_id, name, _messy_case(rng, category), price))
    return rows


def orders(day: date) -> list[OrderRow]:
    """Return the orders placed on ``day``, rows in ``RAW_ORDERS`` column order.

    Args:
        day: The partition date; it seeds the generator.

    Returns:
        Between 40 and 80 orders, the same ones on every call for the same day.
    """
    rng = random.Random(f"raw_orders:{day.isoformat()}")
    base_id = int(day.strftime("%Y%m%d")) * 1000
    midnight = datetime.combine(day, time())
    rows: list[OrderRow] = []
    for sequence in range(1, rng.randint(*ORDERS_PER_DAY) + 1):
        status = rng.choices(ORDER_STATUSES, weights=_STATUS_WEIGHTS)[0]
        rows.append(
            (
                base_id + sequence,
                rng.randint(1, CUSTOMER_COUNT),
                day,
                midnight + timedelta(seconds=rng.randrange(86_400)),
                _messy_case(rng, status),
            )
        )
    return rows


def order_items(day: date) -> list[OrderItemRow]:
    """Return the order lines of the orders placed on ``day``, rows in ``RAW_ORDER_ITEMS`` column order.

    Args:
        day: The partition date; it seeds the generator and selects the orders (:func:`orders`).

    Returns:
        One to four lines per order, each for a different product, at the catalogue price.
    """
    rng = random.Random(f"raw_order_items:{day.isoformat()}")
    prices = {product[0]: product[3] for product in products()}
    rows: list[OrderItemRow] = []
    for order in orders(day):
        order_id = order[0]
        for line, product_id in enumerate(rng.sample(sorted(prices), rng.randint(*ITEMS_PER_ORDER)), start=1):
            rows.append((order_id * 10 + line, order_id, product_id, rng.randint(1, 5), prices[product_id], day))
    return rows
