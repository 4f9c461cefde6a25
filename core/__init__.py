"""MOR aggregate reports: parameters, query, result and exports, with no UI in sight."""
