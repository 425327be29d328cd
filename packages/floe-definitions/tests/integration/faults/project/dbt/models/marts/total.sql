select sum(n) as total, sum(square) as squares from {{ ref('stg_numbers') }}
