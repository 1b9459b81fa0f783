-- Sums of `hcc diff --from-run/--to-run` rows (risk_score_changes) per run pair and plan
-- (participants.plan_id as it is now; null: no plan): member counts by status and by dominant
-- cause, and the sums of the change and of each group's part over the attributed members, from
-- which the marts take averages for a plan or the whole run (docs/attribution.md "Runs").
with changes as (

    select * from {{ ref('stg_risk_score_changes') }}

),

plans as (

    select participant_id, plan_id from {{ ref('stg_participants') }}

),

final as (

    select
        {{ hcc_surrogate_key(['changes.from_run_id', 'changes.to_run_id', 'plans.plan_id']) }} as run_pair_plan_key,
        changes.from_run_id,
        changes.to_run_id,
        plans.plan_id,
        {%- for status, column in [('ok', 'members_attributed'), ('added', 'members_added'), ('removed', 'members_removed'), ('error', 'members_not_attributed')] %}
        cast(sum(case when changes.change_status = '{{ status }}' then 1 else 0 end) as {{ dbt.type_int() }}) as {{ column }},
        {%- endfor %}
        sum(case when changes.change_status = 'ok' then changes.total_change end) as sum_change,
        {%- for g in hcc_attribution_groups() %}
        sum(case when changes.change_status = 'ok' then changes.{{ g }}_part end) as sum_{{ g }},
        cast(sum(case when changes.change_status = 'ok' and changes.dominant_cause = '{{ g }}' then 1 else 0 end) as {{ dbt.type_int() }}) as members_by_{{ g }},
        {%- endfor %}
        cast(sum(case when changes.change_status = 'ok' and changes.dominant_cause = 'none' then 1 else 0 end) as {{ dbt.type_int() }}) as members_unchanged
    from changes
    left join plans
        on plans.participant_id = changes.participant_id
    group by changes.from_run_id, changes.to_run_id, plans.plan_id

)

select * from final
