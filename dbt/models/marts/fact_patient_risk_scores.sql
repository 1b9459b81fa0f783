-- One row per member × payment year scored: every participant appears for every payment year
-- the warehouse holds results for (is_scored false when the run had no row for the member).
-- Scores are the engine's; per-model columns are pivoted from stg_hcc_raw_scores over
-- var('hcc_model_ids'), with the Part C population and parameters from int_risk_adjustments.
with participants as (

    select participant_id from {{ ref('stg_participants') }}

),

payment_years as (

    select distinct payment_year from {{ ref('stg_risk_scores') }}

),

scores as (

    select * from {{ ref('stg_risk_scores') }}

),

adjustments as (

    select * from {{ ref('int_risk_adjustments') }}

),

part_c as (

    select
        participant_id,
        payment_year,
        max(population) as part_c_population,
        max(maci) as maci
    from adjustments
    where part = 'C'
    group by participant_id, payment_year

),

part_d as (

    select participant_id, payment_year, max(population) as part_d_population
    from adjustments
    where part = 'D'
    group by participant_id, payment_year

),

per_model as (

    select
        participant_id,
        payment_year,
        {%- for m in var('hcc_model_ids') %}
        max(case when model = '{{ m }}' then segment end) as {{ m | lower }}_segment,
        max(case when model = '{{ m }}' then raw_score end) as {{ m | lower }}_raw_score,
        max(case when model = '{{ m }}' then normalized_score end) as {{ m | lower }}_normalized_score,
        {%- endfor %}
        count(*) as n_models_scored
    from adjustments
    group by participant_id, payment_year

),

hcc_counts as (

    select participant_id, payment_year, count(*) as n_kept_hccs
    from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc
    group by participant_id, payment_year

),

runs as (

    select run_id, engine_version, data_version, finished_at from {{ ref('stg_score_runs') }}

),

final as (

    select
        {{ hcc_surrogate_key(['participants.participant_id', 'payment_years.payment_year']) }} as member_year_key,
        participants.participant_id,
        payment_years.payment_year,
        scores.participant_id is not null as is_scored,
        scores.risk_score,
        scores.payment_score,
        scores.rx_risk_score,
        part_c.part_c_population,
        part_c.maci,
        part_d.part_d_population,
        {%- for m in var('hcc_model_ids') %}
        per_model.{{ m | lower }}_segment,
        per_model.{{ m | lower }}_raw_score,
        per_model.{{ m | lower }}_normalized_score,
        {%- endfor %}
        coalesce(per_model.n_models_scored, 0) as n_models_scored,
        coalesce(hcc_counts.n_kept_hccs, 0) as n_kept_hccs,
        scores.dx_malformed,
        scores.dx_unmapped,
        scores.edits_applied,
        scores.error,
        scores.orec_default,
        scores.dual_default,
        scores.rx_plan_default,
        scores.run_id,
        runs.engine_version,
        runs.data_version,
        runs.finished_at as scored_at
    from participants
    cross join payment_years
    left join scores
        on scores.participant_id = participants.participant_id
        and scores.payment_year = payment_years.payment_year
    left join part_c
        on part_c.participant_id = participants.participant_id
        and part_c.payment_year = payment_years.payment_year
    left join part_d
        on part_d.participant_id = participants.participant_id
        and part_d.payment_year = payment_years.payment_year
    left join per_model
        on per_model.participant_id = participants.participant_id
        and per_model.payment_year = payment_years.payment_year
    left join hcc_counts
        on hcc_counts.participant_id = participants.participant_id
        and hcc_counts.payment_year = payment_years.payment_year
    left join runs
        on runs.run_id = scores.run_id

)

select * from final
