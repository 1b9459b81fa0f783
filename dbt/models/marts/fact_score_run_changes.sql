-- One row per succeeded engine run, compared with the previous succeeded run (by finished_at):
-- members, the average payment score and their changes, and — when `hcc diff --from-run
-- <previous> --to-run <run>` attributed that pair (risk_score_changes) — the rollup by cause:
-- the average change of the attributed members, each group's average contribution (they sum to
-- it) and the members each group dominates (docs/attribution.md "Runs").
-- mean_payment_score_change also moves with members added or removed between the runs;
-- average_change covers only members present in both, with a payment score on both sides.

with runs as (

    select
        run_id,
        finished_at,
        payment_year,
        members_in
    from {{ ref('stg_score_runs') }}
    where status = 'succeeded'

),

summaries as (

    select
        run_id,
        mean_payment_score
    from {{ ref('stg_score_run_summaries') }}

),

sums as (

    select * from {{ ref('int_score_run_change_sums') }}

),

compared as (

    select
        runs.run_id,
        runs.finished_at,
        runs.payment_year,
        runs.members_in,
        summaries.mean_payment_score,
        lag(runs.run_id) over (order by runs.finished_at, runs.run_id) as previous_run_id,
        lag(runs.payment_year) over (order by runs.finished_at, runs.run_id) as previous_payment_year,
        lag(runs.members_in) over (order by runs.finished_at, runs.run_id) as previous_members_in,
        lag(summaries.mean_payment_score) over (order by runs.finished_at, runs.run_id) as previous_mean_payment_score
    from runs
    left join summaries
        on summaries.run_id = runs.run_id

),

rollup as (

    select
        sums.from_run_id,
        sums.to_run_id,
        {{- hcc_attribution_rollup('sums', summed=true) }}
    from sums
    group by sums.from_run_id, sums.to_run_id

),

final as (

    select
        compared.run_id,
        compared.previous_run_id,
        compared.finished_at,
        compared.payment_year,
        compared.previous_payment_year,
        compared.members_in,
        compared.previous_members_in,
        compared.members_in - compared.previous_members_in as members_in_change,
        compared.mean_payment_score,
        compared.previous_mean_payment_score,
        compared.mean_payment_score - compared.previous_mean_payment_score as mean_payment_score_change,
        rollup.to_run_id is not null as is_attributed,
        {%- for c in hcc_attribution_rollup_columns() %}
        rollup.{{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
    from compared
    left join rollup
        on rollup.from_run_id = compared.previous_run_id
        and rollup.to_run_id = compared.run_id

)

select * from final
