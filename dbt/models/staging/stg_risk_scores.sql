-- One row per member × payment year: the engine's member-level scores, counters and flags, and
-- per model of var('hcc_model_ids') its segment and scores as the engine wrote them side by side
-- (null where the member was not scored in it), with how many models scored the member and how
-- many HCCs they kept. stg_hcc_raw_scores unpivots the same columns into one row per model.
{%- set src = hcc_results_relation('risk_scores') %}
{%- set cols = hcc_relation_columns(src) %}
{%- set prefixes = hcc_scored_model_prefixes(cols) %}

with source as (

    select * from {{ src }}

),

renamed as (

    select
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        cast({{ hcc_column_or_null(cols, 'risk_score', hcc_type_double()) }} as {{ hcc_type_double() }}) as risk_score,
        cast({{ hcc_column_or_null(cols, 'payment_score', hcc_type_double()) }} as {{ hcc_type_double() }}) as payment_score,
        cast({{ hcc_column_or_null(cols, 'rx_risk_score', hcc_type_double()) }} as {{ hcc_type_double() }}) as rx_risk_score,
        cast({{ hcc_column_or_null(cols, 'dx_malformed', dbt.type_int()) }} as {{ dbt.type_int() }}) as dx_malformed,
        cast({{ hcc_column_or_null(cols, 'dx_unmapped', dbt.type_int()) }} as {{ dbt.type_int() }}) as dx_unmapped,
        cast({{ hcc_column_or_null(cols, 'edits_applied', dbt.type_int()) }} as {{ dbt.type_int() }}) as edits_applied,
        cast({{ hcc_column_or_null(cols, 'error', dbt.type_string()) }} as {{ dbt.type_string() }}) as error,
        cast({{ hcc_column_or_null(cols, 'orec_default', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as orec_default,
        cast({{ hcc_column_or_null(cols, 'dual_default', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as dual_default,
        cast({{ hcc_column_or_null(cols, 'rx_plan_default', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as rx_plan_default,
        cast({{ hcc_column_or_null(cols, 'population', dbt.type_string()) }} as {{ dbt.type_string() }}) as population,
        cast({{ hcc_column_or_null(cols, 'rx_population', dbt.type_string()) }} as {{ dbt.type_string() }}) as rx_population,
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        {%- for m in var('hcc_model_ids') %}
        {%- set p = m | lower %}
        {%- if p in prefixes %}
        case when {{ hcc_model_scored(cols, p) }} then cast({{ hcc_column_or_null(cols, p ~ '_segment', dbt.type_string()) }} as {{ dbt.type_string() }}) end as {{ p }}_segment,
        case when {{ hcc_model_scored(cols, p) }} then cast({{ hcc_column_or_null(cols, p ~ '_raw_score', hcc_type_double()) }} as {{ hcc_type_double() }}) end as {{ p }}_raw_score,
        case when {{ hcc_model_scored(cols, p) }} then cast({{ hcc_column_or_null(cols, p ~ '_normalized_score', hcc_type_double()) }} as {{ hcc_type_double() }}) end as {{ p }}_normalized_score,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as {{ p }}_segment,
        cast(null as {{ hcc_type_double() }}) as {{ p }}_raw_score,
        cast(null as {{ hcc_type_double() }}) as {{ p }}_normalized_score,
        {%- endif %}
        {%- endfor %}
        -- over every model the table has columns for (as stg_hcc_raw_scores' rows)
        cast(0
        {%- for p in prefixes %} + case when {{ hcc_model_scored(cols, p) }} then 1 else 0 end{% endfor %} as {{ dbt.type_bigint() }}) as n_models_scored,
        cast(0
        {%- for p in prefixes %} + case when {{ hcc_model_scored(cols, p) }} then coalesce({{ hcc_list_length(hcc_model_hccs(cols, p)) }}, 0) else 0 end{% endfor %} as {{ dbt.type_bigint() }}) as n_kept_hccs
    from source

)

select * from renamed
