-- One row per member × payment year × model × HCC: each HCC the engine kept (with its
-- coefficient in the member's segment and the dx codes behind it) and each HCC dropped by a
-- hierarchy (with the kept parent that dropped it).
with calculations as (

    select * from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc

),

dropped as (

    select * from {{ ref('int_member_hccs_dropped') }}

),

labels as (

    select payment_year, model, hcc, label from {{ ref('hcc_labels') }}

),

kept as (

    select
        calculations.participant_id,
        calculations.payment_year,
        calculations.model,
        calculations.segment,
        calculations.hcc,
        calculations.factor as hcc_code,
        calculations.hcc_label,
        'kept' as hcc_status,
        calculations.coefficient,
        -- the engine's own codes (none in a --no-factors run)
        calculations.dx_codes,
        cast(null as {{ dbt.type_int() }}) as dropped_by_hcc,
        cast(null as {{ dbt.type_string() }}) as dropped_by_hcc_code
    from calculations

),

dropped_rows as (

    select
        dropped.participant_id,
        dropped.payment_year,
        dropped.model,
        dropped.segment,
        dropped.hcc,
        dropped.hcc_code,
        labels.label as hcc_label,
        'dropped' as hcc_status,
        cast(null as {{ hcc_type_double() }}) as coefficient,
        dropped.dx_codes,
        dropped.dropped_by_hcc,
        dropped.dropped_by_hcc_code
    from dropped
    left join labels
        on labels.payment_year = dropped.payment_year
        and labels.model = dropped.model
        and labels.hcc = dropped.hcc

),

unioned as (

    select * from kept
    union all
    select * from dropped_rows

),

final as (

    select
        {{ hcc_surrogate_key(['participant_id', 'payment_year', 'model', 'hcc']) }} as member_hcc_key,
        unioned.*
    from unioned

)

select * from final
