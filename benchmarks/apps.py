from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """`make bench-*`: the project's own benchmark commands.

    They load the sandbox company at scale and time every layer (ingest API, metrics engine,
    dashboards), so they sit above all the apps, like finhub.urls: nothing imports them.
    """

    name = "benchmarks"
