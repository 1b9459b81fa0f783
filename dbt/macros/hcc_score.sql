{#- Scoring inside BigQuery with the hcc_score_<year> JavaScript UDF (docs/bigquery-udf.md,
    docs/dbt.md "Scoring pattern"). var hcc_scoring: 'engine' (default: the tables `hcc score`
    writes) or 'udf' (BigQuery only). -#}

{#- The scoring pattern of this run; 'udf' anywhere but BigQuery is an error, not a fallback. -#}
{% macro hcc_scoring_pattern() -%}
  {%- set p = var('hcc_scoring', 'engine') -%}
  {%- if p not in ['engine', 'udf'] -%}
    {{ exceptions.raise_compiler_error("var hcc_scoring: '" ~ p ~ "' is not engine or udf") }}
  {%- endif -%}
  {%- if p == 'udf' and target.type != 'bigquery' -%}
    {{ exceptions.raise_compiler_error("var hcc_scoring: 'udf' needs the bigquery target (" ~ target.type ~ " has no JavaScript UDFs; run `hcc score` and keep hcc_scoring: engine, docs/dbt.md)") }}
  {%- endif -%}
  {{ return(p) }}
{%- endmacro %}

{#- Where staging reads the engine's results: the sgv_reporting tables `hcc score` wrote, or
    the intermediate models that call the UDF. -#}
{% macro hcc_results_relation(name) -%}
  {%- if hcc_scoring_pattern() == 'udf' -%}
    {%- set models = {'risk_scores': 'int_hcc_udf_scores', 'risk_score_factors': 'int_hcc_udf_factors', 'score_runs': 'int_hcc_udf_runs'} -%}
    {{ return(ref(models[name])) }}
  {%- endif -%}
  {{ return(source('sgv_reporting', name)) }}
{%- endmacro %}

{#- The deployed function: var hcc_udf_function, else
    `<hcc_udf_project or target project>.<hcc_udf_dataset or sgv_reporting schema>.hcc_score_<hcc_payment_year>`. -#}
{% macro hcc_udf_function() -%}
  {%- set fixed = var('hcc_udf_function', none) -%}
  {%- if fixed -%}{{ return('`' ~ fixed ~ '`') }}{%- endif -%}
  {%- set project = var('hcc_udf_project', none) or var('sgv_reporting_database') or target.database -%}
  {%- set dataset = var('hcc_udf_dataset', none) or var('sgv_reporting_schema') -%}
  {{ return('`' ~ project ~ '.' ~ dataset ~ '.hcc_score_' ~ var('hcc_payment_year') ~ '`') }}
{%- endmacro %}

{#- hcc_score(participant, diagnosis_codes): the UDF call for one stg_participants row (alias
    `participant`) and an ARRAY<STRING> of its raw diagnosis codes. Returns the result STRUCT:
    risk_scores' columns (payment_year … rx_plan_default) plus `factors` when the function was
    built with them. INT64 cannot be a JavaScript UDF input, so integers go in as FLOAT64. -#}
{% macro hcc_score(participant, diagnosis_codes) -%}
{{ hcc_udf_function() }}(struct(
    {{ participant }}.birth_date as birth_date,
    cast(null as float64) as age,
    {{ participant }}.sex as sex,
    {{ participant }}.orec as orec,
    {{ participant }}.crec as crec,
    {{ participant }}.dual_elgbl_cd as dual_elgbl_cd,
    {{ participant }}.is_medicaid as medicaid,
    {{ participant }}.is_lti as lti,
    {{ participant }}.is_new_enrollee as new_enrollee,
    {{ participant }}.is_snp as snp,
    {{ participant }}.is_low_income as low_income,
    {{ participant }}.is_pace as pace,
    {{ participant }}.esrd_status as esrd_status,
    cast({{ participant }}.graft_months as float64) as graft_months,
    {{ participant }}.rx_plan as rx_plan,
    coalesce({{ diagnosis_codes }}, cast([] as array<string>)) as diagnosis_codes
))
{%- endmacro %}
