-- One row per succeeded engine run, compared with the previous succeeded run (by finished_at):
-- members, the average payment score and their changes, and — when `hcc diff --from-run
-- <previous> --to-run <run>` attributed that pair (risk_score_changes) — the rollup by cause:
-- the average change of the attributed members, each group's average contribution (they sum to
-- it) and the members each group dominates (docs/attribution.md "Runs").
-- mean_payment_score_change also moves with members added or removed between the runs;
-- average_change covers only members present in both, with a payment score on both sides.
{%- set groups = ['demographics', 'diagnoses_gained', 'diagnoses_lost', 'model', 'normalization'] %}
{%- set statuses = [('ok', 'members_attributed'), ('added', 'members_added'), ('removed', 'members_removed'), ('error', 'members_not_attributed')] %}
{%- set rollup_columns = [] %}
{%- for status, column in statuses %}{% do rollup_columns.append(column) %}{% endfor %}
{%- do rollup_columns.append('average_change') %}
{%- for g in groups %}{% do rollup_columns.extend(['average_' ~ g, 'members_by_' ~ g]) %}{% endfor %}
{%- do rollup_columns.append('members_unchanged') %}

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

changes as (

    select * from {{ ref('stg_risk_score_changes') }}

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
        from_run_id,
        to_run_id,
        {%- for status, column in statuses %}
        cast(sum(case when change_status = '{{ status }}' then 1 else 0 end) as {{ dbt.type_int() }}) as {{ column }},
        {%- endfor %}
        avg(case when change_status = 'ok' then total_change end) as average_change,
        {%- for g in groups %}
        avg(case when change_status = 'ok' then {{ g }}_part end) as average_{{ g }},
        cast(sum(case when change_status = 'ok' and dominant_cause = '{{ g }}' then 1 else 0 end) as {{ dbt.type_int() }}) as members_by_{{ g }},
        {%- endfor %}
        cast(sum(case when change_status = 'ok' and dominant_cause = 'none' then 1 else 0 end) as {{ dbt.type_int() }}) as members_unchanged
    from changes
    group by from_run_id, to_run_id

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
        {%- for column in rollup_columns %}
        rollup.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from compared
    left join rollup
        on rollup.from_run_id = compared.previous_run_id
        and rollup.to_run_id = compared.run_id

)

select * from final
