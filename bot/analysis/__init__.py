"""Pure numpy analysis: baselines, detectors, correlation and bottleneck classes, trends and
merge analytics. Data and `now` go in, values come out; no I/O, no clock, no logging."""
