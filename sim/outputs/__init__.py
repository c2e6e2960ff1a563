"""Outputs floor: run folders, figures, the HTML report and the classroom dashboard."""
