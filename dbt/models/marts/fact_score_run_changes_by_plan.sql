-- One row per attributed run pair (`hcc diff --from-run <previous> --to-run <run>`, the previous
-- succeeded run) and plan: the rollup by cause of fact_score_run_changes split by
-- participants.plan_id (the member's plan as it is now; null: members without one). Empty until
-- such a pair is attributed (docs/attribution.md "Runs").
with runs as (

    select run_id, previous_run_id, payment_year, previous_payment_year
    from {{ ref('fact_score_run_changes') }}
    where is_attributed

),

sums as (

    select * from {{ ref('int_score_run_change_sums') }}

),

final as (

    select
        {{ hcc_surrogate_key(['runs.run_id', 'sums.plan_id']) }} as run_plan_key,
        runs.run_id,
        runs.previous_run_id,
        sums.plan_id,
        runs.payment_year,
        runs.previous_payment_year,
        {{- hcc_attribution_rollup('sums', summed=false) }}
    from runs
    inner join sums
        on sums.from_run_id = runs.previous_run_id
        and sums.to_run_id = runs.run_id

)

select * from final
