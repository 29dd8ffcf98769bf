from tests.integration.conftest import api, atomic_moto, aws, lifecycle  # noqa: F401
