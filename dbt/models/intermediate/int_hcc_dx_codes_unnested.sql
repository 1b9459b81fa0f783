-- One row per member × payment year × model × HCC × diagnosis code the engine assigned to
-- that HCC (its crosswalk or an edit), code normalized.
with factors as (

    select * from {{ ref('stg_risk_score_factors') }}
    where factor_type = 'hcc'

),

unnested as (

    select
        factors.participant_id,
        factors.payment_year,
        factors.model,
        factors.hcc,
        {{ hcc_normalize_dx('dx_code_raw') }} as diagnosis_code
    from factors as factors
    {{ hcc_unnest('factors', 'dx_codes_raw', 'dx_code_raw') }}

),

final as (

    select distinct
        {{ hcc_surrogate_key(['participant_id', 'payment_year', 'model', 'hcc', 'diagnosis_code']) }} as hcc_dx_key,
        participant_id,
        payment_year,
        model,
        hcc,
        diagnosis_code
    from unnested
    where diagnosis_code is not null

)

select * from final
