"""The Cashier API's domain: statuses, money, models, storage and the provider interface.

Submodules are imported where they are used, not here, so a function pays at
cold start only for what it touches.
"""
