"""Build and measurement tooling (demo-model build, benchmarks, synthetic models). The app never imports these."""
