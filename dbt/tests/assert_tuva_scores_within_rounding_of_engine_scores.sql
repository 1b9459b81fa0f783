-- Tuva's normalized/payment_risk_score and the engine's CMS risk_score/payment_score differ
-- only by where they round: Tuva rounds up to 8 pieces (2 models × 4 factor types) and sums
-- them, CMS rounds each normalized model score, the blend and the payment score. So
-- |normalized − risk_score| ≤ 8 × 0.0005 + 0.001 and |payment − payment_score| ≤
-- 8 × 0.001 + 0.0015. A row here means the two apply different parameters. (Without the
-- engine's terms, e.g. a --no-factors run, the Tuva scores are null and not compared.)
with tuva as (

    select * from {{ ref('patient_risk_scores') }}

),

engine as (

    select participant_id, payment_year, risk_score, payment_score
    from {{ ref('fact_patient_risk_scores') }}
    where is_scored

)

select
    tuva.person_id,
    tuva.payment_year,
    tuva.normalized_risk_score,
    engine.risk_score,
    tuva.payment_risk_score,
    engine.payment_score
from tuva
inner join engine
    on engine.participant_id = tuva.person_id
    and engine.payment_year = tuva.payment_year
where tuva.normalized_risk_score is not null
    and (
        engine.risk_score is null
        or abs(tuva.normalized_risk_score - engine.risk_score) > 0.005 + 0.000001
        or abs(tuva.payment_risk_score - engine.payment_score) > 0.0095 + 0.000001
    )
