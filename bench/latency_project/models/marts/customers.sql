with orders as (
    select customer_id, min(order_date) as first_order, max(order_date) as most_recent_order,
        count(order_id) as number_of_orders
    from {{ ref('stg_orders') }}
    group by customer_id
),
payments as (
    select o.customer_id, sum(p.amount) as total_amount
    from {{ ref('stg_payments') }} p
    join {{ ref('stg_orders') }} o using (order_id)
    group by o.customer_id
)
select c.customer_id, c.first_name, c.last_name, orders.first_order, orders.most_recent_order,
    coalesce(orders.number_of_orders, 0) as number_of_orders, payments.total_amount as customer_lifetime_value
from {{ ref('stg_customers') }} c
left join orders using (customer_id)
left join payments using (customer_id)
