"""One run: which cases (planning, sampling, sharding), calling them (engine, runner), and its state."""
