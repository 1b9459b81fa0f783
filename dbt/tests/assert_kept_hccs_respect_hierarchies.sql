-- Business rule: the engine never keeps an HCC together with a hierarchy parent that drops it
-- (hierarchy seed). A row here is a kept child whose parent is also kept.
with kept as (

    select participant_id, payment_year, model, hcc
    from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc

)

select
    child.participant_id,
    child.payment_year,
    child.model,
    child.hcc as child_hcc,
    parent.hcc as parent_hcc
from kept as child
inner join {{ ref('hcc_hierarchies') }} as hierarchies
    on hierarchies.payment_year = child.payment_year
    and hierarchies.model = child.model
    and hierarchies.child_hcc = child.hcc
inner join kept as parent
    on parent.participant_id = child.participant_id
    and parent.payment_year = child.payment_year
    and parent.model = child.model
    and parent.hcc = hierarchies.parent_hcc
