"""Cost that is always known and exact (docs/metrics.md, "Cost"): real genai-prices, real
PostgreSQL, real dbt builds. Every priced cost in the marts equals genai-prices' own
calc_price for the same usage, model, provider and time, to the last digit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import psycopg
import pytest
from genai_prices import Usage, types

from asp_telemetry import build, connection, loading, pricing

pytestmark = pytest.mark.slow

TINY = Decimal("0.00001234")

# (execution id, provider, model, started_at, tokens in, out, cache read, cache write, reported cost, role)
EXECUTIONS = [
    ("sonnet-cached", "anthropic", "claude-sonnet-4-20250514", datetime(2025, 9, 1, 10, tzinfo=UTC),
     12_000, 800, 5_000, 2_000, None, "Code"),
    ("mini", "openai", "gpt-4o-mini", datetime(2025, 9, 1, 11, tzinfo=UTC), 3_210, 456, None, None, None, "Design"),
    ("o3-before", "openai", "o3", datetime(2025, 6, 9, 23, 59, tzinfo=UTC), 10_000, 2_000, None, None, None, "Test"),
    ("o3-after", "openai", "o3", datetime(2025, 6, 10, 0, 1, tzinfo=UTC), 10_000, 2_000, None, None, None, "Test"),
    ("sonnet46-tier", "anthropic", "claude-sonnet-4-6", datetime(2026, 1, 5, 9, tzinfo=UTC),
     250_000, 1_000, 100_000, 10_000, None, "Code"),
    ("gemini-tier", "google", "gemini-2.5-pro", datetime(2025, 9, 2, 9, tzinfo=UTC), 210_000, 3_000, 20_000, None,
     None, "DesignReview"),
    ("deepseek-peak", "deepseek", "deepseek-chat", datetime(2025, 9, 3, 3, tzinfo=UTC), 50_000, 5_000, 10_000, None,
     None, "CodeReview"),
    ("deepseek-offpeak", "deepseek", "deepseek-chat", datetime(2025, 9, 3, 17, 30, tzinfo=UTC), 50_000, 5_000, 10_000,
     None, None, "CodeReview"),
    ("no-provider", None, "claude-3-5-haiku-latest", datetime(2025, 9, 4, tzinfo=UTC), 1_000, 100, None, None, None,
     "Planning"),
    ("reported", "openai", "gpt-4o", datetime(2025, 9, 5, tzinfo=UTC), 1_000, 500, None, None, Decimal("0.5"),
     "Design"),
    ("unknown", "ollama", "llama3-local", datetime(2025, 9, 6, tzinfo=UTC), 7_000, 300, None, None, None, "Test"),
    ("custom-only", "selfhost", "our-model", datetime(2025, 9, 7, tzinfo=UTC), 1_000_000, 200_000, None, None, None,
     "Code"),
    ("custom-before", "selfhost", "our-model", datetime(2025, 1, 1, tzinfo=UTC), 1_000, 1_000, None, None, None,
     "Code"),
    ("overridden", "openai", "gpt-4.1-mini", datetime(2025, 9, 8, tzinfo=UTC), 40_000, 4_000, 30_000, None, None,
     "Code"),
    ("tiny", "openai", "gpt-4o", datetime(2025, 9, 9, tzinfo=UTC), None, None, None, None, TINY, "Postmortem"),
]

CUSTOM_SEED = """provider,model,effective_from,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok
selfhost,our-model,2025-06-01,0.05,0.10,,
openai,gpt-4.1-mini,2025-09-01T00:00:00Z,0.3,1.2,0.075,
"""
CUSTOM = {
    ("selfhost", "our-model"): types.ModelPrice(input_mtok=Decimal("0.05"), output_mtok=Decimal("0.10")),
    ("openai", "gpt-4.1-mini"): types.ModelPrice(
        input_mtok=Decimal("0.3"), output_mtok=Decimal("1.2"), cache_read_mtok=Decimal("0.075")),
}


def _records():
    for execution, provider, model, at, tokens_in, tokens_out, cache_read, cache_write, reported, role in EXECUTIONS:
        metrics = [("Tokens_In", tokens_in, "tokens"), ("Tokens_Out", tokens_out, "tokens"),
                   ("Tokens_Cache_Read", cache_read, "tokens"), ("Tokens_Cache_Write", cache_write, "tokens"),
                   ("API_Cost", reported, "USD"), ("Latency", 1000, "ms")]
        for metric, value, unit in metrics:
            if value is None:
                continue
            yield {
                "record": "agent_cost_vector", "timestamp": at.isoformat(), "task_id": f"T-{execution}",
                "agent_role": role, "metric_type": metric, "metric_value": str(value), "metric_unit": unit,
                "llm_model": model, "llm_provider": provider, "metadata": {"execution_id": execution},
            }
        yield {"record": "task_metadata", "task_id": f"T-{execution}", "status": "completed",
               "estimated_complexity": 3, "actual_complexity": 4, "created_at": at.isoformat(),
               "completed_at": at.isoformat()}


def _usage(tokens_in, tokens_out, cache_read, cache_write) -> Usage:
    values = {"input_tokens": tokens_in, "output_tokens": tokens_out, "cache_read_tokens": cache_read,
              "cache_write_tokens": cache_write}
    return Usage(**{key: value for key, value in values.items() if value is not None})


def _expected_priced(execution: str) -> Decimal | None:
    row = next(e for e in EXECUTIONS if e[0] == execution)
    _, provider, model, at, tokens_in, tokens_out, cache_read, cache_write, _, _ = row
    usage = _usage(tokens_in, tokens_out, cache_read, cache_write)
    custom = CUSTOM.get((provider, model))
    if custom is not None and execution != "custom-before":
        return custom.calc_price(usage)["total_price"]
    if execution in {"unknown", "custom-before", "tiny"}:
        return None
    return genai_prices.calc_price(usage, model, provider_id=provider, genai_request_timestamp=at).total_price


def _query(info, sql: str, params=()):
    with connection.connect(info) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def priced_db(make_database, tmp_path_factory):
    info = make_database("asp_prices")
    summary = loading.load_records(info, list(_records()), source="test")
    assert summary.rejected == 0, summary
    seed = tmp_path_factory.mktemp("prices") / "model_prices_custom.csv"
    seed.write_text(CUSTOM_SEED)
    target = str(tmp_path_factory.mktemp("prices-dbt-target"))
    result = build.run_build(info, ["--target-path", target, "--exclude-resource-type", "unit_test"],
                             custom_prices=seed)
    assert result.success, result.summary_line()
    return info, result, seed, target


def _executions(info) -> dict[str, tuple]:
    rows = _query(info, "select execution_id, priced_cost_usd, cost_usd, cost_source, price_source, api_cost_usd"
                        " from marts.fct_agent_executions")
    return {row[0]: row[1:] for row in rows}


@pytest.mark.parametrize("execution", [e[0] for e in EXECUTIONS if e[0] not in {"unknown", "custom-before", "tiny"}])
def test_priced_cost_equals_genai_prices_calc_price(priced_db, execution):
    info, *_ = priced_db
    priced, cost, source, price_source, reported = _executions(info)[execution]
    expected = _expected_priced(execution)
    assert expected is not None and expected > 0
    assert priced == expected, (execution, priced, expected)
    if execution == "reported":
        assert (cost, source) == (Decimal("0.5"), "reported")
        assert priced != cost  # the difference between the two is worth seeing (mart_cost_by_model)
    else:
        assert (cost, source) == (expected, "priced")
    custom = next(e for e in EXECUTIONS if e[0] == execution)[1:3] in CUSTOM
    assert price_source == ("custom seed" if custom else pricing.package_source())


def test_a_price_that_changed_over_time_and_off_peak_prices(priced_db):
    info, *_ = priced_db
    executions = _executions(info)
    assert executions["o3-before"][0] == 5 * executions["o3-after"][0]  # $10 then $2 per million in
    assert executions["deepseek-peak"][0] != executions["deepseek-offpeak"][0]


def test_cache_tokens_are_counted_once(priced_db):
    """Cache reads and writes are part of Tokens_In: priced at their own prices, not again as input."""
    info, *_ = priced_db
    [(tokens_in, read, write)] = _query(
        info, "select tokens_in, cache_read_tokens, cache_write_tokens from marts.fct_agent_executions"
              " where execution_id = 'sonnet-cached'")
    assert (tokens_in, read, write) == (12_000, 5_000, 2_000)
    by_hand = (Decimal(5_000) * 3 + Decimal(800) * 15 + Decimal(5_000) * Decimal("0.3")
               + Decimal(2_000) * Decimal("3.75")) / 1_000_000
    assert _executions(info)["sonnet-cached"][0] == by_hand


def test_an_unknown_model_is_reported_not_priced_at_zero(priced_db):
    info, result, *_ = priced_db
    priced, cost, source, price_source, _ = _executions(info)["unknown"]
    assert (priced, cost, source, price_source) == (None, None, "unpriced", None)
    # before the custom seed's first price, a model the package does not know is unpriced too
    assert _executions(info)["custom-before"][:3] == (None, None, "unpriced")
    assert [(u.llm_provider, u.llm_model) for u in result.prices.unpriced] == [("ollama", "llama3-local")]
    [warned] = [node for node in result.warned_nodes if node.name == "assert_every_model_seen_has_a_price"]
    [message] = warned.failing_row_messages()
    assert "'llama3-local' of provider 'ollama' (1 executions, 1 without a reported cost, 7300 tokens)" in message
    assert "seeds/model_prices_custom.csv" in message
    [(unpriced,)] = _query(info, "select unpriced_executions from marts.fct_task_costs where task_id = 'T-unknown'")
    assert unpriced == 1


def test_a_tiny_cost_survives_loading_and_every_mart_exactly(priced_db):
    info, *_ = priced_db
    assert _query(info, "select metric_value from raw.agent_cost_vector where metric_type = 'API_Cost'"
                        " and task_id = 'T-tiny'") == [(TINY,)]
    checks = {
        "fct_agent_executions": "select cost_usd from marts.fct_agent_executions where execution_id = 'tiny'",
        "fct_task_costs": "select actual_api_cost_usd from marts.fct_task_costs where task_id = 'T-tiny'",
        "fct_daily_role_costs": "select total_cost_usd from marts.fct_daily_role_costs where agent_role = 'Postmortem'",
        "mart_cost_by_agent_role": "select total_cost_usd from marts.mart_cost_by_agent_role"
                                   " where agent_role = 'Postmortem'",
        "mart_probe_dataset": "select actual_api_cost_usd from marts.mart_probe_dataset where task_id = 'T-tiny'",
    }
    for mart, sql in checks.items():
        assert _query(info, sql) == [(TINY,)], mart
    assert str(_query(info, checks["fct_agent_executions"])[0][0]).rstrip("0") == "0.00001234"


def test_marts_add_up_and_show_how_much_was_priced(priced_db):
    info, *_ = priced_db
    executions = _executions(info)
    total = sum(row[1] for row in executions.values() if row[1] is not None)
    priced = sum(row[1] for row in executions.values() if row[2] == "priced")
    [(daily_total, daily_priced, daily_unpriced)] = _query(
        info, "select sum(total_cost_usd), sum(cost_from_prices_usd), sum(unpriced_executions)"
              " from marts.fct_daily_role_costs")
    assert (daily_total, daily_priced, daily_unpriced) == (total, priced, 2)
    [(role_total,)] = _query(info, "select sum(total_cost_usd) from marts.mart_cost_by_agent_role")
    assert role_total == total


def test_prices_command_lists_models_their_prices_and_the_unpriced(priced_db):
    info, _, seed, _ = priced_db
    rows = {(r.llm_provider, r.llm_model): r for r in pricing.report(info, seed)}
    assert rows[("ollama", "llama3-local")].price is None
    assert rows[("ollama", "llama3-local")].tokens_in == 7_000
    assert rows[("selfhost", "our-model")].price.source == "custom seed"
    assert rows[("openai", "gpt-4o-mini")].price.source == pricing.package_source()
    assert rows[("openai", "gpt-4o-mini")].price.price_model == "gpt-4o-mini"


def test_a_corrected_price_reprices_history_on_the_next_build(priced_db):
    """Editing the custom seed re-prices the executions already built (the raw rows are untouched)."""
    info, _, seed, target = priced_db
    seed.write_text(CUSTOM_SEED.replace("selfhost,our-model,2025-06-01,0.05,0.10", "selfhost,our-model,2025-06-01,1,2"))
    result = build.run_build(info, ["--target-path", target, "--exclude-resource-type", "unit_test"],
                             custom_prices=seed)
    assert result.success, result.summary_line()
    assert result.prices.changed
    assert _executions(info)["custom-only"][0] == Decimal(1_000_000) * 1 / 10**6 + Decimal(200_000) * 2 / 10**6
    [(total,)] = _query(info, "select actual_api_cost_usd from marts.fct_task_costs where task_id = 'T-custom-only'")
    assert total == Decimal("1.4")
    again = build.run_build(info, ["--target-path", target, "--select", "fct_agent_executions"], custom_prices=seed)
    assert again.success and not again.prices.changed


def test_a_model_seen_for_the_first_time_is_priced_without_repricing_history(priced_db):
    info, _, seed, target = priced_db
    at = datetime(2025, 9, 10, tzinfo=UTC)
    loading.load_records(info, [
        {"record": "agent_cost_vector", "timestamp": at.isoformat(), "task_id": "T-new", "agent_role": "Code",
         "metric_type": metric, "metric_value": value, "metric_unit": "tokens", "llm_model": "gpt-4.1",
         "llm_provider": "openai", "metadata": {"execution_id": "new"}}
        for metric, value in (("Tokens_In", 1234), ("Tokens_Out", 56))
    ], source="test")
    result = build.run_build(info, ["--target-path", target, "--exclude-resource-type", "unit_test"],
                             custom_prices=seed)
    assert result.success and not result.prices.changed, result.summary_line()
    expected = genai_prices.calc_price(Usage(input_tokens=1234, output_tokens=56), "gpt-4.1", provider_id="openai",
                                       genai_request_timestamp=at).total_price
    assert _executions(info)["new"][:3] == (expected, expected, "priced")


def test_a_bad_custom_price_line_is_named(tmp_path):
    seed = tmp_path / "model_prices_custom.csv"
    seed.write_text(CUSTOM_SEED + "openai,gpt-4o,yesterday,1,2,,\n")
    with pytest.raises(ValueError, match=r"line 4: effective_from"):
        pricing.load_custom_prices(seed)


@pytest.mark.parametrize("role", ["asp_writer", "asp_reader"])
def test_only_the_transformer_writes_the_schedule(priced_db, role):
    info, *_ = priced_db
    with connection.connect(info) as conn:
        conn.execute(f"set role {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from pricing.model_prices")


def test_prices_command_prints_prices_and_unpriced_models_in_80_columns(priced_db):
    from support import cli_environment, run_cli

    info, _, seed, _ = priced_db
    result = run_cli("prices", "--custom", str(seed), env=cli_environment(info, COLUMNS="80"))
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80, out
    priced, unpriced = out.split("No price")
    assert "llama3-local" in unpriced and "7,000" in unpriced and "llama3-local" not in priced
    assert "our-model" in priced and "custom seed" in priced
    assert "gpt-4o-mini" in priced and f"genai-prices {genai_prices.__version__}" in out, out


def test_reported_and_priced_cost_side_by_side_per_model(priced_db):
    info, *_ = priced_db
    [(both, reported, priced, difference)] = _query(
        info, "select executions_with_both, reported_where_priced_usd, priced_where_reported_usd,"
              " reported_minus_priced_usd from marts.mart_cost_by_model"
              " where llm_model = 'gpt-4o' and llm_provider = 'openai'")
    expected = _expected_priced("reported")
    assert (both, reported, priced, difference) == (1, Decimal("0.5"), expected, Decimal("0.5") - expected)
    [(unpriced, total)] = _query(info, "select unpriced_executions, total_cost_usd from marts.mart_cost_by_model"
                                       " where llm_model = 'llama3-local'")
    assert (unpriced, total) == (1, 0)


def test_the_price_step_keeps_a_schedule_whose_inputs_did_not_change(priced_db):
    """The models seen, genai-prices' version and the custom seed as they were when the
    schedule was resolved, and the marts built with it in full: the schedule is kept, not
    resolved and rewritten. A model seen for the first time resolves it again. (Last in this
    module: it adds a model.)"""
    info, _, seed, target = priced_db
    built = build.run_build(info, ["--target-path", target, "--exclude-resource-type", "unit_test"],
                            custom_prices=seed)
    assert built.success, built.summary_line()
    state = "select resolved_at, fingerprint, inputs_digest from pricing.schedule_state"
    schedule = "select * from pricing.model_prices order by llm_provider, llm_model, priority, input_tokens_above"
    before, prices = _query(info, state), _query(info, schedule)

    kept = pricing.refresh(info, seed)
    assert kept == built.prices.model_copy(update={"changed": False})
    assert (_query(info, state), _query(info, schedule)) == (before, prices)

    loading.load_records(info, [
        {"record": "agent_cost_vector", "timestamp": "2025-09-11T00:00:00+00:00", "task_id": "T-first-seen",
         "agent_role": "Code", "metric_type": "Tokens_In", "metric_value": "10", "metric_unit": "tokens",
         "llm_model": "a-model-nobody-prices", "llm_provider": "selfhost", "metadata": {"execution_id": "first"}},
    ], source="test")
    resolved = pricing.refresh(info, seed)
    assert resolved.models_seen == kept.models_seen + 1 and not resolved.changed
    assert ("selfhost", "a-model-nobody-prices") in {(u.llm_provider, u.llm_model) for u in resolved.unpriced}
    [(resolved_at, _, inputs)] = _query(info, state)
    assert resolved_at > before[0][0] and inputs != before[0][2]
