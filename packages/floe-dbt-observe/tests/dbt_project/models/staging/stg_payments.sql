with source as (
    select * from {{ source('raw', 'payments') }}
)
select
    id as payment_id,
    order_id,
    amount_cents / 100.0 as amount
from source
