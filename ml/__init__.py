"""ThemeLoop machine-learning core: embeddings, theme classifier and active learning.

Pure Python over numpy arrays; no web framework imports, no global model state.
"""
