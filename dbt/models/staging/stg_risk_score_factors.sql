-- One row per member × payment year × model × factor term the engine summed (HCC terms carry
-- the HCC number and the member's codes behind it, as the member supplied them).
with source as (

    select * from {{ hcc_results_relation('risk_score_factors') }}

),

renamed as (

    select
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        cast(model as {{ dbt.type_string() }}) as model,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(factor as {{ dbt.type_string() }}) as factor,
        cast(factor_type as {{ dbt.type_string() }}) as factor_type,
        cast(coefficient as {{ hcc_type_double() }}) as coefficient,
        cast(hcc as {{ dbt.type_int() }}) as hcc,
        dx_codes as dx_codes_raw,
        cast(run_id as {{ dbt.type_string() }}) as run_id
    from source

),

final as (

    select
        renamed.*
    from renamed

)

select * from final
