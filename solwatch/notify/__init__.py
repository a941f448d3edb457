"""Mail: what decides, renders, records and sends the daily digests and the monthly package."""
