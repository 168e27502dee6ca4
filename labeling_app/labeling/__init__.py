"""The labeling package: codings (annotations, lead decisions, the consensus of several coders), the labeling queue,
suggestions, theme merge and split, lists of responses with their resolved themes."""
