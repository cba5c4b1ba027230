"""Every FMR / FPIR -- setting, policy field, identify() argument, threshold input -- is a rate in
(0, 1), and the sure-duplicate rate is below the grey-zone one; otherwise a coded error names it."""

from __future__ import annotations

import math

import pytest

from padron.domain.errors import ConfigurationError
from padron.matching.fusion import OperatingPointError, OperatingPointOrderError, llr_threshold
from padron.registry.identity import DedupPolicy
from padron.registry.service import Registry
from padron.settings import load_settings
from tests.support.contexts import INVESTIGATOR, as_actor
from tests.support.synthetic import SyntheticIdentity, draft, identity_service

BAD_RATES = [0, 0.0, 1, 1.0, 2, -1, 1000, math.nan, math.inf, -math.inf]
RATE_SETTINGS = [
    "PADRON_DEDUP_FPIR_SURE",
    "PADRON_DEDUP_FPIR_GREY",
    "PADRON_VERIFY_FMR",
    "PADRON_IDENTIFY_FPIR",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    for name in [*RATE_SETTINGS, "PADRON_RAY_SHARDS", "PADRON_ENVIRONMENT", "PADRON_VAULT_KEY"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PADRON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return monkeypatch


@pytest.mark.parametrize("rate", BAD_RATES)
def test_llr_threshold_refuses_a_rate_outside_0_1(rate: float) -> None:
    with pytest.raises(OperatingPointError) as caught:
        llr_threshold(1000, rate)
    assert caught.value.code == "PAD-RATE-001" and "fpir" in caught.value.message


def test_llr_threshold_of_a_valid_rate() -> None:
    assert llr_threshold(1000, 0.01) == pytest.approx(math.log(1000 / 0.01))
    assert llr_threshold(0, 0.5) == pytest.approx(math.log(2))


@pytest.mark.parametrize("field", ["fpir_sure", "fpir_grey", "verify_fmr", "identify_fpir"])
@pytest.mark.parametrize("rate", BAD_RATES)
def test_dedup_policy_refuses_a_rate_outside_0_1(field: str, rate: float) -> None:
    with pytest.raises(OperatingPointError) as caught:
        DedupPolicy(**{field: rate})  # type: ignore[arg-type]
    assert field in caught.value.message


@pytest.mark.parametrize(("sure", "grey"), [(0.01, 0.01), (0.1, 0.01)])
def test_dedup_policy_needs_sure_stricter_than_grey(sure: float, grey: float) -> None:
    with pytest.raises(OperatingPointOrderError) as caught:
        DedupPolicy(fpir_sure=sure, fpir_grey=grey)
    assert "fpir_sure" in caught.value.message and "fpir_grey" in caught.value.message


def test_dedup_policy_accepts_valid_rates() -> None:
    policy = DedupPolicy(fpir_sure=1e-6, fpir_grey=0.5, verify_fmr=0.999, identify_fpir=1e-9)
    assert policy.fpir_grey == 0.5


@pytest.mark.parametrize("rate", [0.0, 1.0, 2.0, -1.0, math.nan])
def test_identify_refuses_an_fpir_outside_0_1(registry: Registry, rate: float) -> None:
    service = identity_service(registry)
    service.enroll(draft(0), SyntheticIdentity.make(0).capture(1), ctx=as_actor("test:officer"), reason="r")
    with pytest.raises(OperatingPointError):
        service.identify(SyntheticIdentity.make(0).capture(2), fpir=rate, ctx=INVESTIGATOR)


def test_identify_uses_the_given_fpir_and_the_policy_default_otherwise(registry: Registry) -> None:
    service = identity_service(registry, DedupPolicy(identify_fpir=0.02))
    service.enroll(draft(0), SyntheticIdentity.make(0).capture(1), ctx=as_actor("test:officer"), reason="r")
    probe = SyntheticIdentity.make(0).capture(2)
    _, default = service.identify(probe, ctx=INVESTIGATOR)
    _, given = service.identify(probe, fpir=0.5, ctx=INVESTIGATOR)
    assert default == pytest.approx(math.log(1 / 0.02)) and given == pytest.approx(math.log(1 / 0.5))


@pytest.mark.parametrize("variable", RATE_SETTINGS)
@pytest.mark.parametrize("value", ["1000", "0", "1", "-1", "nan", "inf", "-inf", "often"])
def test_a_rate_setting_outside_0_1_is_a_configuration_error(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.code == "PAD-CONF-001" and variable in caught.value.message
    assert "PADRON_:" not in caught.value.message


def test_the_sure_rate_must_be_below_the_grey_rate(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PADRON_DEDUP_FPIR_SURE", "0.05")
    clean_env.setenv("PADRON_DEDUP_FPIR_GREY", "0.01")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = caught.value.message
    assert "PADRON_DEDUP_FPIR_SURE" in message and "PADRON_DEDUP_FPIR_GREY" in message
    assert "PADRON_:" not in message and "Value error" not in message


@pytest.mark.parametrize("value", ["0", "-3"])
def test_ray_shards_must_be_at_least_one(clean_env: pytest.MonkeyPatch, value: str) -> None:
    clean_env.setenv("PADRON_RAY_SHARDS", value)
    with pytest.raises(ConfigurationError, match="PADRON_RAY_SHARDS"):
        load_settings()


def test_valid_rate_settings_load(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PADRON_VERIFY_FMR", "0.001")
    clean_env.setenv("PADRON_DEDUP_FPIR_SURE", "1e-5")
    clean_env.setenv("PADRON_DEDUP_FPIR_GREY", "0.2")
    settings = load_settings()
    assert (settings.verify_fmr, settings.dedup_fpir_sure, settings.dedup_fpir_grey) == (0.001, 1e-5, 0.2)
