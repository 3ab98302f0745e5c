"""The `StopLeg` table: a stop-loss order (a ladder stop or an emergency stop). `StopLeg` subclasses
`Leg` and declares no transition of its own (python-statemachine hands it the very same state and
transition objects), so its table is the `Leg` table; what it adds is a validator on repricing
(`request_replace` must carry a new positive `stop_price` or a `qty`), tested in `test_leg_rows.py`.
Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import Table
from tables.leg import LEG

STOP_LEG: Table = LEG
