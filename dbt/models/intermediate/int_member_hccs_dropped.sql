-- One row per member × payment year × model × HCC dropped by a hierarchy: a CC the member's
-- codes imply (crosswalk seed) that the engine did not keep, while one of its hierarchy parents
-- (hierarchy seed) was kept. When several kept parents outrank it, the first in the published
-- hierarchy order is reported. CCs lost to an MCE edit whose parent is also kept are
-- indistinguishable here and reported as dropped (docs/dbt.md).
with implied as (

    select * from {{ ref('int_member_ccs_implied') }}

),

kept as (

    select participant_id, payment_year, model, hcc, factor as hcc_code
    from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc

),

hierarchies as (

    select * from {{ ref('hcc_hierarchies') }}

),

not_kept as (

    select implied.*
    from implied
    left join kept
        on kept.participant_id = implied.participant_id
        and kept.payment_year = implied.payment_year
        and kept.model = implied.model
        and kept.hcc = implied.cc
    where kept.hcc is null

),

outranked as (

    select
        not_kept.participant_id,
        not_kept.payment_year,
        not_kept.model,
        not_kept.cc as hcc,
        not_kept.hcc_code,
        not_kept.dx_codes,
        hierarchies.parent_hcc as dropped_by_hcc,
        hierarchies.parent_hcc_code as dropped_by_hcc_code,
        row_number() over (
            partition by not_kept.participant_id, not_kept.payment_year, not_kept.model, not_kept.cc
            order by hierarchies.hierarchy_order, hierarchies.parent_hcc
        ) as parent_rank
    from not_kept
    inner join hierarchies
        on hierarchies.payment_year = not_kept.payment_year
        and hierarchies.model = not_kept.model
        and hierarchies.child_hcc = not_kept.cc
    inner join kept
        on kept.participant_id = not_kept.participant_id
        and kept.payment_year = not_kept.payment_year
        and kept.model = not_kept.model
        and kept.hcc = hierarchies.parent_hcc

),

final as (

    select
        participant_id,
        payment_year,
        model,
        hcc,
        hcc_code,
        dx_codes,
        dropped_by_hcc,
        dropped_by_hcc_code
    from outranked
    where parent_rank = 1

)

select * from final
