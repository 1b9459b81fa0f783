-- One row per member × payment year × scored model, unpivoted from the engine's wide
-- risk_scores (<model>_raw_score, _normalized_score, _segment, _hccs), with the member's Part C
-- and Part D populations (null in tables written before the engine reported them). Only the model columns
-- present in the table are read, so a run that scored only V28 stages fine. A model the
-- member was not scored in has no row (hcc_model_scored: a null list on DuckDB, <model>_scored
-- on BigQuery, where arrays cannot be NULL).
{%- set src = hcc_results_relation('risk_scores') %}
{%- set cols = hcc_relation_columns(src) %}
{%- set prefixes = hcc_scored_model_prefixes(cols) %}

with source as (

    select * from {{ src }}

),

unpivoted as (

{%- for p in prefixes %}
    select
        cast(participant_id as {{ dbt.type_string() }}) as participant_id,
        cast(payment_year as {{ dbt.type_int() }}) as payment_year,
        '{{ p | upper }}' as model,
        cast({{ hcc_column_or_null(cols, p ~ '_segment', dbt.type_string()) }} as {{ dbt.type_string() }}) as segment,
        cast({{ hcc_column_or_null(cols, p ~ '_raw_score', hcc_type_double()) }} as {{ hcc_type_double() }}) as raw_score,
        cast({{ hcc_column_or_null(cols, p ~ '_normalized_score', hcc_type_double()) }} as {{ hcc_type_double() }}) as normalized_score,
        {{ hcc_model_hccs(cols, p) }} as hcc_codes,
        cast({{ hcc_column_or_null(cols, 'population', dbt.type_string()) }} as {{ dbt.type_string() }}) as population,
        cast({{ hcc_column_or_null(cols, 'rx_population', dbt.type_string()) }} as {{ dbt.type_string() }}) as rx_population,
        cast(run_id as {{ dbt.type_string() }}) as run_id
    from source
    where {{ hcc_model_scored(cols, p) }}
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- if prefixes | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as participant_id,
        cast(null as {{ dbt.type_int() }}) as payment_year,
        cast(null as {{ dbt.type_string() }}) as model,
        cast(null as {{ dbt.type_string() }}) as segment,
        cast(null as {{ hcc_type_double() }}) as raw_score,
        cast(null as {{ hcc_type_double() }}) as normalized_score,
        cast(null as {{ hcc_type_string_list() }}) as hcc_codes,
        cast(null as {{ dbt.type_string() }}) as population,
        cast(null as {{ dbt.type_string() }}) as rx_population,
        cast(null as {{ dbt.type_string() }}) as run_id
    from source
    where 1 = 0
{%- endif %}

),

final as (

    select
        unpivoted.*
    from unpivoted

)

select * from final
