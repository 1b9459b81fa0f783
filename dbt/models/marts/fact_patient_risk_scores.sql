-- One row per member × payment year scored: every participant appears for every payment year
-- the warehouse holds results for (is_scored false when the run had no row for the member).
-- Scores are the engine's; per-model columns are pivoted from stg_hcc_raw_scores over
-- var('hcc_model_ids'), with the populations the engine reports and the Part C MACI from the
-- payment-year seed.
with participants as (

    select participant_id from {{ ref('stg_participants') }}

),

payment_years as (

    select distinct payment_year from {{ ref('stg_risk_scores') }}

),

scores as (

    select * from {{ ref('stg_risk_scores') }}

),

-- the MA coding pattern adjustment of each Part C population (the engine reports which
-- population blended each member's score: risk_scores.population / rx_population)
population_maci as (

    select distinct payment_year, population, maci
    from {{ ref('hcc_payment_year_parameters') }}
    where part = 'C'

),

-- the per-model columns and the kept-HCC count from the unpivoted scores (the count is the
-- lengths of the engine's HCC lists: the rows of int_hcc_calculations with is_kept_hcc)
per_model as (

    select
        participant_id,
        payment_year,
        {%- for m in var('hcc_model_ids') %}
        max(case when model = '{{ m }}' then segment end) as {{ m | lower }}_segment,
        max(case when model = '{{ m }}' then raw_score end) as {{ m | lower }}_raw_score,
        max(case when model = '{{ m }}' then normalized_score end) as {{ m | lower }}_normalized_score,
        {%- endfor %}
        count(*) as n_models_scored,
        sum({{ hcc_list_length('hcc_codes') }}) as n_kept_hccs
    from {{ ref('stg_hcc_raw_scores') }}
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
        scores.population as part_c_population,
        population_maci.maci,
        scores.rx_population as part_d_population,
        {%- for m in var('hcc_model_ids') %}
        per_model.{{ m | lower }}_segment,
        per_model.{{ m | lower }}_raw_score,
        per_model.{{ m | lower }}_normalized_score,
        {%- endfor %}
        coalesce(per_model.n_models_scored, 0) as n_models_scored,
        coalesce(per_model.n_kept_hccs, 0) as n_kept_hccs,
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
    left join population_maci
        on population_maci.payment_year = scores.payment_year
        and population_maci.population = scores.population
    left join per_model
        on per_model.participant_id = participants.participant_id
        and per_model.payment_year = payment_years.payment_year
    left join runs
        on runs.run_id = scores.run_id

)

select * from final
