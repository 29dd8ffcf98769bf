"""Payment modules. Each module exposes PROVIDER, an implementation of
cashier_core.providers.PaymentProvider, and imports its SDK only when called."""
