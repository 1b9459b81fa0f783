-- One row for the dbt invocation that scored with the UDF: score_runs' columns, so the marts'
-- provenance (run, engine, data version, finish time) reads the same in both patterns.
{{ config(enabled=(var('hcc_scoring', 'engine') == 'udf' and target.type == 'bigquery'), materialized='table') }}

with scores as (

    select * from {{ ref('int_hcc_udf_scores') }}

),

final as (

    select
        '{{ invocation_id }}' as run_id,
        cast('{{ run_started_at }}' as timestamp) as started_at,
        current_timestamp() as finished_at,
        'udf:' || '{{ hcc_udf_function() | replace('`', '') }}' as engine_version,
        {{ var('hcc_payment_year') }} as payment_year,
        cast(null as string) as models,
        cast({{ "'" ~ var('hcc_udf_data_version') ~ "'" if var('hcc_udf_data_version', none) else 'null' }} as string) as data_version,
        cast(null as string) as data_manifest_sha256,
        'bigquery-udf' as source,
        count(*) as members_in,
        count(*) as rows_out,
        countif(scores.error is not null) as members_errored,
        cast(null as int64) as orphan_dx_rows,
        'succeeded' as status
    from scores

)

select * from final
