"""Chart axes (issue #18, item 14): money ticks carry the currency and the cents
("USD 2,000,000.00", never "USD 2.0M" nor "2000000").

The chart configuration is what the page emits (the ``json_script`` data) run through the
page's own script (dashboards/static/js/dashboards.js) under Node with a stand-in for
Chart.js that keeps the options it is given; the tick callbacks are then called directly.
Node is used because no browser can be installed here; the browser tests cover drawing."""

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from tests.dashboards.conftest import MARCH

# Node.js is part of the setup (npm installs Chart.js): a missing one is a failure, not a skip.
NODE = shutil.which("node") or "node"
SCRIPT = Path(settings.BASE_DIR) / "dashboards" / "static" / "js" / "dashboards.js"

# A canvas per chart spec, a Chart stand-in recording its config, the page script run as is;
# prints {chart id: {"value": [tick texts], "tooltip": text}} for the given values.
HARNESS = r"""
const specs = JSON.parse(process.argv[2]);
const values = JSON.parse(process.argv[3]);
const canvases = Object.keys(specs).map((id) => ({
  id: "canvas-" + id,
  getAttribute: () => id,
}));
global.window = {};
global.document = {
  getElementById: (id) => (id in specs ? { textContent: JSON.stringify(specs[id]) } : null),
  querySelectorAll: (sel) => (sel.startsWith("canvas") ? canvases : []),
};
const made = {};
global.Chart = function (canvas, config) { made[canvas.id.slice(7)] = config; };
require(process.argv[1]);
const out = {};
for (const [id, config] of Object.entries(made)) {
  const scales = config.options.scales;
  const axis = config.options.indexAxis === "y" ? scales.x : scales.y;
  const tooltip = config.options.plugins.tooltip.callbacks.label;
  out[id] = {
    value: values.map((v) => axis.ticks.callback(v, 0, [])),
    tooltip: tooltip({ dataset: { label: "Actual" }, raw: values[0] }),
  };
}
console.log(JSON.stringify(out));
"""


def chart_specs(page_html: str) -> dict[str, dict]:
    """The chart data the page emits: {script id: spec}."""
    return {
        sid: json.loads(html_lib.unescape(body))
        for sid, body in re.findall(
            r'<script id="(chart-[^"]+-data)" type="application/json">(.*?)</script>',
            page_html,
            re.S,
        )
    }


def run_page_script(specs: dict, values: list) -> dict:
    result = subprocess.run(
        [NODE, "-e", HARNESS, str(SCRIPT), json.dumps(specs), json.dumps(values)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def test_money_axes_show_the_currency_and_cents(viewer_client, company):
    html = viewer_client.get("/dashboards/executive/", MARCH).content.decode()
    specs = chart_specs(html)
    money = {sid: spec for sid, spec in specs.items() if spec["valueKind"] == "money"}
    assert money, "the executive page draws money charts"
    assert {spec["currency"] for spec in money.values()} == {"USD"}
    drawn = run_page_script(specs, [2000000, -1500.5, 0])
    for sid in money:
        ticks = drawn[sid]["value"]
        assert ticks == ["USD 2,000,000.00", "\u2212USD 1,500.50", "USD 0.00"], sid
        assert drawn[sid]["tooltip"] == "Actual: USD 2,000,000.00", sid
