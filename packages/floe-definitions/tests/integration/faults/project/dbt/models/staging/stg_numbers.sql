select n, n * n as square from {{ source('raw', 'numbers') }}
