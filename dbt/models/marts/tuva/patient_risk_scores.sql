-- Tuva Project-compatible cms_hcc.patient_risk_scores: one row per person × payment year, each
-- score column defined as Tuva defines it (docs/dbt.md, "Tuva Project compatibility"). Tuva
-- works per model and factor type: weighted raw = blend weight × the factor type's raw score;
-- normalized = round(weighted raw / NF, 3); payment = round(normalized × (1 − MACI), 3); the
-- model columns, the blend and both adjusted scores are rounded per factor type and summed.
-- The engine's CMS scores (normalize per model, blend, round once) stay in
-- fact_patient_risk_scores and can differ from these by a few thousandths. Inputs are the
-- engine's terms and the parameters it applied (int_risk_adjustments); nothing is re-scored.
with scores as (

    select participant_id, payment_year, scored_at
    from {{ ref('fact_patient_risk_scores') }}
    where is_scored and error is null

),

applied as (

    -- the Part C models the engine blended for the member (MA: V24 and/or V28; PACE and ESRD
    -- populations: their models), with the weight, NF and MACI it used
    select participant_id, payment_year, model, model_weight, normalization_factor, maci
    from {{ ref('int_risk_adjustments') }}
    where part = 'C' and model_weight is not null

),

terms as (

    select
        participant_id,
        payment_year,
        model,
        factor_type as engine_factor_type,
        {{ hcc_tuva_factor_type('factor_type', 'factor') }} as factor_type,
        coefficient
    from {{ ref('int_hcc_calculations') }}
    where is_scored_term

),

divisors as (

    -- ESRD functioning-graft segments divide the summed terms by one activity adjustment, so a
    -- factor type's share of the raw score is its terms' sum / that divisor. Read from the model,
    -- not from `terms`: a CTE referenced twice is materialized by DuckDB (7M rows, ≈ 0.5 s)
    select participant_id, payment_year, model, max(coefficient) as divisor
    from {{ ref('int_hcc_calculations') }}
    where is_scored_term and factor_type = 'divisor'
    group by participant_id, payment_year, model

),

raw_by_factor_type as (

    select participant_id, payment_year, model, factor_type, sum(coefficient) as term_sum
    from terms
    where engine_factor_type != 'divisor'
    group by participant_id, payment_year, model, factor_type

),

weighted as (

    select
        raw_by_factor_type.participant_id,
        raw_by_factor_type.payment_year,
        raw_by_factor_type.model,
        raw_by_factor_type.factor_type,
        applied.model_weight * raw_by_factor_type.term_sum / coalesce(divisors.divisor, 1) as weighted_raw_score,
        applied.normalization_factor,
        applied.maci
    from raw_by_factor_type
    inner join applied
        on applied.participant_id = raw_by_factor_type.participant_id
        and applied.payment_year = raw_by_factor_type.payment_year
        and applied.model = raw_by_factor_type.model
    left join divisors
        on divisors.participant_id = raw_by_factor_type.participant_id
        and divisors.payment_year = raw_by_factor_type.payment_year
        and divisors.model = raw_by_factor_type.model

),

normalized as (

    select
        weighted.*,
        {{ hcc_round3('weighted_raw_score / normalization_factor') }} as normalized_score
    from weighted

),

adjusted as (

    select
        normalized.*,
        {{ hcc_round3('normalized_score * (1 - maci)') }} as payment_score
    from normalized

),

by_factor_type as (

    -- Tuva's patient_risk_scores_monthly_by_factor_type: the models side by side per factor
    -- type, every column rounded to 3 decimals
    select
        participant_id,
        payment_year,
        factor_type,
        {{ hcc_round3("sum(case when model = 'V24' then weighted_raw_score end)") }} as v24_risk_score,
        {{ hcc_round3("sum(case when model = 'V28' then weighted_raw_score end)") }} as v28_risk_score,
        {{ hcc_round3('sum(weighted_raw_score)') }} as blended_risk_score,
        sum(normalized_score) as normalized_risk_score,
        sum(payment_score) as payment_risk_score
    from adjusted
    group by participant_id, payment_year, factor_type

),

by_member as (

    select
        participant_id,
        payment_year,
        sum(v24_risk_score) as v24_risk_score,
        sum(v28_risk_score) as v28_risk_score,
        sum(blended_risk_score) as blended_risk_score,
        sum(normalized_risk_score) as normalized_risk_score,
        sum(payment_risk_score) as payment_risk_score
    from by_factor_type
    group by participant_id, payment_year

),

-- the engine has no enrollment months; Tuva counts the member's months in the payment year
-- (core.member_months) and leaves both columns null when there are none
member_months as (

    select
        participant_id,
        payment_year,
        cast(null as {{ dbt.type_int() }}) as member_months
    from scores

),

final as (

    select
        scores.participant_id as person_id,
        cast(null as {{ dbt.type_string() }}) as payer,
        round(cast(by_member.v24_risk_score as {{ dbt.type_numeric() }}), 3) as v24_risk_score,
        round(cast(by_member.v28_risk_score as {{ dbt.type_numeric() }}), 3) as v28_risk_score,
        round(cast(by_member.blended_risk_score as {{ dbt.type_numeric() }}), 3) as blended_risk_score,
        round(cast(by_member.normalized_risk_score as {{ dbt.type_numeric() }}), 3) as normalized_risk_score,
        round(cast(by_member.payment_risk_score as {{ dbt.type_numeric() }}), 3) as payment_risk_score,
        round(cast(by_member.payment_risk_score * member_months.member_months as {{ dbt.type_numeric() }}), 3)
            as payment_risk_score_weighted_by_months,
        member_months.member_months,
        scores.payment_year,
        scores.scored_at as tuva_last_run
    from scores
    left join by_member
        on by_member.participant_id = scores.participant_id
        and by_member.payment_year = scores.payment_year
    left join member_months
        on member_months.participant_id = scores.participant_id
        and member_months.payment_year = scores.payment_year

)

select * from final
