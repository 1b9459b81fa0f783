-- One row per member × pair of engine runs attributed by `hcc diff --from-run A --to-run B`
-- (docs/attribution.md): each side's payment score, the change and its exact Shapley parts over
-- five groups (they sum to total_change), the dominant cause and the status. Empty when no run
-- pair was attributed (the table is then absent) or with the UDF pattern.
{%- set present = hcc_scoring_pattern() != 'udf' and hcc_source_exists('sgv_reporting', 'risk_score_changes') %}
{%- set string, int, double = dbt.type_string(), dbt.type_int(), hcc_type_double() %}
{#- source column, type, name here -#}
{%- set columns = [
    ('from_run_id', string, 'from_run_id'),
    ('to_run_id', string, 'to_run_id'),
    ('from_payment_year', int, 'from_payment_year'),
    ('to_payment_year', int, 'to_payment_year'),
    ('participant_id', string, 'participant_id'),
    ('from_payment_score', double, 'from_payment_score'),
    ('to_payment_score', double, 'to_payment_score'),
    ('total_change', double, 'total_change'),
    ('demographics', double, 'demographics_part'),
    ('diagnoses_gained', double, 'diagnoses_gained_part'),
    ('diagnoses_lost', double, 'diagnoses_lost_part'),
    ('model', double, 'model_part'),
    ('normalization', double, 'normalization_part'),
    ('dominant_cause', string, 'dominant_cause'),
    ('status', string, 'change_status'),
    ('error', string, 'change_error'),
] %}

with renamed as (

    select
    {%- for name, type, alias in columns %}
        cast({{ name if present else 'null' }} as {{ type }}) as {{ alias }}{{ ',' if not loop.last }}
    {%- endfor %}
    {%- if present %}
    from {{ source('sgv_reporting', 'risk_score_changes') }}
    {%- else %}
    where false
    {%- endif %}

),

final as (

    select
        {{ hcc_surrogate_key(['from_run_id', 'to_run_id', 'participant_id']) }} as score_change_key,
        renamed.*
    from renamed

)

select * from final
