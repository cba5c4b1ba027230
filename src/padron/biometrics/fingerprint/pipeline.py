"""Image bytes -> (extraction, NFIQ 2), through the cache."""

from __future__ import annotations

from padron.biometrics.fingerprint import cache
from padron.biometrics.fingerprint.extract import (
    DEFAULT_CHAIN,
    Chain,
    Extraction,
    extract,
    parse_chain,
    select,
)
from padron.biometrics.fingerprint.image import decode
from padron.biometrics.fingerprint.quality import nfiq2


def extract_bytes(
    data: bytes,
    chain: Chain | str = DEFAULT_CHAIN,
    dpi: float | None = None,
    *,
    use_cache: bool = True,
    floor: int | None = None,
) -> tuple[Extraction, int | None]:
    """Decode, extract with ``chain`` and score NFIQ 2; cached by content when ``use_cache``.
    Minutiae under the chain's quality floor (or ``floor``) are dropped."""
    chain = parse_chain(chain)
    key = cache.cache_key(data, chain, dpi)
    if use_cache:
        hit = cache.load(key)
        if hit is not None:
            return select(hit[0], floor), hit[1]
    image = decode(data, dpi)
    extraction = extract(image, chain)
    score = nfiq2(image)
    if use_cache:
        cache.store(key, extraction, score)
    return select(extraction, floor), score
