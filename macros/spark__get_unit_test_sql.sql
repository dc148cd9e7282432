{#
    Spark: a unit test compares the model's rows with the expected ones exactly. The measures
    are doubles on Spark (macros/cross_engine.sql), whose sums carry float noise
    (0.1 + 0.1 + 0.1 = 0.30000000000000004) where PostgreSQL's exact numeric has none; so
    the actual double columns are compared at 15 significant digits (the digits a double
    holds). Otherwise dbt's default__get_unit_test_sql.
#}
{% macro spark__get_unit_test_sql(main_sql, expected_fixture_sql, expected_column_names) -%}
{%- set doubles = [] -%}
{%- if execute -%}
    {%- for column in get_column_schema_from_query(main_sql) -%}
        {%- if column.dtype | lower in ('double', 'float') -%}
            {%- do doubles.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
-- Build actual result given inputs
with dbt_internal_unit_test_actual as (
  select
    {% for expected_column_name in expected_column_names -%}
    {%- if expected_column_name | replace('`', '') | lower in doubles -%}
    cast(format_string('%.15g', {{ expected_column_name }}) as double) as {{ expected_column_name }}
    {%- else -%}
    {{ expected_column_name }}
    {%- endif -%}
    {%- if not loop.last -%},{% endif %}{%- endfor -%}, {{ dbt.string_literal("actual") }} as {{ adapter.quote("actual_or_expected") }}
  from (
    {{ main_sql }}
  ) _dbt_internal_unit_test_actual
),
-- Build expected result
dbt_internal_unit_test_expected as (
  select
    {% for expected_column_name in expected_column_names %}{{expected_column_name}}{% if not loop.last -%}, {% endif %}{%- endfor -%}, {{ dbt.string_literal("expected") }} as {{ adapter.quote("actual_or_expected") }}
  from (
    {{ expected_fixture_sql }}
  ) _dbt_internal_unit_test_expected
)
-- Union actual and expected results
select * from dbt_internal_unit_test_actual
union all
select * from dbt_internal_unit_test_expected
{%- endmacro %}
