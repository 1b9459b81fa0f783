-- One row per member: scored inside BigQuery by the hcc_score_<year> UDF (the same Wasm kernel
-- and tables as `hcc score`, docs/bigquery-udf.md). Columns are risk_scores' (docs/pipeline.md)
-- plus the `factors` array, so staging reads this model exactly as it reads risk_scores.
-- Enabled only with var hcc_scoring: udf on BigQuery.
{{ config(enabled=(var('hcc_scoring', 'engine') == 'udf' and target.type == 'bigquery')) }}

with participants as (

    select * from {{ ref('stg_participants') }}

),

-- the raw codes as the member supplied them (the UDF normalizes them as the engine does);
-- exact duplicate claim rows are already dropped by staging
codes as (

    select
        participant_id,
        array_agg(diagnosis_code_raw ignore nulls order by service_date, diagnosis_code_raw) as diagnosis_codes
    from {{ ref('stg_diagnosis_codes') }}
    group by participant_id

),

scored as (

    select
        participants.participant_id,
        {{ hcc_score('participants', 'codes.diagnosis_codes') }} as result
    from participants
    left join codes on codes.participant_id = participants.participant_id

),

final as (

    select
        participant_id,
        result.*,
        '{{ invocation_id }}' as run_id
    from scored

)

select * from final
