-- Tuva's v24/v28_risk_score are blend weight × the model's raw (not normalized) score, rounded
-- per factor type (so within 0.0005 per factor type), and null when the model is not in the
-- member's blend; blended_risk_score is their sum up to the same rounding (0.001 per factor
-- type) when V24/V28 are the whole blend. A row here means a model column holds something
-- else, e.g. weight × the normalized score.
with tuva as (

    select * from {{ ref('patient_risk_scores') }}

),

blend as (

    select
        participant_id,
        payment_year,
        max(case when model = 'V24' then model_weight * raw_score end) as v24_weighted_raw_score,
        max(case when model = 'V28' then model_weight * raw_score end) as v28_weighted_raw_score,
        sum(case when model in ('V24', 'V28') then 0 else 1 end) as n_other_models
    from {{ ref('int_risk_adjustments') }}
    where part = 'C' and model_weight is not null
    group by participant_id, payment_year

),

factor_types as (

    select person_id, payment_year, count(distinct factor_type) as n_factor_types
    from {{ ref('patient_risk_factors') }}
    group by person_id, payment_year

),

compared as (

    select
        tuva.person_id,
        tuva.payment_year,
        tuva.v24_risk_score,
        blend.v24_weighted_raw_score,
        tuva.v28_risk_score,
        blend.v28_weighted_raw_score,
        tuva.blended_risk_score,
        blend.n_other_models,
        factor_types.n_factor_types
    from tuva
    inner join blend
        on blend.participant_id = tuva.person_id
        and blend.payment_year = tuva.payment_year
    inner join factor_types
        on factor_types.person_id = tuva.person_id
        and factor_types.payment_year = tuva.payment_year

)

select *
from compared
where (v24_risk_score is null) != (v24_weighted_raw_score is null)
    or (v28_risk_score is null) != (v28_weighted_raw_score is null)
    or abs(v24_risk_score - v24_weighted_raw_score) > 0.0005 * n_factor_types + 0.000001
    or abs(v28_risk_score - v28_weighted_raw_score) > 0.0005 * n_factor_types + 0.000001
    or (
        n_other_models = 0
        and abs(blended_risk_score - coalesce(v24_risk_score, 0) - coalesce(v28_risk_score, 0))
            > 0.001 * n_factor_types + 0.000001
    )
