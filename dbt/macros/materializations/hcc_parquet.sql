{#-
  hcc_parquet (DuckDB only): the model's rows in one LZ4 Parquet file beside the warehouse, and a
  view of the model's name over it (docs/adr/0004-dbt-models-as-parquet.md). DuckDB writes a
  Parquet file in about half the time it takes to write and compress the same rows as a table,
  and reads it back about as fast; the table models of a 1M-member nightly are most of dbt's
  time (bench/README.md "The nightly job").

  Two files per model, slots a and b: each build writes the slot the current view does not read,
  then replaces the view in the same transaction, so a failed or killed build leaves the previous
  view and its file as they were. A table of the same name (the `table` storage, or a project
  from before this materialization) is dropped in that transaction.

  Where: var('hcc_parquet_dir'), default <warehouse file>.dbt/parquet; the directory must exist
  (scripts/dbt.sh and `hcc nightly` create it), and the path must be absolute, since the views
  keep it. Files are named <schema>.<model>.<slot>.parquet.
-#}
{% materialization hcc_parquet, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set dir = hcc_parquet_dir() -%}
  {%- set stem = dir ~ '/' ~ (this.schema ~ '.' ~ this.identifier) | lower -%}

  {#- the slot the current view reads (none: a table, or nothing yet) -#}
  {%- set slot = 'a' -%}
  {%- if existing_relation is not none and existing_relation.is_view -%}
    {%- set current = run_query(
        "select sql from duckdb_views() where database_name = '" ~ adapter.escape_sql_string(this.database)
        ~ "' and schema_name = '" ~ adapter.escape_sql_string(this.schema)
        ~ "' and view_name = '" ~ adapter.escape_sql_string(this.identifier) ~ "'") -%}
    {#- the view's SQL holds the path as a literal, quotes doubled -#}
    {%- if current | length > 0 and (adapter.escape_sql_string(stem) ~ '.a.parquet') in current[0][0] -%}
      {%- set slot = 'b' -%}
    {%- endif -%}
  {%- endif -%}
  {%- set location = stem ~ '.' ~ slot ~ '.parquet' -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('write_parquet') -%}
    copy ({{ sql }}) to '{{ adapter.escape_sql_string(location) }}' (format parquet, compression lz4, parquet_version v2)
  {%- endcall %}

  {%- if existing_relation is not none and not existing_relation.is_view %}
    {{ drop_relation_if_exists(existing_relation) }}
  {%- endif %}

  {% call statement('main') -%}
    create or replace view {{ target_relation }} as select * from read_parquet('{{ adapter.escape_sql_string(location) }}')
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- The directory of the hcc_parquet files: var('hcc_parquet_dir'), else <warehouse>.dbt/parquet. -#}
{% macro hcc_parquet_dir() -%}
  {%- set dir = var('hcc_parquet_dir', none) or (target.path ~ '.dbt/parquet') -%}
  {%- if not (dir.startswith('/') or (dir | length > 2 and dir[1] == ':')) -%}
    {{ exceptions.raise_compiler_error(
        "hcc_parquet: the Parquet directory '" ~ dir ~ "' is not an absolute path (the views keep it). "
        ~ "Set HCC_WAREHOUSE to an absolute path (scripts/dbt.sh does), or the var hcc_parquet_dir, "
        ~ "or HCC_DBT_STORAGE=table for tables in the warehouse file.") }}
  {%- endif -%}
  {{ return(dir.rstrip('/')) }}
{%- endmacro %}
