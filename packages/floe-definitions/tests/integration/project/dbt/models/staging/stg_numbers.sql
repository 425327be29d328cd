{% if var('break_staging', false) %}select definitely_not_a_column from {{ source('raw', 'numbers') }}{% else %}
select n, n * n as square from {{ source('raw', 'numbers') }}
{% endif %}
