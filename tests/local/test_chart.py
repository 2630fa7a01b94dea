"""The candle chart: one SVG group per candle whose wick spans high..low and body open..close."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from local.api_gateway import fixture_stack
from local.chart import (
    DOWN_COLOUR,
    PRICE_HEIGHT,
    PRICE_PADDING,
    PRICE_TOP,
    UP_COLOUR,
    Chart,
    ChartCandle,
    ChartError,
    busiest_asset,
    candles_from_ohlcv,
    fetch_chart,
    main,
    nice_ticks,
    render_html,
    write_chart,
)

# The handler's Metrics warns on every invocation that publishes no metric; its business, not these tests'.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 6, 19, tzinfo=UTC)


def candle(i: int, o: float, h: float, low: float, c: float, *, volume: float = 10.0) -> ChartCandle:
    return ChartCandle(T0 + timedelta(days=i), o, h, low, c, volume, trade_count=i + 1)


CANDLES = (
    candle(0, 0.10, 0.12, 0.09, 0.11),  # up
    candle(1, 0.11, 0.115, 0.095, 0.10),  # down
    candle(2, 0.10, 0.10, 0.10, 0.10),  # doji, flat
    candle(3, 0.10, 0.20, 0.05, 0.15, volume=40.0),  # widest range: sets the scale
)


def svg_of(page: str) -> ET.Element:
    found = re.search(r"<svg\b.*?</svg>", page, re.S)
    assert found, "no inline svg"
    # Our own renderer's output, not untrusted input.
    return ET.fromstring(found.group(0))  # noqa: S314


def groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "candle" in g.get("class", "").split()]


def child(group: ET.Element, cls: str) -> ET.Element:
    (found,) = [e for e in group if e.get("class") == cls]
    return found


def test_one_group_per_candle_with_wick_high_to_low_and_body_open_to_close() -> None:
    chart = Chart("native", "1d", "USD", "http://127.0.0.1:1/v1/assets/native/ohlcv", CANDLES)
    root = svg_of(render_html(chart))
    rendered = groups(root)
    assert len(rendered) == len(CANDLES) == int(root.get("data-candles", "-1"))

    pad = (0.20 - 0.05) * PRICE_PADDING  # headroom around the lowest low and highest high of all candles
    low, high = 0.05 - pad, 0.20 + pad

    def y(price: float) -> float:
        return PRICE_TOP + (high - price) / (high - low) * PRICE_HEIGHT

    xs = []
    for group, c in zip(rendered, CANDLES, strict=True):
        assert group.get("data-timestamp") == c.timestamp.isoformat()
        assert float(group.get("data-open", "nan")) == c.open
        wick, body = child(group, "wick"), child(group, "body")
        assert float(wick.get("y1", "nan")) == pytest.approx(y(c.high), abs=0.01)
        assert float(wick.get("y2", "nan")) == pytest.approx(y(c.low), abs=0.01)
        top = float(body.get("y", "nan"))
        height = float(body.get("height", "nan"))
        assert top == pytest.approx(y(max(c.open, c.close)), abs=0.01)
        if c.open == c.close:
            assert height == 1.0
        else:
            assert top + height == pytest.approx(y(min(c.open, c.close)), abs=0.01)
        # The body sits inside the wick, centred on it.
        assert float(wick.get("y1", "nan")) <= top + 0.01
        assert top + height <= float(wick.get("y2", "nan")) + 1.01
        centre = float(body.get("x", "nan")) + float(body.get("width", "nan")) / 2
        assert centre == pytest.approx(float(wick.get("x1", "nan")), abs=0.01)
        xs.append(centre)
        direction = "up" if c.close >= c.open else "down"
        assert direction in group.get("class", "").split()
        assert body.get("fill") == (UP_COLOUR if direction == "up" else DOWN_COLOUR)
        assert wick.get("stroke") == body.get("fill")
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert [g.get("class") for g in rendered] == ["candle up", "candle down", "candle up", "candle up"]
    # The widest candle spans the price panel but its headroom.
    widest = child(rendered[3], "wick")
    margin = PRICE_HEIGHT * PRICE_PADDING / (1 + 2 * PRICE_PADDING)
    assert float(widest.get("y1", "nan")) == pytest.approx(PRICE_TOP + margin, abs=0.01)
    assert float(widest.get("y2", "nan")) == pytest.approx(PRICE_TOP + PRICE_HEIGHT - margin, abs=0.01)
    volumes = [float(child(g, "volume").get("height", "nan")) for g in rendered]
    assert volumes[3] == max(volumes) and volumes[0] == pytest.approx(volumes[3] / 4)


def test_a_single_flat_candle_still_renders_inside_the_panel() -> None:
    chart = Chart("XLM", "1h", "USD", "u", (candle(0, 2.0, 2.0, 2.0, 2.0),))
    (group,) = groups(svg_of(render_html(chart)))
    wick = child(group, "wick")
    assert PRICE_TOP <= float(wick.get("y1", "nan")) <= PRICE_TOP + PRICE_HEIGHT
    assert float(child(group, "body").get("height", "nan")) == 1.0


def test_no_candles_says_so_instead_of_drawing_an_empty_axis() -> None:
    page = render_html(Chart("native", "1d", "USD", "u", ()))
    root = svg_of(page)
    assert groups(root) == []
    assert "no candles in this window" in page


def test_asset_names_are_escaped_in_the_page() -> None:
    page = render_html(Chart("<script>x</script>", "1d", "USD", "u&v", CANDLES[:1]))
    assert "<script>x" not in page
    assert "&lt;script&gt;" in page and "u&amp;v" in page
    svg_of(page)  # still well-formed XML


def test_candles_from_an_ohlcv_body_skip_empty_buckets() -> None:
    body = {
        "candles": [
            {"timestamp": "2026-06-19T00:00:00Z", "open": 1, "high": 2, "low": 0.5, "close": 1.5, "trade_count": 3},
            {"timestamp": "2026-06-20T00:00:00Z", "open": None, "high": None, "low": None, "close": None},
        ]
    }
    (only,) = candles_from_ohlcv(body)
    assert (only.open, only.high, only.low, only.close, only.trade_count) == (1.0, 2.0, 0.5, 1.5, 3)
    assert only.timestamp == T0
    with pytest.raises(ChartError, match="no 'candles' list"):
        candles_from_ohlcv({"items": []})


def test_nice_ticks_cover_the_range_in_round_steps() -> None:
    assert nice_ticks(0.05, 0.20) == pytest.approx([0.05, 0.1, 0.15, 0.2])
    ticks = nice_ticks(0.0001234, 0.0001987)
    assert all(0.0001234 <= t <= 0.0001987 for t in ticks) and len(ticks) >= 3
    assert nice_ticks(3.0, 3.0) == [3.0]


def test_written_file_is_named_after_the_asset(tmp_path: Path) -> None:
    path = write_chart(Chart("USDC:GA5Z", "1d", "USD", "u", CANDLES), tmp_path)
    assert path.name == "chart-USDC-GA5Z.html"
    assert len(groups(svg_of(path.read_text()))) == 4


def test_the_cli_names_a_missing_endpoints_file_or_api_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SystemExit) as exited:
        main(["--endpoints", str(missing)])
    assert exited.value.code == 2 and f"--endpoints {missing}: no such file" in capsys.readouterr().err
    without_api = tmp_path / "endpoints.json"
    without_api.write_text('{"edge_url": "https://localhost:1"}')
    with pytest.raises(SystemExit) as exited:
        main(["--endpoints", str(without_api)])
    assert exited.value.code == 2 and "has no api_url" in capsys.readouterr().err


# ---- from the real API --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fixture_stack(tmp_path_factory.mktemp("chart-stack")) as (_, api):
        yield api.url


@pytest.mark.edge
def test_the_chart_draws_exactly_the_candles_the_api_returns(api_url: str) -> None:
    query = "timeframe=all&granularity=1d&base_currency=USD"
    body = requests.get(f"{api_url}/v1/assets/native/ohlcv?{query}", timeout=30).json()
    expected = [c for c in body["candles"] if c["open"] is not None]
    assert len(expected) >= 3
    chart = fetch_chart(api_url, "native", timeframe="all", granularity="1d")
    rendered = groups(svg_of(render_html(chart)))
    assert len(rendered) == len(expected)
    for group, candle in zip(rendered, expected, strict=True):
        assert datetime.fromisoformat(group.get("data-timestamp", "")) == datetime.fromisoformat(candle["timestamp"])
        for key in ("open", "high", "low", "close"):
            assert float(group.get(f"data-{key}", "nan")) == candle[key]
        assert int(group.get("data-trades", "-1")) == candle["trade_count"]


@pytest.mark.edge
def test_the_busiest_asset_is_the_one_with_most_trades_among_those_listed(api_url: str) -> None:
    asset, trades = busiest_asset(api_url)
    listed = requests.get(f"{api_url}/v1/assets?include_inactive=true&limit=200", timeout=30).json()["assets"]
    assert asset in {item["asset"] for item in listed}
    for item in listed[:10]:
        url = f"{api_url}/v1/assets/{item['asset']}/ohlcv?timeframe=all&granularity=1M"
        candles = requests.get(url, timeout=30).json().get("candles", [])
        assert sum(c["trade_count"] for c in candles) <= trades


@pytest.mark.edge
def test_the_chart_page_is_served_beside_the_api(api_url: str) -> None:
    page = requests.get(f"{api_url}/chart?asset=native&granularity=1M", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "native — 1M candles (USD)" in page.text
    assert len(groups(svg_of(page.text))) >= 3
    bad = requests.get(f"{api_url}/chart?asset=native&granularity=2d", timeout=30)
    assert bad.status_code == 400 and "granularity" in bad.text


@pytest.mark.edge
def test_the_cli_writes_the_chart_of_the_busiest_asset(api_url: str, tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(f'{{"api_url": "{api_url}"}}')
    assert main(["--endpoints", str(endpoints), "--granularity", "1M"]) == 0
    asset, _ = busiest_asset(api_url)
    (written,) = tmp_path.glob("chart-*.html")
    page = written.read_text()
    assert f"{asset} — 1M candles (USD)" in page and len(groups(svg_of(page))) >= 1
    assert main(["--endpoints", str(endpoints), "--asset", "native", "--granularity", "2d"]) == 1
