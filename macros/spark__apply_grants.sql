{#
    Spark: grants are the warehouse's, not dbt's. A Spark session or Thrift server without an
    authorizer has none (GRANT fails there), and Databricks grants through Unity Catalog
    (docs/spark.md). The marts' `grants` config (SELECT to asp_reader) applies on
    PostgreSQL only.
#}
{% macro spark__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
