-- One row per member × payment year scored: every participant appears for every payment year
-- the warehouse holds results for (is_scored false when the run had no row for the member).
-- Scores are the engine's; the per-model columns over var('hcc_model_ids') are the engine's
-- own wide columns (stg_risk_scores; pivoting stg_hcc_raw_scores back cost a 2M-row group-by),
-- with the populations the engine reports and the Part C MACI from the payment-year seed.
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
        scores.{{ m | lower }}_segment,
        scores.{{ m | lower }}_raw_score,
        scores.{{ m | lower }}_normalized_score,
        {%- endfor %}
        coalesce(scores.n_models_scored, 0) as n_models_scored,
        coalesce(scores.n_kept_hccs, 0) as n_kept_hccs,
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
    left join runs
        on runs.run_id = scores.run_id

)

select * from final
