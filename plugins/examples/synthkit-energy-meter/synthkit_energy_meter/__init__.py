"""synthkit-energy-meter: a third family for synthkit, a fleet of smart electricity meters.

Written against ``synthkit.api`` only, as a partner would: the family (``family.py``), its
scenario section (``scenario.py``), its device model (``model.py``), two archetypes
(``archetypes.py``), the rows it writes (``fleet.py``) and its commands (``commands.py``).
"""
