select
    co.country_code,
    ct.country_name,
    sum(co.revenue) as revenue
from {{ ref('customer_orders') }} co
left join {{ ref('stg_countries') }} ct on ct.country_code = co.country_code
group by co.country_code, ct.country_name
