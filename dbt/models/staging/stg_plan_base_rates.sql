-- One row per plan × county × payment year: the monthly base rate (dollars per member per month
-- at a risk score of 1.0) that turns a gap's payment score change into dollars
-- (docs/gap-values.md "Base rates"). county_code null: the plan's rate in every county without
-- its own row. Optional: empty when the table is absent (the flat --base-rate applies).
{%- set present = hcc_source_exists('sgv_reporting', 'plan_base_rates') %}

with renamed as (

    select
        cast({{ 'plan_id' if present else 'null' }} as {{ dbt.type_string() }}) as plan_id,
        nullif(trim(cast({{ 'county_code' if present else 'null' }} as {{ dbt.type_string() }})), '') as county_code,
        cast({{ 'payment_year' if present else 'null' }} as {{ dbt.type_int() }}) as payment_year,
        cast({{ 'monthly_base_rate' if present else 'null' }} as {{ hcc_type_double() }}) as monthly_base_rate
    {%- if present %}
    from {{ source('sgv_reporting', 'plan_base_rates') }}
    {%- else %}
    where false
    {%- endif %}

),

final as (

    select
        {{ hcc_surrogate_key(['plan_id', 'county_code', 'payment_year']) }} as base_rate_key,
        renamed.*
    from renamed

)

select * from final
