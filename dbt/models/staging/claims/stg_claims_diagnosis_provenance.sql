-- One row per diagnosis of a claim `hcc ingest` read and did not reject (accepted or filtered),
-- code normalized; empty when the warehouse has no ingest (the table is optional).
{%- set exists = hcc_source_exists('sgv_reporting', 'claims_diagnosis_provenance') %}

with source as (

    {% if exists %}
    select * from {{ source('sgv_reporting', 'claims_diagnosis_provenance') }}
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as ingest_run_id, cast(null as {{ dbt.type_int() }}) as payment_year,
        cast(null as {{ dbt.type_string() }}) as participant_id, cast(null as {{ dbt.type_string() }}) as diagnosis_code,
        cast(null as {{ dbt.type_string() }}) as diagnosis_code_raw, cast(null as {{ dbt.type_string() }}) as claim_id,
        cast(null as {{ dbt.type_int() }}) as claim_seq, cast(null as {{ dbt.type_string() }}) as claim_format,
        cast(null as {{ dbt.type_string() }}) as claim_kind, cast(null as {{ dbt.type_int() }}) as dx_position,
        cast(null as {{ dbt.type_string() }}) as dx_qualifier, cast(null as {{ dbt.type_int() }}) as line_number,
        cast(null as {{ dbt.type_string() }}) as procedure_code, cast(null as {{ dbt.type_string() }}) as revenue_code,
        cast(null as date) as service_from, cast(null as date) as service_to, cast(null as date) as service_date,
        cast(null as {{ dbt.type_string() }}) as bill_type, cast(null as {{ dbt.type_string() }}) as frequency,
        cast(null as {{ dbt.type_string() }}) as place_of_service, cast(null as {{ dbt.type_string() }}) as rendering_npi,
        cast(null as {{ dbt.type_string() }}) as billing_npi, cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_int() }}) as source_line, cast(null as {{ dbt.type_int() }}) as source_offset,
        cast(null as {{ dbt.type_string() }}) as json_pointer, cast(null as {{ dbt.type_string() }}) as decision,
        cast(null as {{ dbt.type_string() }}) as filter_reason, cast(null as {{ dbt.type_string() }}) as diagnosis_source
    where 1 = 0
    {% endif %}

),

renamed as (

    select
        cast(ingest_run_id as {{ dbt.type_string() }}) as ingest_run_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        {{ hcc_normalize_dx('cast(diagnosis_code as ' ~ dbt.type_string() ~ ')') }} as diagnosis_code,
        cast(diagnosis_code_raw as {{ dbt.type_string() }}) as diagnosis_code_raw,
        cast(claim_id as {{ dbt.type_string() }}) as claim_id,
        cast(claim_seq as {{ dbt.type_int() }}) as claim_seq,
        cast(claim_format as {{ dbt.type_string() }}) as claim_format,
        cast(claim_kind as {{ dbt.type_string() }}) as claim_kind,
        cast(dx_position as {{ dbt.type_int() }}) as dx_position,
        cast(dx_qualifier as {{ dbt.type_string() }}) as dx_qualifier,
        cast(line_number as {{ dbt.type_int() }}) as line_number,
        cast(procedure_code as {{ dbt.type_string() }}) as procedure_code,
        cast(revenue_code as {{ dbt.type_string() }}) as revenue_code,
        cast(service_from as date) as service_from,
        cast(service_to as date) as service_to,
        cast(service_date as date) as service_date,
        cast(bill_type as {{ dbt.type_string() }}) as bill_type,
        cast(frequency as {{ dbt.type_string() }}) as claim_frequency_code,
        cast(place_of_service as {{ dbt.type_string() }}) as place_of_service,
        cast(rendering_npi as {{ dbt.type_string() }}) as rendering_npi,
        cast(billing_npi as {{ dbt.type_string() }}) as billing_npi,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_line as {{ dbt.type_int() }}) as source_line,
        cast(source_offset as {{ dbt.type_int() }}) as source_offset,
        cast(json_pointer as {{ dbt.type_string() }}) as json_pointer,
        cast(decision as {{ dbt.type_string() }}) as decision,
        cast(filter_reason as {{ dbt.type_string() }}) as filter_reason,
        cast(diagnosis_source as {{ dbt.type_string() }}) as diagnosis_source
    from source

),

final as (

    select
        {{ hcc_surrogate_key(['ingest_run_id', 'claim_seq', 'dx_position']) }} as claim_diagnosis_key,
        renamed.*
    from renamed

)

select * from final
