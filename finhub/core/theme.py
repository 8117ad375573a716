"""FinHub's one colour theme, shared by the app (static/css/finhub.css) and the admin (unfold).

``BRAND`` is the app's ``--brand`` colour; the admin's primary palette is built around it
(600 is what unfold paints buttons, links and the active menu entry with), so the two look
like one product. A test keeps the CSS variable and this palette in step.
"""

BRAND = "#0b5394"

#: unfold's COLORS["primary"]: lighter and darker shades of the brand blue.
PRIMARY_PALETTE = {
    "50": "#eef5fc",
    "100": "#d9e8f7",
    "200": "#b6d2ef",
    "300": "#86b3e2",
    "400": "#4f8dd0",
    "500": "#2570bb",
    "600": BRAND,
    "700": "#0a467c",
    "800": "#0b3a66",
    "900": "#0c3154",
    "950": "#081f36",
}

FAVICON = "img/favicon.svg"
