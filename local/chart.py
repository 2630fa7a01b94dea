"""A candlestick chart of one asset, read from the API, as a self-contained HTML page with inline SVG.

    python -m local.chart [--asset native] [--granularity 1d] [--out .local/chart-native.html]

`make run` writes one for the busiest fixture asset and serves the same page at `/chart` on the local API
(a local-only page, not an API route). The candles come from `GET /v1/assets/{asset}/ohlcv` on the
running local API, so the page shows what a client of the API gets. No plotting library: the SVG is
written here, one `<g class="candle">` per candle with its wick (high..low) and body (open..close).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

WIDTH = 960
PRICE_TOP = 56
PRICE_HEIGHT = 320
VOLUME_GAP = 24
VOLUME_HEIGHT = 80
LEFT = 96
RIGHT = 24
BOTTOM = 56
HEIGHT = PRICE_TOP + PRICE_HEIGHT + VOLUME_GAP + VOLUME_HEIGHT + BOTTOM
# Headroom above the highest high and below the lowest low, as a fraction of the range.
PRICE_PADDING = 0.05
UP_COLOUR = "#16a34a"
DOWN_COLOUR = "#dc2626"
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ChartCandle:
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: int

    @property
    def direction(self) -> str:
        return "up" if self.close >= self.open else "down"


@dataclass(frozen=True)
class Chart:
    asset: str
    granularity: str
    base_currency: str
    source_url: str
    candles: tuple[ChartCandle, ...]


class ChartError(RuntimeError):
    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        # The API's own 4xx when it refused the request (bad granularity, unknown asset), else 502.
        self.status = status if 400 <= status < 500 else 502


def candles_from_ohlcv(document: Mapping[str, Any]) -> list[ChartCandle]:
    """The candles of a `GET /v1/assets/{asset}/ohlcv` body; buckets without trades (no OHLC) are skipped."""
    rows = document.get("candles")
    if not isinstance(rows, list):
        raise ChartError(f"ohlcv response has no 'candles' list: keys {sorted(document)}")
    out: list[ChartCandle] = []
    for row in rows:
        if any(row.get(k) is None for k in ("open", "high", "low", "close")):
            continue
        out.append(
            ChartCandle(
                timestamp=datetime.fromisoformat(str(row["timestamp"]).replace("Z", "+00:00")),
                open=float(row["open"]),
                high=float(row["high"]),
                low=float(row["low"]),
                close=float(row["close"]),
                volume=float(row.get("volume_quote_usd") or row.get("volume_base") or 0.0),
                trade_count=int(row.get("trade_count") or 0),
            )
        )
    return out


def fetch_chart(
    api_url: str,
    asset: str,
    *,
    timeframe: str = "all",
    granularity: str = "1d",
    base_currency: str = "USD",
    session: requests.Session | None = None,
) -> Chart:
    query = urlencode({"timeframe": timeframe, "granularity": granularity, "base_currency": base_currency})
    url = f"{api_url.rstrip('/')}/v1/assets/{quote(asset, safe=':')}/ohlcv?{query}"
    response = (session or requests).get(url, timeout=REQUEST_TIMEOUT_S)
    if response.status_code != 200:
        raise ChartError(f"GET {url} answered {response.status_code}: {response.text[:300]}", response.status_code)
    return Chart(asset, granularity, base_currency, url, tuple(candles_from_ohlcv(response.json())))


def listed_assets(api_url: str, session: requests.Session, max_pages: int = 10) -> list[str]:
    """Every asset `GET /v1/assets` lists (inactive ones included), following the keyset cursor."""
    assets: list[str] = []
    cursor: str | None = None
    for _ in range(max_pages):
        query = {"include_inactive": "true", "limit": "200", **({"cursor": cursor} if cursor else {})}
        url = f"{api_url.rstrip('/')}/v1/assets?{urlencode(query)}"
        response = session.get(url, timeout=REQUEST_TIMEOUT_S)
        if response.status_code != 200:
            raise ChartError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        page = response.json()
        assets += [item["asset"] for item in page["assets"]]
        cursor = page.get("cursor")
        if not page.get("has_more") or not cursor:
            break
    return assets


def busiest_asset(api_url: str, session: requests.Session | None = None) -> tuple[str, int]:
    """The asset with the most trades in its monthly candles, among those the API lists (and `native`,
    which is priced even when the listing is still empty): (asset, trades)."""
    if session is None:
        # Closed when done: a kept-alive connection left open would hold a server thread of the API.
        with requests.Session() as own:
            return busiest_asset(api_url, own)
    best: tuple[str, int] | None = None
    for asset in dict.fromkeys(["native", *listed_assets(api_url, session)]):
        query = urlencode({"timeframe": "all", "granularity": "1M"})
        url = f"{api_url.rstrip('/')}/v1/assets/{quote(asset, safe=':')}/ohlcv?{query}"
        response = session.get(url, timeout=REQUEST_TIMEOUT_S)
        if response.status_code != 200:
            continue
        trades = sum(int(c.get("trade_count") or 0) for c in response.json().get("candles", []))
        if best is None or trades > best[1]:
            best = (asset, trades)
    if best is None or best[1] == 0:
        raise ChartError("the API has no candles for any asset: were the fixtures ingested?")
    return best


class PriceScale:
    """Maps a price to a y coordinate in the price panel (higher price, smaller y)."""

    def __init__(self, low: float, high: float, top: float, height: float) -> None:
        pad = (high - low) * PRICE_PADDING if high > low else abs(high) * 0.01 or 1.0
        low, high = low - pad, high + pad
        self.low, self.high, self.top, self.height = low, high, top, height

    def y(self, price: float) -> float:
        return self.top + (self.high - price) / (self.high - self.low) * self.height


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round-numbered ticks covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(value)
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _short(asset: str) -> str:
    code, _, issuer = asset.partition(":")
    return f"{code}:{issuer[:4]}…{issuer[-4:]}" if len(issuer) > 12 else asset


def _label(ts: datetime, granularity: str) -> str:
    if granularity in {"1d", "1w"}:
        return ts.strftime("%Y-%m-%d")
    if granularity == "1M":
        return ts.strftime("%Y-%m")
    return ts.strftime("%Y-%m-%d %H:%M")


def render_svg(chart: Chart) -> str:
    candles = chart.candles
    plot_width = WIDTH - LEFT - RIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" data-candles="{len(candles)}">',
        f"<title>{html.escape(chart.asset)} {html.escape(chart.granularity)} candles "
        f"({html.escape(chart.base_currency)})</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="28" font-size="16" font-family="sans-serif" fill="#111827">'
        f"{html.escape(_short(chart.asset))} · {html.escape(chart.granularity)} · "
        f"{html.escape(chart.base_currency)}</text>",
    ]
    if not candles:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{PRICE_TOP + PRICE_HEIGHT / 2}" text-anchor="middle" '
            'font-family="sans-serif" fill="#6b7280">no candles in this window</text></svg>'
        )
        return "\n".join(parts)
    scale = PriceScale(min(c.low for c in candles), max(c.high for c in candles), PRICE_TOP, PRICE_HEIGHT)
    for tick in nice_ticks(scale.low, scale.high):
        y = scale.y(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.2f}" y2="{y:.2f}" stroke="#e5e7eb"/>'
            f'<text class="tick" x="{LEFT - 8}" y="{y + 4:.2f}" text-anchor="end" font-size="11" '
            f'font-family="sans-serif" fill="#374151">{_fmt(tick)}</text>'
        )
    slot = plot_width / len(candles)
    body_width = max(1.0, min(slot * 0.6, 40.0))
    volume_top = PRICE_TOP + PRICE_HEIGHT + VOLUME_GAP
    max_volume = max(c.volume for c in candles) or 1.0
    label_every = max(1, math.ceil(len(candles) / 10))
    for index, candle in enumerate(candles):
        x = LEFT + (index + 0.5) * slot
        colour = UP_COLOUR if candle.direction == "up" else DOWN_COLOUR
        body_top = scale.y(max(candle.open, candle.close))
        body_bottom = scale.y(min(candle.open, candle.close))
        volume_height = candle.volume / max_volume * VOLUME_HEIGHT
        parts.append(
            f'<g class="candle {candle.direction}" data-timestamp="{candle.timestamp.isoformat()}" '
            f'data-open="{candle.open!r}" data-high="{candle.high!r}" data-low="{candle.low!r}" '
            f'data-close="{candle.close!r}" data-trades="{candle.trade_count}">'
            f"<title>{candle.timestamp:%Y-%m-%d %H:%M} UTC  O {_fmt(candle.open)}  H {_fmt(candle.high)}  "
            f"L {_fmt(candle.low)}  C {_fmt(candle.close)}  trades {candle.trade_count}</title>"
            f'<line class="wick" x1="{x:.2f}" x2="{x:.2f}" y1="{scale.y(candle.high):.2f}" '
            f'y2="{scale.y(candle.low):.2f}" stroke="{colour}" stroke-width="1.5"/>'
            f'<rect class="body" x="{x - body_width / 2:.2f}" y="{body_top:.2f}" width="{body_width:.2f}" '
            # A doji (open == close) still gets a visible 1 px body.
            f'height="{max(body_bottom - body_top, 1.0):.2f}" fill="{colour}"/>'
            f'<rect class="volume" x="{x - body_width / 2:.2f}" y="{volume_top + VOLUME_HEIGHT - volume_height:.2f}" '
            f'width="{body_width:.2f}" height="{volume_height:.2f}" fill="{colour}" fill-opacity="0.35"/>'
            "</g>"
        )
        if index % label_every == 0:
            parts.append(
                f'<text class="time" x="{x:.2f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" font-size="11" '
                f'font-family="sans-serif" fill="#374151">{_label(candle.timestamp, chart.granularity)}</text>'
            )
    parts.append(
        f'<text x="{LEFT - 8}" y="{volume_top + 10}" text-anchor="end" font-size="11" font-family="sans-serif" '
        f'fill="#6b7280">volume</text></svg>'
    )
    return "\n".join(parts)


def render_html(chart: Chart) -> str:
    rows = "\n".join(
        f"<tr><td>{c.timestamp:%Y-%m-%d %H:%M}</td><td>{_fmt(c.open)}</td><td>{_fmt(c.high)}</td>"
        f"<td>{_fmt(c.low)}</td><td>{_fmt(c.close)}</td><td>{_fmt(c.volume)}</td><td>{c.trade_count}</td></tr>"
        for c in chart.candles
    )
    title = f"{chart.asset} — {chart.granularity} candles ({chart.base_currency})"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:24px;color:#111827}}h1,p{{overflow-wrap:anywhere}}table{{border-collapse:collapse;margin-top:16px}}
td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #e5e7eb}}code{{background:#f3f4f6}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>From <code>GET {html.escape(chart.source_url)}</code> on the local API (mainnet fixtures ingested by
<code>make run</code>). Green: close ≥ open; red: close &lt; open. Times are UTC bucket starts.</p>
{render_svg(chart)}
<table><thead><tr><th>bucket (UTC)</th><th>open</th><th>high</th><th>low</th><th>close</th><th>volume</th>
<th>trades</th></tr></thead><tbody>
{rows}
</tbody></table>
</body></html>
"""


