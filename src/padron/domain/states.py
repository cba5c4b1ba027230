"""RENAPO's state-of-birth codes (CURP positions 12-13)."""

from __future__ import annotations

from types import MappingProxyType

#: code -> (name, population in thousands, INEGI Censo 2020) -- population weights the synthetic data
_STATES: dict[str, tuple[str, int]] = {
    "AS": ("Aguascalientes", 1426),
    "BC": ("Baja California", 3769),
    "BS": ("Baja California Sur", 798),
    "CC": ("Campeche", 928),
    "CL": ("Coahuila", 3146),
    "CM": ("Colima", 731),
    "CS": ("Chiapas", 5543),
    "CH": ("Chihuahua", 3741),
    "DF": ("Ciudad de México", 9209),
    "DG": ("Durango", 1832),
    "GT": ("Guanajuato", 6166),
    "GR": ("Guerrero", 3540),
    "HG": ("Hidalgo", 3082),
    "JC": ("Jalisco", 8348),
    "MC": ("Estado de México", 16992),
    "MN": ("Michoacán", 4748),
    "MS": ("Morelos", 1971),
    "NT": ("Nayarit", 1235),
    "NL": ("Nuevo León", 5784),
    "OC": ("Oaxaca", 4132),
    "PL": ("Puebla", 6583),
    "QT": ("Querétaro", 2368),
    "QR": ("Quintana Roo", 1857),
    "SP": ("San Luis Potosí", 2822),
    "SL": ("Sinaloa", 3027),
    "SR": ("Sonora", 2944),
    "TC": ("Tabasco", 2402),
    "TS": ("Tamaulipas", 3527),
    "TL": ("Tlaxcala", 1343),
    "VZ": ("Veracruz", 8062),
    "YN": ("Yucatán", 2320),
    "ZS": ("Zacatecas", 1622),
}

BORN_ABROAD = "NE"

#: the 32 federal entities
STATE_NAMES = MappingProxyType({code: name for code, (name, _) in _STATES.items()})
#: population weights of the 32 federal entities (thousands of inhabitants, 2020 census)
STATE_POPULATION = MappingProxyType({code: pop for code, (_, pop) in _STATES.items()})
#: every code valid in positions 12-13 of a CURP
BIRTH_PLACE_CODES = frozenset(STATE_NAMES) | {BORN_ABROAD}


def birth_place_name(code: str) -> str:
    return "Nacido en el extranjero" if code == BORN_ABROAD else STATE_NAMES[code]
