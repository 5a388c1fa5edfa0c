"""The notifgql benchmark (GitHub issue 7): run it with ``bench/run``; see bench/README.md."""
