-- One row per member × model × factor the UDF summed: risk_score_factors' columns, unnested
-- from int_hcc_udf_scores.factors (the UDF must be built with factors, the default).
{{ config(enabled=(var('hcc_scoring', 'engine') == 'udf' and target.type == 'bigquery'), materialized='view') }}

with scores as (

    select * from {{ ref('int_hcc_udf_scores') }}

),

final as (

    select
        scores.participant_id,
        scores.payment_year,
        factor.model,
        factor.segment,
        factor.factor,
        factor.factor_type,
        factor.coefficient,
        factor.hcc,
        factor.dx_codes,
        scores.run_id
    from scores
    cross join unnest(scores.factors) as factor

)

select * from final
