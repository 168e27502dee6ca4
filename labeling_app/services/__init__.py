"""Services: every change to ThemeLoop's data goes through one of these functions."""
