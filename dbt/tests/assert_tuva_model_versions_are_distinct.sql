-- patient_risk_factors' grain (person_id, payment_year, model_version, factor) is not tested on
-- the mart itself: each of its rows is one int_hcc_calculations row, unique on (participant_id,
-- payment_year, model, factor), joined to at most one fact_patient_risk_scores row, unique on
-- (participant_id, payment_year) — both tested — so the grain holds when model → model_version
-- is one-to-one on the models present. A row here is a model_version two models share.
with models as (

    select distinct model from {{ ref('int_hcc_calculations') }}

)

select
    {{ hcc_tuva_model_version('model') }} as model_version,
    count(*) as n_models
from models
group by {{ hcc_tuva_model_version('model') }}
having count(*) > 1
