{#- HCC helpers: code normalization, model ids, column discovery in the engine's wide tables. -#}

{#- ICD-10-CM as the engine reads it: dots, whitespace and case ignored ('e11.22 ' → 'E1122'). -#}
{% macro hcc_normalize_dx(expr) -%}
  nullif(upper({{ hcc_regexp_remove(expr, '[.[:space:]]') }}), '')
{%- endmacro %}

{#- Model ids as the engine spells them: 'CMS-HCC V28' → 'V28', 'ESRD V24' → 'ESRD24',
    'RxHCC V08' → 'RX08'. -#}
{% macro hcc_normalize_model(expr) -%}
  replace(replace(replace(replace(
    upper({{ hcc_regexp_remove(expr, '[^A-Za-z0-9]') }}),
    'CMSHCC', ''), 'ESRDV', 'ESRD'), 'RXHCCV', 'RX'), 'RXV', 'RX')
{%- endmacro %}

{#- The column names of a relation, lower-cased; none when introspection is switched off
    (var hcc_introspect: false, e.g. an offline `dbt compile --target bigquery`). -#}
{% macro hcc_relation_columns(relation) -%}
  {%- if not execute or not var('hcc_introspect', true) -%}{{ return(none) }}{%- endif -%}
  {%- set names = [] -%}
  {%- for c in adapter.get_columns_in_relation(relation) -%}{%- do names.append(c.name | lower) -%}{%- endfor -%}
  {{ return(names) }}
{%- endmacro %}

{#- `name` when the column exists (or columns are unknown), else a typed null with that name. -#}
{% macro hcc_column_or_null(columns, name, type) -%}
  {%- if columns is none or name in columns -%}{{ name }}{%- else -%}cast(null as {{ type }}){%- endif %}
{%- endmacro %}

{#- Model column prefixes the engine wrote into risk_scores ('v28', 'rx08', …): every
    <prefix>_raw_score column. var hcc_scored_model_ids overrides; without introspection the
    project's hcc_model_ids are assumed. -#}
{% macro hcc_scored_model_prefixes(columns) -%}
  {%- set fixed = var('hcc_scored_model_ids') -%}
  {%- if fixed -%}{{ return(fixed | map('lower') | list) }}{%- endif -%}
  {%- if columns is none -%}{{ return(var('hcc_model_ids') | map('lower') | list) }}{%- endif -%}
  {%- set prefixes = [] -%}
  {%- for c in columns if c.endswith('_raw_score') -%}{%- do prefixes.append(c[:-10]) -%}{%- endfor -%}
  {{ return(prefixes) }}
{%- endmacro %}

{#- Tuva Project model_version spelling for an engine model id. -#}
{% macro hcc_tuva_model_version(model) -%}
  case {{ model }}
    when 'V22' then 'CMS-HCC-V22'
    when 'V24' then 'CMS-HCC-V24'
    when 'V28' then 'CMS-HCC-V28'
    when 'ESRD21' then 'CMS-HCC-ESRD-V21'
    when 'ESRD24' then 'CMS-HCC-ESRD-V24'
    when 'RX08' then 'RxHCC-V08'
    else {{ model }}
  end
{%- endmacro %}

{#- Tuva Project factor_type for an engine term (docs/dbt.md): HCCs are 'Disease', demographic
    cells and ESRD bonuses 'Demographic', disease, disabled and enrollment interactions
    'Interactions', payment HCC counts 'Payment HCC Counts' (Tuva's seed values). The engine
    files CMS's enrollment interactions (originally disabled × sex, Medicaid × institutional)
    as demographic terms; var('hcc_tuva_interaction_variables') names them. -#}
{% macro hcc_tuva_factor_type(factor_type, factor) -%}
  case
    when {{ factor_type }} = 'demographic'
      and {{ factor }} in ('{{ var("hcc_tuva_interaction_variables") | join("', '") }}') then 'Interactions'
    when {{ factor_type }} = 'hcc' then 'Disease'
    when {{ factor_type }} in ('demographic', 'bonus') then 'Demographic'
    when {{ factor_type }} = 'interaction' then 'Interactions'
    when {{ factor_type }} = 'count' then 'Payment HCC Counts'
    else {{ factor_type }}
  end
{%- endmacro %}

{#- Round half away from zero to 3 decimals on the decimal value a double stands for: the same
    1e-9 fuzz as the kernel's round3 (assembly/blend.ts), so 0.67 × 0.395 = 0.26465, which a
    double holds as a hair above or below, rounds to 0.265 as exact NUMERIC arithmetic does.
    The result is a double; cast it for a DECIMAL column. -#}
{% macro hcc_round3(expr) -%}
  (sign({{ expr }}) * floor(abs({{ expr }}) * 1000 + 0.500000001) / 1000)
{%- endmacro %}

-- True when a source table exists (always true without introspection, e.g. an offline
-- compile): optional inputs such as the claims provenance written by `hcc ingest`.
{% macro hcc_source_exists(source_name, table_name) -%}
  {%- if not execute or not var('hcc_introspect', true) -%}{{ return(true) }}{%- endif -%}
  {%- set src = source(source_name, table_name) -%}
  {%- set rel = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) -%}
  {{ return(rel is not none) }}
{%- endmacro %}
