-- One row per opportunity record: a suspected or previously documented HCC not yet coded
-- this year, with where it came from and the evidence.
with source as (

    select * from {{ source('sgv_reporting', 'hcc_opportunities') }}

),

renamed as (

    select distinct
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        {{ hcc_normalize_model('cast(model as ' ~ dbt.type_string() ~ ')') }} as model,
        {{ hcc_trailing_number('hcc') }} as hcc,
        cast(source as {{ dbt.type_string() }}) as opportunity_source,
        cast(evidence as {{ dbt.type_string() }}) as evidence
    from source

),

final as (

    select
        renamed.*
    from renamed

)

select * from final
