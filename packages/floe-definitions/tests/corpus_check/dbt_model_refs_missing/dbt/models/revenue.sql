select * from {{ ref('orderz') }}
