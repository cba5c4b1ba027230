"""Synthetic Mexican demographics (Faker, es_MX locale), deterministic from a seed.

Sex 50/50; about a quarter of people carry two given names (María José, José Luis ...); states of
birth weighted by the 2020 census population, 2% born abroad; ages drawn from a simplified
Mexican age pyramid (more young than old people), never in the future.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from padron.domain.curp import CurpData, Sex
from padron.domain.states import BORN_ABROAD, STATE_POPULATION

#: (age band start, band end, share of the population) -- INEGI 2020, rounded
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 14, 0.25),
    (15, 29, 0.25),
    (30, 44, 0.22),
    (45, 59, 0.16),
    (60, 74, 0.09),
    (75, 99, 0.03),
)
SHARE_BORN_ABROAD = 0.02
SHARE_TWO_GIVEN_NAMES = 0.25
SHARE_NO_SECOND_SURNAME = 0.01


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    data: CurpData
    nationality: str


class DemographicGenerator:
    """Draws persons one at a time; the same seed gives the same sequence."""

    def __init__(self, seed: int = 0, *, today: date | None = None) -> None:
        from faker import Faker  # imported here: Faker's locale data is large

        self._faker = Faker("es_MX")
        self._faker.seed_instance(seed)
        self._rng = random.Random(seed)
        self._today = today or date.today()
        self._states = list(STATE_POPULATION)
        self._weights = list(STATE_POPULATION.values())

    def person(self) -> SyntheticPerson:
        rng, fake = self._rng, self._faker
        sex = Sex.HOMBRE if rng.random() < 0.5 else Sex.MUJER
        first = fake.first_name_male if sex is Sex.HOMBRE else fake.first_name_female
        given = first()
        if rng.random() < SHARE_TWO_GIVEN_NAMES:
            prefix = ("José" if sex is Sex.HOMBRE else "María") if rng.random() < 0.5 else first()
            given = f"{prefix} {given}" if prefix != given else given
        second = None if rng.random() < SHARE_NO_SECOND_SURNAME else fake.last_name()
        born_abroad = rng.random() < SHARE_BORN_ABROAD
        state = BORN_ABROAD if born_abroad else rng.choices(self._states, self._weights)[0]
        data = CurpData.parse(
            given_names=given,
            first_surname=fake.last_name(),
            second_surname=second,
            birth_date=self.birth_date(),
            sex=sex,
            birth_state=state,
            today=self._today,
        )
        return SyntheticPerson(data=data, nationality="MEX")

    def birth_date(self) -> date:
        start, end, _ = self._rng.choices(AGE_BANDS, [share for *_, share in AGE_BANDS])[0]
        age_days = self._rng.randint(start * 365, (end + 1) * 365 - 1)
        return self._today - timedelta(days=age_days)

    def people(self, n: int) -> list[SyntheticPerson]:
        return [self.person() for _ in range(n)]
