-- Business rule: the engine's member scores equal the blend of its normalized model scores
-- under the seed's weights and MACI (within rounding). A row here means the engine and the
-- committed seeds disagree about the payment-year parameters, or no population matched.
{%- set tol = var('hcc_score_tolerance') %}

with scores as (

    select * from {{ ref('stg_risk_scores') }}
    where error is null

),

part_c as (

    select participant_id, payment_year, max(blended_score_rounded) as risk_score, max(payment_score_reconstructed) as payment_score
    from {{ ref('int_risk_adjustments') }}
    where part = 'C'
    group by participant_id, payment_year

),

part_d as (

    select participant_id, payment_year, max(blended_score_rounded) as rx_risk_score
    from {{ ref('int_risk_adjustments') }}
    where part = 'D'
    group by participant_id, payment_year

)

select
    scores.participant_id,
    scores.payment_year,
    scores.risk_score,
    part_c.risk_score as reconstructed_risk_score,
    scores.payment_score,
    part_c.payment_score as reconstructed_payment_score,
    scores.rx_risk_score,
    part_d.rx_risk_score as reconstructed_rx_risk_score
from scores
left join part_c
    on part_c.participant_id = scores.participant_id
    and part_c.payment_year = scores.payment_year
left join part_d
    on part_d.participant_id = scores.participant_id
    and part_d.payment_year = scores.payment_year
where (scores.risk_score is not null and (part_c.risk_score is null or abs(scores.risk_score - part_c.risk_score) > {{ tol }}))
    or (scores.payment_score is not null and (part_c.payment_score is null or abs(scores.payment_score - part_c.payment_score) > {{ tol }}))
    or (scores.rx_risk_score is not null and (part_d.rx_risk_score is null or abs(scores.rx_risk_score - part_d.rx_risk_score) > {{ tol }}))
