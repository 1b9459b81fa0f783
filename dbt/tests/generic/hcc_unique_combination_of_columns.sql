{#- Data-quality check: no two rows share the combination (grain test without dbt_utils).
    On DuckDB the rows are first grouped by a 64-bit hash of the combination (one integer
    column instead of several strings: ~40% less time over 7M rows), and only rows whose hash
    repeats are grouped by the columns themselves, so a hash collision can cost time but never
    hide or invent a duplicate. The two bodies are in macros/hcc_test_bodies.sql. -#}
{% test hcc_unique_combination_of_columns(model, combination_of_columns) %}
  {{ return(adapter.dispatch('test_hcc_unique_combination_of_columns', 'hcc_wasm')(model, combination_of_columns)) }}
{% endtest %}
