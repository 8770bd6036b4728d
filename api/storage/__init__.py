"""Storage: the database and the prediction log that fills it.

Records are kept off the request path: buffered in memory, spooled to a spill
file, and stored by a writer thread (predlog.py); the tables and the bulk write
are in tables.py and database.py.
"""
