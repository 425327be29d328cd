with orders as (
    select * from {{ ref('stg_orders') }}
),
payments as (
    select * from {{ ref('stg_payments') }}
),
customers as (
    select * from {{ ref('stg_customers') }}
),
order_revenue as (
    select o.order_id, o.customer_id, coalesce(sum(p.amount), 0) as amount
    from orders o
    left join payments p on p.order_id = o.order_id
    group by o.order_id, o.customer_id
)
select
    c.customer_id,
    c.customer_name,
    c.country_code,
    count(r.order_id) as order_count,
    coalesce(sum(r.amount), 0) as revenue
from customers c
left join order_revenue r on r.customer_id = c.customer_id
group by c.customer_id, c.customer_name, c.country_code
