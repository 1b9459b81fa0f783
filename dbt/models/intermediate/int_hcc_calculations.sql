-- One row per member × payment year × model × factor: every term the engine summed (HCCs,
-- demographic cells, interactions, counts, bonuses, divisors) joined with the HCCs it kept
-- (a kept HCC with no term, e.g. in a segment that does not score HCCs, still has a row),
-- labels from the seed and the codes behind each HCC.
with kept as (

{{ hcc_unnest_select(
    relation=ref('stg_hcc_raw_scores'),
    columns=['participant_id', 'payment_year', 'model', 'segment', 'run_id'],
    list_column='hcc_codes',
    value_alias='hcc_code'
) }}

),

factors as (

    select * from {{ ref('stg_risk_score_factors') }}

),

labels as (

    select payment_year, model, hcc, hcc_code, label from {{ ref('hcc_labels') }}

),

joined as (

    select
        coalesce(factors.participant_id, kept.participant_id) as participant_id,
        coalesce(factors.payment_year, kept.payment_year) as payment_year,
        coalesce(factors.model, kept.model) as model,
        coalesce(factors.segment, kept.segment) as segment,
        coalesce(factors.factor, kept.hcc_code) as factor,
        coalesce(factors.factor_type, 'hcc') as factor_type,
        coalesce(factors.hcc, {{ hcc_trailing_number('kept.hcc_code') }}) as hcc,
        factors.coefficient,
        kept.hcc_code is not null as is_kept_hcc,
        factors.factor is not null as is_scored_term,
        -- the codes behind an HCC term, from the engine's own list on the term (normalized,
        -- sorted, distinct); a kept HCC with no term has none
        case when factors.factor_type = 'hcc' then {{ hcc_dx_list_text('factors.dx_codes_raw') }} end as dx_codes,
        coalesce(factors.run_id, kept.run_id) as run_id
    from factors
    full outer join kept
        on kept.participant_id = factors.participant_id
        and kept.payment_year = factors.payment_year
        and kept.model = factors.model
        and kept.hcc_code = factors.factor

),

final as (

    select
        joined.participant_id,
        joined.payment_year,
        joined.model,
        joined.segment,
        joined.factor,
        joined.factor_type,
        joined.hcc,
        case when joined.factor_type = 'hcc' then labels.label end as hcc_label,
        joined.coefficient,
        joined.is_kept_hcc,
        joined.is_scored_term,
        joined.dx_codes,
        joined.run_id
    from joined
    left join labels
        on labels.payment_year = joined.payment_year
        and labels.model = joined.model
        and labels.hcc = joined.hcc

)

select * from final
