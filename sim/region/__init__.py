"""Regions: a prefecture's or province's counties and districts run together, sharing hospitals."""
