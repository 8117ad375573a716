"""Seed the ISO 4217 currencies FinHub accepts, so "unknown currency" is a real check."""

from django.db import migrations

# (code, name, minor units) — ISO 4217 active currencies in common business use.
CURRENCIES = [
    ("AED", "UAE Dirham", 2),
    ("ARS", "Argentine Peso", 2),
    ("AUD", "Australian Dollar", 2),
    ("BGN", "Bulgarian Lev", 2),
    ("BRL", "Brazilian Real", 2),
    ("CAD", "Canadian Dollar", 2),
    ("CHF", "Swiss Franc", 2),
    ("CLP", "Chilean Peso", 0),
    ("CNY", "Yuan Renminbi", 2),
    ("COP", "Colombian Peso", 2),
    ("CZK", "Czech Koruna", 2),
    ("DKK", "Danish Krone", 2),
    ("EGP", "Egyptian Pound", 2),
    ("EUR", "Euro", 2),
    ("GBP", "Pound Sterling", 2),
    ("HKD", "Hong Kong Dollar", 2),
    ("HUF", "Forint", 2),
    ("IDR", "Rupiah", 2),
    ("ILS", "New Israeli Sheqel", 2),
    ("INR", "Indian Rupee", 2),
    ("ISK", "Iceland Krona", 0),
    ("JPY", "Yen", 0),
    ("KRW", "Won", 0),
    ("MXN", "Mexican Peso", 2),
    ("MYR", "Malaysian Ringgit", 2),
    ("NGN", "Naira", 2),
    ("NOK", "Norwegian Krone", 2),
    ("NZD", "New Zealand Dollar", 2),
    ("PEN", "Sol", 2),
    ("PHP", "Philippine Peso", 2),
    ("PKR", "Pakistan Rupee", 2),
    ("PLN", "Zloty", 2),
    ("RON", "Romanian Leu", 2),
    ("SAR", "Saudi Riyal", 2),
    ("SEK", "Swedish Krona", 2),
    ("SGD", "Singapore Dollar", 2),
    ("THB", "Baht", 2),
    ("TRY", "Turkish Lira", 2),
    ("TWD", "New Taiwan Dollar", 2),
    ("UAH", "Hryvnia", 2),
    ("USD", "US Dollar", 2),
    ("VND", "Dong", 0),
    ("ZAR", "Rand", 2),
]


def seed(apps, schema_editor):
    Currency = apps.get_model("metrics", "Currency")
    for code, name, minor in CURRENCIES:
        Currency.objects.update_or_create(code=code, defaults={"name": name, "minor_units": minor})


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
