-- One row per member × payment year × scored model: the normalization, blend weight and MA
-- coding pattern adjustment (MACI) the engine applied, with the parameters from the
-- payment-year seed. The engine reports the population whose blend gave each part's score
-- (risk_scores.population, rx_population); the normalization factor is that population's rule
-- for the model's segment, confirmed by reproducing the normalized score. Nothing is re-scored
-- here. What-if models (no population) have null parameters.
with models as (

    select * from {{ ref('stg_hcc_raw_scores') }}

),

params as (

    select * from {{ ref('hcc_payment_year_parameters') }}
    where normalization_factor is not null

),

-- which part each model belongs to (one per model and year), so each model row picks its
-- part's population with a plain equi-join on the parameters
model_parts as (

    select distinct payment_year, model, part from params

),

with_population as (

    select
        models.participant_id,
        models.payment_year,
        models.model,
        models.segment,
        models.raw_score,
        models.normalized_score,
        model_parts.part,
        case when model_parts.part = 'C' then models.population else models.rx_population end as population
    from models
    inner join model_parts
        on model_parts.payment_year = models.payment_year
        and model_parts.model = models.model
    where models.normalized_score is not null

),

applied as (

    select
        with_population.participant_id,
        with_population.payment_year,
        with_population.model,
        params.population,
        params.part,
        params.model_weight,
        params.normalization_factor,
        params.maci
    from with_population
    inner join params
        on params.payment_year = with_population.payment_year
        and params.model = with_population.model
        and params.population = with_population.population
    where (
            (params.nf_segment is null and params.nf_segment_prefix is null)
            or params.nf_segment = with_population.segment
            or with_population.segment like {{ dbt.concat(['params.nf_segment_prefix', "'%'"]) }}
        )
        and abs(with_population.raw_score / params.normalization_factor - with_population.normalized_score) <= 0.0006

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
