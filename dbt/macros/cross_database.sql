{#- Cross-database helpers dispatched per adapter (DuckDB lists vs BigQuery ARRAY, regex dialects).
    Each has a default__ (DuckDB / Postgres dialect) and a bigquery__ implementation. -#}

{#- A FROM-clause fragment that expands `list_column` of `table_alias` into one row per element,
    exposed as `value_alias` (null and empty lists yield no rows). Use after `from <cte> as <alias>`. -#}
{% macro hcc_unnest(table_alias, list_column, value_alias) -%}
  {{ return(adapter.dispatch('hcc_unnest', 'hcc_wasm')(table_alias, list_column, value_alias)) }}
{%- endmacro %}

{% macro default__hcc_unnest(table_alias, list_column, value_alias) -%}
  cross join unnest({{ table_alias }}.{{ list_column }}) as _unnest_{{ value_alias }}({{ value_alias }})
{%- endmacro %}

{% macro bigquery__hcc_unnest(table_alias, list_column, value_alias) -%}
  cross join unnest({{ table_alias }}.{{ list_column }}) as {{ value_alias }}
{%- endmacro %}

{#- The SQL type of a list of strings (DuckDB VARCHAR[], BigQuery ARRAY<STRING>). -#}
{% macro hcc_type_string_list() -%}
  {{ return(adapter.dispatch('hcc_type_string_list', 'hcc_wasm')()) }}
{%- endmacro %}

{% macro default__hcc_type_string_list() -%}varchar[]{%- endmacro %}

{% macro bigquery__hcc_type_string_list() -%}array<string>{%- endmacro %}

{#- Remove every character matching a regex character class (e.g. '[.[:space:]]'). -#}
{% macro hcc_regexp_remove(expr, pattern) -%}
  {{ return(adapter.dispatch('hcc_regexp_remove', 'hcc_wasm')(expr, pattern)) }}
{%- endmacro %}

{% macro default__hcc_regexp_remove(expr, pattern) -%}
  regexp_replace({{ expr }}, '{{ pattern }}', '', 'g')
{%- endmacro %}

{% macro bigquery__hcc_regexp_remove(expr, pattern) -%}
  regexp_replace({{ expr }}, r'{{ pattern }}', '')
{%- endmacro %}

{#- The trailing digits of a string as an integer ('HCC37' → 37, 'RXHCC30' → 30, '37' → 37), else null. -#}
{% macro hcc_trailing_number(expr) -%}
  {{ return(adapter.dispatch('hcc_trailing_number', 'hcc_wasm')(expr)) }}
{%- endmacro %}

{% macro default__hcc_trailing_number(expr) -%}
  try_cast(nullif(regexp_extract(cast({{ expr }} as varchar), '([0-9]+)$', 1), '') as integer)
{%- endmacro %}

{% macro bigquery__hcc_trailing_number(expr) -%}
  safe_cast(regexp_extract(cast({{ expr }} as string), r'([0-9]+)$') as int64)
{%- endmacro %}

{#- A deterministic surrogate key over columns (dbt_utils.generate_surrogate_key semantics). -#}
{% macro hcc_surrogate_key(columns) -%}
  {%- set parts = [] -%}
  {%- for c in columns -%}
    {%- do parts.append("coalesce(cast(" ~ c ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
    {%- if not loop.last %}{% do parts.append("'-'") %}{% endif -%}
  {%- endfor -%}
  {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- An 8-byte float (dbt.type_float() is a 4-byte FLOAT on DuckDB, which would round scores). -#}
{% macro hcc_type_double() -%}
  {{ return(adapter.dispatch('hcc_type_double', 'hcc_wasm')()) }}
{%- endmacro %}

{% macro default__hcc_type_double() -%}double{%- endmacro %}

{% macro bigquery__hcc_type_double() -%}float64{%- endmacro %}
