-- One row per payment year × model × (parent HCC, child HCC): when the member has the parent,
-- the child is dropped. hierarchy_order is the parent's position in the published table.
with hierarchies as (

    select * from {{ ref('hcc_hierarchies') }}

),

labels as (

    select payment_year, model, hcc, label from {{ ref('hcc_labels') }}

),

final as (

    select
        {{ hcc_surrogate_key(['hierarchies.payment_year', 'hierarchies.model', 'hierarchies.parent_hcc', 'hierarchies.child_hcc']) }} as hierarchy_key,
        hierarchies.payment_year,
        hierarchies.model,
        hierarchies.parent_hcc,
        hierarchies.parent_hcc_code,
        parent_labels.label as parent_label,
        hierarchies.child_hcc,
        hierarchies.child_hcc_code,
        child_labels.label as child_label,
        hierarchies.hierarchy_order
    from hierarchies
    left join labels as parent_labels
        on parent_labels.payment_year = hierarchies.payment_year
        and parent_labels.model = hierarchies.model
        and parent_labels.hcc = hierarchies.parent_hcc
    left join labels as child_labels
        on child_labels.payment_year = hierarchies.payment_year
        and child_labels.model = hierarchies.model
        and child_labels.hcc = hierarchies.child_hcc

)

select * from final
