-- One row per member × payment year × scored model × CC that the member's diagnosis codes map
-- to through the year's crosswalk seed, before edits and hierarchies (which the kernel applies;
-- this only looks codes up to explain the engine's result).
with scored as (

    select participant_id, payment_year, model from {{ ref('stg_hcc_raw_scores') }}

),

dx as (

    select distinct participant_id, diagnosis_code from {{ ref('stg_diagnosis_codes') }}
    where diagnosis_code is not null

),

crosswalk as (

    select payment_year, model, diagnosis_code, cc, hcc_code from {{ ref('hcc_crosswalk') }}

),

implied as (

    select
        scored.participant_id,
        scored.payment_year,
        scored.model,
        crosswalk.cc,
        crosswalk.hcc_code,
        dx.diagnosis_code
    from scored
    inner join dx
        on dx.participant_id = scored.participant_id
    inner join crosswalk
        on crosswalk.payment_year = scored.payment_year
        and crosswalk.model = scored.model
        and crosswalk.diagnosis_code = dx.diagnosis_code

),

final as (

    select
        participant_id,
        payment_year,
        model,
        cc,
        hcc_code,
        {{ hcc_listagg_sorted('diagnosis_code', "', '") }} as dx_codes,
        count(*) as n_dx_codes
    from implied
    group by participant_id, payment_year, model, cc, hcc_code

)

select * from final
