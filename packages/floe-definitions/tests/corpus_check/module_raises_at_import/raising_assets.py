"""An asset module that fails while it is imported (a setting read at import time is missing)."""

import os

WAREHOUSE = os.environ["SHOP_WAREHOUSE_URL_NOT_SET"]
