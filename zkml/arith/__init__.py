"""Field Fr, the curve backends, field vectors (pure Python and the compiled kernel's binding), the thread pool."""
