-- Tuva Project-compatible cms_hcc.patient_risk_factors: one row per person × payment year ×
-- model × factor the engine summed, with Tuva's column names, types and spellings
-- (model_version 'CMS-HCC-V28'; factor_type 'Demographic'/'Disease'/'Interactions'/'Payment HCC
-- Counts'; coefficient a NUMERIC rounded to 3 decimals). Divisor terms (not additive) are left
-- out. Tuva's enrollment/institutional default flags are not produced by the engine (null);
-- medicaid_dual_status_default is the engine's dual_default. patient_risk_scores sums these
-- rows by factor_type, as Tuva does. Beside Tuva's columns: factor (the CMS variable, e.g.
-- HCC37 or F7074; with model_version the grain) and factor_key (md5 of the grain).
with factors as (

    select * from {{ ref('int_hcc_calculations') }}
    where is_scored_term and factor_type != 'divisor'

),

scores as (

    select participant_id, payment_year, orec_default, dual_default, scored_at
    from {{ ref('fact_patient_risk_scores') }}
    where is_scored

),

final as (

    select
        factors.participant_id as person_id,
        cast(null as {{ dbt.type_string() }}) as payer,
        cast(null as {{ dbt.type_boolean() }}) as enrollment_status_default,
        scores.dual_default as medicaid_dual_status_default,
        scores.orec_default,
        cast(null as {{ dbt.type_boolean() }}) as institutional_status_default,
        {{ hcc_tuva_factor_type('factors.factor_type', 'factors.factor') }} as factor_type,
        coalesce(factors.hcc_label, factors.factor) as risk_factor_description,
        round(cast(factors.coefficient as {{ dbt.type_numeric() }}), 3) as coefficient,
        {{ hcc_tuva_model_version('factors.model') }} as model_version,
        factors.payment_year,
        scores.scored_at as tuva_last_run,
        factors.factor,
        {{ hcc_surrogate_key(['factors.participant_id', 'factors.payment_year', 'factors.model', 'factors.factor']) }} as factor_key
    from factors
    inner join scores
        on scores.participant_id = factors.participant_id
        and scores.payment_year = factors.payment_year

)

select * from final
