"""`perfbot demo`: embedded PostgreSQL, a synthetic pgGit workload and the console front end."""
