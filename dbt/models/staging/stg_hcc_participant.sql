-- One row per member × payment year × model × HCC that CMS reported in its Model Output
-- Report; model spelled as the engine spells it ('CMS-HCC V28' → 'V28'), HCC as a number
-- (the MOR's 'HCC37' or 37).
with source as (

    select * from {{ source('sgv_reporting', 'hcc_participant') }}

),

renamed as (

    select distinct
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        {{ hcc_normalize_model('cast(model as ' ~ dbt.type_string() ~ ')') }} as model,
        {{ hcc_trailing_number('hcc') }} as hcc
    from source

),

final as (

    select
        renamed.*
    from renamed

)

select * from final
