{#- Change attribution between runs (docs/attribution.md): the five factor groups, in column
    order, as `hcc diff` names them. -#}
{% macro hcc_attribution_groups() -%}
  {{ return(['demographics', 'diagnoses_gained', 'diagnoses_lost', 'model', 'normalization']) }}
{%- endmacro %}

{#- The rollup columns of a run pair from int_score_run_change_sums (`s`), summed over its rows
    (summed = true: several plans) or taken as they are: member counts by status and by dominant
    cause, the average change and each group's average contribution over the attributed members. -#}
{% macro hcc_attribution_rollup(s, summed) -%}
  {%- for c in ['members_attributed', 'members_added', 'members_removed', 'members_not_attributed'] %}
        {{ hcc_attribution_count(s, c, summed) }} as {{ c }},
  {%- endfor %}
        {{ hcc_attribution_average(s, 'change', summed) }} as average_change,
  {%- for g in hcc_attribution_groups() %}
        {{ hcc_attribution_average(s, g, summed) }} as average_{{ g }},
        {{ hcc_attribution_count(s, 'members_by_' ~ g, summed) }} as members_by_{{ g }},
  {%- endfor %}
        {{ hcc_attribution_count(s, 'members_unchanged', summed) }} as members_unchanged
{%- endmacro %}

{#- The names of the columns hcc_attribution_rollup makes, in order. -#}
{% macro hcc_attribution_rollup_columns() -%}
  {%- set cols = ['members_attributed', 'members_added', 'members_removed', 'members_not_attributed', 'average_change'] -%}
  {%- for g in hcc_attribution_groups() %}{% do cols.extend(['average_' ~ g, 'members_by_' ~ g]) %}{% endfor -%}
  {%- do cols.append('members_unchanged') -%}
  {{ return(cols) }}
{%- endmacro %}

{% macro hcc_attribution_count(s, column, summed) -%}
  {%- if summed -%}cast(sum({{ s }}.{{ column }}) as {{ dbt.type_int() }}){%- else -%}{{ s }}.{{ column }}{%- endif -%}
{%- endmacro %}

{% macro hcc_attribution_average(s, part, summed) -%}
  {%- if summed -%}
    sum({{ s }}.sum_{{ part }}) / nullif(sum({{ s }}.members_attributed), 0)
  {%- else -%}
    {{ s }}.sum_{{ part }} / nullif({{ s }}.members_attributed, 0)
  {%- endif -%}
{%- endmacro %}
