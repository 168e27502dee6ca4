"""The exporting package: CSV, XLSX, the HTML and PDF report."""
