"""`asp-telemetry prices`: the models seen, the price each resolves to, and the unpriced."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from asp_telemetry import connection
from asp_telemetry.cli.app import app, console, handle_errors


def _price(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f}"


def _tokens(value: Decimal) -> str:
    return f"{int(value):,}"


@app.command("prices")
@handle_errors
def prices(
    custom: Annotated[
        Path | None,
        typer.Option("--custom", help="A custom price file instead of seeds/model_prices_custom.csv."),
    ] = None,
) -> None:
    """List the models seen in raw data with the price each resolves to now (USD per million
    tokens; source: genai-prices or the custom seed), and the models with no price with their
    token volume. Changes nothing: `asp-telemetry build` writes the schedule it prices with."""
    from asp_telemetry import pricing

    info = connection.resolve()
    rows = pricing.report(info, custom)
    priced = [row for row in rows if row.price is not None]
    unpriced = [row for row in rows if row.price is None]
    console.print(f"{len(rows)} model(s) seen on {escape(info.describe())}", highlight=False)
    console.print(f"prices: {pricing.package_source()} and the custom seed", highlight=False)
    if priced:
        table = Table("provider", "model", "in", "out", "cache r", "cache w", "source",
                      title="Priced (USD per million tokens, in force now)", title_justify="left")
        for row in priced:
            price = row.price
            tiers = " +tiers" if row.price_rows > 1 else ""
            table.add_row(escape(row.llm_provider or "-"), escape(row.llm_model), _price(price.input_per_mtok),
                          _price(price.output_per_mtok), _price(price.cache_read_per_mtok),
                          _price(price.cache_write_per_mtok), escape(f"{price.source}{tiers}"))
        console.print(table)
    if unpriced:
        table = Table("provider", "model", "executions", "tokens in", "tokens out",
                      title="[yellow]No price[/] (their executions without a reported cost have no cost)",
                      title_justify="left")
        for row in unpriced:
            table.add_row(escape(row.llm_provider or "-"), escape(row.llm_model), f"{row.executions:,}",
                          _tokens(row.tokens_in), _tokens(row.tokens_out))
        console.print(table)
        console.print("Add their prices to seeds/model_prices_custom.csv (docs/metrics.md, \"Cost\").")
