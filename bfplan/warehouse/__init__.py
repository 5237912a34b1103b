"""Warehouses: one adapter per engine behind :class:`bfplan.warehouse.base.Warehouse`."""
