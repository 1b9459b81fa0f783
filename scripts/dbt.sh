#!/usr/bin/env bash
# Run dbt from the project's venv on the dbt/ project, passing every argument through:
#   bash scripts/dbt.sh build --target duckdb
#   HCC_WAREHOUSE=/data/warehouse.duckdb bash scripts/dbt.sh seed
#   HCC_BQ_PROJECT=my-project HCC_BQ_DATASET=hcc bash scripts/dbt.sh build --target bigquery
# The DuckDB target reads HCC_WAREHOUSE (default: <repo>/warehouse.duckdb); see docs/dbt.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dbt="$root/.venv/bin/dbt"
if [ ! -x "$dbt" ]; then
  echo "scripts/dbt.sh: $dbt not found; run 'bash scripts/setup-python.sh'" >&2
  exit 69
fi
# absolute, so the views over the models' Parquet files (dbt/macros/materializations/hcc_parquet.sql)
# name the same files from any working directory
HCC_WAREHOUSE="${HCC_WAREHOUSE:-$root/warehouse.duckdb}"
case "$HCC_WAREHOUSE" in
  /*) ;;
  *) HCC_WAREHOUSE="$PWD/$HCC_WAREHOUSE" ;;
esac
export HCC_WAREHOUSE
target="${HCC_DBT_TARGET:-duckdb}"
prev=""
for a in "$@"; do
  if [ "$prev" = "--target" ] || [ "$prev" = "-t" ]; then target="$a"; fi
  case "$a" in --target=*) target="${a#--target=}" ;; esac
  prev="$a"
done
# the directory of the DuckDB target's Parquet-backed models (DuckDB creates files, not directories)
if [ "$target" = "duckdb" ] && [ "${HCC_DBT_STORAGE:-parquet}" = "parquet" ]; then
  mkdir -p "$HCC_WAREHOUSE.dbt/parquet"
fi
export DBT_SEND_ANONYMOUS_USAGE_STATS="${DBT_SEND_ANONYMOUS_USAGE_STATS:-false}"
exec "$dbt" "$@" --project-dir "$root/dbt" --profiles-dir "$root/dbt"
