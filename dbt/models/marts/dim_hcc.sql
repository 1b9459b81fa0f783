-- One row per payment year × model × HCC × segment: the HCC's label and its coefficient in
-- that segment (segment null for an HCC no segment scores). From the generated seeds.
with labels as (

    select * from {{ ref('hcc_labels') }}

),

coefficients as (

    select payment_year, model, segment, hcc, coefficient
    from {{ ref('hcc_coefficients') }}
    where hcc is not null

),

final as (

    select
        {{ hcc_surrogate_key(['labels.payment_year', 'labels.model', 'labels.hcc', 'coefficients.segment']) }} as hcc_segment_key,
        labels.payment_year,
        labels.model,
        labels.hcc,
        labels.hcc_code,
        labels.label as hcc_label,
        coefficients.segment,
        coefficients.coefficient
    from labels
    left join coefficients
        on coefficients.payment_year = labels.payment_year
        and coefficients.model = labels.model
        and coefficients.hcc = labels.hcc

)

select * from final
