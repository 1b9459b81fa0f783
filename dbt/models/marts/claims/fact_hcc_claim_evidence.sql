-- The RADV audit trail: for each HCC the engine kept, every accepted claim diagnosis behind it —
-- the claim, line and procedure, dates of service, type of bill, rendering and billing provider
-- and where the claim sits in its source file. Grain: member × payment year × model × HCC ×
-- claim diagnosis (ingest run, claim, diagnosis position). Empty without `hcc ingest`.
with kept_codes as (

    select participant_id, payment_year, model, hcc, diagnosis_code
    from {{ ref('int_hcc_dx_codes_unnested') }}

),

claim_diagnoses as (

    select * from {{ ref('stg_claims_diagnosis_provenance') }}
    where decision = 'accepted'

),

labels as (

    select payment_year, model, hcc, label from {{ ref('hcc_labels') }}

),

joined as (

    select
        kept_codes.participant_id,
        kept_codes.payment_year,
        kept_codes.model,
        kept_codes.hcc,
        labels.label as hcc_label,
        kept_codes.diagnosis_code,
        claim_diagnoses.diagnosis_code_raw,
        claim_diagnoses.dx_position,
        claim_diagnoses.dx_qualifier,
        claim_diagnoses.claim_id,
        claim_diagnoses.claim_seq,
        claim_diagnoses.claim_format,
        claim_diagnoses.claim_kind,
        claim_diagnoses.diagnosis_source,
        claim_diagnoses.bill_type,
        claim_diagnoses.claim_frequency_code,
        claim_diagnoses.service_from,
        claim_diagnoses.service_to,
        claim_diagnoses.service_date,
        claim_diagnoses.line_number,
        claim_diagnoses.procedure_code,
        claim_diagnoses.revenue_code,
        claim_diagnoses.rendering_npi,
        claim_diagnoses.billing_npi,
        claim_diagnoses.source_file,
        claim_diagnoses.source_line,
        claim_diagnoses.source_offset,
        claim_diagnoses.json_pointer,
        claim_diagnoses.ingest_run_id
    from kept_codes
    inner join claim_diagnoses
        on claim_diagnoses.participant_id = kept_codes.participant_id
        and claim_diagnoses.payment_year = kept_codes.payment_year
        and claim_diagnoses.diagnosis_code = kept_codes.diagnosis_code
    left join labels
        on labels.payment_year = kept_codes.payment_year
        and labels.model = kept_codes.model
        and labels.hcc = kept_codes.hcc

),

final as (

    select
        {{ hcc_surrogate_key(['participant_id', 'payment_year', 'model', 'hcc', 'ingest_run_id', 'claim_seq', 'dx_position']) }} as hcc_claim_evidence_key,
        joined.*
    from joined

)

select * from final
