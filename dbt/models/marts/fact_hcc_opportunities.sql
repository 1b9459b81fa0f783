-- One row per member × payment year × model × HCC with an open gap: a suspected or previously
-- documented HCC (hcc_opportunities) that is not among the HCCs the engine kept for the member.
-- The gap's value is the engine's exact what-if (risk_score_gap_values, `hcc score --gaps`;
-- docs/gap-values.md): the change in raw, normalized, risk and payment score from adding the HCC
-- alone, after hierarchies, interactions, counts, blend, normalization and the MA coding
-- adjustment, and the annual dollar value: Δ payment score × the monthly base rate of the member's
-- plan and county (plan_base_rates, int_member_base_rates) × 12, else the run's flat --base-rate
-- value, rounded to cents as the engine rounds (docs/gap-values.md "Base rates"). Ranked within the member
-- and within the plan (participants.plan_id; the whole schema when absent). Null values: the run
-- valued no gaps. potential_coefficient (the HCC's coefficient in the member's segment) is kept
-- for comparison only: it overstates gaps below a kept HCC and misses interactions and counts.
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

gap_values as (

    select * from {{ ref('stg_risk_score_gap_values') }}
    where action = 'add'

),

member_base_rates as (

    select participant_id, payment_year, monthly_base_rate, base_rate_source from {{ ref('int_member_base_rates') }}

),

plans as (

    select participant_id, plan_id from {{ ref('stg_participants') }}

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

valued as (

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
        open_gaps.n_opportunity_records,
        gap_values.gap_status,
        gap_values.delta_raw_score,
        gap_values.delta_normalized_score,
        gap_values.delta_risk_score,
        gap_values.delta_payment_score,
        case
            when member_base_rates.monthly_base_rate is not null and gap_values.delta_payment_score is not null
                then floor(gap_values.delta_payment_score * member_base_rates.monthly_base_rate * 12 * 100 + 0.5) / 100
            else gap_values.annual_value
        end as annual_value,
        case
            when member_base_rates.monthly_base_rate is not null and gap_values.delta_payment_score is not null
                then member_base_rates.base_rate_source
            when gap_values.annual_value is not null then 'flat'
        end as base_rate_source,
        gap_values.hccs_displaced,
        gap_values.terms_on,
        plans.plan_id
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
    left join gap_values
        on gap_values.participant_id = open_gaps.participant_id
        and gap_values.payment_year = open_gaps.payment_year
        and gap_values.model = open_gaps.model
        and gap_values.hcc = open_gaps.hcc
    left join plans
        on plans.participant_id = open_gaps.participant_id
    left join member_base_rates
        on member_base_rates.participant_id = open_gaps.participant_id
        and member_base_rates.payment_year = open_gaps.payment_year

),

final as (

    select
        valued.*,
        case when delta_payment_score is not null then row_number() over (
            partition by participant_id, payment_year
            order by case when delta_payment_score is null then 1 else 0 end, delta_payment_score desc, model, hcc
        ) end as value_rank_in_member,
        case when delta_payment_score is not null then row_number() over (
            partition by plan_id, payment_year
            order by case when delta_payment_score is null then 1 else 0 end, delta_payment_score desc, participant_id, model, hcc
        ) end as value_rank_in_plan
    from valued

)

select * from final
