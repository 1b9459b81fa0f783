-- One row per member: its county (participants.county_code, optional; null when the column is
-- absent or empty), for base rates per plan and county (docs/gap-values.md "Base rates").
-- A model of its own rather than a column of stg_participants while that model is being reworked.
{%- set src = source('sgv_reporting', 'participants') %}
{%- set cols = hcc_relation_columns(src) %}

with renamed as (

    select
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        nullif(trim(cast({{ hcc_column_or_null(cols, 'county_code', dbt.type_string()) }} as {{ dbt.type_string() }})), '') as county_code
    from {{ src }}

)

select * from renamed
