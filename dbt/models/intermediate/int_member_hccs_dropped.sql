-- One row per member × payment year × model × HCC a hierarchy dropped: the engine's own
-- hcc_dropped rows of risk_score_factors (the CC its codes set, zeroed by a hierarchy rule; with
-- the codes behind it), each with the kept parent that outranks it. When several kept parents
-- do, the first in the published hierarchy order is reported; a CC whose dropping parent was
-- itself dropped and that no kept HCC lists as a child has a null parent (docs/dbt.md).
with dropped as (

    select participant_id, payment_year, model, segment, hcc, factor as hcc_code, dx_codes_raw
    from {{ ref('stg_risk_score_factors') }}
    where factor_type = 'hcc_dropped'

),

kept as (

    select participant_id, payment_year, model, hcc, factor as hcc_code
    from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc

),

hierarchies as (

    select * from {{ ref('hcc_hierarchies') }}

),

parents as (

    select
        dropped.participant_id,
        dropped.payment_year,
        dropped.model,
        dropped.hcc,
        hierarchies.parent_hcc as dropped_by_hcc,
        hierarchies.parent_hcc_code as dropped_by_hcc_code,
        row_number() over (
            partition by dropped.participant_id, dropped.payment_year, dropped.model, dropped.hcc
            order by hierarchies.hierarchy_order, hierarchies.parent_hcc
        ) as parent_rank
    from dropped
    inner join hierarchies
        on hierarchies.payment_year = dropped.payment_year
        and hierarchies.model = dropped.model
        and hierarchies.child_hcc = dropped.hcc
    inner join kept
        on kept.participant_id = dropped.participant_id
        and kept.payment_year = dropped.payment_year
        and kept.model = dropped.model
        and kept.hcc = hierarchies.parent_hcc

),

final as (

    select
        dropped.participant_id,
        dropped.payment_year,
        dropped.model,
        dropped.segment,
        dropped.hcc,
        dropped.hcc_code,
        {{ hcc_dx_list_text('dropped.dx_codes_raw') }} as dx_codes,
        parents.dropped_by_hcc,
        parents.dropped_by_hcc_code
    from dropped
    left join parents
        on parents.participant_id = dropped.participant_id
        and parents.payment_year = dropped.payment_year
        and parents.model = dropped.model
        and parents.hcc = dropped.hcc
        and parents.parent_rank = 1

)

select * from final
