"""The insights package: prevalence, distinguishing terms, drivers, co-occurrence, trends, quotes, charts."""
