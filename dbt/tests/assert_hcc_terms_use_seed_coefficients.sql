-- Business rule: each HCC term the engine summed carries the seed coefficient of that HCC in
-- the member's segment (final coefficient set). A row here means the run used other
-- coefficients (e.g. --coefficients proposed-2027) or the seeds drifted from data/. An HCC
-- with no coefficient in the segment is a zero term (e.g. some RxHCCs in some segments).
select
    factors.participant_id,
    factors.payment_year,
    factors.model,
    factors.segment,
    factors.factor,
    factors.coefficient,
    coefficients.coefficient as seed_coefficient
from {{ ref('stg_risk_score_factors') }} as factors
left join {{ ref('hcc_coefficients') }} as coefficients
    on coefficients.payment_year = factors.payment_year
    and coefficients.model = factors.model
    and coefficients.segment = factors.segment
    and coefficients.variable = factors.factor
where factors.factor_type = 'hcc'
    and abs(coalesce(coefficients.coefficient, 0) - factors.coefficient) > 0.0000001
