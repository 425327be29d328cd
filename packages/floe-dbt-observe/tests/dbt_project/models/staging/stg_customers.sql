with source as (
    select * from {{ source('raw', 'customers') }}
)
select
    id as customer_id,
    name as customer_name,
    country as country_code
from source
