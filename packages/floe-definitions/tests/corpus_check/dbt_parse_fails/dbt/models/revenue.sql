select * from {{ ref('orders' }}
