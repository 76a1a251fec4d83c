//! Logging, Prometheus metrics and health endpoints shared by the services.
