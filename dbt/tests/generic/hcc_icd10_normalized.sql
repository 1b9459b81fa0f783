{#- Data-quality check: a code column holds normalized ICD-10-CM (upper case, no dots or blanks). -#}
{% test hcc_icd10_normalized(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} != {{ hcc_normalize_dx(column_name) }}
{% endtest %}
