"""What leaves solwatch as rows and files: case rows, stats, CEAR files, CSV and calendars."""
