"""Interchange formats for partner agencies.

:mod:`padron.interchange.ansinist` reads and writes ANSI/NIST-ITL 1-2011 transactions
(traditional encoding) and turns a request's images into padron's sample inputs; its errors
(``PAD-NIST-NNN``) are in :mod:`padron.interchange.errors`. Like ``biometrics``, this package
imports only ``domain`` (and the image-size limit of :mod:`padron.biometrics.images`), never the
registry, the gateway or the channels; nothing is read or built at import time (Pillow is
imported when an image is converted).
"""
