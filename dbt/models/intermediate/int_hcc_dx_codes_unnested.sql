-- One row per member × payment year × model × HCC × diagnosis code the engine assigned to
-- that HCC (its crosswalk or an edit), code normalized.
with unnested as (

{{ hcc_unnest_select(
    relation=ref('stg_risk_score_factors'),
    columns=['participant_id', 'payment_year', 'model', 'hcc'],
    list_column='dx_codes_raw',
    value_alias='dx_code_raw',
    where_clause="factor_type in ('hcc', 'hcc_unscored')"
) }}

),

normalized as (

    select distinct
        participant_id,
        payment_year,
        model,
        hcc,
        {{ hcc_normalize_dx('dx_code_raw') }} as diagnosis_code
    from unnested

),

final as (

    select
        participant_id,
        payment_year,
        model,
        hcc,
        diagnosis_code
    from normalized
    where diagnosis_code is not null

)

select * from final
