-- One row per member: demographics cleaned (sex as M/F, lower-case enums); absent optional
-- columns become typed nulls.
{%- set src = source('sgv_reporting', 'participants') %}
{%- set cols = hcc_relation_columns(src) %}

with source as (

    select * from {{ src }}

),

renamed as (

    select
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast({{ hcc_column_or_null(cols, 'birth_date', 'date') }} as date) as birth_date,
        case upper(trim(cast({{ hcc_column_or_null(cols, 'sex', dbt.type_string()) }} as {{ dbt.type_string() }})))
            when 'M' then 'M' when '1' then 'M' when 'MALE' then 'M'
            when 'F' then 'F' when '2' then 'F' when 'FEMALE' then 'F'
        end as sex,
        trim(cast({{ hcc_column_or_null(cols, 'orec', dbt.type_string()) }} as {{ dbt.type_string() }})) as orec,
        trim(cast({{ hcc_column_or_null(cols, 'crec', dbt.type_string()) }} as {{ dbt.type_string() }})) as crec,
        trim(cast({{ hcc_column_or_null(cols, 'dual_elgbl_cd', dbt.type_string()) }} as {{ dbt.type_string() }})) as dual_elgbl_cd,
        cast({{ hcc_column_or_null(cols, 'medicaid', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as is_medicaid,
        cast({{ hcc_column_or_null(cols, 'lti', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as is_lti,
        cast({{ hcc_column_or_null(cols, 'new_enrollee', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as is_new_enrollee,
        cast({{ hcc_column_or_null(cols, 'snp', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as is_snp,
        cast({{ hcc_column_or_null(cols, 'low_income', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as is_low_income,
        cast({{ hcc_column_or_null(cols, 'pace', dbt.type_boolean()) }} as {{ dbt.type_boolean() }}) as is_pace,
        lower(trim(cast({{ hcc_column_or_null(cols, 'esrd_status', dbt.type_string()) }} as {{ dbt.type_string() }}))) as esrd_status,
        cast({{ hcc_column_or_null(cols, 'graft_months', dbt.type_int()) }} as {{ dbt.type_int() }}) as graft_months,
        lower(trim(cast({{ hcc_column_or_null(cols, 'rx_plan', dbt.type_string()) }} as {{ dbt.type_string() }}))) as rx_plan,
        cast({{ hcc_column_or_null(cols, 'plan_id', dbt.type_string()) }} as {{ dbt.type_string() }}) as plan_id
    from source

)

select * from renamed
