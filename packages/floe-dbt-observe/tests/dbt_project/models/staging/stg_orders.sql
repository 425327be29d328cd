with source as (
    select * from {{ source('raw', 'orders') }}
),
renamed as (
    select
        id as order_id,
        customer as customer_id,
        cast(ordered_at as date) as ordered_at,
        status
    from source
    {% if var('dagster_partition_start', none) is not none %}
    where cast(ordered_at as date) >= cast('{{ var("dagster_partition_start")[:10] }}' as date)
      and cast(ordered_at as date) < cast('{{ var("dagster_partition_end")[:10] }}' as date)
    {% endif %}
)
select * from renamed
