-- One row per member × diagnosis code row of the long layout, with the code normalized the
-- way the engine reads it (upper case, no dots or blanks). A code billed
-- on several service dates appears once per date; exact duplicate rows are dropped.
{%- set src = source('sgv_reporting', 'participant_diagnosis_codes') %}
{%- set cols = hcc_relation_columns(src) %}

with source as (

    select * from {{ src }}

),

renamed as (

    select distinct
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(diagnosis_code as {{ dbt.type_string() }}) as diagnosis_code_raw,
        {{ hcc_normalize_dx('cast(diagnosis_code as ' ~ dbt.type_string() ~ ')') }} as diagnosis_code,
        cast({{ hcc_column_or_null(cols, 'service_date', 'date') }} as date) as service_date,
        cast({{ hcc_column_or_null(cols, 'source', dbt.type_string()) }} as {{ dbt.type_string() }}) as diagnosis_source
    from source

),

final as (

    select
        renamed.*
    from renamed

)

select * from final
