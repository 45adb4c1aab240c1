"""Agent patterns, one module each: `build_<pattern>_graph(...)` and a module-level `graph`."""
