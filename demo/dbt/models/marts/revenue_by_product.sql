with products as (
    select * from {{ ref('stg_products') }}
),

revenue_items as (
    select items.*
    from {{ ref('stg_order_items') }} as items
    inner join {{ ref('stg_orders') }} as orders on items.order_id = orders.order_id
    where orders.is_revenue
),

per_product as (
    select
        product_id,
        count(distinct order_id) as order_count,
        sum(quantity) as units_sold,
        sum(amount) as revenue
    from revenue_items
    group by product_id
)

select
    products.product_id,
    products.product_name,
    products.category,
    products.unit_price,
    coalesce(per_product.order_count, 0) as order_count,
    cast(coalesce(per_product.units_sold, 0) as bigint) as units_sold,
    cast(coalesce(per_product.revenue, 0) as decimal(14, 2)) as revenue
from products
left join per_product on products.product_id = per_product.product_id
