-- One row per member × payment year × model × HCC in either our kept HCCs or CMS's Model
-- Output Report (hcc_participant): 'matched', 'only_ours' or 'only_cms'. Compared only for the
-- payment year × model pairs both sides report, so a model CMS does not send (e.g. RxHCC in
-- a Part C MOR) is not flagged as ours-only.
with ours as (

    select participant_id, payment_year, model, hcc
    from {{ ref('int_hcc_calculations') }}
    where is_kept_hcc

),

cms as (

    select participant_id, payment_year, model, hcc from {{ ref('stg_hcc_participant') }}
    where hcc is not null

),

compared_pairs as (

    select distinct ours.payment_year, ours.model
    from ours
    inner join (select distinct payment_year, model from cms) as cms_pairs
        on cms_pairs.payment_year = ours.payment_year
        and cms_pairs.model = ours.model

),

ours_compared as (

    select ours.*
    from ours
    inner join compared_pairs
        on compared_pairs.payment_year = ours.payment_year
        and compared_pairs.model = ours.model

),

cms_compared as (

    select cms.*
    from cms
    inner join compared_pairs
        on compared_pairs.payment_year = cms.payment_year
        and compared_pairs.model = cms.model

),

joined as (

    select
        coalesce(ours_compared.participant_id, cms_compared.participant_id) as participant_id,
        coalesce(ours_compared.payment_year, cms_compared.payment_year) as payment_year,
        coalesce(ours_compared.model, cms_compared.model) as model,
        coalesce(ours_compared.hcc, cms_compared.hcc) as hcc,
        case
            when ours_compared.hcc is not null and cms_compared.hcc is not null then 'matched'
            when ours_compared.hcc is not null then 'only_ours'
            else 'only_cms'
        end as reconciliation_status
    from ours_compared
    full outer join cms_compared
        on cms_compared.participant_id = ours_compared.participant_id
        and cms_compared.payment_year = ours_compared.payment_year
        and cms_compared.model = ours_compared.model
        and cms_compared.hcc = ours_compared.hcc

),

labels as (

    select payment_year, model, hcc, hcc_code, label from {{ ref('hcc_labels') }}

),

final as (

    select
        {{ hcc_surrogate_key(['joined.participant_id', 'joined.payment_year', 'joined.model', 'joined.hcc']) }} as reconciliation_key,
        joined.participant_id,
        joined.payment_year,
        joined.model,
        joined.hcc,
        labels.hcc_code,
        labels.label as hcc_label,
        joined.reconciliation_status
    from joined
    left join labels
        on labels.payment_year = joined.payment_year
        and labels.model = joined.model
        and labels.hcc = joined.hcc

)

select * from final
