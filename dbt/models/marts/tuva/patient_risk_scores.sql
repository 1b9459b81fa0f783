-- Tuva Project-compatible cms_hcc.patient_risk_scores: one row per person × payment year with
-- the Tuva column names. Mapping (docs/dbt.md): v24/v28_risk_score = blend weight × the
-- model's normalized score (CMS normalizes per model, then blends); blended_risk_score = their
-- Part C sum; normalized_risk_score = the engine's risk_score; payment_risk_score = the
-- engine's payment_score. payer and member_months are not known to the engine (null).
with scores as (

    select * from {{ ref('fact_patient_risk_scores') }}
    where is_scored and error is null

),

adjustments as (

    select
        participant_id,
        payment_year,
        sum(case when model = 'V24' then weighted_normalized_score end) as v24_risk_score,
        sum(case when model = 'V28' then weighted_normalized_score end) as v28_risk_score,
        sum(weighted_normalized_score) as blended_risk_score
    from {{ ref('int_risk_adjustments') }}
    where part = 'C'
    group by participant_id, payment_year

),

final as (

    select
        scores.participant_id as person_id,
        cast(null as {{ dbt.type_string() }}) as payer,
        adjustments.v24_risk_score,
        adjustments.v28_risk_score,
        adjustments.blended_risk_score,
        scores.risk_score as normalized_risk_score,
        scores.payment_score as payment_risk_score,
        cast(null as {{ hcc_type_double() }}) as payment_risk_score_weighted_by_months,
        cast(null as {{ dbt.type_int() }}) as member_months,
        scores.payment_year,
        scores.scored_at as tuva_last_run
    from scores
    left join adjustments
        on adjustments.participant_id = scores.participant_id
        and adjustments.payment_year = scores.payment_year

)

select * from final
