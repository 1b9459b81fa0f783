-- One row per member × payment year with a base rate for the member's plan
-- (docs/gap-values.md "Base rates"): the plan's row for the member's county when there is one,
-- else the plan's row with no county. Members without a plan_id, or whose plan has no rate for
-- the year, have no row (fact_hcc_opportunities then keeps the run's flat --base-rate value).
-- The member's county is participants.county_code (optional; stg_participant_counties).

with members as (

    select participant_id, plan_id from {{ ref('stg_participants') }}
    where plan_id is not null

),

counties as (

    select participant_id, county_code from {{ ref('stg_participant_counties') }}

),

rates as (

    select * from {{ ref('stg_plan_base_rates') }}

),

matched as (

    select
        members.participant_id,
        members.plan_id,
        counties.county_code,
        rates.payment_year,
        rates.monthly_base_rate,
        case when rates.county_code is null then 'plan' else 'plan_county' end as base_rate_source,
        row_number() over (
            partition by members.participant_id, rates.payment_year
            order by case when rates.county_code is null then 1 else 0 end
        ) as preference
    from members
    left join counties
        on counties.participant_id = members.participant_id
    inner join rates
        on rates.plan_id = members.plan_id
        and (rates.county_code = counties.county_code or rates.county_code is null)

),

final as (

    select
        {{ hcc_surrogate_key(['participant_id', 'payment_year']) }} as member_base_rate_key,
        participant_id,
        payment_year,
        plan_id,
        county_code,
        monthly_base_rate,
        base_rate_source
    from matched
    where preference = 1

)

select * from final
