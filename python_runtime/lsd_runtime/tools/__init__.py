"""The ``lsd-runtime`` command line and what it runs: demo, bench, doctor, the procedural
test scene, a runtime process for tests and tools, and the GPU check."""
