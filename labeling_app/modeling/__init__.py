"""The modeling package: embeddings (runs, chunks, the store of vectors), training the classifier, predictions,
model events."""
