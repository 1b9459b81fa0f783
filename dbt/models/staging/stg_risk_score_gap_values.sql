-- One row per member × payment year × model × what-if the engine valued (`hcc score --gaps`,
-- docs/gap-values.md): an HCC added alone (add), a kept HCC removed alone (remove), or the
-- model's candidates added together (add_all, hcc null). Deltas are exact: the difference of two
-- full scorings. Empty when the run valued no gaps (the table is then absent) or when scores
-- come from the UDF.
{%- set present = hcc_scoring_pattern() != 'udf' and hcc_source_exists('sgv_reporting', 'risk_score_gap_values') %}

with source as (

{%- if present %}

    select
        participant_id,
        payment_year,
        model,
        hcc,
        action,
        status,
        delta_raw_score,
        delta_normalized_score,
        delta_risk_score,
        delta_payment_score,
        annual_value,
        array_to_string(hccs_displaced, ', ') as hccs_displaced,
        array_to_string(hccs_restored, ', ') as hccs_restored,
        array_to_string(terms_on, ', ') as terms_on,
        array_to_string(terms_off, ', ') as terms_off,
        run_id
    from {{ source('sgv_reporting', 'risk_score_gap_values') }}

{%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as participant_id,
        cast(null as {{ dbt.type_int() }}) as payment_year,
        cast(null as {{ dbt.type_string() }}) as model,
        cast(null as {{ dbt.type_string() }}) as hcc,
        cast(null as {{ dbt.type_string() }}) as action,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ hcc_type_double() }}) as delta_raw_score,
        cast(null as {{ hcc_type_double() }}) as delta_normalized_score,
        cast(null as {{ hcc_type_double() }}) as delta_risk_score,
        cast(null as {{ hcc_type_double() }}) as delta_payment_score,
        cast(null as {{ hcc_type_double() }}) as annual_value,
        cast(null as {{ dbt.type_string() }}) as hccs_displaced,
        cast(null as {{ dbt.type_string() }}) as hccs_restored,
        cast(null as {{ dbt.type_string() }}) as terms_on,
        cast(null as {{ dbt.type_string() }}) as terms_off,
        cast(null as {{ dbt.type_string() }}) as run_id
    where false

{%- endif %}

),

renamed as (

    select
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        cast(model as {{ dbt.type_string() }}) as model,
        cast(hcc as {{ dbt.type_string() }}) as hcc_code,
        {{ hcc_trailing_number('hcc') }} as hcc,
        cast(action as {{ dbt.type_string() }}) as action,
        cast(status as {{ dbt.type_string() }}) as gap_status,
        cast(delta_raw_score as {{ hcc_type_double() }}) as delta_raw_score,
        cast(delta_normalized_score as {{ hcc_type_double() }}) as delta_normalized_score,
        cast(delta_risk_score as {{ hcc_type_double() }}) as delta_risk_score,
        cast(delta_payment_score as {{ hcc_type_double() }}) as delta_payment_score,
        cast(annual_value as {{ hcc_type_double() }}) as annual_value,
        nullif(hccs_displaced, '') as hccs_displaced,
        nullif(hccs_restored, '') as hccs_restored,
        nullif(terms_on, '') as terms_on,
        nullif(terms_off, '') as terms_off,
        cast(run_id as {{ dbt.type_string() }}) as run_id
    from source

),

final as (

    select
        renamed.*
    from renamed

)

select * from final
