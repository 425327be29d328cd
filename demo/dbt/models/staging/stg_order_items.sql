with source as (
    select * from {{ source('bronze', 'raw_order_items') }}
)

select
    order_item_id,
    order_id,
    product_id,
    order_date,
    quantity,
    cast(unit_price as decimal(10, 2)) as unit_price,
    cast(quantity * unit_price as decimal(12, 2)) as amount
from source
