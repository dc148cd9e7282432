{#
    Post-hook of every model and seed: the relation belongs to asp_transformer, whoever built
    it, so that any transformer login can rebuild it and nobody else can alter or drop it.
    dbt works as asp_transformer already (profiles.yml `role:`; `asp-telemetry build` makes it
    the session's role), so this is a check that costs one catalogue lookup; it hands the
    relation over when a session fell back to its login, as psycopg2's rollback of dbt's
    `set role` can make it do in a plain `dbt build`.
#}
{% macro owned_by_transformer() -%}
    {%- if execute and target.type == 'postgres' -%}
        {%- set query -%}
            select pg_get_userbyid(relowner) from pg_class where oid = to_regclass('{{ this }}')
        {%- endset -%}
        {%- set owners = run_query(query).columns[0].values() -%}
        {%- if owners and owners[0] != 'asp_transformer' -%}
            alter {{ 'view' if config.get('materialized') == 'view' else 'table' }} {{ this }} owner to asp_transformer
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
