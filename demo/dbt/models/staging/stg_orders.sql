with source as (
    select * from {{ source('bronze', 'raw_orders') }}
)

select
    order_id,
    customer_id,
    order_date,
    ordered_at,
    lower(trim(status)) as status,
    lower(trim(status)) not in ('cancelled', 'returned') as is_revenue
from source
