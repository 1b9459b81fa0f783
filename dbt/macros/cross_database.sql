{#- Cross-database helpers dispatched per adapter (DuckDB lists vs BigQuery ARRAY, regex dialects).
    Each has a default__ (DuckDB / Postgres dialect) and a bigquery__ implementation; a duckdb__
    one where DuckDB has a much faster spelling. -#}

{#- A SELECT that expands `list_column` of `relation` into one row per element, exposed as
    `value_alias` next to `columns` (null and empty lists yield no rows; null elements are kept),
    optionally filtered by `where_clause` (applied before expanding, on the relation's columns).
    Use as the body of a CTE. On DuckDB the list is expanded in the select list, a single pass; a
    lateral `cross join unnest(t.list)` is planned as a delim join there, ~10x slower. -#}
{% macro hcc_unnest_select(relation, columns, list_column, value_alias, where_clause=none) -%}
  {{ return(adapter.dispatch('hcc_unnest_select', 'hcc_wasm')(relation, columns, list_column, value_alias, where_clause)) }}
{%- endmacro %}

{% macro default__hcc_unnest_select(relation, columns, list_column, value_alias, where_clause=none) -%}
    select
        {%- for c in columns %}
        _unnest_source.{{ c }},
        {%- endfor %}
        _unnest_{{ value_alias }}.{{ value_alias }}
    from {{ relation }} as _unnest_source
    cross join unnest(_unnest_source.{{ list_column }}) as _unnest_{{ value_alias }}({{ value_alias }})
    {%- if where_clause %}
    where {{ where_clause }}
    {%- endif %}
{%- endmacro %}

{% macro duckdb__hcc_unnest_select(relation, columns, list_column, value_alias, where_clause=none) -%}
    select
        {%- for c in columns %}
        {{ c }},
        {%- endfor %}
        unnest({{ list_column }}) as {{ value_alias }}
    from {{ relation }}
    {%- if where_clause %}
    where {{ where_clause }}
    {%- endif %}
{%- endmacro %}

{% macro bigquery__hcc_unnest_select(relation, columns, list_column, value_alias, where_clause=none) -%}
    select
        {%- for c in columns %}
        _unnest_source.{{ c }},
        {%- endfor %}
        {{ value_alias }}
    from {{ relation }} as _unnest_source
    cross join unnest(_unnest_source.{{ list_column }}) as {{ value_alias }}
    {%- if where_clause %}
    where {{ where_clause }}
    {%- endif %}
{%- endmacro %}

{#- An aggregate: the non-null values of `expr` in ascending order, joined by `delimiter` (a SQL
    string literal, e.g. "', '"); null when there are none. Same result as
    dbt.listagg(expr, delimiter, 'order by ' ~ expr). On DuckDB an ordered string_agg sorts
    every group separately (slow with many small groups); collecting a list and sorting it is
    ~5x faster. -#}
{% macro hcc_listagg_sorted(expr, delimiter) -%}
  {{ return(adapter.dispatch('hcc_listagg_sorted', 'hcc_wasm')(expr, delimiter)) }}
{%- endmacro %}

{% macro default__hcc_listagg_sorted(expr, delimiter) -%}
  {{ dbt.listagg(expr, delimiter, 'order by ' ~ expr) }}
{%- endmacro %}

{% macro duckdb__hcc_listagg_sorted(expr, delimiter) -%}
  array_to_string(list_sort(list({{ expr }}) filter (where {{ expr }} is not null)), {{ delimiter }})
{%- endmacro %}

{#- A list of ICD-10 codes as one string: each normalized (hcc_normalize_dx), blanks and
    duplicates dropped, sorted, joined by ', '; null when none is left. Per row, no unnest or
    aggregate: the engine's per-term code lists (risk_score_factors.dx_codes) become the marts'
    dx_codes text without expanding 7M term rows into codes and grouping them back. -#}
{% macro hcc_dx_list_text(list_expr) -%}
  {{ return(adapter.dispatch('hcc_dx_list_text', 'hcc_wasm')(list_expr)) }}
{%- endmacro %}

{% macro default__hcc_dx_list_text(list_expr) -%}
  {#- most terms have one code: skip the lambda for them (~1.5x faster over 4.6M HCC terms) -#}
  case
    when len({{ list_expr }}) = 1 then {{ hcc_normalize_dx(list_expr ~ '[1]') }}
    else nullif(array_to_string(list_sort(list_distinct(list_transform({{ list_expr }}, _dx -> {{ hcc_normalize_dx('_dx') }}))), ', '), '')
  end
{%- endmacro %}

{% macro bigquery__hcc_dx_list_text(list_expr) -%}
  (select string_agg(_dx_norm, ', ' order by _dx_norm)
   from (select distinct {{ hcc_normalize_dx('_dx') }} as _dx_norm from unnest({{ list_expr }}) as _dx)
   where _dx_norm is not null)
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

{#- Whether a risk_scores row was scored in model `prefix` (its <prefix>_* columns hold a result).
    DuckDB keeps "not scored" as a NULL <prefix>_hccs list (and a NULL segment). BigQuery cannot
    store a NULL array, so the engine writes <prefix>_scored BOOL next to the list there
    (docs/bigquery.md "Not scored vs. no HCCs"); a table written before that column existed
    falls back to the segment, which is null exactly when the member was not scored. -#}
{% macro hcc_model_scored(columns, prefix) -%}
  {{ return(adapter.dispatch('hcc_model_scored', 'hcc_wasm')(columns, prefix)) }}
{%- endmacro %}

{% macro default__hcc_model_scored(columns, prefix) -%}
  {{ hcc_column_or_null(columns, prefix ~ '_segment', dbt.type_string()) }} is not null
{%- endmacro %}

{% macro bigquery__hcc_model_scored(columns, prefix) -%}
  {%- if columns is none or (prefix ~ '_scored') in columns -%}
  coalesce({{ prefix }}_scored, {{ hcc_column_or_null(columns, prefix ~ '_segment', dbt.type_string()) }} is not null)
  {%- else -%}
  {{ hcc_column_or_null(columns, prefix ~ '_segment', dbt.type_string()) }} is not null
  {%- endif %}
{%- endmacro %}

{#- The HCC list of model `prefix`: null when the member was not scored in that model (on
    BigQuery the stored list is [] then, so the _scored flag decides). -#}
{% macro hcc_model_hccs(columns, prefix) -%}
  {{ return(adapter.dispatch('hcc_model_hccs', 'hcc_wasm')(columns, prefix)) }}
{%- endmacro %}

{% macro default__hcc_model_hccs(columns, prefix) -%}
  {{ hcc_column_or_null(columns, prefix ~ '_hccs', hcc_type_string_list()) }}
{%- endmacro %}

{% macro bigquery__hcc_model_hccs(columns, prefix) -%}
  case when {{ hcc_model_scored(columns, prefix) }} then {{ hcc_column_or_null(columns, prefix ~ '_hccs', hcc_type_string_list()) }} end
{%- endmacro %}

{#- Number of elements of a list (DuckDB len, BigQuery array_length; 0 for an empty list). -#}
{% macro hcc_list_length(list_expr) -%}
  {{ return(adapter.dispatch('hcc_list_length', 'hcc_wasm')(list_expr)) }}
{%- endmacro %}

{% macro default__hcc_list_length(list_expr) -%}len({{ list_expr }}){%- endmacro %}

{% macro bigquery__hcc_list_length(list_expr) -%}array_length({{ list_expr }}){%- endmacro %}