def write_chart(chart: Chart, directory: Path) -> Path:
    safe = "".join(ch if ch.isalnum() else "-" for ch in chart.asset)[:40]
    path = directory / f"chart-{safe}.html"
    path.write_text(render_html(chart), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chart", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=Path, default=Path(".local/endpoints.json"))
    parser.add_argument("--asset", default=None, help="default: the busiest asset the API lists")
    parser.add_argument("--timeframe", default="all")
    parser.add_argument("--granularity", default="1d")
    parser.add_argument("--out", type=Path, default=None, help="default: <endpoints dir>/chart-<asset>.html")
    args = parser.parse_args(argv)
    if not args.endpoints.is_file():
        parser.error(f"--endpoints {args.endpoints}: no such file; start the data plane first (make run)")
    endpoints = json.loads(args.endpoints.read_text(encoding="utf-8"))
    if "api_url" not in endpoints:
        parser.error(f"--endpoints {args.endpoints} has no api_url: is `make run` up?")
    try:
        asset = args.asset or busiest_asset(endpoints["api_url"])[0]
        chart = fetch_chart(endpoints["api_url"], asset, timeframe=args.timeframe, granularity=args.granularity)
    except (ChartError, requests.RequestException) as exc:
        print(f"no chart: {exc}", file=sys.stderr)
        return 1
    if args.out:
        args.out.write_text(render_html(chart), encoding="utf-8")
        path = args.out
    else:
        path = write_chart(chart, args.endpoints.parent)
    print(f"{len(chart.candles)} candles -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
