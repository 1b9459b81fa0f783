-- Business rule: the engine's terms add up to its raw score per model (Σ terms ÷ the divisor,
-- when an ESRD functioning-graft activity adjustment applies; at most one does). The Tuva
-- marts split raw scores by factor type on that basis. Checked for every model scored for a
-- member whose terms were written (a run with --no-factors writes none).
with models as (

    select participant_id, payment_year, model, raw_score
    from {{ ref('stg_hcc_raw_scores') }}
    where raw_score is not null

),

terms as (

    select
        participant_id,
        payment_year,
        model,
        sum(case when factor_type != 'divisor' then coefficient end) as term_sum,
        max(case when factor_type = 'divisor' then coefficient end) as divisor,
        sum(case when factor_type = 'divisor' then 1 else 0 end) as n_divisors
    from {{ ref('int_hcc_calculations') }}
    where is_scored_term
    group by participant_id, payment_year, model

),

members_with_terms as (

    select distinct participant_id, payment_year from terms

)

select
    models.participant_id,
    models.payment_year,
    models.model,
    models.raw_score,
    terms.term_sum,
    terms.divisor
from models
inner join members_with_terms
    on members_with_terms.participant_id = models.participant_id
    and members_with_terms.payment_year = models.payment_year
left join terms
    on terms.participant_id = models.participant_id
    and terms.payment_year = models.payment_year
    and terms.model = models.model
where coalesce(terms.n_divisors, 0) > 1
    or abs(coalesce(terms.term_sum, 0) / coalesce(terms.divisor, 1) - models.raw_score) > 0.000001
