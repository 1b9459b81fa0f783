-- One row per engine run (provenance: engine and data versions, counts, status).
with source as (

    select * from {{ hcc_results_relation('score_runs') }}

),

renamed as (

    select
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(finished_at as {{ dbt.type_timestamp() }}) as finished_at,
        cast(engine_version as {{ dbt.type_string() }}) as engine_version,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        cast(models as {{ dbt.type_string() }}) as models,
        cast(data_version as {{ dbt.type_string() }}) as data_version,
        cast(data_manifest_sha256 as {{ dbt.type_string() }}) as data_manifest_sha256,
        cast(source as {{ dbt.type_string() }}) as run_source,
        cast(members_in as {{ dbt.type_int() }}) as members_in,
        cast(rows_out as {{ dbt.type_int() }}) as rows_out,
        cast(members_errored as {{ dbt.type_int() }}) as members_errored,
        cast(orphan_dx_rows as {{ dbt.type_int() }}) as orphan_dx_rows,
        cast(status as {{ dbt.type_string() }}) as status
    from source

)

select * from renamed
