-- One row per member × payment year × model × factor: every term the engine summed (HCCs,
-- demographic cells, interactions, counts, bonuses, divisors) and every HCC it kept (a kept HCC
-- with no term, in a segment that does not score HCCs, still has a row), labels from the seed
-- and the codes behind each HCC.
with kept as (

{{ hcc_unnest_select(
    relation=ref('stg_hcc_raw_scores'),
    columns=['participant_id', 'payment_year', 'model', 'segment', 'run_id'],
    list_column='hcc_codes',
    value_alias='hcc_code'
) }}

),

-- the engine's terms and the kept HCCs of segments that score none (hcc_unscored: no term, but
-- the codes behind the HCC); hierarchy drops are int_member_hccs_dropped's
factors as (

    select * from {{ ref('stg_risk_score_factors') }}
    where factor_type <> 'hcc_dropped'

),

labels as (

    select payment_year, model, hcc, hcc_code, label from {{ ref('hcc_labels') }}

),

-- With the engine's factor rows, every kept HCC is a row (a term, or hcc_unscored), so they are
-- the whole model: no join with the kept-HCC lists. A --no-factors run wrote none; its kept HCCs
-- come from risk_scores' lists, without terms or codes.
joined as (

    select
        participant_id,
        payment_year,
        model,
        segment,
        factor,
        case when factor_type = 'hcc_unscored' then 'hcc' else factor_type end as factor_type,
        hcc,
        case when factor_type <> 'hcc_unscored' then coefficient end as coefficient,
        factor_type in ('hcc', 'hcc_unscored') as is_kept_hcc,
        factor_type <> 'hcc_unscored' as is_scored_term,
        -- the codes behind an HCC, from the engine's own list on its row (normalized, sorted,
        -- distinct)
        case when factor_type in ('hcc', 'hcc_unscored') then {{ hcc_dx_list_text('dx_codes_raw') }} end as dx_codes,
        run_id
    from factors

    union all

    select
        participant_id,
        payment_year,
        model,
        segment,
        hcc_code as factor,
        'hcc' as factor_type,
        {{ hcc_trailing_number('hcc_code') }} as hcc,
        cast(null as {{ hcc_type_double() }}) as coefficient,
        true as is_kept_hcc,
        false as is_scored_term,
        cast(null as {{ dbt.type_string() }}) as dx_codes,
        run_id
    from kept
    -- the relation itself, not the factors CTE: a second reference would make DuckDB materialize
    -- that CTE (7.5M rows with their code lists) before the union
    where not exists (select 1 from {{ ref('stg_risk_score_factors') }})

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
