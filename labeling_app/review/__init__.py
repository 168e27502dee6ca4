"""The review package: blind double coding: overlap settings, inter-coder agreement, adjudication of disagreements,
review notes."""
