"""Front door 1: the Wyoming protocol server (Home Assistant, satellites)."""
