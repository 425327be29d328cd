with customers as (
    select * from {{ ref('stg_customers') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

order_totals as (
    select
        order_id,
        sum(amount) as order_amount
    from {{ ref('stg_order_items') }}
    group by order_id
),

per_customer as (
    select
        orders.customer_id,
        min(orders.order_date) as first_order_date,
        max(orders.order_date) as last_order_date,
        count(*) as order_count,
        count(*) filter (where orders.is_revenue) as revenue_order_count,
        sum(case when orders.is_revenue then coalesce(order_totals.order_amount, 0) else 0 end) as lifetime_value
    from orders
    left join order_totals on orders.order_id = order_totals.order_id
    group by orders.customer_id
)

select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    customers.email,
    customers.country,
    customers.signed_up_at,
    per_customer.first_order_date,
    per_customer.last_order_date,
    coalesce(per_customer.order_count, 0) as order_count,
    coalesce(per_customer.revenue_order_count, 0) as revenue_order_count,
    cast(coalesce(per_customer.lifetime_value, 0) as decimal(14, 2)) as lifetime_value
from customers
left join per_customer on customers.customer_id = per_customer.customer_id
