-- One row per member × payment year × model × HCC with an open gap: a suspected or previously
-- documented HCC (hcc_opportunities) that is not among the HCCs the engine kept for the member.
-- potential_coefficient is the HCC's coefficient in the member's segment (the value of closing
-- the gap before interactions, counts and hierarchies; informational only).
with opportunities as (

    select * from {{ ref('stg_hcc_opportunities') }}
    where hcc is not null

),

kept as (

    select participant_id, payment_year, model, hcc
    from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc

),

segments as (

    select participant_id, payment_year, model, segment from {{ ref('stg_hcc_raw_scores') }}

),

coefficients as (

    select payment_year, model, segment, hcc, coefficient from {{ ref('hcc_coefficients') }}
    where hcc is not null

),

labels as (

    select payment_year, model, hcc, hcc_code, label from {{ ref('hcc_labels') }}

),

open_gaps as (

    select
        opportunities.participant_id,
        opportunities.payment_year,
        opportunities.model,
        opportunities.hcc,
        {{ hcc_listagg_sorted('opportunities.opportunity_source', "', '") }} as opportunity_sources,
        {{ hcc_listagg_sorted('opportunities.evidence', "'; '") }} as evidence,
        count(*) as n_opportunity_records
    from opportunities
    left join kept
        on kept.participant_id = opportunities.participant_id
        and kept.payment_year = opportunities.payment_year
        and kept.model = opportunities.model
        and kept.hcc = opportunities.hcc
    where kept.hcc is null
    group by opportunities.participant_id, opportunities.payment_year, opportunities.model, opportunities.hcc

),

final as (

    select
        {{ hcc_surrogate_key(['open_gaps.participant_id', 'open_gaps.payment_year', 'open_gaps.model', 'open_gaps.hcc']) }} as opportunity_key,
        open_gaps.participant_id,
        open_gaps.payment_year,
        open_gaps.model,
        open_gaps.hcc,
        labels.hcc_code,
        labels.label as hcc_label,
        segments.segment,
        coefficients.coefficient as potential_coefficient,
        open_gaps.opportunity_sources,
        open_gaps.evidence,
        open_gaps.n_opportunity_records
    from open_gaps
    left join labels
        on labels.payment_year = open_gaps.payment_year
        and labels.model = open_gaps.model
        and labels.hcc = open_gaps.hcc
    left join segments
        on segments.participant_id = open_gaps.participant_id
        and segments.payment_year = open_gaps.payment_year
        and segments.model = open_gaps.model
    left join coefficients
        on coefficients.payment_year = open_gaps.payment_year
        and coefficients.model = open_gaps.model
        and coefficients.segment = segments.segment
        and coefficients.hcc = open_gaps.hcc

)

select * from final
