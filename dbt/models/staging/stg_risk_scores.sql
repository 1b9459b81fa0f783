-- One row per member × payment year: the engine's member-level scores, counters and flags
-- (the per-model columns are unpivoted in stg_hcc_raw_scores).
{%- set src = hcc_results_relation('risk_scores') %}
{%- set cols = hcc_relation_columns(src) %}

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
        cast(run_id as {{ dbt.type_string() }}) as run_id
    from source

)

select * from renamed
