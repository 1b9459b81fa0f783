-- One row per engine run: what a warehouse run records beyond provenance (docs/attribution.md
-- "Runs"): the run's average payment score and, with `hcc score --keep-inputs N`, its input
-- snapshot. Both columns are null where score_runs does not have them (a warehouse last scored
-- before they existed, BigQuery, the UDF pattern).
{%- set rel = hcc_results_relation('score_runs') %}
{%- set cols = hcc_relation_columns(rel) if hcc_scoring_pattern() != 'udf' else [] %}
{%- set present = cols or [] %}

with source as (

    select * from {{ rel }}

),

renamed as (

    select
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        {%- if 'mean_payment_score' in present %}
        cast(mean_payment_score as {{ hcc_type_double() }}) as mean_payment_score,
        {%- else %}
        cast(null as {{ hcc_type_double() }}) as mean_payment_score,
        {%- endif %}
        {%- if 'input_snapshot' in present %}
        cast(input_snapshot as {{ dbt.type_string() }}) as input_snapshot
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as input_snapshot
        {%- endif %}
    from source

)

select * from renamed
