-- The Tuva-compatible scores against the Tuva-compatible factor rows, in one pass over them (each
-- check below read patient_risk_factors, a 7M-row view on DuckDB, on its own before; docs/dbt.md
-- "Performance"). A row here names the check it fails (failed_check):
--
-- sum_of_pieces — Tuva's definition (cms_hcc__patient_risk_scores_monthly_by_factor_type): per
--   model and factor type, normalized = round(weight × Σ coefficients / NF, 3) and payment =
--   round(normalized × (1 − MACI), 3); normalized_risk_score and payment_risk_score are the sums
--   of those pieces, recomputed here from the patient_risk_factors rows. Members with a divisor
--   term (ESRD functioning graft: the rows are not additive) are left out.
-- model_columns — Tuva's v24/v28_risk_score are blend weight × the model's raw (not normalized)
--   score, rounded per factor type (so within 0.0005 per factor type), and null when the model
--   is not in the member's blend; blended_risk_score is their sum up to the same rounding (0.001
--   per factor type) when V24/V28 are the whole blend. A failure means a model column holds
--   something else, e.g. weight × the normalized score.
with factors as (

    select person_id, payment_year, model_version, factor_type, coefficient
    from {{ ref('patient_risk_factors') }}

),

sums as (

    select person_id, payment_year, model_version, factor_type, sum(coefficient) as raw_score
    from factors
    group by person_id, payment_year, model_version, factor_type

),

applied as (

    select
        participant_id,
        payment_year,
        model,
        {{ hcc_tuva_model_version('model') }} as model_version,
        raw_score,
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

factor_types as (

    select person_id, payment_year, count(distinct factor_type) as n_factor_types
    from sums
    group by person_id, payment_year

),

blend as (

    select
        participant_id,
        payment_year,
        max(case when model = 'V24' then model_weight * raw_score end) as v24_weighted_raw_score,
        max(case when model = 'V28' then model_weight * raw_score end) as v28_weighted_raw_score,
        sum(case when model in ('V24', 'V28') then 0 else 1 end) as n_other_models
    from applied
    group by participant_id, payment_year

),

compared as (

    select
        tuva.person_id,
        tuva.payment_year,
        tuva.normalized_risk_score,
        expected.normalized_risk_score as expected_normalized_risk_score,
        tuva.payment_risk_score,
        expected.payment_risk_score as expected_payment_risk_score,
        divided.participant_id is not null as has_divisor,
        tuva.v24_risk_score,
        blend.v24_weighted_raw_score,
        tuva.v28_risk_score,
        blend.v28_weighted_raw_score,
        tuva.blended_risk_score,
        blend.participant_id is not null and factor_types.person_id is not null as in_blend,
        blend.n_other_models,
        factor_types.n_factor_types
    from {{ ref('patient_risk_scores') }} as tuva
    left join expected
        on expected.person_id = tuva.person_id
        and expected.payment_year = tuva.payment_year
    left join divided
        on divided.participant_id = tuva.person_id
        and divided.payment_year = tuva.payment_year
    left join blend
        on blend.participant_id = tuva.person_id
        and blend.payment_year = tuva.payment_year
    left join factor_types
        on factor_types.person_id = tuva.person_id
        and factor_types.payment_year = tuva.payment_year

),

failed as (

    select
        compared.*,
        not has_divisor and (
            (normalized_risk_score is null) != (expected_normalized_risk_score is null)
            or abs(normalized_risk_score - expected_normalized_risk_score) > 0.000001
            or abs(payment_risk_score - expected_payment_risk_score) > 0.000001
        ) as fails_sum_of_pieces,
        in_blend and (
            (v24_risk_score is null) != (v24_weighted_raw_score is null)
            or (v28_risk_score is null) != (v28_weighted_raw_score is null)
            or abs(v24_risk_score - v24_weighted_raw_score) > 0.0005 * n_factor_types + 0.000001
            or abs(v28_risk_score - v28_weighted_raw_score) > 0.0005 * n_factor_types + 0.000001
            or (
                n_other_models = 0
                and abs(blended_risk_score - coalesce(v24_risk_score, 0) - coalesce(v28_risk_score, 0))
                    > 0.001 * n_factor_types + 0.000001
            )
        ) as fails_model_columns
    from compared

)

select
    case
        when fails_sum_of_pieces and fails_model_columns then 'sum_of_pieces, model_columns'
        when fails_sum_of_pieces then 'sum_of_pieces'
        else 'model_columns'
    end as failed_check,
    *
from failed
where fails_sum_of_pieces or fails_model_columns
