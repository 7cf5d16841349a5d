"""A local emulator of the Microsoft Defender for Endpoint API and its Entra ID token endpoint.

Test-only: it generates its own CA, keys and secrets. See ../README.md.
"""

__version__ = "0.1.0"
