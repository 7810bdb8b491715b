"""Normalised city names: the stable city id and the keys used for matching.

The FBI prints a city's name the way its agency reported it, and the
spelling drifts: ``St. Joseph`` / ``Saint Joseph``, ``Mount Pleasant`` /
``Mt. Pleasant``, ``Abington Township`` / ``Abington Twp.``, footnote marks
glued on (``Mobile3``), doubled spaces. Two keys are made from a name:

- :func:`city_key`: case, accents, punctuation and abbreviations normalised,
  but every word kept. It is the city id within a state (``"PA:abington
  township montgomery county"``), so a township and a borough of the same
  name stay two cities.
- :func:`base_key`: :func:`city_key` without the words that name the kind of
  jurisdiction (township, village, town, city, borough, police department,
  metropolitan...). It is used only as a fallback when matching to other
  files, and only where it picks one candidate.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Abbreviations expanded before punctuation is removed (whole words only).
_ABBREVIATIONS = [
    (r"\bste\b\.?", "sainte "),
    (r"\bst\b\.?", "saint "),
    (r"\bft\b\.?", "fort "),
    (r"\bmt\b\.?", "mount "),
    (r"\btwp\b\.?", "township "),
    (r"\bvlg\b\.?", "village "),
    (r"\bco\b\.", "county "),
    (r"&", " and "),
]

# Words naming the kind of jurisdiction or agency, dropped by base_key.
_KIND_WORDS = (
    "township|charter township|village|town|city|borough|boro|plantation|"
    "police department|police dept|police|department|metropolitan|metro|"
    "public safety|division|consolidated|unified government|government|"
    "cdp|municipality"
)


@lru_cache(maxsize=None)
def city_key(name: str) -> str:
    """Normalise a city name, keeping every word.

    Examples
    --------
    >>> city_key("St. Joseph3")
    'saint joseph'
    >>> city_key("Mt. Pleasant Twp.")
    'mount pleasant township'
    >>> city_key("Coeur d'Alene")
    'coeur dalene'
    >>> city_key("Winston-Salem")
    'winston salem'
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore")
    text = text.decode().lower().replace("\xa0", " ")
    # Footnote marks glued to the end ("Mobile3", "Tucson4, 5").
    text = re.sub(r"[\d,\s]+$", "", text.strip())
    for pattern, replacement in _ABBREVIATIONS:
        text = re.sub(pattern, replacement, text)
    text = re.sub(r"['`\u2019.]", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=None)
def base_key(name: str) -> str:
    """:func:`city_key` without words naming the kind of jurisdiction.

    Examples
    --------
    >>> base_key("Abington Township")
    'abington'
    >>> base_key("Las Vegas Metropolitan Police Department")
    'las vegas'
    >>> base_key("Village of Pinehurst")
    'pinehurst'
    """
    text = city_key(name)
    text = re.sub(rf"\b({_KIND_WORDS})\b", " ", text)
    text = re.sub(r"^\s*of\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def city_id(state_postal: str, name: str) -> str:
    """The stable city id: state postal code and :func:`city_key`.

    Examples
    --------
    >>> city_id("MO", "St. Louis")
    'MO:saint louis'
    """
    return f"{state_postal}:{city_key(name)}"
