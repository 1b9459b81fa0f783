{#- Adapter-specific bodies of the generic tests in tests/generic/ (dbt finds dispatched macros
    only under macro-paths). -#}

{% macro default__test_hcc_unique_combination_of_columns(model, combination_of_columns) %}
{%- set cols = combination_of_columns | join(', ') -%}
select {{ cols }}, count(*) as n_rows
from {{ model }}
group by {{ cols }}
having count(*) > 1
{% endmacro %}

{% macro duckdb__test_hcc_unique_combination_of_columns(model, combination_of_columns) %}
{%- set cols = combination_of_columns | join(', ') -%}
with repeated_hashes as (
    select hash({{ cols }}) as combination_hash
    from {{ model }}
    group by 1
    having count(*) > 1
)
select {{ cols }}, count(*) as n_rows
from {{ model }}
where hash({{ cols }}) in (select combination_hash from repeated_hashes)
group by {{ cols }}
having count(*) > 1
{% endmacro %}
