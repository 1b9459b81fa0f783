{#- Data-quality check: a boolean SQL expression holds on every row (optionally where `where`). -#}
{% test hcc_expression_is_true(model, expression, where_clause=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% if where_clause %}  and ({{ where_clause }}){% endif %}
{% endtest %}
