#!/usr/bin/env python3
# Usage: .venv/bin/python bench/dbt-bigquery-bytes.py <warehouse.duckdb> <warehouse.duckdb.dbt/target/manifest.json>
# after `hcc nightly --db <warehouse.duckdb>` (docs/bigquery.md "What a nightly run scans").
# Upper bound of the bytes a `dbt build` on BigQuery scans at this warehouse's size, from the dbt
# manifest: each model bills its parents in full (BigQuery bills only referenced columns, so this
# over-counts), each column test bills its column, each grain test its columns, each singular test
# its parents in full. Sizes are BigQuery logical bytes (STRING 2+len, numbers 8, BOOL 1, arrays
# their elements, NULL 0) measured on the DuckDB build of the same data.
import duckdb,sys,json
db,manifest=sys.argv[1],sys.argv[2]
c=duckdb.connect(db,read_only=True)
m=json.load(open(manifest))
def colexpr(n,ty):
    ty=ty.upper(); q=f'"{n}"'
    if ty.endswith('[]'): return f"coalesce(sum(list_sum(list_transform({q}, x -> 2 + strlen(x)))),0)"
    if 'VARCHAR' in ty: return f"coalesce(sum(2+strlen({q})),0)"
    if ty=='BOOLEAN': return f"count({q})"
    return f"8*count({q})"
cache={}
def colsizes(schema,name):
    k=(schema,name)
    if k in cache: return cache[k]
    cols=c.sql(f"select column_name, data_type from information_schema.columns where table_schema='{schema}' and table_name='{name}'").fetchall()
    if not cols: cache[k]={}; return {}
    r=c.sql("select "+", ".join(colexpr(n,t) for n,t in cols)+f' from "{schema}"."{name}"').fetchone()
    cache[k]={n:int(v) for (n,_),v in zip(cols,r)}
    return cache[k]
def rel(uid):
    n=m['nodes'].get(uid) or m['sources'].get(uid)
    if not n: return None
    return (n['schema'], n.get('alias') or n.get('identifier') or n['name'])
tot={'model':0,'test':0,'seed':0}
rows=[]
for uid,n in m['nodes'].items():
    rt=n['resource_type']
    if rt not in ('model','test'): continue
    b=0
    if rt=='test' and n.get('attached_node'):
        r=rel(n['attached_node']); sizes=colsizes(*r) if r else {}
        kw=(n.get('test_metadata') or {}).get('kwargs',{})
        cols=[n['column_name']] if n.get('column_name') else kw.get('combination_of_columns') or list(sizes)
        b=sum(sizes.get(str(x).lower(),0) for x in cols)
    else:
        for p in n['depends_on']['nodes']:
            if p.startswith('seed.') : continue
            r=rel(p)
            if r: b+=sum(colsizes(*r).values())
    tot[rt]+=b; rows.append((b,uid))
rows.sort(reverse=True)
for b,u in rows[:12]: print(f"{b/1e9:7.3f} GB {u}")
print({k:round(v/1e9,2) for k,v in tot.items()}, "total GB", round(sum(tot.values())/1e9,2))
