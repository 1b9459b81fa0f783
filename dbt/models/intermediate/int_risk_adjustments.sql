-- One row per member × payment year × scored model: the normalization, blend weight and MA
-- coding pattern adjustment (MACI) the engine applied, with the parameters from the
-- payment-year seed. The population is identified from the engine's output (which models it
-- normalized, and which normalization factor reproduces each normalized score); nothing is
-- re-scored here. What-if models (no population) have null parameters.
with models as (

    select * from {{ ref('stg_hcc_raw_scores') }}

),

params as (

    select * from {{ ref('hcc_payment_year_parameters') }}
    where normalization_factor is not null

),

population_sizes as (

    select payment_year, population, count(distinct model) as n_models
    from params
    group by payment_year, population

),

model_parts as (

    select distinct payment_year, model, part from params

),

member_part_sizes as (

    select models.participant_id, models.payment_year, model_parts.part, count(distinct models.model) as n_models
    from models
    inner join model_parts
        on model_parts.payment_year = models.payment_year
        and model_parts.model = models.model
    where models.normalized_score is not null
    group by models.participant_id, models.payment_year, model_parts.part

),

candidates as (

    select
        models.participant_id,
        models.payment_year,
        models.model,
        params.population,
        params.population_order,
        params.part,
        params.model_weight,
        params.normalization_factor,
        params.maci
    from models
    inner join params
        on params.payment_year = models.payment_year
        and params.model = models.model
        and (
            (params.nf_segment is null and params.nf_segment_prefix is null)
            or params.nf_segment = models.segment
            or models.segment like {{ dbt.concat(['params.nf_segment_prefix', "'%'"]) }}
        )
    where models.normalized_score is not null
        and abs(models.raw_score / params.normalization_factor - models.normalized_score) <= 0.0006

),

populations as (

    select
        candidates.participant_id,
        candidates.payment_year,
        candidates.part,
        candidates.population,
        row_number() over (
            partition by candidates.participant_id, candidates.payment_year, candidates.part
            order by min(candidates.population_order)
        ) as population_rank
    from candidates
    inner join population_sizes
        on population_sizes.payment_year = candidates.payment_year
        and population_sizes.population = candidates.population
    inner join member_part_sizes
        on member_part_sizes.participant_id = candidates.participant_id
        and member_part_sizes.payment_year = candidates.payment_year
        and member_part_sizes.part = candidates.part
    group by candidates.participant_id, candidates.payment_year, candidates.part, candidates.population,
        population_sizes.n_models, member_part_sizes.n_models
    having count(distinct candidates.model) = population_sizes.n_models
        and count(distinct candidates.model) = member_part_sizes.n_models

),

applied as (

    select candidates.*
    from candidates
    inner join populations
        on populations.participant_id = candidates.participant_id
        and populations.payment_year = candidates.payment_year
        and populations.part = candidates.part
        and populations.population = candidates.population
        and populations.population_rank = 1

),

joined as (

    select
        models.participant_id,
        models.payment_year,
        models.model,
        models.segment,
        models.raw_score,
        models.normalized_score,
        applied.part,
        applied.population,
        applied.model_weight,
        applied.normalization_factor,
        applied.maci,
        applied.model_weight * models.normalized_score as weighted_normalized_score,
        models.run_id
    from models
    left join applied
        on applied.participant_id = models.participant_id
        and applied.payment_year = models.payment_year
        and applied.model = models.model

),

final as (

    select
        joined.*,
        sum(weighted_normalized_score) over (partition by participant_id, payment_year, part) as blended_score,
        round(sum(weighted_normalized_score) over (partition by participant_id, payment_year, part), 3)
            as blended_score_rounded,
        round(
            round(sum(weighted_normalized_score) over (partition by participant_id, payment_year, part), 3)
            * (1 - maci), 3
        ) as payment_score_reconstructed
    from joined

)

select * from final
