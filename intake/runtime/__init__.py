"""Running the service: the composition root (`composition.create_service`), the
settings, the checks `cib check` and `cib serve` make, /healthz and /metrics, and the
schema's migrations."""
