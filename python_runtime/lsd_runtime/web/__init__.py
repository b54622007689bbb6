"""The runtime's web console (``serve --web``): see ``console``."""
