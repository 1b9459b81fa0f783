-- Tuva's definition (cms_hcc__patient_risk_scores_monthly_by_factor_type): per model and
-- factor type, normalized = round(weight × Σ coefficients / NF, 3) and payment =
-- round(normalized × (1 − MACI), 3); normalized_risk_score and payment_risk_score are the sums
-- of those pieces. Recomputed here from the patient_risk_factors rows. Members with a divisor
-- term (ESRD functioning graft: the rows are not additive) are left out.
with factors as (

    select person_id, payment_year, model_version, factor_type, coefficient
    from {{ ref('patient_risk_factors') }}

),

applied as (

    select
        participant_id,
        payment_year,
        {{ hcc_tuva_model_version('model') }} as model_version,
        model_weight,
        normalization_factor,
        maci
    from {{ ref('int_risk_adjustments') }}
    where part = 'C' and model_weight is not null

),

divided as (

    select distinct participant_id, payment_year
    from {{ ref('int_hcc_calculations') }}
    where is_scored_term and factor_type = 'divisor'

),

sums as (

    select
        factors.person_id,
        factors.payment_year,
        factors.model_version,
        factors.factor_type,
        sum(factors.coefficient) as raw_score
    from factors
    group by factors.person_id, factors.payment_year, factors.model_version, factors.factor_type

),

pieces as (

    select
        sums.person_id,
        sums.payment_year,
        {{ hcc_round3('applied.model_weight * sums.raw_score / applied.normalization_factor') }} as normalized_piece,
        applied.maci
    from sums
    inner join applied
        on applied.participant_id = sums.person_id
        and applied.payment_year = sums.payment_year
        and applied.model_version = sums.model_version

),

expected as (

    select
        person_id,
        payment_year,
        sum(normalized_piece) as normalized_risk_score,
        sum({{ hcc_round3('normalized_piece * (1 - maci)') }}) as payment_risk_score
    from pieces
    group by person_id, payment_year

),

tuva as (

    select tuva.*
    from {{ ref('patient_risk_scores') }} as tuva
    left join divided
        on divided.participant_id = tuva.person_id
        and divided.payment_year = tuva.payment_year
    where divided.participant_id is null

)

select
    tuva.person_id,
    tuva.payment_year,
    tuva.normalized_risk_score,
    expected.normalized_risk_score as expected_normalized_risk_score,
    tuva.payment_risk_score,
    expected.payment_risk_score as expected_payment_risk_score
from tuva
left join expected
    on expected.person_id = tuva.person_id
    and expected.payment_year = tuva.payment_year
where (tuva.normalized_risk_score is null) != (expected.normalized_risk_score is null)
    or abs(tuva.normalized_risk_score - expected.normalized_risk_score) > 0.000001
    or abs(tuva.payment_risk_score - expected.payment_risk_score) > 0.000001
